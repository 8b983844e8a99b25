"""Exact solvability (`Rules.solvable`) of Sudoku, against a brute-force solver written
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
from searchtrace.tasks.sudoku.rules import SudokuMove, SudokuState

TASK = get_task("sudoku")


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
    raise AssertionError(f"fewer than {how_many} sudoku problems")


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


def sudoku_brute(size: int, cells: tuple[int, ...]) -> bool:
    """Fill the blanks in row-major order with any digit not yet in the cell's row,
    column or box; the grid is solvable when some order of such fillings fills it."""
    box_rows, box_cols = {4: (2, 2), 6: (2, 3), 9: (3, 3)}[size]

    def unit_ok(grid: list[int], cell: int, digit: int) -> bool:
        r, c = divmod(cell, size)
        for other in range(size * size):
            if grid[other] != digit or other == cell:
                continue
            orow, ocol = divmod(other, size)
            same_box = (orow // box_rows == r // box_rows and ocol // box_cols == c // box_cols)
            if orow == r or ocol == c or same_box:
                return False
        return True

    def fill(grid: list[int]) -> bool:
        if 0 not in grid:
            return True
        cell = grid.index(0)
        for digit in range(1, size + 1):
            if unit_ok(grid, cell, digit):
                grid[cell] = digit
                if fill(grid):
                    return True
                grid[cell] = 0
        return False

    return fill(list(cells))


@pytest.mark.parametrize("knobs", [{"size": 4, "givens": 5}, {"size": 6, "givens": 16}])
def test_solvable_matches_brute_force(knobs: dict) -> None:
    seen = [0, 0]
    for problem in problems("easy", 6, **knobs):
        size = problem.data["size"]
        found = assert_agrees(problem, lambda s, n=size: sudoku_brute(n, s.cells))
        seen = [seen[0] + found[0], seen[1] + found[1]]
    assert seen[0] > 10 and seen[1] > 10, seen


def test_solvable_hand_made() -> None:
    rules = TASK.rules({"size": 4, "grid": [[1, 2, 0, 0], [0, 0, 0, 0],
                                            [0, 0, 0, 0], [0, 0, 0, 0]]})
    start = rules.initial_state()
    assert rules.solvable(start)
    # 3 at r2c3 is legal, but row 1 then needs 3 and 4 in r1c3 and r1c4, whose box
    # already holds the 3: both cells can only be 4 (neither is empty of candidates yet).
    state = rules.apply(start, SudokuMove(1, 2, 3))
    assert isinstance(state, SudokuState) and rules.dead_end(state) is None
    assert sudoku_brute(4, state.cells) is False
    assert not rules.solvable(state)
    # 1 there is right: rows 1 2 3 4 and 3 4 1 2 start a solution.
    assert rules.solvable(rules.apply(start, SudokuMove(1, 2, 1)))
