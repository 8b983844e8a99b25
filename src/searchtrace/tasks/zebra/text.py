"""How zebra steps are said and read back: one phrasing per style.

After each move every style states what the cell the solver fills next can still be; the
natural style in sentences ("Now house 2's pet can only be cat or fish"), the compact one in
short notation ("h2 pet:{cat,fish}"), the tokens one in space-separated tokens ("h2 pet
can cat fish"). A dead end lists, value by value, the house holding it or the
clue it would break. A path state is named by the move that made it (a path fills each cell
once). Parsers read back exactly what the style writes and return None on anything else;
names are matched case-insensitively by the rules, not here.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Hashable
from typing import Any, Self

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.zebra.rules import (
    BREAKS_CLUE,
    IN_HOUSE,
    NO_VALUE_FITS,
    Puzzle,
    State,
    ZebraMove,
    ZebraRules,
    or_list,
    shown_house,
)

START = "start"  # the key of the empty grid as a backtrack target
FULL = "full"  # what `_read_claim` returns for a state phrase saying every house is filled

_NUM = r"[0-9]{1,3}"
_WORD = r"[A-Za-z]{1,20}"
_WORD_LIST = rf"{_WORD}(?:, {_WORD})*(?: or {_WORD})?"
_NATURAL_MOVE = re.compile(rf"the ({_WORD}) ({_WORD}) for house ({_NUM})")
_NATURAL_FULL = "Now every house is filled in"
_NATURAL_NONE = re.compile(rf"Now house ({_NUM})'s ({_WORD}) has no option left")
_NATURAL_ONE = re.compile(rf"Now house ({_NUM})'s ({_WORD}) must be ({_WORD})")
_NATURAL_SOME = re.compile(rf"Now house ({_NUM})'s ({_WORD}) can only be ({_WORD_LIST})")
_NATURAL_REASONS = rf"{_WORD} (?:is in house|breaks clue) {_NUM}"
_NATURAL_DEAD = re.compile(
    rf"No ({_WORD}) fits house ({_NUM}) \(((?:{_NATURAL_REASONS}, ){{0,11}}{_NATURAL_REASONS})\)")
_NATURAL_REASON = re.compile(rf"({_WORD}) (is in house|breaks clue) ({_NUM})")
_NATURAL_START = "the empty grid"
_NATURAL_REF = re.compile(rf"where house ({_NUM}) got the ({_WORD}) ({_WORD})")
_COMPACT_MOVE = re.compile(rf"h({_NUM}) ({_WORD})=({_WORD})")
_COMPACT_STATE = re.compile(rf"h({_NUM}) ({_WORD}):\{{((?:{_WORD}(?:,{_WORD}){{0,11}})?)\}}")
_COMPACT_DEAD = re.compile(
    rf"h({_NUM}) ({_WORD}) none:((?: {_WORD}(?:@h{_NUM}|!c{_NUM})){{1,12}})")
_COMPACT_REASON = re.compile(rf" ({_WORD})(@h|!c)({_NUM})")
_Claim = str | tuple[int, str, list[str]]


class ZebraPhrasing(ABC):
    """What both styles share: the puzzle and the rules that pick the cell a state phrase
    talks about, checking a stated cell's values, and the key of a backtrack target."""

    def __init__(self, puzzle: Puzzle) -> None:
        self.puzzle = puzzle
        self.rules = ZebraRules(puzzle)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        return cls(Puzzle(data))

    def state_claim_error(self, text: str, state: State) -> str | None:
        """None when the stated cell is empty with exactly the stated values left (any
        cell, not only the one the solver fills next), or when a full grid is stated full."""
        claim = self._read_claim(text)
        if claim is None:
            return f"cannot read the stated cell {text[:80]!r}"
        puzzle = self.puzzle
        n = puzzle.n
        if claim == FULL:
            if -1 in state:
                return f"states every house is filled in but {puzzle.cell_name(state.index(-1))}" \
                       " is empty"
            return None
        house, attribute, stated = claim
        if not 1 <= house <= n:
            return f"there is no house {house}; houses are numbered 1 to {n}"
        a = puzzle.attr_index.get(attribute.lower())
        if a is None:
            return f"{attribute!r} is not an attribute of this puzzle"
        cell = a * n + house - 1
        if state[cell] >= 0:
            return f"{puzzle.cell_name(cell)} is already {puzzle.values[a][state[cell]]}"
        indices = []
        for word in stated:
            v = puzzle.value_index[a].get(word.lower())
            if v is None:
                return f"{word!r} is not a {puzzle.names[a]} of this puzzle"
            indices.append(v)
        actual = puzzle.candidates(state, puzzle.masks(state), cell)
        if sorted(indices) != actual:
            said = ", ".join(puzzle.values[a][v] for v in sorted(indices)) or "nothing"
            real = ", ".join(puzzle.values[a][v] for v in actual) or "nothing"
            return f"states {puzzle.cell_name(cell)} can be {said} but it can be {real}"
        return None

    @abstractmethod
    def _read_claim(self, text: str) -> _Claim | None:
        """`FULL`, or (house, attribute, stated values), or None when unreadable."""

    def ref_key(self, state: State, move_in: ZebraMove | None) -> Hashable:
        return START if move_in is None else _ref(move_in)


class ZebraNatural(ZebraPhrasing):
    """Sentences: "the pet cat for house 2", "Now house 3's drink must be tea"."""

    def move_phrase(self, move: ZebraMove) -> str:
        return f"the {move.attribute} {move.value} for house {shown_house(move.house)}"

    def parse_move(self, text: str) -> ZebraMove | None:
        match = _NATURAL_MOVE.fullmatch(text)
        if match is None:
            return None
        attribute, value, house = match.groups()
        return ZebraMove(int(house) - 1, attribute, value)

    def state_phrase(self, state: State) -> str:
        """What the cell the solver fills next can still be."""
        puzzle = self.puzzle
        focus = self.rules.focus(state)
        if focus is None:
            return _NATURAL_FULL
        cell, values = focus
        a = cell // puzzle.n
        names = [puzzle.values[a][v] for v in values]
        where = puzzle.cell_name(cell)
        if not names:
            return f"Now {where} has no option left"
        if len(names) == 1:
            return f"Now {where} must be {names[0]}"
        return f"Now {where} can only be {or_list(names)}"

    def _read_claim(self, text: str) -> _Claim | None:
        if text == _NATURAL_FULL:
            return FULL
        match = _NATURAL_NONE.fullmatch(text)
        if match is not None:
            return int(match.group(1)), match.group(2), []
        match = _NATURAL_ONE.fullmatch(text) or _NATURAL_SOME.fullmatch(text)
        if match is None:
            return None
        listed = match.group(3).replace(" or ", ", ").split(", ")
        return int(match.group(1)), match.group(2), listed

    def dead_end_phrase(self, state: State, dead: DeadEnd) -> str:
        house, attribute = dead.detail[0], dead.detail[1]
        parts = ", ".join(
            f"{value} {'is in house' if kind == IN_HOUSE else 'breaks clue'} {number}"
            for value, kind, number in _reasons(dead))
        return f"No {attribute} fits house {house} ({parts})"

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = _NATURAL_DEAD.fullmatch(text)
        if match is None:
            return None
        attribute, house, listed = match.groups()
        reasons = [(value, IN_HOUSE if how == "is in house" else BREAKS_CLUE, int(number))
                   for value, how, number in _NATURAL_REASON.findall(listed)]
        return _dead_end(house, attribute, reasons)

    def ref_phrase(self, state: State, move_in: ZebraMove | None) -> str:
        """A path state named by the move that made it: a cell is filled once per path."""
        if move_in is None:
            return _NATURAL_START
        return (f"where house {shown_house(move_in.house)} got the {move_in.attribute} "
                f"{move_in.value}")

    def parse_ref(self, text: str) -> Hashable | None:
        if text == _NATURAL_START:
            return START
        match = _NATURAL_REF.fullmatch(text)
        if match is None:
            return None
        house, attribute, value = match.groups()
        return _ref(ZebraMove(int(house) - 1, attribute, value))

    def goal_phrase(self, state: State) -> str:
        return "Every house is filled in and every clue holds"


class _RefsByMove(ZebraPhrasing):
    """The terse styles' backtrack targets and goal: "start", "after <move>", "solved"."""

    REF_PREFIX = "after "

    def ref_phrase(self, state: State, move_in: ZebraMove | None) -> str:
        """A path state named by the move that made it: a cell is filled once per path."""
        return START if move_in is None else self.REF_PREFIX + self.move_phrase(move_in)

    def parse_ref(self, text: str) -> Hashable | None:
        if text == START:
            return START
        if not text.startswith(self.REF_PREFIX):
            return None
        move = self.parse_move(text[len(self.REF_PREFIX) :])
        return None if move is None else _ref(move)

    def goal_phrase(self, state: State) -> str:
        return "solved"


class ZebraCompact(_RefsByMove):
    """Tokens: "h2 pet=cat", "h3 drink:{tea}", "h1 pet none: dog@h2 cat!c4"."""

    def move_phrase(self, move: ZebraMove) -> str:
        return f"h{shown_house(move.house)} {move.attribute}={move.value}"

    def parse_move(self, text: str) -> ZebraMove | None:
        match = _COMPACT_MOVE.fullmatch(text)
        if match is None:
            return None
        house, attribute, value = match.groups()
        return ZebraMove(int(house) - 1, attribute, value)

    def state_phrase(self, state: State) -> str:
        """What the cell the solver fills next can still be."""
        puzzle = self.puzzle
        focus = self.rules.focus(state)
        if focus is None:
            return FULL
        cell, values = focus
        a, h = divmod(cell, puzzle.n)
        names = [puzzle.values[a][v] for v in values]
        return f"h{h + 1} {puzzle.names[a]}:{{{','.join(names)}}}"

    def _read_claim(self, text: str) -> _Claim | None:
        if text == FULL:
            return FULL
        match = _COMPACT_STATE.fullmatch(text)
        if match is None:
            return None
        listed = match.group(3)
        return int(match.group(1)), match.group(2), listed.split(",") if listed else []

    def dead_end_phrase(self, state: State, dead: DeadEnd) -> str:
        house, attribute = dead.detail[0], dead.detail[1]
        parts = "".join(f" {value}{'@h' if kind == IN_HOUSE else '!c'}{number}"
                        for value, kind, number in _reasons(dead))
        return f"h{house} {attribute} none:{parts}"

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = _COMPACT_DEAD.fullmatch(text)
        if match is None:
            return None
        house, attribute, listed = match.groups()
        reasons = [(value, IN_HOUSE if mark == "@h" else BREAKS_CLUE, int(number))
                   for value, mark, number in _COMPACT_REASON.findall(listed)]
        return _dead_end(house, attribute, reasons)



def _reasons(dead: DeadEnd) -> list[tuple[Any, Any, Any]]:
    """A dead end's (value, "house"|"clue", number) triples."""
    detail = dead.detail
    return list(zip(detail[2::3], detail[3::3], detail[4::3], strict=True))


def _dead_end(house: str, attribute: str, reasons: list[tuple[str, str, int]]) -> DeadEnd:
    return DeadEnd(NO_VALUE_FITS, (int(house), attribute,
                                   *(x for reason in reasons for x in reason)))


def _ref(move: ZebraMove) -> tuple[int, str, str]:
    return move.house, str(move.attribute).lower(), str(move.value).lower()


_TOKENS_MOVE = re.compile(rf"h({_NUM}) ({_WORD}) ({_WORD})")
_TOKENS_STATE = re.compile(rf"h({_NUM}) ({_WORD}) (?:none|can((?: {_WORD}){{1,12}}))")
_TOKENS_DEAD = re.compile(rf"h({_NUM}) ({_WORD}) none((?: {_WORD} [hc]{_NUM}){{1,12}})")
_TOKENS_REASON = re.compile(rf" ({_WORD}) ([hc])({_NUM})")


class ZebraTokens(_RefsByMove):
    """Space-separated tokens: a move "h2 pet cat", a state "h3 drink can tea milk" (or
    "h3 drink none", or "full"), a dead end "h1 pet none dog h2 cat c4" (dog is in house
    2, cat breaks clue 4), a backtrack target "start" or "after h2 pet cat", the goal
    "solved". The base already carries the rules the tokens style's costs need (it keeps
    them to pick a state's cell)."""

    def move_phrase(self, move: ZebraMove) -> str:
        return f"h{shown_house(move.house)} {move.attribute} {move.value}"

    def parse_move(self, text: str) -> ZebraMove | None:
        match = _TOKENS_MOVE.fullmatch(text)
        if match is None:
            return None
        house, attribute, value = match.groups()
        return ZebraMove(int(house) - 1, attribute, value)

    def state_phrase(self, state: State) -> str:
        """What the cell the solver fills next can still be."""
        puzzle = self.puzzle
        focus = self.rules.focus(state)
        if focus is None:
            return FULL
        cell, values = focus
        a, h = divmod(cell, puzzle.n)
        said = " ".join(["can", *(puzzle.values[a][v] for v in values)]) if values else "none"
        return f"h{h + 1} {puzzle.names[a]} {said}"

    def _read_claim(self, text: str) -> _Claim | None:
        if text == FULL:
            return FULL
        match = _TOKENS_STATE.fullmatch(text)
        if match is None:
            return None
        listed = match.group(3)
        return int(match.group(1)), match.group(2), listed.split() if listed else []

    def dead_end_phrase(self, state: State, dead: DeadEnd) -> str:
        house, attribute = dead.detail[0], dead.detail[1]
        parts = "".join(f" {value} {'h' if kind == IN_HOUSE else 'c'}{number}"
                        for value, kind, number in _reasons(dead))
        return f"h{house} {attribute} none{parts}"

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = _TOKENS_DEAD.fullmatch(text)
        if match is None:
            return None
        house, attribute, listed = match.groups()
        reasons = [(value, IN_HOUSE if mark == "h" else BREAKS_CLUE, int(number))
                   for value, mark, number in _TOKENS_REASON.findall(listed)]
        return _dead_end(house, attribute, reasons)



PHRASINGS = {"natural": ZebraNatural.from_data, "compact": ZebraCompact.from_data,
             "tokens": ZebraTokens.from_data, "reflective": ZebraNatural.from_data}
