"""Exact solvability (`Rules.solvable`) of N-Queens, against a brute-force solver written
here from the problem's data alone (its own moves and goal, no code from the task) on
states that random legal play reaches from generated puzzles, on and off the solution
path, and on a hand-made state whose answer is known. The memo must not change answers:
every state is asked of one shared rules object and of a fresh one."""

from __future__ import annotations

import pytest

from searchtrace.tasks import get_task
from searchtrace.tasks.nqueens.rules import QueensMove, QueensState
from tests.tasks.solvable import assert_agrees_on_walks, preset_problems

TASK = get_task("nqueens")


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
    for problem in preset_problems(TASK, "medium", 4 if preplaced else 1, n=n, preplaced=preplaced):
        found = assert_agrees_on_walks(TASK, problem, lambda s, n=n: nqueens_brute(n, s.rows),
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
