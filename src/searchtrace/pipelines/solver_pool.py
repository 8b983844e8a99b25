"""Worker processes for `--workers N` on the local runner.

The in-process Beam runner keeps the pipeline (cheap: only small refs move), and the CPU
work of solving, rendering and verifying goes to N processes forked once at the start of
the build. Forked children inherit every imported module, so they start in milliseconds
(where fork is unavailable, spawned children import what they need),
where Beam's own multi-processing workers each import Beam and the task code again (about
2 s each) and pay for a gRPC data plane. The pool is found by a token that the DoFn
carries; a DoFn running anywhere the pool does not exist (another runner, another
process) solves inline instead.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from searchtrace.config import BuildConfig
from searchtrace.pipelines.plan import CandidateRange
from searchtrace.pipelines.process import (
    Generated,
    Rejected,
    build_row,
    build_rows_with_policy,
    generate_candidate,
)
from searchtrace.solvers.policies import make_policy
from searchtrace.solvers.policy import Policy
from searchtrace.solvers.registry import get_solver
from searchtrace.tasks import Task, get_task
from searchtrace.tasks.base import TaskConfig


@dataclass(frozen=True)
class SolverPool:
    executor: Executor
    workers: int


_POOLS: dict[str, SolverPool] = {}

BatchResult = tuple[list[dict[str, Any]], list[tuple[str, int, str]]]


@contextmanager
def solver_pool(workers: int) -> Iterator[str | None]:
    """A token for a pool of `workers` forked processes (None for none: solve inline)."""
    if workers < 1:
        yield None
        return
    token = uuid.uuid4().hex
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))
    for _ in range(workers):
        pool.submit(int)  # start the processes now, while the driver plans
    _POOLS[token] = SolverPool(pool, workers)
    try:
        yield token
    finally:
        del _POOLS[token]
        pool.shutdown(wait=True, cancel_futures=True)


def pool_for(token: str | None) -> SolverPool | None:
    return _POOLS.get(token) if token else None


@cache
def _context(config_json: str) -> tuple[BuildConfig, Task, TaskConfig]:
    config = BuildConfig.model_validate_json(config_json)
    return config, get_task(config.task.name), config.task_config()


@cache
def _policy(config_json: str) -> Policy:
    """This process's policy for the build (a server client or a loaded model), opened
    once and kept for the process's life."""
    config = _context(config_json)[0]
    assert config.policy is not None  # the config requires it for llm_mcts
    return make_policy(config.policy)


class _Heartbeat:
    """This process's count of finished candidates, in a file the driver sums."""

    def __init__(self, progress_dir: str) -> None:
        self.path = Path(progress_dir) / f"{uuid.uuid4().hex}.count"
        self.done = 0

    def add(self, count: int) -> None:
        self.done += count
        self.path.write_text(str(self.done))


_HEARTBEATS: dict[str, _Heartbeat] = {}


def difficulty_level(config: BuildConfig, difficulty: dict[str, Any]) -> int | None:
    """The row's difficulty bucket; 0 for every row when the build asks for no mix."""
    mix = config.difficulty_mix
    return 0 if mix is None else mix.level_of(difficulty)


def solve_batch(config_json: str, batch: CandidateRange, progress_dir: str) -> BatchResult:
    """Verified row records of a batch (with bucket and index), and (split, k, reason) for
    every candidate that failed. Runs in a pool process or inline."""
    config, task, task_config = _context(config_json)
    records: list[dict[str, Any]] = []
    rejected: list[tuple[str, int, str]] = []
    candidates = batch.candidates()
    results = [generate_candidate(task, task_config, c, config.seed) for c in candidates]
    if get_solver(config.solver.name).batched:
        # the batch's problems are searched together: one policy call per wave
        generated = [r for r in results if isinstance(r, Generated)]
        rows = iter(build_rows_with_policy(config, task, generated, _policy(config_json)))
        results = [next(rows) if isinstance(r, Generated) else r for r in results]
    else:
        results = [build_row(config, task, r) if isinstance(r, Generated) else r
                   for r in results]
    for candidate, result in zip(candidates, results, strict=True):
        if isinstance(result, Rejected):
            rejected.append((candidate.split, candidate.k, result.reason))
            continue
        record = result.to_record()
        level = difficulty_level(config, record["difficulty"])
        if level is None:
            rejected.append((candidate.split, candidate.k, "difficulty:outside_buckets"))
            continue
        record["_bucket"] = candidate.bucket
        record["_index"] = candidate.index
        record["_level"] = level
        records.append(record)
    beat = _HEARTBEATS.get(progress_dir)
    if beat is None:
        beat = _HEARTBEATS[progress_dir] = _Heartbeat(progress_dir)
    beat.add(batch.stop - batch.start)
    return records, rejected
