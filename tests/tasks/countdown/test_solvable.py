"""Exact solvability (`Rules.solvable`) of Countdown, against a brute-force solver written
here from the problem's data alone (its own moves and goal, no code from the task) on
states that random legal play reaches from generated problems, on and off the solution
path, and on hand-made states whose answer is known. The memo must not change answers:
every state is asked of one shared rules object and of a fresh one."""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction
from functools import cache
from itertools import combinations
from typing import Any

import numpy as np
import pytest

from searchtrace.tasks import get_task
from searchtrace.tasks.base import GenerationSkipped, Problem

TASK = get_task("countdown")


def problems(preset: str, how_many: int, **knobs: Any) -> list[Problem]:
    """The first `how_many` problems the generator makes for `preset` (skipped seeds move on)."""
    config = TASK.make_config(preset, knobs)
    found: list[Problem] = []
    for index in range(how_many * 20):
        rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0, index)))
        try:
            found.append(TASK.generate(config, rng, "train"))
        except GenerationSkipped:
            continue
        if len(found) == how_many:
            return found
    raise AssertionError(f"fewer than {how_many} countdown problems")


def walked_states(rules: Any, draw: random.Random, walks: int, depth: int) -> list[Any]:
    """States random legal play reaches: walks from the start through `wider_moves`
    (every legal move the rules offer), so most leave the solution path early."""
    states = []
    for _ in range(walks):
        state = rules.initial_state()
        for _ in range(depth):
            states.append(state)
            children = list(rules.wider_moves(state))
            if not children:
                break
            state = draw.choice(children)[1]
    return states


def assert_agrees(problem: Problem, brute: Callable[[Any], bool], walks: int = 12,
                  depth: int = 12) -> tuple[int, int]:
    """`solvable` equals `brute` on every walked state, with a shared and a fresh memo;
    returns (solvable, unsolvable) counts so callers can check both kinds were seen."""
    shared = TASK.rules(problem.data)
    draw = random.Random(problem.id)
    counts = [0, 0]
    for state in walked_states(TASK.rules(problem.data), draw, walks, depth):
        expected = brute(state)
        assert shared.solvable(state) is expected, (problem.data, state)
        assert TASK.rules(problem.data).solvable(state) is expected, (problem.data, state)
        counts[0 if expected else 1] += 1
    return counts[0], counts[1]


def countdown_brute(numbers: tuple, target: int, fractions: bool) -> bool:
    """Combine any two numbers with + - * / (positive results; integers unless fractions
    are allowed) until one is left; the target must be that one."""

    @cache
    def reach(pool: tuple[Fraction, ...]) -> bool:
        if len(pool) == 1:
            return pool[0] == target
        for i, j in combinations(range(len(pool)), 2):
            rest = [v for k, v in enumerate(pool) if k not in (i, j)]
            a, b = pool[i], pool[j]
            for value in (a + b, a - b, b - a, a * b, a / b, b / a):
                if value <= 0 or (not fractions and value.denominator != 1):
                    continue
                if reach(tuple(sorted([*rest, value]))):
                    return True
        return False

    return reach(tuple(sorted(Fraction(v) for v in numbers)))


@pytest.mark.parametrize(("preset", "knobs"), [
    ("easy", {}), ("medium", {}), ("medium", {"allow_fractions": True}),
    ("medium", {"count": 5, "number_range": (1, 12)}),
])
def test_solvable_matches_brute_force(preset: str, knobs: dict) -> None:
    seen = [0, 0]
    for problem in problems(preset, 8, **knobs):
        data = problem.data
        found = assert_agrees(problem, lambda s, d=data: countdown_brute(
            s, d["target"], d["allow_fractions"]))
        seen = [seen[0] + found[0], seen[1] + found[1]]
    assert seen[0] > 10 and seen[1] > 10, seen


def test_solvable_hand_made() -> None:
    rules = TASK.rules({"numbers": [21, 14, 25, 8], "target": 52})
    # The example: [8, 60] was abandoned after 60+8=68 but 60-8 makes 52.
    assert rules.solvable((8, 60)) and rules.solvable((21, 14, 25, 8))
    assert not rules.solvable((8, 68)) and not rules.solvable((68,))
    assert rules.solvable((52,))
    # 3, 3, 8, 8 make 24 only through a fraction: 8 / (3 - 8/3).
    fractional = {"numbers": [3, 3, 8, 8], "target": 24}
    assert not TASK.rules(fractional).solvable((3, 3, 8, 8))
    assert TASK.rules({**fractional, "allow_fractions": True}).solvable((3, 3, 8, 8))
    assert TASK.rules({**fractional, "allow_fractions": True}).solvable(
        (3, 8, Fraction(8, 3)))
