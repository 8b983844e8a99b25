"""How subset-sum steps are said and read back: one phrasing per style.

A move names the number taken; the state after it is the running sum out of the target;
a dead end says what is still needed and why nothing left can make it; a backtrack names
a path state by the numbers taken so far (they name it: each subset is reached one way).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

from searchtrace.tasks.base import DeadEnd, Phrasing

from .rules import NOTHING_FITS, TOO_LITTLE_LEFT, State

_N = r"([0-9]{1,7})"


class SubsetSumPhrasing:
    """A style sets the wording of each phrase (format strings) and the patterns that read
    it back (one group per number)."""

    MOVE: ClassVar[str]
    STATE: ClassVar[str]  # the running sum, then the target
    NOTHING_FITS: ClassVar[str]  # what is still needed
    TOO_LITTLE: ClassVar[str]  # what is still needed, then the sum of what fits
    START: ClassVar[str]
    REF: ClassVar[tuple[str, str]]  # around the numbers taken, joined by REF_JOIN
    REF_JOIN: ClassVar[str]
    GOAL: ClassVar[str]  # the numbers taken joined by REF_JOIN, then the target

    def __init__(self, target: int) -> None:
        self.target = target
        self._move = _pattern(self.MOVE)
        self._state = _pattern(self.STATE)
        self._nothing = _pattern(self.NOTHING_FITS)
        self._little = _pattern(self.TOO_LITTLE)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SubsetSumPhrasing:
        return cls(data["target"])

    def move_phrase(self, move: int) -> str:
        return self.MOVE.format(move)

    def parse_move(self, text: str) -> int | None:
        match = self._move.fullmatch(text)
        return None if match is None else int(match.group(1))

    def state_phrase(self, state: State) -> str:
        return self.STATE.format(sum(state), self.target)

    def state_claim_error(self, text: str, state: State) -> str | None:
        match = self._state.fullmatch(text)
        if match is None:
            return f"cannot read the stated sum {text!r}"
        total, target = int(match.group(1)), int(match.group(2))
        if target != self.target:
            return f"states the target is {target}, it is {self.target}"
        if total != sum(state):
            return f"states the sum is {total}, it is {sum(state)}"
        return None

    def dead_end_phrase(self, state: State, dead: DeadEnd) -> str:
        if dead.code == NOTHING_FITS:
            return self.NOTHING_FITS.format(*dead.detail)
        return self.TOO_LITTLE.format(*dead.detail)

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = self._nothing.fullmatch(text)
        if match is not None:
            return DeadEnd(NOTHING_FITS, (int(match.group(1)),))
        match = self._little.fullmatch(text)
        if match is not None:
            return DeadEnd(TOO_LITTLE_LEFT, (int(match.group(1)), int(match.group(2))))
        return None

    def ref_phrase(self, state: State, move_in: int | None) -> str:
        if not state:
            return self.START
        prefix, suffix = self.REF
        return prefix + self.REF_JOIN.join(str(n) for n in state) + suffix

    def parse_ref(self, text: str) -> Hashable | None:
        if text == self.START:
            return ()
        prefix, suffix = self.REF
        if not (text.startswith(prefix) and text.endswith(suffix)):
            return None
        parts = text[len(prefix): len(text) - len(suffix)].split(self.REF_JOIN)
        if not all(re.fullmatch(r"[0-9]{1,7}", part) for part in parts):
            return None
        return tuple(int(part) for part in parts)

    def ref_key(self, state: State, move_in: int | None) -> Hashable:
        return tuple(state)

    def goal_phrase(self, state: State) -> str:
        return self.GOAL.format(self.REF_JOIN.join(str(n) for n in state), self.target)


def _pattern(template: str) -> re.Pattern[str]:
    """A phrase's format string as a pattern: its text literal, each `{}` a number."""
    return re.compile(_N.join(re.escape(part) for part in template.split("{}")))


class SubsetSumNatural(SubsetSumPhrasing):
    """Sentences: "adding 7", "That makes 12 of 20", "Every number left is above the 8
    still needed", "the sum 5 + 7", "5 + 7 + 8 is exactly 20"."""

    MOVE = "adding {}"
    STATE = "That makes {} of {}"
    NOTHING_FITS = "Every number left is above the {} still needed"
    TOO_LITTLE = "The {} still needed is more than the {} the numbers left can add"
    START = "the empty sum"
    REF = ("the sum ", "")
    REF_JOIN = " + "
    GOAL = "{} is exactly {}"


class SubsetSumCompact(SubsetSumPhrasing):
    """Terse: "+7", "12/20", "need 8, none fits", "{5,7}", "5+7+8=20"."""

    MOVE = "+{}"
    STATE = "{}/{}"
    NOTHING_FITS = "need {}, none fits"
    TOO_LITTLE = "need {}, only {} fits"
    START = "{}"
    REF = ("{", "}")
    REF_JOIN = ","
    GOAL = "{}={}"


PHRASINGS: dict[str, Callable[[dict[str, Any]], Phrasing]] = {
    "natural": SubsetSumNatural.from_data,
    "compact": SubsetSumCompact.from_data,
}
