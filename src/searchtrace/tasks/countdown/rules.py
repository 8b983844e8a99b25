"""Countdown rules, step text and answer checker.

A state is the tuple of numbers still to combine, in the order they are stated (untouched
numbers in their original order, then results as they were made). The goal is one number
equal to the target. A state is a confirmed dead end when one number is left and it is
not the target, or two are left and no operation on them gives the target.

The solver's fast path (`expand`) uses Python integers and fractions; the replay path
(`apply`) checks each stated result exactly with sympy's number types.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from searchtrace.tasks.base import OK, DeadEnd, Verdict, Violation

Number = int | Fraction
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_DIGITS = r"[0-9]{1,30}"  # ASCII digits only, and no number too long to be a step
_NUM = rf"{_DIGITS}|\({_DIGITS}/{_DIGITS}\)"
_NUMBER = re.compile(rf"({_DIGITS})|\(({_DIGITS})/({_DIGITS})\)")
_MOVE = re.compile(rf"^\s*({_NUM})\s*([-+*/])\s*({_NUM})\s*=\s*({_NUM})\s*$")


@dataclass(frozen=True)
class CountdownMove:
    """Combine `a` and `b` with `op`; `result` is the value the step states."""

    a: Number
    op: str
    b: Number
    result: Number


def fmt(value: Number) -> str:
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"({value.numerator}/{value.denominator})"
    return str(int(value))


def parse_number(token: str) -> Number | None:
    """`12` or `(7/3)` in ASCII digits; None for anything else (never raises)."""
    match = _NUMBER.fullmatch(token.strip())
    if match is None:
        return None
    whole, numerator, denominator = match.groups()
    if whole is not None:
        return int(whole)
    if int(denominator) == 0:
        return None
    value = Fraction(int(numerator), int(denominator))
    return int(value) if value.denominator == 1 else value


def _combine(a: Number, op: str, b: Number) -> Number | None:
    """Exact result of a op b, or None when it is undefined."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return None
    value = Fraction(a) / Fraction(b)
    return int(value) if value.denominator == 1 else value


def _pair_results(
    a: Number, b: Number, fractions: bool
) -> list[tuple[Number, str, Number, Number]]:
    """Every legal (x, op, y, result) for an unordered pair, larger operand first."""
    big, small = (a, b) if a >= b else (b, a)
    out = [(big, "+", small, big + small), (big, "*", small, big * small)]
    if big > small:
        out.append((big, "-", small, big - small))
    if fractions:
        out.append((big, "/", small, _combine(big, "/", small)))
        if big != small:
            out.append((small, "/", big, _combine(small, "/", big)))
    elif big % small == 0:
        out.append((big, "/", small, big // small))
    return out


class CountdownRules:
    """The state space of one Countdown instance."""

    def __init__(self, numbers: Sequence[int], target: int, allow_fractions: bool) -> None:
        self.numbers = tuple(numbers)
        self.target = target
        self.fractions = allow_fractions
        self._values: dict[tuple[Number, ...], frozenset[Number]] = {}
        self._solvable: dict[tuple[Number, ...], bool] = {}

    @staticmethod
    def from_data(data: dict[str, Any]) -> CountdownRules:
        return CountdownRules(data["numbers"], data["target"], data.get("allow_fractions", False))

    def initial_state(self) -> tuple[Number, ...]:
        return self.numbers

    def expand(self, state: tuple[Number, ...]) -> list[tuple[CountdownMove, tuple[Number, ...]]]:
        """Every distinct next state, closest result to the target first."""
        seen: set[tuple[Number, ...]] = set()
        children = []
        n = len(state)
        for i in range(n):
            for j in range(i + 1, n):
                rest = state[:i] + state[i + 1 : j] + state[j + 1 :]
                for x, op, y, result in _pair_results(state[i], state[j], self.fractions):
                    child = (*rest, result)
                    key = tuple(sorted(child))
                    if key in seen:
                        continue
                    seen.add(key)
                    children.append((abs(result - self.target), CountdownMove(x, op, y, result),
                                     child))
        children.sort(key=lambda item: item[0])
        return [(move, child) for _, move, child in children]

    def wider_moves(self, state: tuple[Number, ...]) -> Iterable[tuple[CountdownMove, tuple]]:
        return self.expand(state)

    def apply(self, state: tuple[Number, ...], move: CountdownMove) -> tuple | Violation:
        remaining = list(state)
        for operand in (move.a, move.b):
            if operand not in remaining:
                return Violation("number_not_available",
                                 f"{fmt(operand)} is not among the numbers {_listing(state)}")
            remaining.remove(operand)
        if move.op == "/" and move.b == 0:
            return Violation("division_by_zero", "division by zero")
        exact = _sympy_combine(move.a, move.op, move.b)
        if exact != _to_sympy(move.result):
            return Violation("wrong_result", f"{fmt(move.a)}{move.op}{fmt(move.b)} is "
                             f"{_fmt_sympy(exact)}, not {fmt(move.result)}")
        if exact <= 0:
            return Violation("not_positive",
                             f"{fmt(move.a)}{move.op}{fmt(move.b)} is not positive")
        if not self.fractions and not exact.is_integer:
            return Violation("not_integer",
                             f"{fmt(move.a)}{move.op}{fmt(move.b)} is not an integer")
        return (*remaining, move.result)

    def is_goal(self, state: tuple[Number, ...]) -> bool:
        return len(state) == 1 and state[0] == self.target

    def dead_end(self, state: tuple[Number, ...]) -> DeadEnd | None:
        if len(state) == 1 and state[0] != self.target:
            return DeadEnd("wrong_final", (state[0],))
        if len(state) == 2 and not self._pair_reaches(*state):
            return DeadEnd("pair_cannot_reach", tuple(state))
        return None

    def confirm_dead_end(self, state: tuple[Number, ...], claim: DeadEnd) -> str | None:
        actual = self.dead_end(state)
        if actual is None:
            return f"{_listing(state)} is not a dead end for {self.target}"
        if claim.code != actual.code or sorted(claim.detail) != sorted(actual.detail):
            return (f"the claim names {_listing(claim.detail)} but the numbers are "
                    f"{_listing(state)}")
        return None

    def state_key(self, state: tuple[Number, ...]) -> Hashable:
        return tuple(sorted(state))

    def heuristic(self, state: tuple[Number, ...]) -> float:
        """Every combination removes one number, so a goal is exactly len - 1 moves away."""
        return float(len(state) - 1)

    def move_to_json(self, move: CountdownMove) -> str:
        return f"{fmt(move.a)}{move.op}{fmt(move.b)}={fmt(move.result)}"

    def _pair_reaches(self, a: Number, b: Number) -> bool:
        return any(r == self.target for *_, r in _pair_results(a, b, self.fractions))

    def solvable(self, state: tuple[Number, ...]) -> bool:
        """Whether the numbers left can still make the target, using every one of them.

        A sequence of moves that ends in one number is an expression tree over the numbers
        (and every tree can be played as moves), so the target is reachable exactly when
        some split of the numbers into two groups has a value `x` of one group and `y` of
        the other with `x op y` legal and equal to the target. The values of a group are
        every legal full combination of it (`_group_values`), memoised on the sorted group,
        so the states of one problem share their subgroups' work.
        """
        key = tuple(sorted(state))
        known = self._solvable.get(key)
        if known is None:
            known = self._splits_reach(key)
            self._solvable[key] = known
        return known

    def _splits_reach(self, key: tuple[Number, ...]) -> bool:
        if len(key) == 1:
            return key[0] == self.target
        target = self.target
        if len(key) == 2:
            return _makes(key[0], key[1], target)
        if len(key) == 3:  # the common case, without building value sets
            a, b, c = key
            fractions = self.fractions
            return any(_makes(r, third, target)
                       for x, y, third in ((a, b, c), (a, c, b), (b, c, a))
                       for *_, r in _pair_results(x, y, fractions))
        for left, right in _splits(key):
            partners = self._group_values(right)
            for x in self._group_values(left):
                # The y with x+y, x-y, y-x, x*y, x/y or y/x equal to the target. A positive
                # y in `partners` makes that step legal: its result is the target, a
                # positive integer (and a non-integer y is never there without fractions).
                wanted = (target - x, x - target, x + target, Fraction(target) / x,
                          Fraction(x) / target, x * target)
                if any(y > 0 and y in partners for y in wanted):
                    return True
        return False

    def _group_values(self, key: tuple[Number, ...]) -> frozenset[Number]:
        """Every value a legal combination of all of the sorted numbers `key` can take."""
        known = self._values.get(key)
        if known is not None:
            return known
        if len(key) == 1:
            values: set[Number] = {key[0]}
        else:
            values = set()
            fractions = self.fractions
            for left, right in _splits(key):
                partners = self._group_values(right)
                for a in self._group_values(left):
                    for b in partners:
                        values.update(r for *_, r in _pair_results(a, b, fractions))
        frozen = frozenset(values)
        self._values[key] = frozen
        return frozen


def _makes(a: Number, b: Number, target: int) -> bool:
    """Whether one legal step on `a` and `b` gives `target` (positive integer): for a
    quotient, a = target * b says the division is exact, with or without fractions."""
    return (a + b == target or a * b == target or abs(a - b) == target
            or a == target * b or b == target * a)


def _splits(key: tuple[Number, ...]) -> Iterable[tuple[tuple[Number, ...], tuple[Number, ...]]]:
    """Every split of a sorted multiset into two non-empty sorted parts, each unordered
    pair once (the first element always goes left; equal numbers give repeats, harmless)."""
    rest = key[1:]
    count = len(rest)
    for mask in range(1 << count):
        if mask == (1 << count) - 1:
            continue
        left = (key[0], *(rest[i] for i in range(count) if mask >> i & 1))
        right = tuple(rest[i] for i in range(count) if not mask >> i & 1)
        yield left, right


def _to_sympy(value: Number) -> sympy.Rational:
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    return sympy.Integer(value)


def _sympy_combine(a: Number, op: str, b: Number) -> sympy.Rational:
    x, y = _to_sympy(a), _to_sympy(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    return x / y


def _fmt_sympy(value: sympy.Rational) -> str:
    return str(value.p) if value.q == 1 else f"({value.p}/{value.q})"


def _listing(values: Iterable[Number]) -> str:
    return ", ".join(fmt(v) for v in values)


def _parse_listing(text: str) -> list[Number] | None:
    parts = [p.strip() for p in text.split(",")]
    numbers = [parse_number(p) for p in parts]
    return None if any(n is None for n in numbers) else numbers  # type: ignore[return-value]


class CountdownText:
    """How Countdown steps are said and read back, in the natural and compact styles."""

    def __init__(self, target: int) -> None:
        self.target = target

    @staticmethod
    def from_data(data: dict[str, Any]) -> CountdownText:
        return CountdownText(data["target"])

    def move_phrase(self, move: CountdownMove, style: str) -> str:
        return f"{fmt(move.a)}{move.op}{fmt(move.b)}={fmt(move.result)}"

    def parse_move(self, text: str, style: str) -> CountdownMove | None:
        match = _MOVE.match(text)
        if match is None:
            return None
        a, b, result = (parse_number(match.group(g)) for g in (1, 3, 4))
        if a is None or b is None or result is None:
            return None
        return CountdownMove(a, match.group(2), b, result)

    def state_phrase(self, state: tuple[Number, ...], style: str) -> str:
        if style == "compact":
            return f"[{_listing(state)}]"
        return f"That leaves {_listing(state)}"

    def state_claim_error(self, text: str, state: tuple[Number, ...], style: str) -> str | None:
        body = _strip(text, "[", "]") if style == "compact" else _strip(text, "That leaves ", "")
        stated = None if body is None else _parse_listing(body)
        if stated is None:
            return f"cannot read the stated numbers {text!r}"
        if Counter(stated) != Counter(state):
            return f"states {_listing(stated)} but the numbers are {_listing(state)}"
        return None

    def dead_end_phrase(self, state: tuple[Number, ...], dead: DeadEnd, style: str) -> str:
        if dead.code == "wrong_final":
            return (f"{fmt(dead.detail[0])} != {self.target}" if style == "compact"
                    else f"{fmt(dead.detail[0])} is not {self.target}")
        a, b = dead.detail
        return (f"{fmt(a)},{fmt(b)} cannot make {self.target}" if style == "compact"
                else f"{fmt(a)} and {fmt(b)} cannot make {self.target}")

    def parse_dead_end(self, text: str, style: str) -> DeadEnd | None:
        final_sep = " != " if style == "compact" else " is not "
        pair_sep = "," if style == "compact" else " and "
        if text.endswith(f" cannot make {self.target}"):
            pair = text[: -len(f" cannot make {self.target}")].split(pair_sep)
            numbers = [parse_number(p) for p in pair]
            if len(numbers) == 2 and None not in numbers:
                return DeadEnd("pair_cannot_reach", tuple(numbers))
            return None
        if text.endswith(f"{final_sep}{self.target}"):
            value = parse_number(text[: -len(f"{final_sep}{self.target}")])
            return None if value is None else DeadEnd("wrong_final", (value,))
        return None

    def ref_phrase(self, state: tuple[Number, ...], move_in: Any, style: str) -> str:
        return f"[{_listing(state)}]" if style == "compact" else f"the numbers {_listing(state)}"

    def parse_ref(self, text: str, style: str) -> Hashable | None:
        body = _strip(text, "[", "]") if style == "compact" else _strip(text, "the numbers ", "")
        numbers = None if body is None else _parse_listing(body)
        return None if numbers is None else tuple(sorted(numbers))

    def ref_key(self, state: tuple[Number, ...], move_in: Any) -> Hashable:
        return tuple(sorted(state))

    def goal_phrase(self, state: tuple[Number, ...], style: str) -> str:
        return f"{fmt(state[0])} = {self.target}" if style == "compact" else (
            f"{fmt(state[0])} is the target")


def _strip(text: str, prefix: str, suffix: str) -> str | None:
    if not text.startswith(prefix) or not text.endswith(suffix):
        return None
    return text[len(prefix) : len(text) - len(suffix)]


# ---- answers ---------------------------------------------------------------------------


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


_TOKEN = re.compile(rf"\s*({_DIGITS}|[-+*/()])")
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
    from searchtrace.tasks.base import extract_answer

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
        if re.fullmatch(_DIGITS, token):
            self.leaves.append(int(token))
            return int(token)
        raise _AnswerError(f"unexpected {token!r}")

    def _checked(self, a: Number, op: str, b: Number) -> Number:
        result = _combine(a, op, b)
        if result is None:
            raise _AnswerError("division by zero")
        if result <= 0:
            raise _AnswerError(f"{fmt(a)}{op}{fmt(b)} is not positive")
        if not self.fractions and isinstance(result, Fraction):
            raise _AnswerError(f"{fmt(a)}{op}{fmt(b)} is not an integer")
        return result


RULES = CountdownRules
TEXT = CountdownText
