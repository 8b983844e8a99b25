"""The build driver: run Beam rounds until every bucket of the plan is full, then write
stats, manifest, config and card beside the shards, in a staging folder.

Rounds: a round is one Beam run (`pipelines.graph`). It tries a set of candidates per
(split, k) bucket and stages the verified rows. A bucket that came up short gets more
candidates in the next round (`pipelines.sizing`: the first round is sized by a small
in-process pilot, so one round is the usual case); a bucket that cannot fill fails the
build loudly, naming the bucket and why its candidates were rejected. Once every bucket
is full, the rows are selected (`pipelines.selection`: each bucket's first `requested`
verified rows by candidate index) and one more Beam run writes every shard, once.

Everything happens in a staging folder beside the output, named by the build key, through
`pipelines.storage` (a local folder or an object-store prefix); the finished dataset is
committed inside it (`storage.commit_folder`), which is what a resumed build checks. A build
killed at any point and started again resumes there: the plan is deterministic, staged
files record the candidate batches they complete, shards already written are kept, and a
finished dataset is found finished. The caller holds the lock on the output
(`pipelines.outdir`) for the whole run, so no two builds share a staging folder, and a
staging folder that two builds once shared is repaired on resume. Publishing the finished
dataset is the flow's (`flows`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions

from searchtrace.config import BuildConfig
from searchtrace.errors import BuildError, UserError
from searchtrace.pipelines.cluster import (
    local_dask_cluster,
    names_runner,
    require_cluster_extra,
    round_flags,
    write_partitions,
)
from searchtrace.pipelines.graph import replay_graph, round_graph, write_graph
from searchtrace.pipelines.outputs import write_outputs
from searchtrace.pipelines.plan import (
    BucketReason,
    BuildPlan,
    CandidateRange,
    difficulty_of_level,
    plan_drops,
)
from searchtrace.pipelines.progress import (
    ProgressCallback,
    run_to_end,
    run_with_progress,
    wait_to_end,
)
from searchtrace.pipelines.reverify import default_sample_rate
from searchtrace.pipelines.selection import Kept, first_per_problem, run_starts, runs, select
from searchtrace.pipelines.sizing import (
    BucketState,
    candidates_needed,
    hopeless,
    pilot_success_rates,
)
from searchtrace.pipelines.storage import (
    Location,
    commit_folder,
    is_committed,
    remove_tree,
    write_parquet,
)
from searchtrace.pipelines.waves import into_waves
from searchtrace.pipelines.writer import (
    read_staged_batches,
    shard_name,
    staged_files,
    staged_refs,
)
from searchtrace.solvers.policy import PolicyError

MAX_ROUNDS = 8
REPLAYED = "replayed"  # the staging folder's shard replays


@dataclass(frozen=True)
class StagedBuild:
    """A finished, not yet published dataset inside a staging folder."""

    dataset: Location
    resumed_batches: int  # candidate batches an earlier attempt had finished
    already_finished: bool = False  # an earlier attempt had finished it all
    replayed: Location | None = None  # the shard writers' replays (`pipelines.reverify`)


def build_staged(
    plan: BuildPlan,
    staging: Location,
    *,
    workers: int = 1,
    isolate: bool = False,
    beam_args: Sequence[str] = (),
    progress: ProgressCallback | None = None,
) -> StagedBuild:
    """Build the dataset in `staging/dataset`, resuming what an earlier attempt finished
    there. Without a `--runner` in `beam_args`, `workers` > 1 runs the build on a local
    Dask cluster of that many processes (with `isolate`, even one worker gets its own
    process, so concurrent builds in one process run in parallel); one worker runs it in
    this process. The plan is recorded there as plan.json. A build that cannot meet its
    mix removes its staging folder."""
    if workers < 1:
        raise UserError(f"--workers: must be at least 1, got {workers}")
    finished = staging / "dataset"
    if is_committed(finished):
        return StagedBuild(finished, resumed_batches=0, already_finished=True)
    local = _local_workers(plan, beam_args, workers, isolate)
    if local:
        require_cluster_extra(workers)
    staging.mkdir(parents=True, exist_ok=True)
    plan.write(staging)
    try:
        with _runner_flags(beam_args, local) as flags:
            dataset, states, rejections, rounds, resumed = _run_rounds(
                plan, staging, flags, progress)
            with _replaying_shards(plan, dataset, staging / REPLAYED, flags):
                write_outputs(plan, dataset, _bucket_summary(states), rejections,
                              rounds=rounds)
    except BuildError:
        remove_tree(staging)
        raise
    except Exception as error:
        # the runner wraps a worker's failure; a policy that failed is said plainly (what
        # was staged before it stays, so the next attempt resumes there)
        failed = _innermost(error, PolicyError)
        if failed is None:
            raise
        raise PolicyError(str(failed)) from None
    commit_folder(dataset, finished)
    return StagedBuild(finished, resumed, replayed=staging / REPLAYED)


def _local_workers(plan: BuildPlan, beam_args: Sequence[str], workers: int,
                   isolate: bool) -> int:
    """The worker processes of the local Dask cluster the build runs on; 0 for none:
    `beam_args` name a runner (which brings its own parallelism, so `--workers` does not
    apply), or one worker runs in this process."""
    config = plan.config
    if config.policy is not None and config.policy.backend == "local":
        # a local model stays in this process: one copy, forking after torch started is
        # unsafe, and the model batches the frontier itself
        return 0
    if names_runner(beam_args) or (workers == 1 and not isolate):
        return 0
    return workers


@contextmanager
def _runner_flags(beam_args: Sequence[str], local_workers: int) -> Iterator[list[str]]:
    """The Beam flags of the build: `beam_args`, plus a local Dask cluster's for as long
    as the build runs when it has `local_workers`."""
    if not local_workers:
        yield list(beam_args)
        return
    with local_dask_cluster(local_workers) as flags:
        yield [*beam_args, *flags]


def _innermost(error: BaseException, kind: type[Exception]) -> BaseException | None:
    """The deepest exception of `kind` in `error`'s chain of causes, if any."""
    found = None
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kind):
            found = current
        current = current.__cause__ or current.__context__
    return found


def _bucket_summary(states: list[BucketState]) -> list[dict[str, Any]]:
    return [{"split": s.bucket.split, "k": s.bucket.k, "requested": s.bucket.requested,
             "candidates": s.attempted,
             "verified": sum((s.verified or {}).values())} for s in states]


def _run_rounds(
    plan: BuildPlan, staging: Location, beam_args: list[str], progress: ProgressCallback | None,
) -> tuple[Location, list[BucketState], dict[str, dict[str, int]], int, int]:
    """Run round pipelines until every bucket has its rows; returns the dataset folder,
    the buckets, the rejections, the rounds run and the batches found already done."""
    states = [BucketState(b) for b in plan.buckets]
    pilot = pilot_success_rates(plan, states)
    batch_size = plan.batch_size
    stage_dir = staging / "staged"
    stage_dir.mkdir(exist_ok=True)
    _drop_duplicate_staged(staging, stage_dir)
    done = _done_batches(stage_dir)
    resumed = 0
    for round_number in range(1, MAX_ROUNDS + 1):
        batches = []
        for state in states:
            extra = candidates_needed(state, pilot[state.bucket])
            bucket = state.bucket
            batches += [CandidateRange(bucket.split, bucket.k, bucket.ordinal, start,
                                       min(start + batch_size, state.attempted + extra))
                        for start in range(state.attempted, state.attempted + extra, batch_size)]
            state.attempted += extra
        fresh = [batch for batch in batches if batch.key not in done]
        resumed += len(batches) - len(fresh)
        round_dir = staging / f"round-{round_number}"
        if fresh:
            _run_round(plan, fresh, stage_dir, round_number, round_dir, beam_args, progress)
        kept = _count_verified(states, stage_dir, round_number)
        rejections = _rejections(plan, stage_dir, round_number, kept.dropped)
        if all(s.short == 0 for s in states):
            dataset = _write_shards(plan, kept, stage_dir, round_number, round_dir, beam_args)
            return dataset, states, rejections, round_number, resumed
        stuck = hopeless(states)
        if stuck:
            raise BuildError(_shortfall_message(plan.config, stuck, rejections))
        remove_tree(round_dir)
    raise BuildError(_shortfall_message(plan.config, [s for s in states if s.short],
                                        rejections))


def _done_batches(stage_dir: Location) -> set[str]:
    """The batches an earlier attempt staged completely."""
    return {name for path in staged_files(stage_dir, MAX_ROUNDS)
            for name in read_staged_batches(path).batches}


def _drop_duplicate_staged(staging: Location, stage_dir: Location) -> None:
    """Keep each candidate batch in one staged file: remove a file that cannot be read or
    that records a batch an earlier file already holds (two builds once shared a staging
    folder and staged batches twice, which double-counted rows and rejections on every
    later resume). Its batches are solved again; shards written from the old files go."""
    seen: set[str] = set()
    removed = False
    for path in staged_files(stage_dir, MAX_ROUNDS):
        try:
            batches = set(read_staged_batches(path).batches)
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink()
            removed = True
            continue
        if batches & seen:
            path.unlink()
            removed = True
        else:
            seen |= batches
    if removed:
        for round_dir in staging.glob("round-*"):
            remove_tree(round_dir)


def _rejections(plan: BuildPlan, stage_dir: Location, round_number: int,
                drops: Counter[BucketReason]) -> dict[str, dict[str, int]]:
    """Rejected candidates by bucket label and reason: those the staged batches recorded,
    and the verified rows deduplication dropped."""
    counts = Counter(drops)
    for path in staged_files(stage_dir, round_number):
        counts.update(read_staged_batches(path).rejected)
    labels = {(b.split, b.ordinal): b.label for b in plan.buckets}
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rejection, count in counts.items():
        totals[labels[(rejection.split, rejection.bucket)]][rejection.reason] += count
    return _plain(totals)


def _remove_partial_files(data_dir: Location) -> None:
    """Temporary files a killed attempt left while writing a shard."""
    for path in data_dir.glob(".*.tmp-*"):
        path.unlink(missing_ok=True)


def _plain(rejections: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {bucket: dict(sorted(reasons.items())) for bucket, reasons in sorted(rejections.items())}


def _shortfall_message(config: BuildConfig, states: list[BucketState], rejections: dict) -> str:
    names = list(config.difficulty_mix.buckets) if config.difficulty_mix else []
    parts = []
    for state in states:
        label = state.bucket.label
        reasons = rejections.get(label, {})
        top = ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1])[:3])
        for level in state.short_by_level():
            difficulty = difficulty_of_level(config, level)
            where = f"{label} difficulty={names[difficulty]}" if names else label
            if config.traces.corrupt is not None:
                where += " corrupted" if level % 2 else " clean"
            elsewhere = sum(n for other, n in (state.verified or {}).items()
                            if other != level)
            landed = f"; {elsewhere} verified rows fell in other buckets" if names else ""
            parts.append(f"bucket {where} has {state.found(level)} of "
                         f"{state.bucket.levels[level]} rows after {state.attempted} "
                         f"candidates (rejected: {top or 'none'}{landed})")
    advice = "the difficulty buckets, " if names else ""
    return ("the requested mix cannot be met exactly: " + "; ".join(parts)
            + f". Change {advice}the task knobs, k values or max_dead_end_length.")


def _count_verified(states: list[BucketState], stage_dir: Location, round_number: int) -> Kept:
    """Verified rows per bucket and level that survive deduplication (the rows the shards
    are selected from), and the rows deduplication dropped, by bucket and reason."""
    kept = first_per_problem(staged_refs(staged_files(stage_dir, round_number)))
    counts = kept.counts()
    for state in states:
        state.verified = {level: counts.get((state.bucket.split, state.bucket.ordinal, level), 0)
                          for level in range(len(state.bucket.levels))}
    return kept


def _run_round(
    plan: BuildPlan, batches: list[CandidateRange], stage_dir: Location, round_number: int,
    round_dir: Location, beam_args: list[str], progress: ProgressCallback | None,
) -> None:
    """One Beam run: process new candidates and stage their verified rows."""
    progress_dir = round_dir / "progress"
    remove_tree(progress_dir)
    progress_dir.mkdir(parents=True)
    waves = into_waves(batches)
    pipeline = beam.Pipeline(options=PipelineOptions(flags=round_flags(beam_args, len(waves))))
    round_graph(pipeline, plan, waves, stage_dir=stage_dir, round_number=round_number,
                progress_dir=progress_dir)
    total = sum(batch.stop - batch.start for batch in batches)
    run_with_progress(pipeline, progress_dir, total, progress, f"round {round_number}")


def _write_shards(plan: BuildPlan, kept: Kept, stage_dir: Location, round_number: int,
                  round_dir: Location, beam_args: list[str]) -> Location:
    """Select each bucket's first requested rows and write every shard from them into
    `round_dir/dataset` in one Beam run; returns the dataset folder. Each staged file with
    a selected row gets a small selection file (its rows' keys and drop levels) and is
    read once; the per-shard parts it is sorted into go once the shards are written."""
    requested = {(bucket.split, bucket.ordinal, level): need
                 for bucket in plan.buckets for level, need in enumerate(bucket.levels)}
    selected = select(kept.refs, requested, plan_drops(plan.config, plan.buckets))
    staged = staged_files(stage_dir, round_number)
    work = round_dir / "write"
    remove_tree(work)
    work.mkdir(parents=True)
    files = []
    for position, rows in _by_file(selected):
        name = staged[position].stem
        write_parquet(rows.drop_columns(["file"]), work / f"{name}.selection.parquet")
        files.append((str(staged[position]), str(work / f"{name}.selection.parquet"),
                      str(work / f"{name}.parts.arrow")))
    dataset = round_dir / "dataset"
    data_dir = dataset / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    flags = round_flags(beam_args, write_partitions(len(files)))
    pipeline = beam.Pipeline(options=PipelineOptions(flags=flags))
    write_graph(pipeline, files, data_dir, plan.shards)
    run_to_end(pipeline)
    remove_tree(work)
    _remove_partial_files(data_dir)
    return dataset


@contextmanager
def _replaying_shards(plan: BuildPlan, dataset: Location, replay_dir: Location,
                      beam_args: list[str]) -> Iterator[None]:
    """Replay every shard's sampled rows (at the gate's default rate) into `replay_dir`
    in one Beam run, for the validation gate (`pipelines.reverify`), and wait for it on
    leaving. A runner that runs elsewhere (the Dask cluster) replays on its workers while
    the caller writes the stats and the card; the in-process runner replays first."""
    names = [shard_name(split, index, count) for split, count in plan.shards.items()
             for index in range(count)]
    replay_dir.mkdir(exist_ok=True)
    rate = default_sample_rate(sum(plan.config.splits.values()))
    pipeline = beam.Pipeline(options=PipelineOptions(flags=round_flags(beam_args, len(names))))
    replay_graph(pipeline, names, dataset / "data", replay_dir, rate)
    result = pipeline.run()
    try:
        yield
    finally:
        wait_to_end(result)


def _by_file(selected: pa.Table) -> Iterator[tuple[int, pa.Table]]:
    """The selected rows of each staged file, by the file's position."""
    ordered = selected.sort_by("file")
    for start, length in runs(run_starts(ordered, ["file"])):
        yield ordered["file"][start].as_py(), ordered.slice(start, length)
