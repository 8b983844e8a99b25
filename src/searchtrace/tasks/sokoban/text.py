"""How Sokoban steps are said and read back: one phrasing per style.

A move is a push named by the box's cell and a direction ("pushing the box at (2,3)
right", compact "(2,3) right", tokens "r2 c3 R"); a state says where the boxes are and
how many pushes are left; a backtrack names its target by the pushes made to reach it
(which grow along a path, so they name one state of it) and its boxes. Parsers return None
on anything they do not recognise and never raise.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar, Self

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.sokoban.room import Room, room_from_data
from searchtrace.tasks.sokoban.rules import (
    CORNER,
    DEAD_SQUARE,
    FROZEN,
    NO_PUSH,
    OUT_OF_PUSHES,
    SokobanMove,
    SokobanRules,
    SokobanState,
)

_NUM = r"[0-9]{1,3}"
_COORD = rf"\(({_NUM}),({_NUM})\)"
_COORD_BARE = rf"\({_NUM},{_NUM}\)"
_COORD_FIND = re.compile(_COORD)
_DIRECTION = "(up|down|left|right)"


def _read_coords(text: str) -> list[tuple[int, int]]:
    return [(int(m.group(1)), int(m.group(2))) for m in _COORD_FIND.finditer(text)]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}es"


def _compact_listing(room: Room, boxes: Sequence[int]) -> str:
    return " ".join(room.name(b) for b in boxes)


class SokobanPhrasing:
    """What both styles share: the room, and reading moves, stated positions, dead ends
    and backtrack targets through the style's patterns."""

    MOVE: ClassVar[re.Pattern[str]]  # groups: row, column, direction
    STATE: ClassVar[re.Pattern[str]]  # groups: the box cells, the pushes left ("no": 0)
    DEAD: ClassVar[tuple[tuple[str, re.Pattern[str]], ...]]  # (dead-end code, pattern)
    REF: ClassVar[re.Pattern[str]]  # groups: the pushes made (none: the start), the boxes

    def __init__(self, room: Room) -> None:
        self.room = room

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        return cls(room_from_data(data))

    def _coords(self, boxes: Sequence[int]) -> list[tuple[int, int]]:
        return [self.room.coords(b) for b in boxes]

    def _read_cells(self, text: str) -> list[tuple[int, int]]:
        """The cells listed in a matched state or backtrack target, as (row, column)."""
        return _read_coords(text)

    def parse_move(self, text: str) -> SokobanMove | None:
        match = self.MOVE.fullmatch(text)
        if match is None:
            return None
        return SokobanMove(int(match.group(1)), int(match.group(2)), match.group(3))

    def state_claim_error(self, text: str, state: SokobanState) -> str | None:
        """None when the stated boxes are exactly the boxes (in any order) and the stated
        pushes left are the pushes left."""
        match = self.STATE.fullmatch(text)
        if match is None:
            return f"cannot read the stated position {text!r}"
        stated = sorted(self._read_cells(match.group(1)))
        actual = self._coords(state.boxes)
        if stated != actual:
            return (f"states boxes at {' '.join(f'({r},{c})' for r, c in stated)} but they "
                    f"are at {_compact_listing(self.room, state.boxes)}")
        left = self.room.max_pushes - state.pushes
        said = 0 if match.group(2) == "no" else int(match.group(2))
        if said != left:
            return f"states {said} pushes left but {left} are left"
        return None

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        for code, pattern in self.DEAD:
            match = pattern.fullmatch(text)
            if match is None:
                continue
            if code == NO_PUSH:
                return DeadEnd(NO_PUSH, ())
            if code == OUT_OF_PUSHES:  # natural "none are left" leaves group 2 empty
                left = match.group(2)
                return DeadEnd(OUT_OF_PUSHES, (int(match.group(1)), 0 if left is None
                                               else int(left)))
            numbers = [int(g) for g in match.groups()]
            if code == FROZEN:
                row, col, top_row, top_col, *bottom = numbers  # tokens name no bottom
                if bottom and bottom != [top_row + 1, top_col + 1]:
                    return None
                return DeadEnd(FROZEN, (row, col, top_row, top_col))
            return DeadEnd(code, (int(match.group(1)), int(match.group(2))))
        return None

    def parse_ref(self, text: str) -> Hashable | None:
        match = self.REF.fullmatch(text)
        if match is None:
            return None
        pushes = 0 if match.group(1) is None else int(match.group(1))
        if match.group(1) is not None and pushes == 0:
            return None  # the start is said as "start"
        return pushes, tuple(sorted(self._read_cells(match.group(2))))

    def ref_key(self, state: SokobanState, move_in: SokobanMove | None) -> Hashable:
        return state.pushes, tuple(self._coords(state.boxes))


_NATURAL_LIST = rf"{_COORD_BARE}(?:, {_COORD_BARE})*(?: and {_COORD_BARE})?"


class SokobanNatural(SokobanPhrasing):
    """Sokoban steps in sentences: "pushing the box at (2,3) right", "Now the boxes are at
    (2,4) and (3,3), with 5 pushes left"."""

    MOVE = re.compile(rf"pushing the box at {_COORD} {_DIRECTION}")
    STATE = re.compile(rf"Now the (?:box is|boxes are) at ({_NATURAL_LIST}), with "
                       rf"(no|{_NUM}) push(?:es)? left")
    DEAD = (
        (CORNER, re.compile(rf"The box at {_COORD} is stuck in a corner off the goals")),
        (FROZEN, re.compile(rf"The box at {_COORD} is off the goals and frozen in the block of "
                            rf"walls and boxes from {_COORD} to {_COORD}")),
        (DEAD_SQUARE, re.compile(rf"The box at {_COORD} can never be pushed onto a goal from "
                                 rf"there")),
        (OUT_OF_PUSHES, re.compile(rf"The goals are at least ({_NUM}) push(?:es)? away, but "
                                   rf"(?:only ({_NUM}) (?:is|are) left|(none) are left)")),
        (NO_PUSH, re.compile(r"No box can be pushed")),
    )
    REF = re.compile(rf"the (?:start|position after ({_NUM}) push(?:es)?), with the "
                     rf"(?:box|boxes) at ({_NATURAL_LIST})")

    def _listing(self, boxes: Sequence[int]) -> str:
        names = [self.room.name(b) for b in boxes]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"

    def move_phrase(self, move: SokobanMove) -> str:
        return f"pushing the box at ({move.row},{move.col}) {move.direction}"

    def state_phrase(self, state: SokobanState) -> str:
        left = self.room.max_pushes - state.pushes
        boxes = "box is" if len(state.boxes) == 1 else "boxes are"
        pushes = "no pushes" if left == 0 else _plural(left, "push")
        return f"Now the {boxes} at {self._listing(state.boxes)}, with {pushes} left"

    def dead_end_phrase(self, state: SokobanState, dead: DeadEnd) -> str:
        code, detail = dead.code, dead.detail
        if code == NO_PUSH:
            return "No box can be pushed"
        if code == OUT_OF_PUSHES:
            needed, left = detail
            rest = "none are left" if left == 0 else (
                f"only {left} {'is' if left == 1 else 'are'} left")
            return f"The goals are at least {_plural(needed, 'push')} away, but {rest}"
        where = f"({detail[0]},{detail[1]})"
        if code == CORNER:
            return f"The box at {where} is stuck in a corner off the goals"
        if code == DEAD_SQUARE:
            return f"The box at {where} can never be pushed onto a goal from there"
        top, bottom = f"({detail[2]},{detail[3]})", f"({detail[2] + 1},{detail[3] + 1})"
        return (f"The box at {where} is off the goals and frozen in the block of walls and "
                f"boxes from {top} to {bottom}")

    def ref_phrase(self, state: SokobanState, move_in: SokobanMove | None) -> str:
        """A path state named by its push count (which grows along a path) and its boxes."""
        where = "the start" if state.pushes == 0 else (
            f"the position after {_plural(state.pushes, 'push')}")
        boxes = "box" if len(state.boxes) == 1 else "boxes"
        return f"{where}, with the {boxes} at {self._listing(state.boxes)}"

    def goal_phrase(self, state: SokobanState) -> str:
        return "Every box is on a goal"


_COMPACT_LIST = rf"{_COORD_BARE}(?: {_COORD_BARE})*"


class SokobanCompact(SokobanPhrasing):
    """Sokoban steps in short notation: "(2,3) right", "(2,4) (3,3); 5 left", "push 2:
    (2,4) (3,3)"."""

    MOVE = re.compile(rf"{_COORD} {_DIRECTION}")
    STATE = re.compile(rf"({_COMPACT_LIST}); ({_NUM}) left")
    DEAD = (
        (CORNER, re.compile(rf"{_COORD} cornered")),
        (FROZEN, re.compile(rf"{_COORD} frozen in {_COORD}-{_COORD}")),
        (DEAD_SQUARE, re.compile(rf"{_COORD} dead square")),
        (OUT_OF_PUSHES, re.compile(rf"need ({_NUM}) > ({_NUM}) left")),
        (NO_PUSH, re.compile(r"no push")),
    )
    REF = re.compile(rf"(?:start|push ({_NUM})): ({_COMPACT_LIST})")

    def move_phrase(self, move: SokobanMove) -> str:
        return f"({move.row},{move.col}) {move.direction}"

    def state_phrase(self, state: SokobanState) -> str:
        left = self.room.max_pushes - state.pushes
        return f"{_compact_listing(self.room, state.boxes)}; {left} left"

    def dead_end_phrase(self, state: SokobanState, dead: DeadEnd) -> str:
        code, detail = dead.code, dead.detail
        if code == NO_PUSH:
            return "no push"
        if code == OUT_OF_PUSHES:
            needed, left = detail
            return f"need {needed} > {left} left"
        where = f"({detail[0]},{detail[1]})"
        if code == CORNER:
            return f"{where} cornered"
        if code == DEAD_SQUARE:
            return f"{where} dead square"
        return f"{where} frozen in ({detail[2]},{detail[3]})-({detail[2] + 1},{detail[3] + 1})"

    def ref_phrase(self, state: SokobanState, move_in: SokobanMove | None) -> str:
        """A path state named by its push count (which grows along a path) and its boxes."""
        listing = _compact_listing(self.room, state.boxes)
        return f"start: {listing}" if state.pushes == 0 else f"push {state.pushes}: {listing}"

    def goal_phrase(self, state: SokobanState) -> str:
        return "all boxes on goals"


_TOKENS_CELL = rf"r({_NUM}) c({_NUM})"
_TOKENS_CELL_BARE = rf"r{_NUM} c{_NUM}"
_TOKENS_CELL_FIND = re.compile(_TOKENS_CELL)
_TOKENS_LIST = rf"{_TOKENS_CELL_BARE}(?: {_TOKENS_CELL_BARE}){{0,63}}"
_TOKENS_LETTER = {"up": "U", "down": "D", "left": "L", "right": "R"}
_TOKENS_WORD = {letter: word for word, letter in _TOKENS_LETTER.items()}


class SokobanTokens(SokobanPhrasing):
    """Space-separated tokens, with the rules for the tokens style's costs: a push "r2 c3
    R" (the box at row 2, column 3, pushed right), a state "boxes r2 c4 r3 c3 left 5" (5
    pushes left), a dead end "corner r2 c3", "frozen r2 c3 block r1 c2" (the 2x2 block from
    r1 c2), "dead-square r2 c3", "need 3 left 1" or "no-push", a backtrack target "pushes
    2 boxes r2 c4 r3 c3" (or "start boxes ..."), the goal "solved"."""

    MOVE = re.compile(rf"{_TOKENS_CELL} ([UDLR])")
    STATE = re.compile(rf"boxes ({_TOKENS_LIST}) left ({_NUM})")
    DEAD = (
        (CORNER, re.compile(rf"corner {_TOKENS_CELL}")),
        (FROZEN, re.compile(rf"frozen {_TOKENS_CELL} block {_TOKENS_CELL}")),
        (DEAD_SQUARE, re.compile(rf"dead-square {_TOKENS_CELL}")),
        (OUT_OF_PUSHES, re.compile(rf"need ({_NUM}) left ({_NUM})")),
        (NO_PUSH, re.compile(r"no-push")),
    )
    REF = re.compile(rf"(?:start|pushes ({_NUM})) boxes ({_TOKENS_LIST})")

    rules: SokobanRules

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        phrasing = super().from_data(data)
        phrasing.rules = SokobanRules.from_data(data)
        return phrasing

    def _listing(self, boxes: Sequence[int]) -> str:
        return " ".join(f"r{row} c{col}" for row, col in self._coords(boxes))

    def _read_cells(self, text: str) -> list[tuple[int, int]]:
        return [(int(m.group(1)), int(m.group(2))) for m in _TOKENS_CELL_FIND.finditer(text)]

    def move_phrase(self, move: SokobanMove) -> str:
        return f"r{move.row} c{move.col} {_TOKENS_LETTER[move.direction]}"

    def parse_move(self, text: str) -> SokobanMove | None:
        match = self.MOVE.fullmatch(text)
        if match is None:
            return None
        return SokobanMove(int(match.group(1)), int(match.group(2)),
                           _TOKENS_WORD[match.group(3)])

    def state_phrase(self, state: SokobanState) -> str:
        left = self.room.max_pushes - state.pushes
        return f"boxes {self._listing(state.boxes)} left {left}"

    def dead_end_phrase(self, state: SokobanState, dead: DeadEnd) -> str:
        code, detail = dead.code, dead.detail
        if code == NO_PUSH:
            return "no-push"
        if code == OUT_OF_PUSHES:
            needed, left = detail
            return f"need {needed} left {left}"
        where = f"r{detail[0]} c{detail[1]}"
        if code == CORNER:
            return f"corner {where}"
        if code == DEAD_SQUARE:
            return f"dead-square {where}"
        return f"frozen {where} block r{detail[2]} c{detail[3]}"

    def ref_phrase(self, state: SokobanState, move_in: SokobanMove | None) -> str:
        """A path state named by its push count (which grows along a path) and its boxes."""
        where = "start" if state.pushes == 0 else f"pushes {state.pushes}"
        return f"{where} boxes {self._listing(state.boxes)}"

    def goal_phrase(self, state: SokobanState) -> str:
        return "solved"


PHRASINGS = {"natural": SokobanNatural.from_data, "compact": SokobanCompact.from_data,
             "tokens": SokobanTokens.from_data, "reflective": SokobanNatural.from_data}
