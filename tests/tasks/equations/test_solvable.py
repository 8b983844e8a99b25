"""Equations solvability (`Rules.solvable`): it cannot be decided exactly (a move may add
any term or scale by any number), so the check answers True only with a path, False only
with a proof, and otherwise raises SolvabilityUndecided; on states that random legal play
reaches from generated problems it never contradicts the rules' own dead ends."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from searchtrace.tasks import get_task
from searchtrace.tasks.base import SolvabilityUndecided
from searchtrace.tasks.equations.algebra import ONE
from searchtrace.tasks.equations.rules import EqMove, EqState
from tests.tasks.solvable import preset_problems, walked_states

TASK = get_task("equations")


def test_solvable_is_exact_or_says_it_cannot_decide() -> None:
    """True with a path, False with a proof, and an error (never a guess) in between."""
    data = {"kind": "linear", "variables": ["x"], "equations": ["2x + 3 = 7"], "max_steps": 3,
            "number_limit": 100}
    rules = TASK.rules(data)
    start = rules.initial_state()
    assert rules.solvable(start)  # subtract 3, divide by 2, read off: 3 steps
    halved = rules.apply(start, EqMove("divide", ((ONE, Fraction(2)),)))
    doubled = rules.apply(start, EqMove("multiply", ((ONE, Fraction(2)),)))
    assert isinstance(halved, EqState) and isinstance(doubled, EqState)
    # x + 3/2 = 7/2 with 2 steps left: subtract 3/2, read off.
    assert rules.solvable(halved)
    # 4x + 6 = 14 with 2 steps left cannot be solved (one rewrite cannot both clear the 6
    # and divide by 4), but nothing in the rules proves it, so the check says so.
    with pytest.raises(SolvabilityUndecided, match="4x \\+ 6 = 14 with 2 steps left"):
        rules.solvable(doubled)
    # One step left and not in a form to read off: out of steps, proven.
    tight = rules.apply(doubled, EqMove("subtract", ((ONE, Fraction(6)),)))
    assert isinstance(tight, EqState) and tight.steps_left == 1
    assert not rules.solvable(tight)
    # A number beyond the limit: proven hopeless whatever the steps.
    wide = TASK.rules({**data, "number_limit": 20, "max_steps": 9})
    big = wide.apply(wide.initial_state(), EqMove("multiply", ((ONE, Fraction(5)),)))
    assert isinstance(big, EqState) and not wide.solvable(big)


def test_solvable_on_generated_problems() -> None:
    """Every generated problem's start is solvable (the generator followed a path within
    its budget), and an answer, when given, never contradicts the rules' own dead ends."""
    for preset in ("easy", "medium", "hard"):
        for problem in preset_problems(TASK, preset, 4):
            rules = TASK.rules(problem.data)
            assert rules.solvable(rules.initial_state())
            for state in walked_states(rules, random.Random(problem.id), 6, 8):
                try:
                    answer = rules.solvable(state)
                except SolvabilityUndecided:
                    continue
                assert answer is (rules.is_goal(state) or rules.dead_end(state) is None)
