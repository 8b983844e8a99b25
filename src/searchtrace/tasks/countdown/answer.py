"""Countdown answers: the canonical expression for a solution, and the checker of a
model's free-form answer (tokenized and parsed by hand, never evaluated)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from searchtrace.tasks.base import OK, Verdict, extract_answer
from searchtrace.tasks.countdown.numbers import DIGITS, Number, combine, fmt, parse_number
from searchtrace.tasks.countdown.rules import CountdownMove

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def answer_from_moves(data: dict[str, Any], moves: Sequence[CountdownMove]) -> str:
    """The solution as one expression with the fewest brackets, e.g. `(5+3-2)*4`."""
    pool: list[tuple[Number, str, int]] = [(n, str(n), 3) for n in data["numbers"]]
    for move in moves:
        left = _take(pool, move.a)
        right = _take(pool, move.b)
        prec = _PRECEDENCE[move.op]
        left_text = left[1] if left[2] >= prec else f"({left[1]})"
        right_text = (right[1] if right[2] > prec or (right[2] == prec and move.op in "+*")
                      else f"({right[1]})")
        pool.append((move.result, f"{left_text}{move.op}{right_text}", prec))
    return pool[0][1]


def _take(pool: list[tuple[Number, str, int]], value: Number) -> tuple[Number, str, int]:
    for index, entry in enumerate(pool):
        if entry[0] == value:
            return pool.pop(index)
    raise ValueError(f"{value} is not in the pool")


_TOKEN = re.compile(rf"\s*({DIGITS}|[-+*/()])")
_UNICODE = str.maketrans({"×": "*", "÷": "/", "−": "-", "–": "-", "x": "*"})
MAX_ANSWER_CHARS = 400


class _AnswerError(Exception):
    """Why a free-form answer could not be read (becomes the verdict message)."""


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: an expression using every number once that makes the target.

    Accepts `expr` or `expr = target`; tokenizes and parses it (no eval), applies the
    task's rule on intermediate results, and compares exactly.
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    expression = extract_answer(text).translate(_UNICODE)
    if len(expression) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    if "=" in expression:
        expression, _, stated = expression.partition("=")
        if parse_number(stated.strip()) != data["target"]:
            return Verdict.fail("wrong_target", f"the answer claims {stated.strip()!r}")
    try:
        tokens = _tokenize(expression)
        parser = _ExpressionParser(tokens, data.get("allow_fractions", False))
        value = parser.parse()
    except _AnswerError as error:
        return Verdict.fail("unparsable_answer", str(error))
    if Counter(parser.leaves) != Counter(data["numbers"]):
        return Verdict.fail("wrong_numbers", f"uses {sorted(parser.leaves)}, must use each of "
                            f"{sorted(data['numbers'])} once")
    if value != data["target"]:
        return Verdict.fail("wrong_value", f"the expression is {value}, not {data['target']}")
    return OK


def _tokenize(text: str) -> list[str]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _AnswerError(f"unexpected character {text[position]!r}")
        tokens.append(match.group(1))
        position = match.end()
    if not tokens:
        raise _AnswerError("empty expression")
    return tokens


class _ExpressionParser:
    """expr := term (('+'|'-') term)*; term := atom (('*'|'/') atom)*; atom := int | (expr)."""

    MAX_DEPTH = 50

    def __init__(self, tokens: list[str], fractions: bool) -> None:
        self.tokens = tokens
        self.position = 0
        self.fractions = fractions
        self.leaves: list[int] = []
        self.depth = 0

    def parse(self) -> Number:
        value = self._expr()
        if self.position != len(self.tokens):
            raise _AnswerError(f"unexpected {self.tokens[self.position]!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _expr(self) -> Number:
        value = self._term()
        while self._peek() in ("+", "-"):
            op = self.tokens[self.position]
            self.position += 1
            value = self._checked(value, op, self._term())
        return value

    def _term(self) -> Number:
        value = self._atom()
        while self._peek() in ("*", "/"):
            op = self.tokens[self.position]
            self.position += 1
            value = self._checked(value, op, self._atom())
        return value

    def _atom(self) -> Number:
        token = self._peek()
        if token is None:
            raise _AnswerError("the expression ends too early")
        self.position += 1
        if token == "(":
            self.depth += 1
            if self.depth > self.MAX_DEPTH:
                raise _AnswerError("brackets nest too deeply")
            value = self._expr()
            if self._peek() != ")":
                raise _AnswerError("a bracket is not closed")
            self.position += 1
            self.depth -= 1
            return value
        if re.fullmatch(DIGITS, token):
            self.leaves.append(int(token))
            return int(token)
        raise _AnswerError(f"unexpected {token!r}")

    def _checked(self, a: Number, op: str, b: Number) -> Number:
        result = combine(a, op, b)
        if result is None:
            raise _AnswerError("division by zero")
        if result <= 0:
            raise _AnswerError(f"{fmt(a)}{op}{fmt(b)} is not positive")
        if not self.fractions and isinstance(result, Fraction):
            raise _AnswerError(f"{fmt(a)}{op}{fmt(b)} is not an integer")
        return result
