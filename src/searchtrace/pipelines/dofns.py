"""The DoFns of a build's Beam graph, each with one job (`pipelines.graph` composes them
into named transforms).

StageWave solves a wave of candidate batches (generate, solve, linearize, render, verify),
writes their verified rows to the wave's staged file (which records the batches it completes
and their rejections, so a resumed build skips them) and only then passes on small refs;
SelectCell keeps each (bucket, level)'s first rows and gives each its drop level; WriteShard
reads a shard's rows back from staging (with their parts dropped) and writes the shard if it
is not already there.

They hold for every runner, not only the in-process one: no output or side effect in
`finish_bundle` (Beam 2.77's DaskRunner collects a bundle's outputs before calling it), no
state kept on a DoFn instance between elements or bundles, no side inputs (the DaskRunner
recomputes them), nothing that depends on bundle boundaries or the order elements arrive
in, and every file named by its content, so a bundle a runner runs twice writes the same
file twice rather than two files.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import apache_beam as beam

from searchtrace.pipelines.plan import BuildPlan
from searchtrace.pipelines.selection import Cell, StagedRef, first_by_index, first_per_problem
from searchtrace.pipelines.solve import solve_batch
from searchtrace.pipelines.waves import Wave
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


class StageWave(beam.DoFn):
    """Wave -> a StagedRef for each verified row. The wave's batches are solved, all their
    rows written to one staged file named by the wave (atomically, recording the batches
    and their rejections), and only then are the refs emitted: a ref never names a file
    that is not there, and full rows never travel through the runner."""

    def __init__(self, plan: BuildPlan, stage_dir: str, round_number: int,
                 progress_dir: str) -> None:
        self.plan = plan
        self.stage_dir = stage_dir
        self.round_number = round_number
        self.progress_dir = progress_dir

    def process(self, wave: Wave) -> Iterator[StagedRef]:
        solved = [solve_batch(self.plan, batch, self.progress_dir) for batch in wave.batches]
        records = [record for batch in solved for record in batch.records]
        rejected = Counter(reason for batch in solved for reason in batch.rejected)
        path = staged_path(Path(self.stage_dir), self.round_number, wave.key)
        write_staged(records, path, StagedBatches(tuple(b.key for b in wave.batches),
                                                  rejected))
        for record in records:
            yield StagedRef(record["split"], record["_bucket"], record["_index"],
                            record["_level"], record["problem_id"], str(path))


def keep_first_per_problem(keyed: tuple[str, Iterable[StagedRef]]) -> StagedRef:
    """One row per problem id (see `selection.priority`); the driver counts the drops."""
    return first_per_problem(keyed[1])[0]


def cell_of(ref: StagedRef) -> Cell:
    return ref.split, ref.bucket, ref.level


class SelectCell(beam.DoFn):
    """((split, bucket, level), refs) -> ((split, shard), ref) for the cell's first
    requested rows by candidate index (`selection.first_by_index`), the i-th of them
    carrying the plan's i-th drop level when the build has drops (`plan.plan_drops`)."""

    def __init__(self, requested: dict[Cell, int], shards: dict[str, int],
                 drops: dict[Cell, tuple[str, ...]]) -> None:
        self.requested = requested
        self.shards = shards
        self.drops = drops

    def process(
        self, keyed: tuple[Cell, Iterable[StagedRef]]
    ) -> Iterator[tuple[tuple[str, int], StagedRef]]:
        cell, refs = keyed
        levels = self.drops.get(cell, ())
        for position, ref in enumerate(first_by_index(refs, self.requested.get(cell, 0))):
            drop = levels[position] if position < len(levels) else ""
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
