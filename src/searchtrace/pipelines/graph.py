"""The Beam graphs of a build, as named composite transforms.

    a round:      candidate batches ─ SolveCandidates ─ StageRows
    the writing:  selected staged files ─ WriteShards

SolveCandidates generates, solves, linearizes, renders and verifies each batch of
candidates; StageRows parks their verified rows in staging files. Once every bucket is
full the driver selects the rows to write (`pipelines.selection`) and WriteShards reads
each staged file once, sorting its selected rows into per-shard parts, and writes every
shard from its parts. The driver (`pipelines.driver`) decides which batches a round runs;
shards are written once, after the last round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from searchtrace.pipelines.dofns import SolveBatches, SplitStaged, StageBatches, WriteShard
from searchtrace.pipelines.plan import BuildPlan, CandidateRange
from searchtrace.pipelines.shard_parts import Part, ShardKey


class SolveCandidates(beam.PTransform):
    """CandidateRange -> SolvedBatch. With a local solver pool (`pool_token`) every batch
    goes to one wave that the pool works through; otherwise each batch is its own wave,
    spread over the runner's workers."""

    def __init__(self, plan: BuildPlan, progress_dir: str, pool_token: str | None) -> None:
        super().__init__()
        self.plan = plan
        self.progress_dir = progress_dir
        self.pool_token = pool_token

    def expand(self, batches: PCollection) -> PCollection:
        pooled = self.pool_token is not None
        return (
            batches
            | "IntoWaves" >> beam.Map(lambda batch: ("pool" if pooled else batch.key, batch))
            | "GroupWaves" >> beam.GroupByKey()
            | "SolveBatches" >> beam.ParDo(SolveBatches(self.plan, self.progress_dir,
                                                        self.pool_token))
        )


class StageRows(beam.PTransform):
    """SolvedBatch -> nothing: the verified rows are written to staging files in
    `stage_dir` (named by round)."""

    def __init__(self, stage_dir: str, round_number: int) -> None:
        super().__init__()
        self.stage_dir = stage_dir
        self.round_number = round_number

    def expand(self, solved: PCollection) -> PCollection:
        return solved | "StageBatches" >> beam.ParDo(StageBatches(self.stage_dir,
                                                                  self.round_number))


class WriteShards(beam.PTransform):
    """(staged file, selection file, parts file) -> the name of every shard of every
    split, written into `data_dir` (a shard no row landed in is written empty). Each
    staged file is read once, whatever the number of shards."""

    def __init__(self, data_dir: str, shards: dict[str, int]) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.shards = shards

    def expand(self, files: PCollection) -> PCollection:
        every_shard: list[tuple[ShardKey, Part | None]] = [
            ((split, index), None) for split, count in self.shards.items()
            for index in range(count)]
        parts = files | "SplitStaged" >> beam.ParDo(SplitStaged(self.shards))
        return (
            (parts, files.pipeline | "EveryShard" >> beam.Create(every_shard))
            | "Merge" >> beam.Flatten()
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(WriteShard(self.data_dir, self.shards))
        )


def round_graph(pipeline: beam.Pipeline, plan: BuildPlan, batches: list[CandidateRange], *,
                stage_dir: Path, round_number: int, progress_dir: Path,
                pool_token: str | None) -> Any:
    """Add one round to `pipeline`: solve and stage `batches`."""
    return (pipeline
            | "CandidateBatches" >> beam.Create(batches)
            | "SolveCandidates" >> SolveCandidates(plan, str(progress_dir), pool_token)
            | "StageRows" >> StageRows(str(stage_dir), round_number))


def write_graph(pipeline: beam.Pipeline, files: list[tuple[str, str, str]], data_dir: Path,
                shards: dict[str, int]) -> Any:
    """Add the writing of every shard into `data_dir` to `pipeline`, from `files`: each
    staged file with a selected row, its selection file and the parts file to sort it
    into."""
    return (pipeline
            | "SelectedFiles" >> beam.Create(files)
            | "WriteShards" >> WriteShards(str(data_dir), shards))
