"""Sudoku answers: the solved grid for a solution, and the checker's accepted layouts and
its rejections by cause."""

from __future__ import annotations

import pytest

from searchtrace.tasks.base import Problem
from searchtrace.tasks.sudoku.answer import answer_from_moves, check_answer
from searchtrace.tasks.sudoku.grid import BOX_SHAPES, flatten
from searchtrace.tasks.sudoku.rules import SudokuMove
from tests.tasks.sudoku.support import TASK, solved


def test_answer_from_moves_fills_the_givens_in() -> None:
    data = {"size": 4, "grid": [[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3], [4, 3, 0, 0]]}
    assert answer_from_moves(data, [SudokuMove(3, 2, 2), SudokuMove(3, 3, 1)]) == (
        "1234\n3412\n2143\n4321")
    with pytest.raises(ValueError, match="blank cells"):
        answer_from_moves(data, [SudokuMove(3, 2, 2)])


def solution_rows(size: int, seed: int) -> tuple[Problem, list[str]]:
    problem, tree = solved(size, seed)
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    return problem, TASK.answer(problem.data, moves).split("\n")


def boxed(rows: list[str], size: int) -> str:
    """The grid drawn with `|` between boxes and `---+---` lines between bands."""
    box_rows, box_cols = BOX_SHAPES[size]
    out = []
    for r, row in enumerate(rows):
        if r and r % box_rows == 0:
            out.append("+".join(["-" * (2 * box_cols + 1)] * (size // box_cols)))
        out.append(" | ".join(" ".join(row[c : c + box_cols]) for c in range(0, size, box_cols)))
    return "\n".join(out)


@pytest.mark.parametrize("size", [4, 6, 9])
def test_check_answer_accepts_the_solution_in_several_layouts(size: int) -> None:
    problem, rows = solution_rows(size, 0)
    spaced = "\n".join(" ".join(row) for row in rows)
    for text in ("\n".join(rows), spaced, boxed(rows, size), "".join(rows),
                 f"I think.\n<answer>wrong</answer> then <answer>\n{boxed(rows, size)}\n</answer>"):
        assert check_answer(problem.data, text).ok, text


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        ("given", "given_changed"),
        ("repeat", "row_repeat"),
        ("blank", "incomplete"),
        ("short", "wrong_size"),
        ("garbage", "unparsable_answer"),
    ],
)
def test_check_answer_rejects(edit: str, code: str) -> None:
    problem, rows = solution_rows(9, 0)
    grid = [list(row) for row in rows]
    cells = flatten(problem.data["grid"])
    given = divmod(next(i for i, d in enumerate(cells) if d), 9)
    free = divmod(next(i for i, d in enumerate(cells) if not d), 9)
    if edit == "given":
        grid[given[0]][given[1]] = str(int(grid[given[0]][given[1]]) % 9 + 1)
    elif edit == "repeat":
        grid[free[0]][free[1]] = str(int(grid[free[0]][free[1]]) % 9 + 1)
    elif edit == "blank":
        grid[free[0]][free[1]] = "."
    elif edit == "short":
        grid.pop()
    text = "the answer is unknown" if edit == "garbage" else "\n".join("".join(r) for r in grid)
    assert check_answer(problem.data, f"<answer>{text}</answer>").code == code


def test_check_answer_rejects_digits_beyond_the_size() -> None:
    problem, _ = solved(4, 0)
    assert check_answer(problem.data, "1234\n3412\n2143\n4329").code == "invalid_digit"

