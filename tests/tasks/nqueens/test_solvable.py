"""Exact solvability (`Rules.solvable`) of N-Queens, against a brute-force solver written
here from the problem's data alone (its own moves and goal, no code from the task) on
states that random legal play reaches from generated puzzles, on and off the solution
path, and on a hand-made state whose answer is known. The memo must not change answers:
every state is asked of one shared rules object and of a fresh one."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from searchtrace.tasks import get_task
from searchtrace.tasks.base import GenerationSkipped, Problem
from searchtrace.tasks.nqueens.rules import QueensMove, QueensState

TASK = get_task("nqueens")


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
    raise AssertionError(f"fewer than {how_many} nqueens problems")


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


def nqueens_brute(n: int, rows: tuple[int, ...]) -> bool:
    """Try every row for the empty columns, right to left, keeping no two queens on a
    row or a diagonal; the board is solvable when all columns get a queen."""
    board = list(rows)

    def safe(col: int, row: int) -> bool:
        return all(r == -1 or c == col or (r != row and abs(r - row) != abs(c - col))
                   for c, r in enumerate(board))

    placed = [(c, r) for c, r in enumerate(board) if r != -1]
    if any(not safe(c, r) for c, r in placed):
        return False

    def fill(empty: list[int]) -> bool:
        if not empty:
            return True
        col = empty[-1]
        for row in range(n):
            if safe(col, row):
                board[col] = row
                if fill(empty[:-1]):
                    return True
                board[col] = -1
        return False

    return fill([c for c, r in enumerate(board) if r == -1])


@pytest.mark.parametrize(("n", "preplaced"), [(5, 1), (6, 0), (8, 2), (8, 0)])
def test_solvable_matches_brute_force(n: int, preplaced: int) -> None:
    seen = [0, 0]
    for problem in problems("medium", 4 if preplaced else 1, n=n, preplaced=preplaced):
        found = assert_agrees(problem, lambda s, n=n: nqueens_brute(n, s.rows),
                              walks=30)
        seen = [seen[0] + found[0], seen[1] + found[1]]
    assert seen[0] > 5 and seen[1] > 5, seen


def test_solvable_hand_made() -> None:
    rules = TASK.rules({"n": 4, "preplaced": [0, 0, 0, 0]})
    start = rules.initial_state()
    corner = rules.apply(start, QueensMove(0, 0))
    second = rules.apply(start, QueensMove(0, 1))
    # 4-queens has two solutions, rows 2-4-1-3 and 3-1-4-2: a queen in a corner is
    # hopeless although every other column still has a safe row.
    assert isinstance(corner, QueensState) and rules.dead_end(corner) is None
    assert not rules.solvable(corner)
    assert rules.solvable(second) and rules.solvable(start)
