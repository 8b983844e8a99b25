"""The DoFns of a build's Beam graphs, each with one job (`pipelines.graph` composes them
into named transforms).

StageWave solves a wave of candidate batches (generate, solve, linearize, render, verify)
and writes their verified rows to the wave's staged file (which records the batches it
completes and their rejections, so a resumed build skips them) before it emits the file's
name; the driver selects the rows to write from the staged files' refs
(`pipelines.selection`); SplitStaged reads each staged file once and sorts its selected
rows (their parts dropped) into per-shard parts, and WriteShard writes a shard from its
parts if it is not already there. ReplayShard replays a written shard's sampled rows from
the file's bytes for the validation gate (`pipelines.reverify`), so the shards are
replayed in parallel.

They hold for every runner, not only the in-process one: no output or side effect in
`finish_bundle` (Beam 2.77's DaskRunner collects a bundle's outputs before calling it), no
state kept on a DoFn instance between elements or bundles, no side inputs (the DaskRunner
recomputes them), nothing that depends on bundle boundaries or the order elements arrive
in, and every file named by its content, so a bundle a runner runs twice writes the same
file twice rather than two files. Folders travel as strings (a local path or an `s3://`
or `gs://` URL) and every file goes through `pipelines.storage`, so workers need no
shared POSIX mount when the output is on an object store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import apache_beam as beam

from searchtrace.pipelines.plan import BuildPlan
from searchtrace.pipelines.reverify import replay_path, replay_shard, write_replay
from searchtrace.pipelines.shard_parts import (
    Part,
    ShardKey,
    split_staged,
    write_shard_from_parts,
)
from searchtrace.pipelines.solve import solve_batch
from searchtrace.pipelines.storage import location, read_table
from searchtrace.pipelines.waves import Wave
from searchtrace.pipelines.writer import StagedBatches, shard_name, staged_path, write_staged


class StageWave(beam.DoFn):
    """Wave -> the path of its staged file. The wave's batches are solved and all their
    rows written to one staged file named by the wave (atomically, recording the batches
    and their rejections); only then is the path emitted, so nothing downstream ever
    names a file that is not there, and full rows never travel through the runner."""

    def __init__(self, plan: BuildPlan, stage_dir: str, round_number: int,
                 progress_dir: str) -> None:
        self.plan = plan
        self.stage_dir = stage_dir
        self.round_number = round_number
        self.progress_dir = progress_dir

    def process(self, wave: Wave) -> Iterator[str]:
        solved = [solve_batch(self.plan, batch, self.progress_dir) for batch in wave.batches]
        records = [record for batch in solved for record in batch.records]
        rejected = Counter(reason for batch in solved for reason in batch.rejected)
        path = staged_path(location(self.stage_dir), self.round_number, wave.key)
        write_staged(records, path, StagedBatches(tuple(b.key for b in wave.batches),
                                                  rejected))
        yield str(path)


class SplitStaged(beam.DoFn):
    """(staged file, its selection file, its parts file) -> ((split, shard), part) for
    each shard its selected rows go to: the staged file is read once for every shard
    (`shard_parts.split_staged`)."""

    def __init__(self, shards: dict[str, int]) -> None:
        self.shards = shards

    def process(self, files: tuple[str, str, str]) -> Iterator[tuple[ShardKey, Part]]:
        staged, selection, parts = files
        yield from split_staged(staged, read_table(location(selection)), parts, self.shards)


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
        path = location(self.data_dir) / name
        if not path.is_file():
            write_shard_from_parts([part for part in parts if part is not None], path)
        yield name


class ReplayShard(beam.DoFn):
    """Shard name -> its name, once its sampled rows (at `rate`) have been replayed from
    the file in `data_dir` and the replay recorded in `replay_dir`."""

    def __init__(self, data_dir: str, replay_dir: str, rate: float) -> None:
        self.data_dir = data_dir
        self.replay_dir = replay_dir
        self.rate = rate

    def process(self, name: str) -> Iterator[str]:
        replay = replay_shard(location(self.data_dir) / name, self.rate)
        write_replay(replay, replay_path(location(self.replay_dir), name))
        yield name
