"""Countdown numbers: written and read back alike, odd tokens refused, exact arithmetic."""

from __future__ import annotations

from fractions import Fraction

import pytest

from searchtrace.tasks.countdown.numbers import combine, fmt, listing, parse_number


@pytest.mark.parametrize("value", [1, 24, 10**29, Fraction(7, 2), Fraction(1, 3)])
def test_a_number_reads_back_as_written(value: int | Fraction) -> None:
    assert parse_number(fmt(value)) == value
    assert parse_number(f" {fmt(value)} ") == value


def test_whole_fractions_read_as_integers() -> None:
    assert fmt(Fraction(6, 2)) == "3"
    assert parse_number("(6/2)") == 3 and isinstance(parse_number("(6/2)"), int)
    assert listing([5, Fraction(7, 2)]) == "5, (7/2)"


@pytest.mark.parametrize("token", ["", "-3", "1.5", "7/2", "(7/0)", "²", "٣", "①", "9" * 31,
                                   "(1/2", "12a"])
def test_odd_tokens_are_not_numbers(token: str) -> None:
    assert parse_number(token) is None


def test_combine_is_exact_and_refuses_division_by_zero() -> None:
    assert combine(7, "/", 2) == Fraction(7, 2)
    assert combine(8, "/", 2) == 4 and isinstance(combine(8, "/", 2), int)
    assert combine(Fraction(1, 2), "*", 4) == 2
    assert combine(3, "-", 5) == -2
    assert combine(3, "/", 0) is None
