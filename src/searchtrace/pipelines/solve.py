"""Solving a batch of candidates, free of Beam: generate, solve, linearize, render and
verify each, and keep the verified rows (with their candidate and difficulty level) and the
reason every other candidate failed. Runs wherever the runner runs a DoFn (this process,
a Beam worker, a Dask worker); what it keeps per process (a policy client, a heartbeat
file) is keyed by build and round, so one worker process can serve many builds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from searchtrace.config import BuildConfig
from searchtrace.pipelines.plan import BucketReason, BuildPlan, CandidateRange, cell_level
from searchtrace.pipelines.process import (
    Generated,
    Rejected,
    build_row,
    build_rows_with_policy,
    generate_candidate,
)
from searchtrace.pipelines.storage import location
from searchtrace.solvers.policies import make_policy
from searchtrace.solvers.policy import Policy
from searchtrace.solvers.registry import get_solver
from searchtrace.tasks import get_task


@dataclass(frozen=True)
class SolvedBatch:
    """A batch's verified row records (each with its candidate's bucket, index and key and
    its difficulty level), and the bucket and reason of every candidate that failed."""

    batch: CandidateRange
    records: list[dict[str, Any]]
    rejected: list[BucketReason]


_POLICIES: dict[str, Policy] = {}


def _policy(plan: BuildPlan) -> Policy:
    """This process's policy for the build (a server client or a loaded model), opened
    once and kept for the process's life."""
    if plan.key not in _POLICIES:
        assert plan.config.policy is not None  # the config requires it for llm_mcts
        _POLICIES[plan.key] = make_policy(plan.config.policy)
    return _POLICIES[plan.key]


class _Heartbeat:
    """This process's count of finished candidates, in a file the driver sums."""

    def __init__(self, progress_dir: str) -> None:
        self.path = location(progress_dir) / f"{uuid.uuid4().hex}.count"
        self.done = 0

    def add(self, count: int) -> None:
        self.done += count
        self.path.write_text(str(self.done))


_HEARTBEATS: dict[str, _Heartbeat] = {}


def row_level(config: BuildConfig, record: dict[str, Any]) -> int | None:
    """The row's level (`plan.cell_level`): its difficulty bucket (0 for every row when
    the build asks for no mix), clean or corrupted when the build asks for corrupted rows;
    None outside every difficulty bucket."""
    mix = config.difficulty_mix
    difficulty = 0 if mix is None else mix.level_of(record["difficulty"])
    if difficulty is None:
        return None
    return cell_level(config, difficulty, bool(record["corruptions"]))


def solve_batch(plan: BuildPlan, batch: CandidateRange, progress_dir: str) -> SolvedBatch:
    """The batch's verified rows and rejections."""
    config, task_config = plan.config, plan.task_config
    task = get_task(config.task.name)
    records: list[dict[str, Any]] = []
    rejected: list[BucketReason] = []
    candidates = batch.candidates()
    results = [generate_candidate(task, task_config, c, config.seed) for c in candidates]
    if get_solver(config.solver.name).batched:
        # the batch's problems are searched together: one policy call per wave
        generated = [r for r in results if isinstance(r, Generated)]
        rows = iter(build_rows_with_policy(config, task, generated, _policy(plan)))
        results = [next(rows) if isinstance(r, Generated) else r for r in results]
    else:
        results = [build_row(config, task, r) if isinstance(r, Generated) else r
                   for r in results]
    for candidate, result in zip(candidates, results, strict=True):
        if isinstance(result, Rejected):
            rejected.append(BucketReason(candidate.split, candidate.bucket, result.reason))
            continue
        record = result.to_record()
        level = row_level(config, record)
        if level is None:
            rejected.append(BucketReason(candidate.split, candidate.bucket,
                                         "difficulty:outside_buckets"))
            continue
        record["_bucket"] = candidate.bucket
        record["_index"] = candidate.index
        record["_key"] = candidate.key
        record["_level"] = level
        records.append(record)
    beat = _HEARTBEATS.get(progress_dir)
    if beat is None:
        beat = _HEARTBEATS[progress_dir] = _Heartbeat(progress_dir)
    beat.add(batch.stop - batch.start)
    return SolvedBatch(batch, records, rejected)
