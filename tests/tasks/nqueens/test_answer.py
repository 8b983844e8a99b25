"""N-Queens answers: the canonical `c1=r2 c2=r4 ...`, the checker's accepted formats, its
rejections by cause, and answer-shaped text that never makes it raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import Problem
from searchtrace.tasks.nqueens.answer import answer_from_moves, check_answer, format_answer
from searchtrace.tasks.nqueens.generate import all_solutions
from searchtrace.tasks.nqueens.rules import QueensMove
from tests.tasks.nqueens.support import TASK, solved


def test_answer_from_moves_lists_every_queen_in_column_order() -> None:
    data = {"n": 4, "preplaced": [0, 4, 0, 0]}
    moves = [QueensMove(0, 1), QueensMove(2, 0), QueensMove(3, 2)]
    assert answer_from_moves(data, moves) == format_answer([1, 3, 0, 2])
    assert format_answer([1, 3, 0, 2]) == "c1=r2 c2=r4 c3=r1 c4=r3"
    with pytest.raises(ValueError, match="empty columns"):
        answer_from_moves(data, moves[:2])


def solution_rows(seed: int) -> tuple[Problem, list[int]]:
    """The problem and its solved queens, 1-based rows by column."""
    problem, tree = solved(8, 2, seed)
    return problem, [r + 1 for r in tree.nodes[tree.solution].state.rows]


def board(rows: list[int]) -> str:
    n = len(rows)
    return "\n".join(" ".join("Q" if rows[c] == r + 1 else "." for c in range(n))
                     for r in range(n))


def test_check_answer_accepts_the_solution_in_several_formats() -> None:
    problem, rows = solution_rows(0)
    pairs = [f"c{c + 1}=r{r}" for c, r in enumerate(rows)]
    for text in (" ".join(pairs), ", ".join(reversed(pairs)), str(rows), " ".join(map(str, rows)),
                 ",".join(map(str, rows)), board(rows),
                 "; ".join(f"column {c + 1}: row {r}" for c, r in enumerate(rows)),
                 f"So:\n<answer>[1, 2]</answer> then <answer>\n{' '.join(pairs)}\n</answer>"):
        assert check_answer(problem.data, text).ok, text
    moves = [QueensMove(c, r - 1) for c, r in enumerate(rows) if not problem.data["preplaced"][c]]
    assert TASK.answer(problem.data, moves) == " ".join(pairs)


def test_check_answer_rejects() -> None:
    problem, rows = solution_rows(0)
    given = problem.data["preplaced"]
    fixed = [c for c, r in enumerate(given) if r]
    free = [c for c, r in enumerate(given) if not r]
    other = next(s for s in all_solutions(8) if s[fixed[0]] != given[fixed[0]] - 1)
    cases = {
        "preplaced_moved": [r + 1 for r in other],
        "row_attack": [rows[free[1]] if c == free[0] else r for c, r in enumerate(rows)],
        "wrong_count": rows[:-1],
        "out_of_board": [9 if c == free[0] else r for c, r in enumerate(rows)],
    }
    for code, wrong in cases.items():
        assert check_answer(problem.data, f"<answer>{wrong}</answer>").code == code, code
    empty = {"n": 8, "preplaced": [0] * 8}
    assert check_answer(empty, "[2, 4, 6, 8, 3, 1, 7, 5]").ok
    assert check_answer(empty, "[2, 4, 6, 8, 3, 1, 5, 7]").code == "diagonal_attack"
    assert check_answer(problem.data, "c1=r1 c1=r2").code == "column_repeat"
    assert check_answer(problem.data, "c1=r1 c2=r3").code == "wrong_count"
    assert check_answer(problem.data, "c1=r1 and c2=r3").code == "unparsable_answer"
    assert check_answer(problem.data, "the queens are fine").code == "unparsable_answer"
    assert check_answer(problem.data, "Q.\n.Q").code == "wrong_count"



@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=200),
                      st.text(alphabet="Qq.|_* \n", max_size=120),
                      st.text(alphabet="cr=0123456789 ,;:[]()olumnw", max_size=80)))
def test_check_answer_never_raises_on_answer_shaped_text(text: str) -> None:
    """Boards of Q and dots, and column=row pairs, reach every reader of the checker."""
    problem, _ = solved(8, 2, 0)
    assert isinstance(check_answer(problem.data, text).ok, bool)
    assert isinstance(check_answer(problem.data, f"<answer>{text}</answer>").ok, bool)
