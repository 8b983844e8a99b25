"""Exact solvability (`Rules.solvable`) of Sudoku, against a brute-force solver written
here from the problem's data alone (its own moves and goal, no code from the task) on
states that random legal play reaches from generated puzzles, on and off the solution
path, and on a hand-made state whose answer is known. The memo must not change answers:
every state is asked of one shared rules object and of a fresh one."""

from __future__ import annotations

import pytest

from searchtrace.tasks import get_task
from searchtrace.tasks.sudoku.rules import SudokuMove, SudokuState
from tests.tasks.solvable import assert_agrees_on_walks, preset_problems

TASK = get_task("sudoku")


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
    for problem in preset_problems(TASK, "easy", 6, **knobs):
        size = problem.data["size"]
        found = assert_agrees_on_walks(TASK, problem, lambda s, n=size: sudoku_brute(n, s.cells))
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
