"""Sokoban answers: pushes in several layouts and the player's LURD string are accepted,
each wrong answer is rejected with its reason, and push- or LURD-like text never makes the
checker raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import Verdict
from searchtrace.tasks.sokoban.answer import check_answer
from tests.tasks.sokoban.support import ROOM, TASK, lurd, make_problem, solution_moves, solved


def test_check_answer_accepts_pushes_in_several_layouts_and_lurd() -> None:
    problem, tree = solved(2)
    moves = solution_moves(tree)
    canonical = TASK.answer(problem.data, moves)
    assert canonical.startswith("push (") and canonical.count("; ") == len(moves) - 1
    pairs = [(f"({m.row},{m.col})", m.direction) for m in moves]
    texts = [
        canonical,
        f"Thinking... <answer>push (2,2) up</answer> no: <answer>\n{canonical}\n</answer>",
        ", ".join(f"{cell} {d[0].upper()}" for cell, d in pairs),
        "\n".join(f"{i}. Push the box at {cell} to the {d}" for i, (cell, d) in
                  enumerate(pairs, 1)),
        " then ".join(f"push ( {cell[1:-1].replace(',', ' , ')} ) {d.upper()}"
                      for cell, d in pairs),
        lurd(problem, moves),
        lurd(problem, moves).lower(),
    ]
    for text in texts:
        assert check_answer(problem.data, text).ok, (text, check_answer(problem.data, text))


def test_check_answer_rejects_with_the_reason() -> None:
    problem, tree = solved(2)
    moves = solution_moves(tree)
    data = problem.data
    answer = TASK.answer(data, moves)
    pushes = answer.split("; ")
    cases = [
        ("; ".join(pushes[:-1]), "not_solved"),
        ("; ".join(reversed(pushes)), None),  # some rule breaks: the code names which
        ("push (0,0) up", "off_grid"),
        ("the boxes go right", "unparsable_answer"),
        (f"{answer}; and then celebrate", "unparsable_answer"),
        ("", "unparsable_answer"),
        ("__import__('os').system('ls')", "unparsable_answer"),
        (lurd(problem, moves)[:-1], "not_solved"),
    ]
    for text, code in cases:
        verdict = check_answer(data, text)
        assert not verdict.ok, text
        if code is not None:
            assert verdict.code == code, (text, verdict)
    tight = {**data, "max_pushes": len(moves) - 1}
    assert check_answer(tight, answer).code == "push_limit"
    assert check_answer(tight, lurd(problem, moves)).code == "push_limit"
    walled = {"grid": ROOM, "max_pushes": 9}
    assert check_answer(walled, "ulll").code == "walks_into_wall"
    assert check_answer(walled, "drR").code == "blocked_by_box"
    cornered = {"grid": ["#######", "#$--.@#", "#-----#", "#######"], "max_pushes": 9}
    assert check_answer(cornered, "lllL").code == "blocked_by_wall"
    assert check_answer(cornered, "lll").code == "not_solved"


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="lurdLURD(),; 0123456789", max_size=60))
def test_check_answer_never_raises_on_push_and_lurd_like_text(text: str) -> None:
    data = make_problem(0).data
    for candidate in (text, f"<answer>{text}</answer>"):
        verdict = check_answer(data, candidate)
        assert isinstance(verdict, Verdict)
