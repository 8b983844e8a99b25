"""Chance: how often a policy that knows only the rules solves a problem, the floor a
trained model's accuracy must clear before it can be said to have learned anything.

The policy picks uniformly at random among every legal move of the current state (the
rules' `wider_moves`) until it reaches a goal or has no move left. Its success
probability is computed exactly, by recursion over the states it can reach, each state's
probability memoised by its key (what can happen next depends on the state alone). A
problem whose reachable states exceed `max_states` has no exact answer here and gives
None rather than an estimate."""

from __future__ import annotations

import json
import sys
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from searchtrace.tasks import get_task
from searchtrace.tasks.base import Rules

MAX_STATES = 100_000


class TooManyStates(Exception):
    """The recursion met more states than it may visit."""


@dataclass(frozen=True)
class Chance:
    """The random-legal-move policy's mean success probability over `problems` problems,
    or None when `unsettled` of them had too many states to settle exactly."""

    accuracy: float | None
    problems: int
    unsettled: int


def success_probability(rules: Rules, *, max_states: int = MAX_STATES) -> float | None:
    """The probability that uniformly random legal moves from the initial state reach a
    goal; None when more than `max_states` distinct states are reachable."""
    memo: dict[Hashable, float] = {}

    def probability(state: Any) -> float:
        key = rules.state_key(state)
        if key in memo:
            return memo[key]
        if len(memo) >= max_states:
            raise TooManyStates
        if rules.is_goal(state):
            value = 1.0
        else:
            children = [child for _, child in rules.wider_moves(state)]
            value = (sum(probability(child) for child in children) / len(children)
                     if children else 0.0)
        memo[key] = value
        return value

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return probability(rules.initial_state())
    except TooManyStates:
        return None
    finally:
        sys.setrecursionlimit(limit)


def chance_accuracy(rows: Iterable[Mapping[str, Any]], *,
                    max_states: int = MAX_STATES) -> Chance:
    """The random policy's expected accuracy on dataset rows (their `task` and `problem`
    columns): the mean of each problem's exact success probability."""
    values: list[float] = []
    unsettled = 0
    for row in rows:
        problem = row["problem"]
        data = json.loads(problem) if isinstance(problem, str) else problem
        value = success_probability(get_task(row["task"]).rules(data), max_states=max_states)
        if value is None:
            unsettled += 1
        else:
            values.append(value)
    problems = len(values) + unsettled
    accuracy = sum(values) / len(values) if values and not unsettled else None
    return Chance(accuracy=accuracy, problems=problems, unsettled=unsettled)
