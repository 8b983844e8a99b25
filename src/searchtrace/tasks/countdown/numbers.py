"""Countdown's numbers: exact arithmetic on them, and how one is written and read back.

A number is a positive integer or, where fractions are allowed, a positive rational; it is
written `12` or `(7/3)` in ASCII digits. The rules, the phrasing and the answer checker
all say and combine numbers this one way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction

Number = int | Fraction
DIGITS = r"[0-9]{1,30}"  # ASCII digits only, and no number too long to be a step
_NUMBER = re.compile(rf"({DIGITS})|\(({DIGITS})/({DIGITS})\)")


def fmt(value: Number) -> str:
    """`12`, or `(7/3)` for a non-integer."""
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


def listing(values: Iterable[Number]) -> str:
    """`5, 3, (7/2)`: numbers in the order given."""
    return ", ".join(fmt(v) for v in values)


def combine(a: Number, op: str, b: Number) -> Number | None:
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
