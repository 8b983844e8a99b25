"""The DoFns of a build's Beam graph, each with one job (`pipelines.graph` composes them
into named transforms).

SolveBatches solves a group of candidate batches (generate, solve, linearize, render,
verify); StageBatches parks whole batches' rows in staging files (each file records the
batches it completes and their rejections, so a resumed build skips them); the driver
selects the rows to write from their refs (`pipelines.selection`); SplitStaged reads each
staged file once and sorts its selected rows (their parts dropped) into per-shard parts,
and WriteShard writes a shard from its parts if it is not already there. None of them
emits output from `finish_bundle`, which a runner may drop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, as_completed, wait
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq

from searchtrace.pipelines.plan import BucketReason, BuildPlan, CandidateRange
from searchtrace.pipelines.shard_parts import (
    Part,
    ShardKey,
    split_staged,
    write_shard_from_parts,
)
from searchtrace.pipelines.solver_pool import SolvedBatch, pool_for, solve_batch
from searchtrace.pipelines.writer import StagedBatches, shard_name, staged_path, write_staged

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
    the latest at the end of a bundle); nothing passes on through the runner, so rows
    and refs never grow its memory. A file records the batches it completes: the round
    is done when the pipeline is, and the driver reads the staged files after it."""

    def __init__(self, stage_dir: str, round_number: int) -> None:
        self.stage_dir = stage_dir
        self.round_number = round_number

    def start_bundle(self) -> None:
        self._open()

    def process(self, solved: SolvedBatch) -> None:
        self.records += solved.records
        self.batches.append(solved.batch.key)
        self.rejected.update(solved.rejected)
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


class SplitStaged(beam.DoFn):
    """(staged file, its selection file, its parts file) -> ((split, shard), part) for
    each shard its selected rows go to: the staged file is read once for every shard
    (`shard_parts.split_staged`)."""

    def __init__(self, shards: dict[str, int]) -> None:
        self.shards = shards

    def process(self, files: tuple[str, str, str]) -> Iterator[tuple[ShardKey, Part]]:
        staged, selection, parts = files
        yield from split_staged(staged, pq.read_table(selection), parts, self.shards)


class WriteShard(beam.DoFn):
    """((split, shard), parts) -> the shard file, written deterministically from its
    parts; yields its name. Empty shards are written too. A shard already there was
    written by an interrupted attempt from the same selection and is kept."""

    def __init__(self, data_dir: str, shards: dict[str, int]) -> None:
        self.data_dir = data_dir
        self.shards = shards

    def process(self, keyed: tuple[ShardKey, Iterable[Part | None]]) -> Iterator[str]:
        (split, shard), parts = keyed
        name = shard_name(split, shard, self.shards[split])
        path = Path(self.data_dir) / name
        if not path.is_file():
            write_shard_from_parts([part for part in parts if part is not None], path)
        yield name
