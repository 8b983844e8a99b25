"""The Beam graph of a build round, as named composite transforms.

    waves of candidate batches ─ StageWaves ─┐
    earlier rounds' staged files ─ ReadStagedRefs ─┴─ SelectPerBucket ─ WriteShards

StageWaves generates, solves, linearizes, renders and verifies each wave's candidates,
parks their verified rows in the wave's staged file and passes on small refs;
SelectPerBucket keeps one row per problem, then each bucket's first requested rows by
candidate index, and assigns them to shards; WriteShards writes every shard from staging.
The driver (`pipelines.driver`) decides which batches a round runs (`pipelines.waves`).

The graph has one sink, WriteShards, and every other transform feeds it through a
grouping, never a side input: Beam 2.77's DaskRunner runs only what its last transform
depends on and recomputes side inputs inside the tasks that read them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PBegin, PCollection

from searchtrace.pipelines.dofns import (
    SelectCell,
    StageWave,
    WriteShard,
    cell_of,
    keep_first_per_problem,
)
from searchtrace.pipelines.plan import BuildPlan, plan_drops
from searchtrace.pipelines.selection import Cell, StagedRef
from searchtrace.pipelines.waves import Wave
from searchtrace.pipelines.writer import staged_refs

ShardKey = tuple[str, int]  # (split, shard index)


class StageWaves(beam.PTransform):
    """Wave -> StagedRef: each wave's candidates solved, its verified rows written to its
    staged file in `stage_dir` (named by round and wave), one small ref per row passed on."""

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


class ReadStagedRefs(beam.PTransform):
    """The refs of the rows in staged files `paths` (earlier rounds' work)."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self.paths = paths

    def expand(self, begin: PBegin) -> PCollection:
        return (begin
                | "StagedFiles" >> beam.Create(self.paths)
                | "ReadRefs" >> beam.FlatMap(staged_refs))


class SelectPerBucket(beam.PTransform):
    """StagedRef -> ((split, shard), ref) for the rows the build keeps: one per problem
    (`selection.priority`), then each (bucket, difficulty level)'s first requested rows by
    candidate index, whatever order the workers finished in; with drops, each kept row
    carries its drop level (`plan.plan_drops`)."""

    def __init__(self, plan: BuildPlan) -> None:
        super().__init__()
        self.requested: dict[Cell, int] = {
            (bucket.split, bucket.ordinal, level): need
            for bucket in plan.buckets for level, need in enumerate(bucket.levels)}
        self.shards = plan.shards
        self.drops = plan_drops(plan.config, plan.buckets)

    def expand(self, refs: PCollection) -> PCollection:
        return (refs
                | "ByProblem" >> beam.GroupBy(lambda ref: ref.problem_id)
                | "KeepFirstPerProblem" >> beam.Map(keep_first_per_problem)
                | "ByCell" >> beam.GroupBy(cell_of)
                | "SelectCell" >> beam.ParDo(SelectCell(self.requested, self.shards,
                                                        self.drops)))


class WriteShards(beam.PTransform):
    """((split, shard), ref) -> the name of every shard of every split, written into
    `data_dir` from staging (a shard no row landed in is written empty)."""

    def __init__(self, data_dir: str, shards: dict[str, int]) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.shards = shards

    def expand(self, selected: PCollection) -> PCollection:
        every_shard: list[tuple[ShardKey, StagedRef | None]] = [
            ((split, index), None) for split, count in self.shards.items()
            for index in range(count)]
        return (
            (selected, selected.pipeline | "EveryShard" >> beam.Create(every_shard))
            | "Merge" >> beam.Flatten()
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(WriteShard(self.data_dir, self.shards))
        )


def round_graph(pipeline: beam.Pipeline, plan: BuildPlan, waves: list[Wave],
                earlier: list[str], *, stage_dir: Path, round_number: int, data_dir: Path,
                progress_dir: Path) -> Any:
    """Add one round to `pipeline`: solve and stage `waves`, then select from them and
    the staged files `earlier` and write every shard into `data_dir`."""
    fresh = (pipeline
             | "CandidateWaves" >> beam.Create(waves)
             | "StageWaves" >> StageWaves(plan, str(stage_dir), round_number,
                                          str(progress_dir)))
    earlier_refs = pipeline | "ReadStagedRefs" >> ReadStagedRefs(earlier)
    return ((fresh, earlier_refs)
            | "AllRefs" >> beam.Flatten()
            | "SelectPerBucket" >> SelectPerBucket(plan)
            | "WriteShards" >> WriteShards(str(data_dir), plan.shards))
