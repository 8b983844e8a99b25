"""How N-Queens steps are said and read back: one phrasing per style.

After each move a step states the safe rows of the column that decides what comes next (a
column left with none, else the next column to fill); a dead end names a column whose
every row is attacked; a backtrack names a path state by the move that made it, since each
column is filled once per path. The shared base checks stated safe rows and reads dead
ends and references through each style's patterns; each style words moves, safe rows and
the goal its own way.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import Any, ClassVar

from searchtrace.tasks.base import DeadEnd, Phrasing
from searchtrace.tasks.nqueens.rules import (
    EMPTY,
    NO_SAFE_SQUARE,
    QueensMove,
    QueensRules,
    QueensState,
    blocked_column,
    next_column,
    row_list,
    safe_rows,
    square_name,
)

START = "start"  # the reference key of the starting board
_FULL = "full"  # a claim that every queen is placed
_NUM = r"([0-9]{1,2})"
_Claim = str | tuple[int, list[int]]


class NQueensPhrasing(ABC):
    """What both styles do alike, for a board of side `n` whose starting board a style
    names `start`. A style sets its move pattern (groups: column, row), its dead-end
    wording and pattern, and how it names the board after a move."""

    MOVE: ClassVar[re.Pattern[str]]
    DEAD_END: ClassVar[str]  # formatted with the 1-based column
    DEAD_PATTERN: ClassVar[re.Pattern[str]]
    REF_PREFIX: ClassVar[str]

    def __init__(self, n: int, start: str) -> None:
        self.n = n
        self.start = start

    @abstractmethod
    def move_phrase(self, move: QueensMove) -> str:
        """A queen put on a square, e.g. `c3=r5`."""

    def parse_move(self, text: str) -> QueensMove | None:
        match = self.MOVE.fullmatch(text)
        if match is None:
            return None
        return QueensMove(int(match.group(1)) - 1, int(match.group(2)) - 1)

    def state_phrase(self, state: QueensState) -> str:
        """The safe rows of the column that decides what comes next: a blocked column if
        there is one, else the next column to fill."""
        col = blocked_column(self.n, state)
        if col is None:
            col = next_column(state)
        if col is None:
            return self._full_phrase()
        return self._column_phrase(col, safe_rows(self.n, state, col))

    @abstractmethod
    def _full_phrase(self) -> str:
        """What is stated of a board with every queen placed."""

    @abstractmethod
    def _column_phrase(self, col: int, free: Sequence[int]) -> str:
        """The safe rows `free` (0-based, maybe none) of the 0-based column `col`."""

    def state_claim_error(self, text: str, state: QueensState) -> str | None:
        """None when the stated column is empty with exactly the stated safe rows (any
        empty column, not only the one the solver names), or a full board is stated of a
        full board."""
        claim = _FULL if text == self._full_phrase() else self._read_column_claim(text)
        if claim is None:
            return f"cannot read the stated column {text!r}"
        n = self.n
        if claim == _FULL:
            col = next_column(state)
            return None if col is None else (
                f"states every queen is placed but column {col + 1} is empty")
        col, stated = claim
        if not 0 <= col < n:
            return f"column {col + 1} is not a column of the {n}x{n} board"
        if state.rows[col] != EMPTY:
            return f"column {col + 1} already has a queen at row {state.rows[col] + 1}"
        actual = safe_rows(n, state, col)
        if sorted(stated) != actual:
            said = ", ".join(str(r + 1) for r in sorted(stated)) or "none"
            true = ", ".join(str(r + 1) for r in actual) or "none"
            return f"states column {col + 1} is safe at rows {said} but it is safe at {true}"
        return None

    @abstractmethod
    def _read_column_claim(self, text: str) -> _Claim | None:
        """(0-based column, 0-based stated safe rows), or None when unreadable."""

    def dead_end_phrase(self, state: QueensState, dead: DeadEnd) -> str:
        (col,) = dead.detail
        return self.DEAD_END.format(col + 1)

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = self.DEAD_PATTERN.fullmatch(text)
        if match is None:
            return None
        return DeadEnd(NO_SAFE_SQUARE, (int(match.group(1)) - 1,))

    def ref_phrase(self, state: QueensState, move_in: QueensMove | None) -> str:
        """A path state named by the move that made it: each column is filled once per
        path, so the move names the state."""
        if move_in is None:
            return self.start
        return self.REF_PREFIX + self.move_phrase(move_in)

    def parse_ref(self, text: str) -> Hashable | None:
        if text == self.start:
            return START
        if not text.startswith(self.REF_PREFIX):
            return None
        move = self.parse_move(text[len(self.REF_PREFIX) :])
        return None if move is None else (move.col, move.row)

    def ref_key(self, state: QueensState, move_in: QueensMove | None) -> Hashable:
        return START if move_in is None else (move_in.col, move_in.row)

    @abstractmethod
    def goal_phrase(self, state: QueensState) -> str:
        """Every queen placed."""


class NQueensNatural(NQueensPhrasing):
    """Sentences: "a queen in column 3 at row 5", "That leaves rows 2 and 7 safe in column
    4", "Every row of column 4 is attacked"; the start is "the starting board", or "the
    empty board" when no queen is pre-placed."""

    MOVE = re.compile(rf"a queen in column {_NUM} at row {_NUM}")
    DEAD_END = "Every row of column {} is attacked"
    DEAD_PATTERN = re.compile(rf"Every row of column {_NUM} is attacked")
    REF_PREFIX = "the board after "
    _SOME = re.compile(rf"That leaves (.+) safe in column {_NUM}")
    _NONE = re.compile(rf"That leaves no safe row in column {_NUM}")
    _ROWS = re.compile(r"only row [0-9]{1,2}|rows [0-9]{1,2}(?:, [0-9]{1,2})* and [0-9]{1,2}")

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> NQueensNatural:
        start = "the starting board" if any(data["preplaced"]) else "the empty board"
        return cls(data["n"], start)

    def move_phrase(self, move: QueensMove) -> str:
        return f"a queen in column {move.col + 1} at row {move.row + 1}"

    def _full_phrase(self) -> str:
        return f"That places all {self.n} queens"

    def _column_phrase(self, col: int, free: Sequence[int]) -> str:
        if not free:
            return f"That leaves no safe row in column {col + 1}"
        return f"That leaves {row_list(free)} safe in column {col + 1}"

    def _read_column_claim(self, text: str) -> _Claim | None:
        match = self._NONE.fullmatch(text)
        if match is not None:
            return int(match.group(1)) - 1, []
        match = self._SOME.fullmatch(text)
        if match is None or self._ROWS.fullmatch(match.group(1)) is None:
            return None
        numbers = re.findall(r"[0-9]{1,2}", match.group(1))
        return int(match.group(2)) - 1, [int(r) - 1 for r in numbers]

    def goal_phrase(self, state: QueensState) -> str:
        return f"All {self.n} queens are placed and none attacks another"


class NQueensCompact(NQueensPhrasing):
    """Terse: "c3=r5", "c4:{2,7}", "c4 blocked"; the start is "start"."""

    MOVE = re.compile(rf"c{_NUM}=r{_NUM}")
    DEAD_END = "c{} blocked"
    DEAD_PATTERN = re.compile(rf"c{_NUM} blocked")
    REF_PREFIX = "after "
    _COLUMN = re.compile(rf"c{_NUM}:\{{((?:[0-9]{{1,2}}(?:,[0-9]{{1,2}})*)?)\}}")

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> NQueensCompact:
        return cls(data["n"], START)

    def move_phrase(self, move: QueensMove) -> str:
        return square_name(move.col, move.row)

    def _full_phrase(self) -> str:
        return _FULL

    def _column_phrase(self, col: int, free: Sequence[int]) -> str:
        return f"c{col + 1}:{{{','.join(str(r + 1) for r in free)}}}"

    def _read_column_claim(self, text: str) -> _Claim | None:
        match = self._COLUMN.fullmatch(text)
        if match is None:
            return None
        listed = match.group(2)
        return (int(match.group(1)) - 1,
                [int(r) - 1 for r in listed.split(",")] if listed else [])

    def goal_phrase(self, state: QueensState) -> str:
        return f"{self.n} queens placed"


class NQueensTokens(NQueensPhrasing):
    """Space-separated tokens, with the rules for the tokens style's costs: a queen
    "c3 r5", a column's safe rows "c4 r2 r7" (or "c4 none"), "full", a dead end
    "blocked c4", a backtrack target "start" or the move that made it, the goal "full"."""

    MOVE = re.compile(rf"c{_NUM} r{_NUM}")
    DEAD_END = "blocked c{}"
    DEAD_PATTERN = re.compile(rf"blocked c{_NUM}")
    REF_PREFIX = ""
    _COLUMN = re.compile(rf"c{_NUM}((?: r[0-9]{{1,2}})+| none)")

    rules: QueensRules

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> NQueensTokens:
        phrasing = cls(data["n"], START)
        phrasing.rules = QueensRules.from_data(data)
        return phrasing

    def move_phrase(self, move: QueensMove) -> str:
        return f"c{move.col + 1} r{move.row + 1}"

    def _full_phrase(self) -> str:
        return _FULL

    def _column_phrase(self, col: int, free: Sequence[int]) -> str:
        return f"c{col + 1}" + ("".join(f" r{r + 1}" for r in free) or " none")

    def _read_column_claim(self, text: str) -> _Claim | None:
        match = self._COLUMN.fullmatch(text)
        if match is None:
            return None
        listed = match.group(2)
        return (int(match.group(1)) - 1,
                [] if listed == " none" else [int(r) - 1 for r in listed.split(" r")[1:]])

    def goal_phrase(self, state: QueensState) -> str:
        return _FULL


PHRASINGS: dict[str, Callable[[dict[str, Any]], Phrasing]] = {
    "natural": NQueensNatural.from_data,
    "compact": NQueensCompact.from_data,
    "tokens": NQueensTokens.from_data,
    "reflective": NQueensNatural.from_data,
}
