"""Countdown answers: the canonical expression for a solution, and the checker's accepted
layouts, its rejections by cause, the fraction rule, and no evaluation of text."""

from __future__ import annotations

import builtins
from fractions import Fraction

import pytest

from searchtrace.tasks.countdown.answer import answer_from_moves, check_answer
from searchtrace.tasks.countdown.rules import CountdownMove

DATA = {"numbers": [5, 3, 2, 4], "target": 24, "allow_fractions": False}


def test_answer_from_moves_uses_the_fewest_brackets() -> None:
    moves = [CountdownMove(5, "+", 3, 8), CountdownMove(8, "-", 2, 6), CountdownMove(6, "*", 4, 24)]
    assert answer_from_moves(DATA, moves) == "(5+3-2)*4"
    moves = [CountdownMove(3, "-", 2, 1), CountdownMove(5, "-", 1, 4), CountdownMove(4, "+", 4, 8)]
    assert answer_from_moves(DATA, moves) == "4+5-(3-2)"
    loose = {"numbers": [7, 2, 4], "target": 14, "allow_fractions": True}
    moves = [CountdownMove(7, "/", 2, Fraction(7, 2)), CountdownMove(Fraction(7, 2), "*", 4, 14)]
    assert answer_from_moves(loose, moves) == "7/2*4"
    assert check_answer(loose, answer_from_moves(loose, moves)).ok


@pytest.mark.parametrize(
    "text",
    [
        "(5+3-2)*4",
        "4*(5+3-2)",
        " ( 5 + 3 - 2 ) * 4 ",
        "(5+3-2)*4 = 24",
        "(5+3-2)*4=24",
        "(5+3−2)×4",
        "4×(3+5−2)",
        "Thinking... <answer>5*4</answer> no, <answer>(5+3-2)*4</answer>",
    ],
)
def test_check_answer_accepts(text: str) -> None:
    assert check_answer(DATA, text).ok, check_answer(DATA, text)


def test_check_answer_accepts_division_sign() -> None:
    data = {"numbers": [8, 2, 3, 4], "target": 28, "allow_fractions": False}
    assert check_answer(data, "(8÷2+3)×4").ok
    assert check_answer(data, "(8/2+3)*4 = 28").ok


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("(5+3-2)+4", "wrong_value"),
        ("(5+3+2)*4", "wrong_value"),
        ("(5+5-2)*4", "wrong_numbers"),  # 5 twice, 3 missing
        ("(5+3)*3", "wrong_numbers"),  # 2 missing, 3 twice
        ("6*4", "wrong_numbers"),
        ("(5+3-2)*4*1", "wrong_numbers"),  # an extra number
        ("(5+3-2)*4 = 25", "wrong_target"),
        ("(5+3-2)*4 = twenty-four", "wrong_target"),
        ("(2-5+3)*4", "unparsable_answer"),  # 2-5 is not positive
        ("(5-5)*3*2*4", "unparsable_answer"),
        ("twenty-four", "unparsable_answer"),
        ("", "unparsable_answer"),
        ("((5+3-2)*4", "unparsable_answer"),
        ("(5+3-2))*4", "unparsable_answer"),
        ("(5+3-2)*4)", "unparsable_answer"),
        ("5**3-2*4", "unparsable_answer"),
        ("-5+3+2*4*4", "unparsable_answer"),
        ("__import__('os').system('echo hi')", "unparsable_answer"),
        ("(" * 60 + "5" + ")" * 60 + "*3*2*4", "unparsable_answer"),
    ],
)
def test_check_answer_rejects(text: str, code: str) -> None:
    verdict = check_answer(DATA, text)
    assert not verdict.ok and verdict.code == code, verdict


def test_check_answer_applies_the_fraction_rule() -> None:
    strict = {"numbers": [7, 2, 4], "target": 14, "allow_fractions": False}
    loose = {**strict, "allow_fractions": True}
    for text in ("7/2*4", "4*7/2", "4/2*7"):
        assert check_answer(loose, text).ok, text
    assert check_answer(strict, "7/2*4").code == "unparsable_answer"
    assert "not an integer" in check_answer(strict, "7/2*4").message
    assert check_answer(strict, "4*7/2").ok and check_answer(strict, "4/2*7").ok
    assert check_answer(strict, "7/(2-2)*4").code == "unparsable_answer"



def test_check_answer_never_evaluates_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the answer checker evaluated text")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    assert check_answer(DATA, "(5+3-2)*4").ok
    assert not check_answer(DATA, "__import__('os').getcwd()").ok
    assert not check_answer(DATA, "24").ok


@pytest.mark.parametrize("text", ["(5+3-2)*4 = ²", "(5+3-2)*4 = ①", "(5+3-2)*4 = (²/1)"])
def test_check_answer_never_raises_on_digit_like_characters(text: str) -> None:
    """str.isdigit() is true of '²' and '①' but int() rejects them."""
    verdict = check_answer(DATA, text)
    assert not verdict.ok and verdict.code == "wrong_target", verdict

