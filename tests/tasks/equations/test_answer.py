"""Equations answers: the layouts the checker accepts, the reasons it rejects with, and
that no text, in an answer or a trace, is ever evaluated or sympified."""

from __future__ import annotations

import builtins

import pytest
import sympy

from searchtrace.tasks.equations import algebra
from searchtrace.tasks.equations.answer import check_answer
from tests.tasks.equations.support import rendered

QUADRATIC = {"kind": "quadratic", "variables": ["x"], "equations": ["x^2 + x = 6"],
             "max_steps": 4, "number_limit": 100}
RATIONAL = {"kind": "quadratic", "variables": ["x"], "equations": ["2x^2 + x - 3 = 0"],
            "max_steps": 3, "number_limit": 100}
SYSTEM = {"kind": "system", "variables": ["x", "y"], "equations": ["2x + y = 4", "x - y = -1"],
          "max_steps": 7, "number_limit": 100}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (QUADRATIC, "x = -3 or x = 2"),
        (QUADRATIC, "x = 2 or x = -3"),
        (QUADRATIC, "x=2, x=-3"),
        (QUADRATIC, "{-3, 2}"),
        (QUADRATIC, "-3 or 2"),
        (QUADRATIC, "x = 2 and x = −3"),
        (QUADRATIC, "I think... <answer>x = 2</answer> no: <answer>x = -3 or x = 2</answer>"),
        (RATIONAL, "x = -3/2 or x = 1"),
        (RATIONAL, "x = 1 or x = -1.5"),
        (RATIONAL, "x = 1; x = -6/4"),
        (SYSTEM, "x = 1, y = 2"),
        (SYSTEM, "y = 2, x = 1"),
        (SYSTEM, "x = 1 and y = 2"),
        (SYSTEM, "(1, 2)"),
        (SYSTEM, "x = 2/2, y = 4/2."),
    ],
)
def test_check_answer_accepts(data: dict, text: str) -> None:
    assert check_answer(data, text).ok, check_answer(data, text)


@pytest.mark.parametrize(
    ("data", "text", "code"),
    [
        (QUADRATIC, "x = 2", "missing_solution"),
        (QUADRATIC, "x = -3 or x = 2 or x = 1", "wrong_solution"),
        (QUADRATIC, "x = 3 or x = -2", "wrong_solution"),
        (QUADRATIC, "x = -3 or x = two", "unparsable_answer"),
        (QUADRATIC, "y = 2", "unparsable_answer"),
        (QUADRATIC, "x = 2 + x", "unparsable_answer"),
        (QUADRATIC, "", "unparsable_answer"),
        (QUADRATIC, "x = 1/0", "unparsable_answer"),
        (QUADRATIC, "__import__('os').system('echo hi')", "unparsable_answer"),
        (RATIONAL, "x = -1 or x = 1", "wrong_solution"),
        (SYSTEM, "x = 1", "unparsable_answer"),
        (SYSTEM, "x = 1, y = 2, y = 3", "unparsable_answer"),
        (SYSTEM, "1, 2", "unparsable_answer"),
        (SYSTEM, "x = 2, y = 1", "wrong_solution"),
        (SYSTEM, "(2, 1)", "wrong_solution"),
    ],
)
def test_check_answer_rejects(data: dict, text: str, code: str) -> None:
    verdict = check_answer(data, text)
    assert not verdict.ok and verdict.code == code, verdict


def test_text_is_never_evaluated_or_sympified(monkeypatch: pytest.MonkeyPatch) -> None:
    r = rendered(4, 3, "natural")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("text was evaluated")

    for name in ("sympify", "parse_expr", "S"):
        monkeypatch.setattr(sympy, name, refuse)
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    algebra.true_solutions.cache_clear()
    assert r.verify().ok
    assert check_answer(QUADRATIC, "x = -3 or x = 2").ok
    assert not check_answer(QUADRATIC, "__import__('os').getcwd()").ok
