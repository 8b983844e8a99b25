"""The build driver: plan the buckets, run Beam rounds until every bucket is full, write
the shards with a final Beam pipeline, then stats, manifest, config and card, and publish.

Rounds: a round is one Beam run. It tries a set of candidates per (split, k) bucket,
stages the verified rows, and writes the shards from each bucket's first `requested`
verified rows by candidate index. A bucket that came up short gets more candidates in
the next round, sized by its observed success rate (the first round is sized by a small
in-process pilot, so one round is the usual case); a bucket that cannot fill fails the
build loudly, naming the bucket and why its candidates were rejected.

Everything happens in a staging folder beside the output, named by the build key. A build
killed at any point and started again resumes there: the plan is deterministic, staged
files record the candidate batches they complete, shards already written are kept, and a
finished dataset waiting to be published is published. Nothing is visible at the output
path until the whole dataset is written and renamed into place. A build holds the lock on
its output (`pipelines.outdir`) for its whole run, so no two builds share a staging folder,
and a staging folder that two builds once shared is repaired on resume.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from searchtrace.config import BuildConfig
from searchtrace.errors import BuildError, UserError
from searchtrace.pipelines.outdir import (
    check_out_path,
    check_replaceable,
    occupied,
    output_lock,
)
from searchtrace.pipelines.outputs import write_outputs, write_run_record
from searchtrace.pipelines.plan import (
    Bucket,
    Candidate,
    CandidateRange,
    batch_name,
    bucket_label,
    plan_buckets,
)
from searchtrace.pipelines.process import Generated, build_row, generate_candidate
from searchtrace.pipelines.selection import kept_indexes
from searchtrace.pipelines.solver_pool import difficulty_level, solver_pool
from searchtrace.pipelines.transforms import (
    BucketCutoff,
    SelectRows,
    SolveBatch,
    StageRows,
    WriteShards,
    bucket_index,
    keep_first_per_problem,
    staged_refs,
)
from searchtrace.pipelines.writer import read_staged_batches, shard_count, staged_files
from searchtrace.schemas.rows import TraceRow
from searchtrace.solvers.policy import PolicyError
from searchtrace.solvers.registry import get_solver
from searchtrace.tasks import get_task
from searchtrace.version import build_key

MAX_ROUNDS = 8
MIN_SUCCESS_RATE = 0.02
PILOT_CANDIDATES = 24
FIRST_ROUND_MARGIN = 1.04  # covers the usual share of duplicate problems
BATCH_SIZE = 32
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildResult:
    out: Path
    rows: dict[str, int]
    seconds: float
    record: dict[str, Any]


@dataclass(frozen=True)
class StagedBuild:
    """A finished, not yet published dataset inside a staging folder."""

    dataset: Path
    resumed_batches: int  # candidate batches an earlier attempt had finished
    already_finished: bool = False  # an earlier attempt had finished it all


@dataclass
class _BucketState:
    """Candidates tried so far for a bucket, and the verified ones kept, per level."""

    bucket: Bucket
    attempted: int = 0
    verified: dict[int, list[int]] | None = None

    def found(self, level: int) -> int:
        return min(len((self.verified or {}).get(level, [])), self.bucket.levels[level])

    def short_by_level(self) -> dict[int, int]:
        return {level: need - self.found(level)
                for level, need in enumerate(self.bucket.levels) if need > self.found(level)}

    @property
    def short(self) -> int:
        return sum(self.short_by_level().values())


def pipeline_options(beam_args: Sequence[str]) -> PipelineOptions:
    """The in-process FnApiRunner unless a `--runner` is given; any Beam flag (e.g.
    `--runner=PortableRunner --job_endpoint=...`) passes through."""
    flags = list(beam_args)
    if not _names_runner(flags):
        flags.append("--runner=FnApiRunner")
    return PipelineOptions(flags=flags)


def _names_runner(beam_args: Sequence[str]) -> bool:
    return any(f.startswith("--runner") for f in beam_args)


def staging_folder(final: Path, key: str) -> Path:
    """Where the build with `key` for `final` is made: hidden beside it, one per key, so a
    second attempt finds the first one's work."""
    return final.parent / f".{final.name}.staging-{key[:16]}"


def run_build(
    config: BuildConfig,
    out: str | Path,
    *,
    workers: int = 1,
    beam_args: Sequence[str] = (),
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> BuildResult:
    """Build `config` into the dataset folder `out` (resuming an interrupted attempt) and
    publish it; the library entry point, without orchestration (see `flows.build`)."""
    out = Path(out)
    check_out_path(out)
    with output_lock(out):
        replace = occupied(out)
        check_replaceable(out)
        if replace and not overwrite:
            raise UserError(f"output folder exists: {out}; pass --overwrite to replace it")
        started = time.monotonic()
        staging = staging_folder(out, build_key(config))
        staged = build_staged(config, staging, workers=workers, beam_args=beam_args,
                              progress=progress)
        seconds = time.monotonic() - started
        record = write_run_record(staged.dataset, config, seconds=seconds, workers=workers,
                                  resumed_batches=staged.resumed_batches)
        publish(staged.dataset, out, replace=replace)
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(out, dict(config.splits), seconds, record)


def build_staged(
    config: BuildConfig,
    staging: Path,
    *,
    workers: int = 1,
    isolate: bool = False,
    beam_args: Sequence[str] = (),
    progress: ProgressCallback | None = None,
) -> StagedBuild:
    """Build the dataset in `staging/dataset`, resuming what an earlier attempt finished
    there. `workers` solver processes serve the default runner (with `isolate`, even one
    worker solves in its own process, so concurrent builds in one process run in
    parallel). A build that cannot meet its mix removes its staging folder."""
    if workers < 1:
        raise UserError(f"--workers: must be at least 1, got {workers}")
    finished = staging / "dataset"
    if finished.is_dir():
        return StagedBuild(finished, resumed_batches=0, already_finished=True)
    staging.mkdir(parents=True, exist_ok=True)
    # A solver pool serves the default in-process runner; other runners bring their own
    # parallelism, so `--workers` applies to the local runner only.
    pool_workers = 0 if _names_runner(beam_args) else workers
    if pool_workers == 1 and not isolate:
        pool_workers = 0
    if config.policy is not None and config.policy.backend == "local":
        # one copy of the model, in this process: forking after torch started is unsafe,
        # and the model batches the frontier itself
        pool_workers = 0
    shards = {split: shard_count(n, config.output.rows_per_shard)
              for split, n in config.splits.items()}
    try:
        with solver_pool(pool_workers) as pool_token:
            dataset, states, rejections, rounds, resumed = _run_rounds(
                config, shards, staging, pipeline_options(beam_args), pool_token, progress)
    except BuildError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except Exception as error:
        # the runner wraps a worker's failure; a policy that failed is said plainly (what
        # was staged before it stays, so the next attempt resumes there)
        failed = _innermost(error, PolicyError)
        if failed is None:
            raise
        raise PolicyError(str(failed)) from None
    write_outputs(config, dataset, shards, _bucket_summary(states), rejections, rounds=rounds)
    dataset.rename(finished)
    return StagedBuild(finished, resumed)


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


def publish(dataset: Path, out: Path, *, replace: bool) -> None:
    """Move the finished dataset into place; a replaced one is removed only afterwards.

    The caller holds the output lock and says what its plan saw at `out`: nothing, or
    (`replace`) a folder it may replace. That is checked again here, so a folder that
    appeared during the build, or one the user filled meanwhile, is never replaced.
    """
    if occupied(out):
        if not replace:
            raise UserError(f"{out} appeared while the build ran; nothing was replaced. The "
                            f"finished dataset waits in {dataset.parent}: run again with "
                            "--overwrite to publish it there, or choose another --out")
        check_replaceable(out)
    previous = None
    if out.exists():
        previous = out.parent / f".{out.name}.replaced-{uuid.uuid4().hex[:8]}"
        out.rename(previous)
    out.parent.mkdir(parents=True, exist_ok=True)
    dataset.rename(out)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def _bucket_summary(states: list[_BucketState]) -> list[dict[str, Any]]:
    return [{"split": s.bucket.split, "k": s.bucket.k, "requested": s.bucket.requested,
             "candidates": s.attempted,
             "verified": sum(len(v) for v in (s.verified or {}).values())} for s in states]


def _run_rounds(
    config: BuildConfig, shards: dict[str, int], staging: Path, options: PipelineOptions,
    pool_token: str | None, progress: ProgressCallback | None,
) -> tuple[Path, list[_BucketState], dict[str, dict[str, int]], int, int]:
    """Run round pipelines until every bucket has its rows; returns the dataset folder,
    the buckets, the rejections, the rounds run and the batches found already done."""
    states = [_BucketState(b) for b in plan_buckets(config)]
    pilot = _pilot_success_rates(config, states)
    batch_size = _batch_size(config)
    config_json = config.model_dump_json()
    stage_dir = staging / "staged"
    stage_dir.mkdir(exist_ok=True)
    _drop_duplicate_staged(staging, stage_dir)
    done = _done_batches(stage_dir)
    resumed = 0
    for round_number in range(1, MAX_ROUNDS + 1):
        batches = []
        for state in states:
            extra = _candidates_needed(state, pilot[state.bucket])
            bucket = state.bucket
            batches += [CandidateRange(bucket.split, bucket.k, bucket.ordinal, start,
                                       min(start + batch_size, state.attempted + extra))
                        for start in range(state.attempted, state.attempted + extra, batch_size)]
            state.attempted += extra
        fresh = [batch for batch in batches if batch_name(batch) not in done]
        resumed += len(batches) - len(fresh)
        round_dir = staging / f"round-{round_number}"
        dataset = round_dir / "dataset"
        if fresh or not _short_after(states, stage_dir, round_number):
            # A round whose batches were all staged before and that came up short then
            # needs no pipeline: the next round's candidates are planned from its counts.
            _run_round(config_json, states, shards, fresh, stage_dir, round_number, round_dir,
                       options, pool_token, progress)
        drops = _count_verified(states, stage_dir, round_number)
        rejections = _rejections(states, stage_dir, round_number, drops)
        if all(s.short == 0 for s in states):
            _remove_partial_files(dataset / "data")
            return dataset, states, rejections, round_number, resumed
        _fail_if_hopeless(config, states, rejections)
        shutil.rmtree(round_dir, ignore_errors=True)
    raise BuildError(_shortfall_message(config, [s for s in states if s.short], rejections))


def _done_batches(stage_dir: Path) -> set[str]:
    """The batches an earlier attempt staged completely."""
    return {name for path in staged_files(stage_dir, MAX_ROUNDS)
            for name in read_staged_batches(path).batches}


def _drop_duplicate_staged(staging: Path, stage_dir: Path) -> None:
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
            shutil.rmtree(round_dir, ignore_errors=True)


def _short_after(states: list[_BucketState], stage_dir: Path, round_number: int) -> bool:
    _count_verified(states, stage_dir, round_number)
    return any(s.short for s in states)


def _rejections(states: list[_BucketState], stage_dir: Path, round_number: int,
                drops: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Rejected candidates by bucket label and reason: those the staged batches recorded,
    and the verified rows deduplication dropped."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in staged_files(stage_dir, round_number):
        for key, count in read_staged_batches(path).rejected.items():
            split, k, reason = key.split("|", 2)
            totals[bucket_label(split, int(k))][reason] += count
    for label, reasons in drops.items():
        for reason, count in reasons.items():
            totals[label][reason] += count
    return _plain(totals)


def _remove_partial_files(data_dir: Path) -> None:
    """Temporary files a killed attempt left while writing a shard."""
    for path in data_dir.glob(".*.tmp-*"):
        path.unlink(missing_ok=True)


def _plain(rejections: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {bucket: dict(sorted(reasons.items())) for bucket, reasons in sorted(rejections.items())}


def _batch_size(config: BuildConfig) -> int:
    """Candidates per pipeline element; an llm_mcts batch is searched together, so its
    size bounds the frontier sent to the policy in one call."""
    if get_solver(config.solver.name).batched:
        return config.solver.settings().problems_per_batch
    return BATCH_SIZE


def _pilot_success_rates(
    config: BuildConfig, states: list[_BucketState]
) -> dict[Bucket, dict[int, float]]:
    """Per bucket and difficulty level, the share of the first few candidates that verify
    and land in that level, measured in-process (a cautious lower bound).

    It only sizes the first round (so one Beam run is usually enough); the pipeline
    processes these candidates again and alone decides what is written. An llm_mcts
    build has no pilot (it would search with the model twice): its first round tries the
    requested count, and later rounds are sized by the success rate observed.
    """
    if get_solver(config.solver.name).needs_policy:
        return {s.bucket: dict.fromkeys(range(len(s.bucket.levels)), 1.0) for s in states}
    task = get_task(config.task.name)
    task_config = config.task_config()
    rates = {}
    for state in states:
        sample = min(state.bucket.requested, PILOT_CANDIDATES)
        landed: dict[int, int] = defaultdict(int)
        for index in range(sample):
            candidate = Candidate(state.bucket.split, state.bucket.k, state.bucket.ordinal, index)
            generated = generate_candidate(task, task_config, candidate, config.seed)
            if isinstance(generated, Generated):
                row = build_row(config, task, generated)
                if isinstance(row, TraceRow):
                    level = difficulty_level(config, asdict(row.difficulty))
                    if level is not None:
                        landed[level] += 1
        rates[state.bucket] = {level: _wilson_lower_bound(landed[level], sample)
                               for level in range(len(state.bucket.levels))}
    return rates


def _wilson_lower_bound(successes: int, trials: int, z: float = 1.0) -> float:
    """A cautious success rate: a second round costs more than a few spare candidates."""
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / (1 + z * z / trials)


def _candidates_needed(state: _BucketState, pilot_rates: dict[int, float]) -> int:
    """Enough candidates for the level that needs the most: first round, its requested
    count over the pilot's rate plus a small margin (at most 4x the bucket and 50 more);
    later rounds, its shortfall over the rate observed so far."""
    levels = state.bucket.levels
    if state.verified is None:
        needed = max(math.ceil(need / max(pilot_rates[level], MIN_SUCCESS_RATE)
                               * FIRST_ROUND_MARGIN)
                     for level, need in enumerate(levels) if need)
        return min(needed, 4 * state.bucket.requested + 50) + 2
    return max((math.ceil(short / max(len(state.verified.get(level, [])) / state.attempted,
                                      MIN_SUCCESS_RATE) * 1.2) + 2
                for level, short in state.short_by_level().items()), default=0)


def _fail_if_hopeless(config: BuildConfig, states: list[_BucketState], rejections: dict) -> None:
    """A level that fewer than 2% of 50 or more candidates reach will not fill."""
    hopeless = [s for s in states if s.attempted >= 50 and any(
        len((s.verified or {}).get(level, [])) / s.attempted < MIN_SUCCESS_RATE
        for level in s.short_by_level())]
    if hopeless:
        raise BuildError(_shortfall_message(config, hopeless, rejections))


def _shortfall_message(config: BuildConfig, states: list[_BucketState], rejections: dict) -> str:
    names = list(config.difficulty_mix.buckets) if config.difficulty_mix else []
    parts = []
    for state in states:
        label = state.bucket.label
        reasons = rejections.get(label, {})
        top = ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1])[:3])
        for level in state.short_by_level():
            where = f"{label} difficulty={names[level]}" if names else label
            elsewhere = sum(len(v) for other, v in (state.verified or {}).items()
                            if other != level)
            landed = f"; {elsewhere} verified rows fell in other buckets" if names else ""
            parts.append(f"bucket {where} has {state.found(level)} of "
                         f"{state.bucket.levels[level]} rows after {state.attempted} "
                         f"candidates (rejected: {top or 'none'}{landed})")
    advice = "the difficulty buckets, " if names else ""
    return ("the requested mix cannot be met exactly: " + "; ".join(parts)
            + f". Change {advice}the task knobs, k values or max_dead_end_length.")


def _count_verified(
    states: list[_BucketState], stage_dir: Path, round_number: int
) -> dict[str, dict[str, int]]:
    """Verified rows per bucket that survive deduplication (the pipeline's own rule), and
    the rows deduplication dropped, by bucket label and reason."""
    refs = [ref for path in staged_files(stage_dir, round_number) for ref in staged_refs(path)]
    kept, dropped = kept_indexes(refs)
    labels = {(s.bucket.split, s.bucket.ordinal): s.bucket.label
              for s in states}
    for state in states:
        state.verified = {level: kept.get((state.bucket.split, state.bucket.ordinal, level), [])
                          for level in range(len(state.bucket.levels))}
    drops: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ref, reason in dropped:
        drops[labels[(ref.split, ref.bucket)]][reason] += 1
    return drops


def _run_round(
    config_json: str, states: list[_BucketState], shards: dict[str, int],
    batches: list[CandidateRange], stage_dir: Path, round_number: int, round_dir: Path,
    options: PipelineOptions, pool_token: str | None, progress: ProgressCallback | None,
) -> None:
    """One Beam run: process new candidates, stage them, and write every split's shards
    from the first `requested` verified rows of each bucket (earlier rounds' included)."""
    earlier = [str(path) for path in staged_files(stage_dir, round_number)]
    requested = {(s.bucket.split, s.bucket.ordinal, level): need
                 for s in states for level, need in enumerate(s.bucket.levels)}
    progress_dir = round_dir / "progress"
    shutil.rmtree(progress_dir, ignore_errors=True)
    progress_dir.mkdir(parents=True)
    (round_dir / "dataset" / "data").mkdir(parents=True, exist_ok=True)
    every_shard = [((split, i), None) for split, count in shards.items() for i in range(count)]

    pipeline = beam.Pipeline(options=options)
    fresh = (
        pipeline
        | "CandidateBatches" >> beam.Create(batches)
        | "Spread" >> beam.Reshuffle()
        | "SolveBatch" >> beam.ParDo(SolveBatch(config_json, str(progress_dir), pool_token))
        | "StageRows" >> beam.ParDo(StageRows(str(stage_dir), round_number))
    )
    refs = (
        (fresh, pipeline | "EarlierBatches" >> beam.Create(earlier)
         | "ReadEarlierRefs" >> beam.FlatMap(staged_refs))
        | "AllRefs" >> beam.Flatten()
        | "ByProblem" >> beam.GroupBy(lambda ref: ref.problem_id)
        | "KeepFirstPerProblem" >> beam.Map(keep_first_per_problem)
    )
    cutoffs = (refs | "BucketIndex" >> beam.Map(bucket_index)
               | "GroupByBucket" >> beam.GroupByKey()
               | "BucketCutoff" >> beam.ParDo(BucketCutoff(requested)))
    selected = refs | "SelectRows" >> beam.ParDo(SelectRows(shards),
                                                 cutoffs=beam.pvalue.AsDict(cutoffs))
    _ = (
        (selected, pipeline | "EveryShard" >> beam.Create(every_shard))
        | "Merge" >> beam.Flatten()
        | "GroupByShard" >> beam.GroupByKey()
        | "WriteShards" >> beam.ParDo(WriteShards(str(round_dir / "dataset" / "data"), shards))
    )
    total = sum(batch.stop - batch.start for batch in batches)
    _run_with_progress(pipeline, progress_dir, total, progress, f"round {round_number}")


def _run_with_progress(
    pipeline: beam.Pipeline, progress_dir: Path, total: int,
    progress: ProgressCallback | None, label: str,
) -> Any:
    """Run the pipeline; meanwhile report the candidates processed so far across workers."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            result = pipeline.run()
            result.wait_until_finish()
            outcome["result"] = result
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.5)
        if progress is not None:
            progress(label, _processed(progress_dir), total)
    if "error" in outcome:
        raise outcome["error"]
    if progress is not None:
        progress(label, total, total)
    return outcome["result"]


def _processed(progress_dir: Path) -> int:
    done = 0
    for path in progress_dir.glob("*.count"):
        try:
            done += int(path.read_text() or 0)
        except (OSError, ValueError):
            continue  # a heartbeat being rewritten; the next poll reads it
    return done
