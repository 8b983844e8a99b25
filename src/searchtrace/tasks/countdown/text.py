"""How Countdown steps are said and read back: one phrasing per style.

Both styles write a move as `5+3=8` and name a path state by its numbers; they differ in
how the numbers left, a dead end and the goal are worded. The shared base holds what both
say alike and reads back through each style's wrappers and separators.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

from searchtrace.tasks.base import DeadEnd, Phrasing
from searchtrace.tasks.countdown.numbers import DIGITS, Number, fmt, listing, parse_number
from searchtrace.tasks.countdown.rules import CountdownMove

_NUM = rf"{DIGITS}|\({DIGITS}/{DIGITS}\)"
_MOVE = re.compile(rf"^\s*({_NUM})\s*([-+*/])\s*({_NUM})\s*=\s*({_NUM})\s*$")


class CountdownPhrasing(ABC):
    """What both styles say alike. A style sets how the numbers left (`STATE`) and a
    backtrack target (`REF`) are wrapped, as (prefix, suffix), the separators of a dead
    end's pair and of a wrong final number, and its goal phrase."""

    STATE: ClassVar[tuple[str, str]]
    REF: ClassVar[tuple[str, str]]
    PAIR_SEP: ClassVar[str]
    FINAL_SEP: ClassVar[str]

    def __init__(self, target: int) -> None:
        self.target = target

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CountdownPhrasing:
        return cls(data["target"])

    def move_phrase(self, move: CountdownMove) -> str:
        return f"{fmt(move.a)}{move.op}{fmt(move.b)}={fmt(move.result)}"

    def parse_move(self, text: str) -> CountdownMove | None:
        match = _MOVE.match(text)
        if match is None:
            return None
        a, b, result = (parse_number(match.group(g)) for g in (1, 3, 4))
        if a is None or b is None or result is None:
            return None
        return CountdownMove(a, match.group(2), b, result)

    def state_phrase(self, state: tuple[Number, ...]) -> str:
        prefix, suffix = self.STATE
        return f"{prefix}{listing(state)}{suffix}"

    def state_claim_error(self, text: str, state: tuple[Number, ...]) -> str | None:
        body = _strip(text, *self.STATE)
        stated = None if body is None else _parse_listing(body)
        if stated is None:
            return f"cannot read the stated numbers {text!r}"
        if Counter(stated) != Counter(state):
            return f"states {listing(stated)} but the numbers are {listing(state)}"
        return None

    def dead_end_phrase(self, state: tuple[Number, ...], dead: DeadEnd) -> str:
        if dead.code == "wrong_final":
            return f"{fmt(dead.detail[0])}{self.FINAL_SEP}{self.target}"
        a, b = dead.detail
        return f"{fmt(a)}{self.PAIR_SEP}{fmt(b)} cannot make {self.target}"

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        if text.endswith(f" cannot make {self.target}"):
            pair = text[: -len(f" cannot make {self.target}")].split(self.PAIR_SEP)
            numbers = [parse_number(p) for p in pair]
            if len(numbers) == 2 and None not in numbers:
                return DeadEnd("pair_cannot_reach", tuple(numbers))
            return None
        if text.endswith(f"{self.FINAL_SEP}{self.target}"):
            value = parse_number(text[: -len(f"{self.FINAL_SEP}{self.target}")])
            return None if value is None else DeadEnd("wrong_final", (value,))
        return None

    def ref_phrase(self, state: tuple[Number, ...], move_in: Any) -> str:
        prefix, suffix = self.REF
        return f"{prefix}{listing(state)}{suffix}"

    def parse_ref(self, text: str) -> Hashable | None:
        body = _strip(text, *self.REF)
        numbers = None if body is None else _parse_listing(body)
        return None if numbers is None else tuple(sorted(numbers))

    def ref_key(self, state: tuple[Number, ...], move_in: Any) -> Hashable:
        return tuple(sorted(state))

    @abstractmethod
    def goal_phrase(self, state: tuple[Number, ...]) -> str:
        """The one number left, said to be the target."""


class CountdownNatural(CountdownPhrasing):
    """Sentences: "That leaves 5, 6", "3 and 5 cannot make 24", "24 is the target"."""

    STATE = ("That leaves ", "")
    REF = ("the numbers ", "")
    PAIR_SEP = " and "
    FINAL_SEP = " is not "

    def goal_phrase(self, state: tuple[Number, ...]) -> str:
        return f"{fmt(state[0])} is the target"


class CountdownCompact(CountdownPhrasing):
    """Terse: "[5, 6]", "3,5 cannot make 24", "24 = 24"."""

    STATE = ("[", "]")
    REF = ("[", "]")
    PAIR_SEP = ","
    FINAL_SEP = " != "

    def goal_phrase(self, state: tuple[Number, ...]) -> str:
        return f"{fmt(state[0])} = {self.target}"


PHRASINGS: dict[str, Callable[[dict[str, Any]], Phrasing]] = {
    "natural": CountdownNatural.from_data,
    "compact": CountdownCompact.from_data,
    "reflective": CountdownNatural.from_data,
}


def _parse_listing(text: str) -> list[Number] | None:
    parts = [p.strip() for p in text.split(",")]
    numbers = [parse_number(p) for p in parts]
    return None if any(n is None for n in numbers) else numbers  # type: ignore[return-value]


def _strip(text: str, prefix: str, suffix: str) -> str | None:
    if not text.startswith(prefix) or not text.endswith(suffix):
        return None
    return text[len(prefix) : len(text) - len(suffix)]
