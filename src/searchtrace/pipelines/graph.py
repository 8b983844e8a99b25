"""The Beam graph of a build round, as named composite transforms.

    candidate batches ─ SolveCandidates ─ StageRows ─┐
    earlier rounds' staged files ─ ReadStagedRefs ───┴─ SelectPerBucket ─ WriteShards

SolveCandidates generates, solves, linearizes, renders and verifies each batch of
candidates; StageRows parks their verified rows in staging files and passes on small refs;
SelectPerBucket keeps one row per problem, then each bucket's first requested rows by
candidate index, and assigns them to shards; WriteShards writes every shard from staging.
The driver (`pipelines.driver`) decides which batches a round runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PBegin, PCollection

from searchtrace.pipelines.dofns import (
    BucketCutoff,
    BucketDrops,
    SelectRows,
    SolveBatches,
    StageBatches,
    WriteShard,
    bucket_index,
    keep_first_per_problem,
)
from searchtrace.pipelines.plan import BuildPlan, CandidateRange, plan_drops
from searchtrace.pipelines.selection import Cell, StagedRef
from searchtrace.pipelines.writer import staged_refs

ShardKey = tuple[str, int]  # (split, shard index)


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
    """SolvedBatch -> StagedRef: the verified rows are written to staging files in
    `stage_dir` (named by round), one small ref per row passes on."""

    def __init__(self, stage_dir: str, round_number: int) -> None:
        super().__init__()
        self.stage_dir = stage_dir
        self.round_number = round_number

    def expand(self, solved: PCollection) -> PCollection:
        return solved | "StageBatches" >> beam.ParDo(StageBatches(self.stage_dir,
                                                                  self.round_number))


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
        kept = (refs
                | "ByProblem" >> beam.GroupBy(lambda ref: ref.problem_id)
                | "KeepFirstPerProblem" >> beam.Map(keep_first_per_problem))
        by_bucket = (kept
                     | "BucketIndex" >> beam.Map(bucket_index)
                     | "GroupByBucket" >> beam.GroupByKey())
        cutoffs = by_bucket | "BucketCutoff" >> beam.ParDo(BucketCutoff(self.requested))
        drops = by_bucket | "BucketDrops" >> beam.ParDo(BucketDrops(self.requested,
                                                                    self.drops))
        return kept | "SelectRows" >> beam.ParDo(SelectRows(self.shards),
                                                 cutoffs=beam.pvalue.AsDict(cutoffs),
                                                 drops=beam.pvalue.AsDict(drops))


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


def round_graph(pipeline: beam.Pipeline, plan: BuildPlan, batches: list[CandidateRange],
                earlier: list[str], *, stage_dir: Path, round_number: int, data_dir: Path,
                progress_dir: Path, pool_token: str | None) -> Any:
    """Add one round to `pipeline`: solve and stage `batches`, then select from them and
    the staged files `earlier` and write every shard into `data_dir`."""
    fresh = (pipeline
             | "CandidateBatches" >> beam.Create(batches)
             | "SolveCandidates" >> SolveCandidates(plan, str(progress_dir), pool_token)
             | "StageRows" >> StageRows(str(stage_dir), round_number))
    earlier_refs = pipeline | "ReadStagedRefs" >> ReadStagedRefs(earlier)
    return ((fresh, earlier_refs)
            | "AllRefs" >> beam.Flatten()
            | "SelectPerBucket" >> SelectPerBucket(plan)
            | "WriteShards" >> WriteShards(str(data_dir), plan.shards))
