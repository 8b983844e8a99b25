"""The Beam graphs of a build, as named composite transforms.

    a round:      waves of candidate batches ─ StageWaves
    the writing:  selected staged files ─ WriteShards
    the replay:   written shards ─ ReplayShards

StageWaves generates, solves, linearizes, renders and verifies each wave's candidates and
writes their verified rows to the wave's staged file. Once every bucket is full the driver
selects the rows to write (`pipelines.selection`) and WriteShards reads each staged file
once, sorting its selected rows into per-shard parts, and writes every shard from its
parts. ReplayShards then replays each shard's sampled rows for the validation gate, on
the workers while the driver writes the stats and the card. The driver
(`pipelines.driver`) decides which batches a round runs and cuts them into waves
(`pipelines.waves`); shards are written once, after the last round.

Each graph has one sink and no side input: Beam 2.77's DaskRunner computes only what its
last transform depends on and recomputes side inputs inside the tasks that read them. The
writing graph feeds every shard key into WriteShard through one grouping.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from searchtrace.pipelines.dofns import ReplayShard, SplitStaged, StageWave, WriteShard
from searchtrace.pipelines.plan import BuildPlan
from searchtrace.pipelines.shard_parts import Part, ShardKey
from searchtrace.pipelines.storage import Location
from searchtrace.pipelines.waves import Wave


class StageWaves(beam.PTransform):
    """Wave -> the path of its staged file: each wave's candidates solved and its verified
    rows written to its staged file in `stage_dir` (named by round and wave)."""

    def __init__(self, plan: BuildPlan, stage_dir: str, round_number: int,
                 progress_dir: str) -> None:
        super().__init__()
        self.plan = plan
        self.stage_dir = stage_dir
        self.round_number = round_number
        self.progress_dir = progress_dir

    def expand(self, waves: PCollection) -> PCollection:
        return waves | "StageWave" >> beam.ParDo(StageWave(self.plan, self.stage_dir,
                                                           self.round_number,
                                                           self.progress_dir))


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


class ReplayShards(beam.PTransform):
    """Shard names -> the same names, once each shard's sampled rows (at `rate`) have been
    replayed from its file in `data_dir` and recorded in `replay_dir`."""

    def __init__(self, data_dir: str, replay_dir: str, rate: float) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.replay_dir = replay_dir
        self.rate = rate

    def expand(self, names: PCollection) -> PCollection:
        return names | "ReplayShard" >> beam.ParDo(ReplayShard(self.data_dir,
                                                               self.replay_dir, self.rate))


def round_graph(pipeline: beam.Pipeline, plan: BuildPlan, waves: list[Wave], *,
                stage_dir: Location, round_number: int, progress_dir: Location) -> Any:
    """Add one round to `pipeline`: solve and stage `waves`."""
    return (pipeline
            | "CandidateWaves" >> beam.Create(waves)
            | "StageWaves" >> StageWaves(plan, str(stage_dir), round_number,
                                         str(progress_dir)))


def write_graph(pipeline: beam.Pipeline, files: list[tuple[str, str, str]], data_dir: Location,
                shards: dict[str, int]) -> Any:
    """Add the writing of every shard into `data_dir` to `pipeline`, from `files`: each
    staged file with a selected row, its selection file and the parts file to sort it
    into."""
    return (pipeline
            | "SelectedFiles" >> beam.Create(files)
            | "WriteShards" >> WriteShards(str(data_dir), shards))


def replay_graph(pipeline: beam.Pipeline, names: list[str], data_dir: Location,
                 replay_dir: Location, rate: float) -> Any:
    """Add the replay of the shards `names` in `data_dir` (at `rate`, recorded in
    `replay_dir`) to `pipeline`."""
    return (pipeline
            | "WrittenShards" >> beam.Create(names)
            | "ReplayShards" >> ReplayShards(str(data_dir), str(replay_dir), rate))
