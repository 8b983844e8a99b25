"""How many candidates each round tries per bucket.

The first round is sized by a small in-process pilot (so one Beam run is usually enough);
a later round tries a short bucket's shortfall over the success rate observed so far. A
difficulty level that almost no candidate reaches is hopeless: the build fails rather
than trying on.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from searchtrace.pipelines.plan import Bucket, BuildPlan, Candidate
from searchtrace.pipelines.process import Generated, build_row, generate_candidate
from searchtrace.pipelines.solve import row_level
from searchtrace.schemas.rows import TraceRow
from searchtrace.solvers.registry import get_solver
from searchtrace.tasks import get_task

MIN_SUCCESS_RATE = 0.02
PILOT_CANDIDATES = 24
FIRST_ROUND_MARGIN = 1.04  # covers the usual share of duplicate problems
HOPELESS_AFTER = 50  # candidates tried before a level's success rate is judged


@dataclass
class BucketState:
    """Candidates tried so far for a bucket, and how many verified rows of each level
    survive deduplication."""

    bucket: Bucket
    attempted: int = 0
    verified: dict[int, int] | None = None

    def found(self, level: int) -> int:
        return min((self.verified or {}).get(level, 0), self.bucket.levels[level])

    def short_by_level(self) -> dict[int, int]:
        return {level: need - self.found(level)
                for level, need in enumerate(self.bucket.levels) if need > self.found(level)}

    @property
    def short(self) -> int:
        return sum(self.short_by_level().values())


def pilot_success_rates(
    plan: BuildPlan, states: list[BucketState]
) -> dict[Bucket, dict[int, float]]:
    """Per bucket and difficulty level, the share of the first few candidates that verify
    and land in that level, measured in-process (a cautious lower bound).

    It only sizes the first round (so one Beam run is usually enough); the pipeline
    processes these candidates again and alone decides what is written. An llm_mcts
    build has no pilot (it would search with the model twice): its first round tries the
    requested count, and later rounds are sized by the success rate observed.
    """
    config = plan.config
    if get_solver(config.solver.name).needs_policy:
        return {s.bucket: dict.fromkeys(range(len(s.bucket.levels)), 1.0) for s in states}
    task = get_task(config.task.name)
    rates = {}
    for state in states:
        sample = min(state.bucket.requested, PILOT_CANDIDATES)
        landed: dict[int, int] = defaultdict(int)
        for index in range(sample):
            candidate = Candidate(state.bucket.split, state.bucket.k, state.bucket.ordinal, index)
            generated = generate_candidate(task, plan.task_config, candidate, config.seed)
            if isinstance(generated, Generated):
                row = build_row(config, task, generated)
                if isinstance(row, TraceRow):
                    level = row_level(config, row.to_record())
                    if level is not None:
                        landed[level] += 1
        rates[state.bucket] = {level: wilson_lower_bound(landed[level], sample)
                               for level in range(len(state.bucket.levels))}
    return rates


def wilson_lower_bound(successes: int, trials: int, z: float = 1.0) -> float:
    """A cautious success rate: a second round costs more than a few spare candidates."""
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / (1 + z * z / trials)


def candidates_needed(state: BucketState, pilot_rates: dict[int, float]) -> int:
    """Enough candidates for the level that needs the most: first round, its requested
    count over the pilot's rate plus a small margin (at most 4x the bucket and 50 more);
    later rounds, its shortfall over the rate observed so far."""
    levels = state.bucket.levels
    if state.verified is None:
        needed = max(math.ceil(need / max(pilot_rates[level], MIN_SUCCESS_RATE)
                               * FIRST_ROUND_MARGIN)
                     for level, need in enumerate(levels) if need)
        return min(needed, 4 * state.bucket.requested + 50) + 2
    return max((math.ceil(short / max(state.verified.get(level, 0) / state.attempted,
                                      MIN_SUCCESS_RATE) * 1.2) + 2
                for level, short in state.short_by_level().items()), default=0)


def hopeless(states: list[BucketState]) -> list[BucketState]:
    """The buckets with a short level that fewer than 2% of 50 or more candidates reach:
    they will not fill."""
    return [s for s in states if s.attempted >= HOPELESS_AFTER and any(
        (s.verified or {}).get(level, 0) / s.attempted < MIN_SUCCESS_RATE
        for level in s.short_by_level())]
