"""How Sudoku steps are said and read back: one phrasing per style.

After each move a step states what the most constrained blank cell (the one the solver
picks next) can still be; a dead end names a cell with no candidate left; a backtrack
names a path state by the move that made it, since each cell is filled once per path.
The shared base checks stated candidates and reads dead ends and references through each
style's patterns; each style words moves and candidates its own way.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import Any, ClassVar

from searchtrace.tasks.base import DeadEnd, Phrasing
from searchtrace.tasks.sudoku.grid import cell_name, digit_list, geometry
from searchtrace.tasks.sudoku.rules import (
    NO_CANDIDATES,
    SudokuMove,
    SudokuRules,
    SudokuState,
    candidates,
    most_constrained,
)

START = "start"  # the reference key of the starting grid
_FULL = "full"  # a claim that every cell is filled
_CELL = r"r([0-9]{1,2})c([0-9]{1,2})"
_DIGIT = r"([0-9]{1,2})"
_Claim = str | tuple[tuple[int, int], list[int]]


class SudokuPhrasing(ABC):
    """What both styles do alike. A style sets its move pattern (with the groups of row,
    column and digit), the phrase of a full grid, its dead-end wording and pattern, how
    it names the starting grid and a grid after a move, and its goal phrase."""

    MOVE: ClassVar[re.Pattern[str]]
    MOVE_GROUPS: ClassVar[tuple[int, int, int]]
    FULL: ClassVar[str]
    DEAD_END: ClassVar[str]  # formatted with the cell's name
    DEAD_PATTERN: ClassVar[re.Pattern[str]]
    REF_START: ClassVar[str]
    REF_PREFIX: ClassVar[str]
    GOAL: ClassVar[str]

    def __init__(self, size: int) -> None:
        self.geo = geometry(size)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SudokuPhrasing:
        return cls(data["size"])

    @abstractmethod
    def move_phrase(self, move: SudokuMove) -> str:
        """A placement, e.g. `7 at r4c5`."""

    def parse_move(self, text: str) -> SudokuMove | None:
        match = self.MOVE.fullmatch(text)
        if match is None:
            return None
        row_group, col_group, digit_group = self.MOVE_GROUPS
        row, col = _zero_based_cell(match.group(row_group), match.group(col_group))
        return SudokuMove(row, col, int(match.group(digit_group)))

    def state_phrase(self, state: SudokuState) -> str:
        """What the most constrained blank cell can still be (the cell the solver picks)."""
        geo = self.geo
        chosen = most_constrained(geo, state)
        if chosen is None:
            return self.FULL
        cell, mask = chosen
        return self._cell_phrase(cell_name(*divmod(cell, geo.size)), geo.digits[mask])

    @abstractmethod
    def _cell_phrase(self, name: str, digits: Sequence[int]) -> str:
        """What the blank cell `name` can still be (`digits` may be empty)."""

    def state_claim_error(self, text: str, state: SudokuState) -> str | None:
        """None when the stated cell is blank with exactly the stated candidates (any cell,
        not only the most constrained one), or when a full grid is stated of a full grid."""
        claim = _FULL if text == self.FULL else self._read_cell_claim(text)
        if claim is None:
            return f"cannot read the stated cell {text!r}"
        geo, n = self.geo, self.geo.size
        if claim == _FULL:
            if 0 in state.cells:
                blank = state.cells.index(0)
                return f"states every cell is filled but {cell_name(*divmod(blank, n))} is blank"
            return None
        (row, col), stated = claim
        name = cell_name(row, col)
        if not (0 <= row < n and 0 <= col < n):
            return f"{name} is not a cell of the {n}x{n} grid"
        cell = row * n + col
        if state.cells[cell]:
            return f"{name} is filled with {state.cells[cell]}"
        actual = geo.digits[candidates(geo, state, cell)]
        if sorted(stated) != list(actual):
            return f"states {name} can be {_braced(stated)} but it can be {_braced(actual)}"
        return None

    @abstractmethod
    def _read_cell_claim(self, text: str) -> _Claim | None:
        """((row, col), stated digits), or None when unreadable."""

    def dead_end_phrase(self, state: SudokuState, dead: DeadEnd) -> str:
        return self.DEAD_END.format(cell_name(*dead.detail))

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = self.DEAD_PATTERN.fullmatch(text)
        if match is None:
            return None
        return DeadEnd(NO_CANDIDATES, _zero_based_cell(match.group(1), match.group(2)))

    def ref_phrase(self, state: SudokuState, move_in: SudokuMove | None) -> str:
        """A path state named by the move that made it: each cell is filled once per path."""
        if move_in is None:
            return self.REF_START
        return self.REF_PREFIX + self.move_phrase(move_in)

    def parse_ref(self, text: str) -> Hashable | None:
        if text == self.REF_START:
            return START
        if not text.startswith(self.REF_PREFIX):
            return None
        move = self.parse_move(text[len(self.REF_PREFIX) :])
        return None if move is None else (move.row, move.col, move.digit)

    def ref_key(self, state: SudokuState, move_in: SudokuMove | None) -> Hashable:
        return START if move_in is None else (move_in.row, move_in.col, move_in.digit)

    def goal_phrase(self, state: SudokuState) -> str:
        return self.GOAL


class SudokuNatural(SudokuPhrasing):
    """Sentences: "7 at r4c5", "Now r2c3 can only be 1 or 8", "r2c3 has no candidates"."""

    MOVE = re.compile(rf"{_DIGIT} at {_CELL}")
    MOVE_GROUPS = (2, 3, 1)
    FULL = "Now every cell is filled"
    DEAD_END = "{} has no candidates"
    DEAD_PATTERN = re.compile(rf"{_CELL} has no candidates")
    REF_START = "the starting grid"
    REF_PREFIX = "the grid after "
    GOAL = "Every cell is filled"
    _NONE = re.compile(rf"Now {_CELL} has no candidates left")
    _SOME = re.compile(rf"Now {_CELL} can only be (.+)")
    _LIST = re.compile(r"[0-9]{1,2}(?:, [0-9]{1,2})*(?: or [0-9]{1,2})?")

    def move_phrase(self, move: SudokuMove) -> str:
        return f"{move.digit} at {cell_name(move.row, move.col)}"

    def _cell_phrase(self, name: str, digits: Sequence[int]) -> str:
        if not digits:
            return f"Now {name} has no candidates left"
        return f"Now {name} can only be {digit_list(digits)}"

    def _read_cell_claim(self, text: str) -> _Claim | None:
        match = self._NONE.fullmatch(text)
        if match is not None:
            return _zero_based_cell(match.group(1), match.group(2)), []
        match = self._SOME.fullmatch(text)
        if match is None or self._LIST.fullmatch(match.group(3)) is None:
            return None
        listed = match.group(3).replace(" or ", ", ").split(", ")
        return _zero_based_cell(match.group(1), match.group(2)), [int(d) for d in listed]


class SudokuCompact(SudokuPhrasing):
    """Terse: "r4c5=7", "r2c3:{1,8}", "r2c3 empty"."""

    MOVE = re.compile(rf"{_CELL}={_DIGIT}")
    MOVE_GROUPS = (1, 2, 3)
    FULL = "full"
    DEAD_END = "{} empty"
    DEAD_PATTERN = re.compile(rf"{_CELL} empty")
    REF_START = START
    REF_PREFIX = "after "
    GOAL = "full"
    _CELL_CLAIM = re.compile(rf"{_CELL}:\{{((?:[0-9]{{1,2}}(?:,[0-9]{{1,2}})*)?)\}}")

    def move_phrase(self, move: SudokuMove) -> str:
        return f"{cell_name(move.row, move.col)}={move.digit}"

    def _cell_phrase(self, name: str, digits: Sequence[int]) -> str:
        return f"{name}:{_braced(digits)}"

    def _read_cell_claim(self, text: str) -> _Claim | None:
        match = self._CELL_CLAIM.fullmatch(text)
        if match is None:
            return None
        listed = match.group(3)
        return (_zero_based_cell(match.group(1), match.group(2)),
                [int(d) for d in listed.split(",")] if listed else [])


_TOKENS_CELL = r"r([0-9]{1,2}) c([0-9]{1,2})"


class SudokuTokens(SudokuPhrasing):
    """Space-separated tokens, with the rules for the tokens style's costs: a placement
    "r4 c5 v7", a blank cell's candidates "r2 c3 v1 v8" (or "r2 c3 none"), "full", a dead
    end "empty r2 c3", a backtrack target "start" or the move that made it."""

    MOVE = re.compile(rf"{_TOKENS_CELL} v{_DIGIT}")
    MOVE_GROUPS = (1, 2, 3)
    FULL = "full"
    DEAD_END = "empty {}"
    DEAD_PATTERN = re.compile(rf"empty {_TOKENS_CELL}")
    REF_START = START
    REF_PREFIX = ""
    GOAL = "full"
    _CELL_CLAIM = re.compile(rf"{_TOKENS_CELL}((?: v[0-9]{{1,2}})+| none)")

    rules: SudokuRules

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SudokuTokens:
        phrasing = cls(data["size"])
        phrasing.rules = SudokuRules.from_data(data)
        return phrasing

    def move_phrase(self, move: SudokuMove) -> str:
        return f"r{move.row + 1} c{move.col + 1} v{move.digit}"

    def _cell_phrase(self, name: str, digits: Sequence[int]) -> str:
        listed = "".join(f" v{d}" for d in digits) or " none"
        return _spaced(name) + listed

    def dead_end_phrase(self, state: SudokuState, dead: DeadEnd) -> str:
        return self.DEAD_END.format(_spaced(cell_name(*dead.detail)))

    def _read_cell_claim(self, text: str) -> _Claim | None:
        match = self._CELL_CLAIM.fullmatch(text)
        if match is None:
            return None
        listed = match.group(3)
        return (_zero_based_cell(match.group(1), match.group(2)),
                [] if listed == " none" else [int(d) for d in listed.split(" v")[1:]])


PHRASINGS: dict[str, Callable[[dict[str, Any]], Phrasing]] = {
    "natural": SudokuNatural.from_data,
    "compact": SudokuCompact.from_data,
    "tokens": SudokuTokens.from_data,
    "reflective": SudokuNatural.from_data,
}


def _spaced(name: str) -> str:
    """A cell's name as two tokens: `r2c3` is `r2 c3`."""
    return name.replace("c", " c")


def _braced(digits: Sequence[int]) -> str:
    return "{" + ",".join(str(d) for d in digits) + "}"


def _zero_based_cell(row_text: str, col_text: str) -> tuple[int, int]:
    return int(row_text) - 1, int(col_text) - 1
