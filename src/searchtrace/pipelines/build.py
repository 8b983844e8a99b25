"""The build driver: plan the buckets, run Beam rounds until every bucket is full, write
the shards with a final Beam pipeline, then stats, manifest, config and card, and publish.

Rounds: a round tries a set of candidates per (split, k) bucket and stages the verified
rows. A bucket that came up short gets more candidates in the next round, sized by its
observed success rate; one that cannot fill fails the build loudly, naming the bucket and
why its candidates were rejected. Nothing is visible at the output path until the whole
dataset is written: it is built in a staging folder beside it and renamed into place.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from searchtrace.config import BuildConfig
from searchtrace.errors import BuildError, UserError
from searchtrace.pipelines.outputs import write_outputs
from searchtrace.pipelines.plan import Bucket, Candidate, plan_buckets
from searchtrace.pipelines.transforms import (
    COUNTER_NAMESPACE,
    DropDuplicates,
    GenerateProblems,
    SelectRows,
    SolveRenderVerify,
    StageRows,
    WriteShards,
)
from searchtrace.pipelines.writer import shard_count

MAX_ROUNDS = 8
MIN_SUCCESS_RATE = 0.02
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildResult:
    out: Path
    rows: dict[str, int]
    seconds: float
    stats: dict[str, Any]


@dataclass
class _BucketState:
    bucket: Bucket
    attempted: int = 0
    verified: list[int] | None = None

    @property
    def short(self) -> int:
        return self.bucket.requested - len(self.verified or [])


def pipeline_options(workers: int, beam_args: Sequence[str]) -> PipelineOptions:
    """In-process FnApiRunner by default; `workers > 1` uses that many processes; any Beam
    flag (e.g. `--runner=PortableRunner --job_endpoint=...`) passes through."""
    flags = list(beam_args)
    if not any(f.startswith("--runner") for f in flags):
        flags.append("--runner=FnApiRunner")
    if workers > 1:
        flags += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    return PipelineOptions(flags=flags)


def run_build(
    config: BuildConfig,
    out: str | Path,
    *,
    workers: int = 1,
    beam_args: Sequence[str] = (),
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> BuildResult:
    out = Path(out)
    if workers < 1:
        raise UserError(f"--workers: must be at least 1, got {workers}")
    if out.exists() and not overwrite:
        raise UserError(f"output folder exists: {out}; pass --overwrite to replace it")
    if out.exists() and not out.is_dir():
        raise UserError(f"output path is not a folder: {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.staging-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    try:
        staging.mkdir()
        options = pipeline_options(workers, beam_args)
        states, rejections, rounds = _run_rounds(config, staging, options, progress)
        dataset = staging / "dataset"
        shards = {split: shard_count(n, config.output.rows_per_shard)
                  for split, n in config.splits.items()}
        _write_final(states, shards, staging, dataset / "data", options)
        seconds = time.monotonic() - started
        stats = write_outputs(config, dataset, shards, states_summary(states), rejections,
                              seconds=seconds, workers=workers, rounds=rounds)
        _publish(dataset, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(out, dict(config.splits), seconds, stats)


def states_summary(states: list[_BucketState]) -> list[dict[str, Any]]:
    return [{"split": s.bucket.split, "k": s.bucket.k, "requested": s.bucket.requested,
             "candidates": s.attempted, "verified": len(s.verified or [])} for s in states]


def _run_rounds(
    config: BuildConfig, staging: Path, options: PipelineOptions,
    progress: ProgressCallback | None,
) -> tuple[list[_BucketState], dict[str, dict[str, int]], int]:
    states = [_BucketState(b) for b in plan_buckets(config)]
    rejections: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    config_json = config.model_dump_json()
    stage_dir = staging / "staged"
    stage_dir.mkdir()
    for round_number in range(1, MAX_ROUNDS + 1):
        candidates = []
        for state in states:
            extra = _candidates_needed(state)
            candidates += [Candidate(state.bucket.split, state.bucket.k, state.bucket.ordinal, i)
                           for i in range(state.attempted, state.attempted + extra)]
            state.attempted += extra
        if not candidates:
            return states, _plain(rejections), round_number - 1
        earlier_ids = _staged_ids(stage_dir)
        counters = _run_round(config_json, candidates, earlier_ids, stage_dir,
                              staging / f"progress-{round_number}", options,
                              progress, f"round {round_number}")
        for name, value in counters.items():
            _, split, k, reason = name.split("|", 3)
            rejections[f"{split} k={k}"][reason] += value
        _count_verified(states, stage_dir)
        _fail_if_hopeless(states, rejections)
    short = [s for s in states if s.short > 0]
    if short:
        raise BuildError(_shortfall_message(short, rejections))
    return states, _plain(rejections), MAX_ROUNDS


def _plain(rejections: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {bucket: dict(sorted(reasons.items())) for bucket, reasons in sorted(rejections.items())}


def _candidates_needed(state: _BucketState) -> int:
    """First round: the requested count; later: the shortfall over the observed rate."""
    if state.verified is None:
        return state.bucket.requested
    if state.short <= 0:
        return 0
    rate = max(len(state.verified) / state.attempted, MIN_SUCCESS_RATE)
    return math.ceil(state.short / rate * 1.2) + 2


def _fail_if_hopeless(states: list[_BucketState], rejections: dict) -> None:
    hopeless = [s for s in states if s.short > 0 and s.attempted >= 50
                and len(s.verified or []) / s.attempted < MIN_SUCCESS_RATE]
    if hopeless:
        raise BuildError(_shortfall_message(hopeless, rejections))


def _shortfall_message(states: list[_BucketState], rejections: dict) -> str:
    parts = []
    for state in states:
        label = f"{state.bucket.split} k={'natural' if state.bucket.k < 0 else state.bucket.k}"
        reasons = rejections.get(label, {})
        top = ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1])[:3])
        parts.append(f"bucket {label} has {len(state.verified or [])} of "
                     f"{state.bucket.requested} rows after {state.attempted} candidates "
                     f"(rejected: {top or 'none'})")
    return ("the requested mix cannot be met exactly: " + "; ".join(parts)
            + ". Change the task knobs, k values or max_dead_end_length.")


def _staged_ids(stage_dir: Path) -> frozenset[str]:
    files = sorted(stage_dir.glob("*.parquet"))
    return frozenset(i for f in files for i in pq.read_table(f, columns=["problem_id"])
                     .column("problem_id").to_pylist())


def _count_verified(states: list[_BucketState], stage_dir: Path) -> None:
    found: dict[tuple[str, int], list[int]] = defaultdict(list)
    for path in sorted(stage_dir.glob("*.parquet")):
        table = pq.read_table(path, columns=["split", "_bucket", "_index"]).to_pydict()
        for split, bucket, index in zip(table["split"], table["_bucket"], table["_index"],
                                        strict=True):
            found[(split, bucket)].append(index)
    for state in states:
        state.verified = sorted(found[(state.bucket.split, state.bucket.ordinal)])


def _run_round(
    config_json: str, candidates: list[Candidate], earlier_ids: frozenset[str],
    stage_dir: Path, progress_dir: Path, options: PipelineOptions,
    progress: ProgressCallback | None, label: str,
) -> dict[str, int]:
    progress_dir.mkdir()
    pipeline = beam.Pipeline(options=options)
    _ = (
        pipeline
        | "Candidates" >> beam.Create(candidates)
        | "Spread" >> beam.Reshuffle()
        | "GenerateProblems" >> beam.ParDo(GenerateProblems(config_json))
        | "GroupById" >> beam.GroupByKey()
        | "DropDuplicates" >> beam.ParDo(DropDuplicates(earlier_ids))
        | "SolveRenderVerify" >> beam.ParDo(SolveRenderVerify(config_json, str(progress_dir)))
        | "StageRows" >> beam.ParDo(StageRows(str(stage_dir)))
    )
    result = _run_with_progress(pipeline, progress_dir, len(candidates), progress, label)
    counters = result.metrics().query(MetricsFilter().with_namespace(COUNTER_NAMESPACE))
    totals: dict[str, int] = defaultdict(int)
    for counter in counters["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] += value or 0
    return dict(totals)


def _run_with_progress(
    pipeline: beam.Pipeline, progress_dir: Path, total: int,
    progress: ProgressCallback | None, label: str,
) -> Any:
    """Run the pipeline; meanwhile report the rows processed so far across workers."""
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


def _write_final(
    states: list[_BucketState], shards: dict[str, int], staging: Path, data_dir: Path,
    options: PipelineOptions,
) -> None:
    data_dir.mkdir(parents=True)
    cutoffs = {(s.bucket.split, s.bucket.ordinal): s.verified[s.bucket.requested - 1]
               for s in states if s.verified}
    files = [str(p) for p in sorted((staging / "staged").glob("*.parquet"))]
    keys = [((split, i), None) for split, count in shards.items() for i in range(count)]
    pipeline = beam.Pipeline(options=options)
    rows = (pipeline | "StagedFiles" >> beam.Create(files)
            | "SelectRows" >> beam.ParDo(SelectRows(cutoffs, shards)))
    every_shard = pipeline | "EveryShard" >> beam.Create(keys)
    _ = (
        (rows, every_shard)
        | "Merge" >> beam.Flatten()
        | "GroupByShard" >> beam.GroupByKey()
        | "WriteShards" >> beam.ParDo(WriteShards(str(data_dir), shards))
    )
    pipeline.run().wait_until_finish()


def _publish(dataset: Path, out: Path) -> None:
    """Move the finished dataset into place; a replaced one is removed only afterwards."""
    previous = None
    if out.exists():
        previous = out.parent / f".{out.name}.replaced-{uuid.uuid4().hex[:8]}"
        out.rename(previous)
    dataset.rename(out)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
