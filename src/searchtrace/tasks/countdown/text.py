"""How Countdown steps are said and read back: one phrasing per style.

Every style names a path state by its numbers; the natural and compact styles write a move
as `5+3=8` and differ in how the numbers left, a dead end and the goal are worded; the
tokens style writes everything as space-separated tokens (`5 + 3 = 8`, `2 8`). The
shared base holds what the styles say alike and reads back through each style's wrappers
and separators.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar

from searchtrace.tasks.base import DeadEnd, Phrasing
from searchtrace.tasks.countdown.numbers import DIGITS, Number, fmt, listing, parse_number
from searchtrace.tasks.countdown.rules import CountdownMove, CountdownRules

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


class CountdownTokens(CountdownPhrasing):
    """Space-separated tokens, with the rules for the tokens style's costs: a move
    "5 + 3 = 8", the numbers left "2 8" (a state and a backtrack target alike), a dead end
    "pair 2 8" (no operation of the last two makes the target) or "final 7" (the last
    number is not it), the goal "24"."""

    rules: CountdownRules

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CountdownTokens:
        phrasing = cls(data["target"])
        phrasing.rules = CountdownRules.from_data(data)
        return phrasing

    def move_phrase(self, move: CountdownMove) -> str:
        return f"{fmt(move.a)} {move.op} {fmt(move.b)} = {fmt(move.result)}"

    def state_phrase(self, state: tuple[Number, ...]) -> str:
        return _tokens(state)

    def state_claim_error(self, text: str, state: tuple[Number, ...]) -> str | None:
        stated = _parse_tokens(text)
        if stated is None:
            return f"cannot read the stated numbers {text!r}"
        if Counter(stated) != Counter(state):
            return f"states {_tokens(stated)} but the numbers are {_tokens(state)}"
        return None

    def dead_end_phrase(self, state: tuple[Number, ...], dead: DeadEnd) -> str:
        if dead.code == "wrong_final":
            return f"final {fmt(dead.detail[0])}"
        return f"pair {_tokens(dead.detail)}"

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        word, _, rest = text.partition(" ")
        numbers = _parse_tokens(rest)
        if word == "pair" and numbers is not None and len(numbers) == 2:
            return DeadEnd("pair_cannot_reach", tuple(numbers))
        if word == "final" and numbers is not None and len(numbers) == 1:
            return DeadEnd("wrong_final", tuple(numbers))
        return None

    def ref_phrase(self, state: tuple[Number, ...], move_in: Any) -> str:
        return _tokens(state)

    def parse_ref(self, text: str) -> Hashable | None:
        numbers = _parse_tokens(text)
        return None if numbers is None else tuple(sorted(numbers))

    def goal_phrase(self, state: tuple[Number, ...]) -> str:
        return fmt(state[0])


PHRASINGS: dict[str, Callable[[dict[str, Any]], Phrasing]] = {
    "natural": CountdownNatural.from_data,
    "compact": CountdownCompact.from_data,
    "tokens": CountdownTokens.from_data,
    "reflective": CountdownNatural.from_data,
}


def _tokens(numbers: Iterable[Number]) -> str:
    return " ".join(fmt(n) for n in numbers)


def _parse_tokens(text: str) -> list[Number] | None:
    """Numbers separated by single spaces, at least one; None for anything else."""
    numbers = [parse_number(token) if token.strip() == token else None
               for token in text.split(" ")]
    return None if any(n is None for n in numbers) else numbers  # type: ignore[return-value]


def _parse_listing(text: str) -> list[Number] | None:
    parts = [p.strip() for p in text.split(",")]
    numbers = [parse_number(p) for p in parts]
    return None if any(n is None for n in numbers) else numbers  # type: ignore[return-value]


def _strip(text: str, prefix: str, suffix: str) -> str | None:
    if not text.startswith(prefix) or not text.endswith(suffix):
        return None
    return text[len(prefix) : len(text) - len(suffix)]


def wrong_result(move: CountdownMove) -> CountdownMove:
    """The move with its stated result one too high: a wrong_arithmetic step."""
    return CountdownMove(move.a, move.op, move.b, move.result + 1)


def false_claim(state: tuple[Number, ...], claim: DeadEnd) -> DeadEnd:
    """The claim with its first number one too high, so it names numbers the state does
    not hold: a false_dead_end step (`confirm_dead_end` refuses it)."""
    return DeadEnd(claim.code, (claim.detail[0] + 1, *claim.detail[1:]))
