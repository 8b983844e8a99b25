"""Beam transforms of a build, each with one job and a label in the pipeline.

A round pipeline: candidate batches -> SolveBatch (generate, solve, linearize, render,
verify) -> StageRows, which parks whole batches' rows in staging files (each file records
the batches it completes and their rejections, so a resumed build skips them) and passes
on small refs. The refs, with those of earlier rounds, keep one row per problem, are cut
per bucket (BucketCutoff, SelectRows) and grouped by shard; WriteShards reads the rows back
from staging and writes each shard that is not already there.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from searchtrace.pipelines.plan import BucketReason, BuildPlan, CandidateRange
from searchtrace.pipelines.selection import Cell, StagedRef, cutoff, first_per_problem
from searchtrace.pipelines.solver_pool import SolvedBatch, pool_for, solve_batch
from searchtrace.pipelines.writer import (
    StagedBatches,
    read_rows,
    shard_name,
    shard_of,
    staged_path,
    write_shard,
    write_staged,
)

STAGE_FLUSH_ROWS = 1000
IN_FLIGHT_PER_WORKER = 4


class SolveBatch(beam.DoFn):
    """A batch of candidates -> its SolvedBatch (verified row records, rejections).

    With a local solver pool (`--workers N` on the default runner) batches are solved in
    the pool, a few in flight per process, and results stream out as batches finish;
    otherwise they are solved inline, and the runner's own parallelism applies.
    """

    def __init__(self, plan: BuildPlan, progress_dir: str, pool_token: str | None) -> None:
        self.plan = plan
        self.progress_dir = progress_dir
        self.pool_token = pool_token

    def setup(self) -> None:
        self.pool = pool_for(self.pool_token)

    def start_bundle(self) -> None:
        self.pending: list[Future] = []

    def process(self, batch: CandidateRange) -> Iterator[SolvedBatch]:
        if self.pool is None:
            yield solve_batch(self.plan, batch, self.progress_dir)
            return
        future = self.pool.executor.submit(solve_batch, self.plan, batch, self.progress_dir)
        self.pending.append(future)
        if len(self.pending) >= IN_FLIGHT_PER_WORKER * self.pool.workers:
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            yield from (f.result() for f in self.pending if f in done)
            self.pending = [f for f in self.pending if f not in done]

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for future in self.pending:
            yield GlobalWindows.windowed_value(future.result())
        self.pending = []


class StageRows(beam.DoFn):
    """Write whole batches' verified rows to staging Parquet (about 1,000 rows a file, at
    the latest at the end of a bundle) and emit a StagedRef for each row, so full rows
    never travel through the runner. A file records the batches it completes."""

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


def staged_refs(path: Path | str) -> list[StagedRef]:
    """The refs of a file staged by an earlier round."""
    columns = ["split", "_bucket", "_index", "_level", "problem_id"]
    table = pq.read_table(path, columns=columns).to_pydict()
    return [StagedRef(*values, str(path)) for values in zip(*(table[c] for c in columns),
                                                             strict=True)]


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


class SelectRows(beam.DoFn):
    """StagedRef -> ((split, shard), ref) when it is within its bucket's cutoff."""

    def __init__(self, shards: dict[str, int]) -> None:
        self.shards = shards

    def process(
        self, ref: StagedRef, cutoffs: dict[Cell, int]
    ) -> Iterator[tuple[tuple[str, int], StagedRef]]:
        if ref.index <= cutoffs.get((ref.split, ref.bucket, ref.level), -1):
            yield (ref.split, shard_of(ref.problem_id, self.shards[ref.split])), ref


class WriteShards(beam.DoFn):
    """((split, shard), refs) -> the shard file, read from staging and written
    deterministically; yields its name. Empty shards are written too. A shard already
    there was written by an interrupted attempt from the same selection and is kept."""

    def __init__(self, data_dir: str, shards: dict[str, int]) -> None:
        self.data_dir = data_dir
        self.shards = shards

    def process(self, keyed: tuple[tuple[str, int], Iterable[StagedRef | None]]) -> Iterator[str]:
        (split, shard), refs = keyed
        wanted: dict[str, set[str]] = defaultdict(set)
        for ref in refs:
            if ref is not None:
                wanted[ref.path].add(ref.key)
        name = shard_name(split, shard, self.shards[split])
        if (Path(self.data_dir) / name).is_file():
            yield name
            return
        write_shard([read_rows(path, ids) for path, ids in sorted(wanted.items())],
                    Path(self.data_dir) / name)
        yield name
