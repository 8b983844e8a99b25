"""Countdown rules.

A state is the tuple of numbers still to combine, in the order they are stated (untouched
numbers in their original order, then results as they were made). The goal is one number
equal to the target. A state is a confirmed dead end when one number is left and it is
not the target, or two are left and no operation on them gives the target.

The solver's fast path (`expand`) uses Python integers and fractions; the replay path
(`apply`) checks each stated result exactly with sympy's number types.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from searchtrace.tasks.base import DeadEnd, Violation
from searchtrace.tasks.countdown.numbers import Number, combine, fmt, listing


@dataclass(frozen=True)
class CountdownMove:
    """Combine `a` and `b` with `op`; `result` is the value the step states."""

    a: Number
    op: str
    b: Number
    result: Number


def _pair_results(
    a: Number, b: Number, fractions: bool
) -> list[tuple[Number, str, Number, Number]]:
    """Every legal (x, op, y, result) for an unordered pair, larger operand first."""
    big, small = (a, b) if a >= b else (b, a)
    out = [(big, "+", small, big + small), (big, "*", small, big * small)]
    if big > small:
        out.append((big, "-", small, big - small))
    if fractions:
        out.append((big, "/", small, combine(big, "/", small)))
        if big != small:
            out.append((small, "/", big, combine(small, "/", big)))
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
                                 f"{fmt(operand)} is not among the numbers {listing(state)}")
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
            return f"{listing(state)} is not a dead end for {self.target}"
        if claim.code != actual.code or sorted(claim.detail) != sorted(actual.detail):
            return (f"the claim names {listing(claim.detail)} but the numbers are "
                    f"{listing(state)}")
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


RULES = CountdownRules
