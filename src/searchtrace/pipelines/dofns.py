"""The DoFns of a build's Beam graph, each with one job (`pipelines.graph` composes them
into named transforms).

SolveBatches solves a group of candidate batches (generate, solve, linearize, render,
verify); StageBatches parks whole batches' rows in staging files (each file records the
batches it completes and their rejections, so a resumed build skips them) and passes on
small refs; BucketCutoff and SelectRows keep each bucket's first rows, BucketDrops gives
each kept row its drop level; WriteShard reads a shard's rows back from staging (with
their parts dropped) and writes the shard if it is not already there. None of
them emits output from `finish_bundle`, which a runner may drop.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, as_completed, wait
from pathlib import Path
from typing import Any

import apache_beam as beam

from searchtrace.pipelines.plan import BucketReason, BuildPlan, CandidateRange
from searchtrace.pipelines.selection import Cell, StagedRef, cutoff, first_per_problem
from searchtrace.pipelines.solver_pool import SolvedBatch, pool_for, solve_batch
from searchtrace.pipelines.writer import (
    StagedBatches,
    apply_drops,
    read_rows,
    shard_name,
    shard_of,
    staged_path,
    write_shard,
    write_staged,
)

STAGE_FLUSH_ROWS = 1000
IN_FLIGHT_PER_WORKER = 4


class SolveBatches(beam.DoFn):
    """(wave, batches) -> the SolvedBatch of each batch (verified row records, rejections).

    With a local solver pool (`--workers N` on the default runner) the wave holds every
    batch of the round, solved in the pool a few in flight per process, results streaming
    out as batches finish; otherwise a wave is one batch, solved inline, and the runner's
    own parallelism applies.
    """

    def __init__(self, plan: BuildPlan, progress_dir: str, pool_token: str | None) -> None:
        self.plan = plan
        self.progress_dir = progress_dir
        self.pool_token = pool_token

    def setup(self) -> None:
        self.pool = pool_for(self.pool_token)

    def process(self, wave: tuple[Any, Iterable[CandidateRange]]) -> Iterator[SolvedBatch]:
        _, batches = wave
        if self.pool is None:
            for batch in batches:
                yield solve_batch(self.plan, batch, self.progress_dir)
            return
        pending = []
        for batch in batches:
            pending.append(self.pool.executor.submit(solve_batch, self.plan, batch,
                                                     self.progress_dir))
            if len(pending) >= IN_FLIGHT_PER_WORKER * self.pool.workers:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in pending if future in done)
                pending = [future for future in pending if future not in done]
        for future in as_completed(pending):
            yield future.result()


class StageBatches(beam.DoFn):
    """Write whole batches' verified rows to staging Parquet (about 1,000 rows a file, at
    the latest at the end of a bundle) and emit a StagedRef for each row, so full rows
    never travel through the runner. A file records the batches it completes.

    A ref names the file its row will be in; the file is written when it is full or the
    bundle ends, before anything downstream of a grouping reads it."""

    def __init__(self, stage_dir: str, round_number: int) -> None:
        self.stage_dir = stage_dir
        self.round_number = round_number

    def start_bundle(self) -> None:
        self._open()

    def process(self, solved: SolvedBatch) -> Iterator[StagedRef]:
        self.records += solved.records
        self.batches.append(solved.batch.key)
        self.rejected.update(solved.rejected)
        for record in solved.records:
            yield StagedRef(record["split"], record["_bucket"], record["_index"],
                            record["_level"], record["problem_id"], str(self.path))
        if len(self.records) >= STAGE_FLUSH_ROWS:
            self._flush()
            self._open()

    def finish_bundle(self) -> None:
        self._flush()

    def _open(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.batches: list[str] = []
        self.rejected: Counter[BucketReason] = Counter()
        self.path = staged_path(Path(self.stage_dir), self.round_number)

    def _flush(self) -> None:
        if self.batches:
            write_staged(self.records, self.path, StagedBatches(tuple(self.batches),
                                                                self.rejected))


def keep_first_per_problem(keyed: tuple[str, Iterable[StagedRef]]) -> StagedRef:
    """One row per problem id (see `selection.priority`); the driver counts the drops."""
    return first_per_problem(keyed[1])[0]


def bucket_index(ref: StagedRef) -> tuple[Cell, int]:
    return (ref.split, ref.bucket, ref.level), ref.index


class BucketCutoff(beam.DoFn):
    """((split, bucket, level), indexes) -> (cell, largest index kept), so the rows kept
    never depend on the order in which workers finished."""

    def __init__(self, requested: dict[Cell, int]) -> None:
        self.requested = requested

    def process(self, keyed: tuple[Cell, Iterable[int]]) -> Iterator[tuple[Cell, int]]:
        cell, indexes = keyed
        if self.requested.get(cell):
            yield cell, cutoff(indexes, self.requested[cell])


class BucketDrops(beam.DoFn):
    """((split, bucket, level), indexes) -> (cell, {index: drop level}) for the rows the
    cell keeps (its first by index), the i-th kept row taking the plan's i-th level
    (`plan.plan_drops`); nothing for a build without drops."""

    def __init__(self, requested: dict[Cell, int], drops: dict[Cell, tuple[str, ...]]) -> None:
        self.requested = requested
        self.drops = drops

    def process(self, keyed: tuple[Cell, Iterable[int]]) -> Iterator[tuple[Cell, dict[int, str]]]:
        cell, indexes = keyed
        if self.drops.get(cell):
            kept = sorted(indexes)[: self.requested[cell]]
            yield cell, dict(zip(kept, self.drops[cell], strict=False))


class SelectRows(beam.DoFn):
    """StagedRef -> ((split, shard), ref) when it is within its bucket's cutoff, the ref
    carrying its drop level when the build has drops."""

    def __init__(self, shards: dict[str, int]) -> None:
        self.shards = shards

    def process(
        self, ref: StagedRef, cutoffs: dict[Cell, int], drops: dict[Cell, dict[int, str]]
    ) -> Iterator[tuple[tuple[str, int], StagedRef]]:
        cell = (ref.split, ref.bucket, ref.level)
        if ref.index <= cutoffs.get(cell, -1):
            drop = drops.get(cell, {}).get(ref.index, "")
            yield ((ref.split, shard_of(ref.problem_id, self.shards[ref.split])),
                   ref._replace(drop=drop))


class WriteShard(beam.DoFn):
    """((split, shard), refs) -> the shard file, read from staging and written
    deterministically; yields its name. Empty shards are written too. A shard already
    there was written by an interrupted attempt from the same selection and is kept."""

    def __init__(self, data_dir: str, shards: dict[str, int]) -> None:
        self.data_dir = data_dir
        self.shards = shards

    def process(self, keyed: tuple[tuple[str, int], Iterable[StagedRef | None]]) -> Iterator[str]:
        (split, shard), refs = keyed
        wanted: dict[str, set[str]] = defaultdict(set)
        drops: dict[str, str] = {}
        for ref in refs:
            if ref is not None:
                wanted[ref.path].add(ref.key)
                if ref.drop:
                    drops[ref.key] = ref.drop
        name = shard_name(split, shard, self.shards[split])
        if (Path(self.data_dir) / name).is_file():
            yield name
            return
        write_shard([apply_drops(read_rows(path, ids), drops)
                     for path, ids in sorted(wanted.items())],
                    Path(self.data_dir) / name)
        yield name
