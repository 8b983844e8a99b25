"""Exact solvability (`Rules.solvable`) of countdown, sudoku, nqueens, zebra and equations.

Each task's check is compared with a brute-force solver written here from the problem's
data alone (its own moves and its own goal test, no code from the task's module) on many
states that random legal play reaches from generated problems, on and off the solution
path; and on hand-made states whose answer is known. The memo must not change answers:
every state is asked of one shared rules object and of a fresh one. Equations cannot be
decided exactly (a move may add any term or scale by any number): its check answers only
with a proof or a path and otherwise raises SolvabilityUndecided.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import pytest

from searchtrace.tasks import get_task
from searchtrace.tasks.base import GenerationSkipped, Problem
from searchtrace.tasks.equations.rules import ONE, EqMove, EqState, SolvabilityUndecided
from searchtrace.tasks.zebra.rules import ZebraMove

Walk = Callable[[Any, random.Random], Iterator[Any]]


def problems(task: str, preset: str, how_many: int, **knobs: Any) -> list[Problem]:
    """The first `how_many` problems the generator makes for `preset` (skipped seeds move on)."""
    spec = get_task(task)
    config = spec.make_config(preset, knobs)
    found: list[Problem] = []
    for index in range(how_many * 20):
        rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0, index)))
        try:
            found.append(spec.generate(config, rng, "train"))
        except GenerationSkipped:
            continue
        if len(found) == how_many:
            return found
    raise AssertionError(f"fewer than {how_many} {task} problems")


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


def assert_agrees(task: str, problem: Problem, brute: Callable[[Any], bool],
                  walks: int = 12, depth: int = 12) -> tuple[int, int]:
    """`solvable` equals `brute` on every walked state, with a shared and a fresh memo;
    returns (solvable, unsolvable) counts so callers can check both kinds were seen."""
    spec = get_task(task)
    shared = spec.rules(problem.data)
    draw = random.Random(problem.id)
    counts = [0, 0]
    for state in walked_states(spec.rules(problem.data), draw, walks, depth):
        expected = brute(state)
        assert shared.solvable(state) is expected, (problem.data, state)
        assert spec.rules(problem.data).solvable(state) is expected, (problem.data, state)
        counts[0 if expected else 1] += 1
    return counts[0], counts[1]


# ---- zebra ------------------------------------------------------------------------------


def zebra_brute(data: dict[str, Any], grid: tuple[int, ...]) -> bool:
    """Give each attribute a permutation of its values over the houses that keeps the
    filled cells, attribute by attribute, dropping any choice that makes a clue whose
    attributes are all chosen false; solvable when every attribute gets one."""
    n = data["houses"]
    names = [a["name"].lower() for a in data["attributes"]]
    values = [[v.lower() for v in a["values"]] for a in data["attributes"]]
    clues = []
    for clue in data["clues"]:
        a1 = names.index(clue[1].lower())
        v1 = values[a1].index(clue[2].lower())
        if clue[0] == "position":
            clues.append((clue[0], a1, v1, a1, v1, int(clue[3]) - 1))
        else:
            a2 = names.index(clue[3].lower())
            clues.append((clue[0], a1, v1, a2, values[a2].index(clue[4].lower()), -1))

    def true(clue: tuple, where: dict[int, list[int]]) -> bool:
        kind, a1, v1, a2, v2, house = clue
        h1, h2 = where[a1].index(v1), where[a2].index(v2)
        return {"same": h1 == h2, "not_same": h1 != h2, "next_to": abs(h1 - h2) == 1,
                "left_of": h2 - h1 == 1, "position": h1 == house}[kind]

    def choose(a: int, where: dict[int, list[int]]) -> bool:
        if a == len(names):
            return True
        fixed = grid[a * n : (a + 1) * n]
        for order in _permutations(n):
            if any(v >= 0 and order[h] != v for h, v in enumerate(fixed)):
                continue
            where[a] = list(order)
            if all(true(c, where) for c in clues if c[1] <= a and c[3] <= a) and choose(
                    a + 1, where):
                return True
            del where[a]
        return False

    return choose(0, {})


@cache
def _permutations(n: int) -> list[tuple[int, ...]]:
    if n == 0:
        return [()]
    return [(*rest[:i], n - 1, *rest[i:]) for rest in _permutations(n - 1) for i in range(n)]


@pytest.mark.parametrize("preset", ["easy", "medium"])
def test_zebra_solvable_matches_brute_force(preset: str) -> None:
    seen = [0, 0]
    for problem in problems("zebra", preset, 4):
        found = assert_agrees("zebra", problem, lambda s, d=problem.data: zebra_brute(d, s),
                              walks=10, depth=16)
        seen = [seen[0] + found[0], seen[1] + found[1]]
    assert seen[0] > 10 and seen[1] > 10, seen


def test_zebra_solvable_hand_made() -> None:
    data = {"houses": 3,
            "attributes": [{"name": "colour", "values": ["red", "green", "blue"]},
                           {"name": "pet", "values": ["dog", "cat", "fish"]}],
            "clues": [["left_of", "colour", "red", "colour", "green"],
                      ["same", "pet", "dog", "colour", "green"]]}
    rules = get_task("zebra").rules(data)
    start = rules.initial_state()
    assert rules.solvable(start)
    # The dog in house 1 breaks no clue by itself (no colour is placed), but the dog's
    # house is green and red must be immediately left of it.
    first = rules.apply(start, ZebraMove(0, "pet", "dog"))
    assert isinstance(first, tuple)
    assert zebra_brute(data, first) is False
    assert not rules.solvable(first)
    # In house 2 it works: red, green, blue.
    second = rules.apply(start, ZebraMove(1, "pet", "dog"))
    assert isinstance(second, tuple) and rules.solvable(second)


# ---- equations --------------------------------------------------------------------------


def test_equations_solvable_is_exact_or_says_it_cannot_decide() -> None:
    """True with a path, False with a proof, and an error (never a guess) in between."""
    data = {"kind": "linear", "variables": ["x"], "equations": ["2x + 3 = 7"], "max_steps": 3,
            "number_limit": 100}
    rules = get_task("equations").rules(data)
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
    wide = get_task("equations").rules({**data, "number_limit": 20, "max_steps": 9})
    big = wide.apply(wide.initial_state(), EqMove("multiply", ((ONE, Fraction(5)),)))
    assert isinstance(big, EqState) and not wide.solvable(big)


def test_equations_solvable_on_generated_problems() -> None:
    """Every generated problem's start is solvable (the generator followed a path within
    its budget), and an answer, when given, never contradicts the rules' own dead ends."""
    spec = get_task("equations")
    for preset in ("easy", "medium", "hard"):
        for problem in problems("equations", preset, 4):
            rules = spec.rules(problem.data)
            assert rules.solvable(rules.initial_state())
            for state in walked_states(rules, random.Random(problem.id), 6, 8):
                try:
                    answer = rules.solvable(state)
                except SolvabilityUndecided:
                    continue
                assert answer is (rules.is_goal(state) or rules.dead_end(state) is None)
