"""Exact solvability (`Rules.solvable`) of Countdown, against a brute-force solver written
here from the problem's data alone (its own moves and goal, no code from the task) on
states that random legal play reaches from generated problems, on and off the solution
path, and on hand-made states whose answer is known. The memo must not change answers:
every state is asked of one shared rules object and of a fresh one."""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from itertools import combinations

import pytest

from searchtrace.tasks import get_task
from tests.tasks.solvable import assert_agrees_on_walks, preset_problems

TASK = get_task("countdown")


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
    for problem in preset_problems(TASK, preset, 8, **knobs):
        data = problem.data
        found = assert_agrees_on_walks(TASK, problem, lambda s, d=data: countdown_brute(
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
