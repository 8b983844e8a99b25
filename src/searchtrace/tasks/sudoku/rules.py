"""Sudoku rules, step text and answer checker, for 4x4, 6x6 and 9x9 grids.

A state is the grid (row-major cells, 0 for blank) with the digits used by each row,
column and box kept as bitmasks (bit d for digit d), so a cell's candidates are one OR
away. A move places one digit in one blank cell; it is legal when the digit is not yet in
that cell's row, column or box, so every full grid reached by moves is a solution. A
state is a confirmed dead end when a blank cell has no candidate left.

The solver branches on the blank cell with the fewest candidates (ties by position) and
tries its digits in ascending order; after each move the step text states what the cell
the solver would pick next can still be. Rows and columns are 1-based in text ("r4c5")
and 0-based inside.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from searchtrace.tasks.base import OK, DeadEnd, Verdict, Violation

BOX_SHAPES: dict[int, tuple[int, int]] = {4: (2, 2), 6: (2, 3), 9: (3, 3)}
NO_CANDIDATES = "no_candidates"
START = "start"


@dataclass(frozen=True)
class Geometry:
    """Lookup tables of one grid size: which row, column and box each cell is in, and
    the popcount and ascending digits of every candidate bitmask."""

    size: int
    box_rows: int
    box_cols: int
    row_of: tuple[int, ...]
    col_of: tuple[int, ...]
    box_of: tuple[int, ...]
    full: int
    popcount: tuple[int, ...]
    digits: tuple[tuple[int, ...], ...]


@cache
def geometry(size: int) -> Geometry:
    """The tables for a `size` x `size` grid (4, 6 or 9); built once per size."""
    box_rows, box_cols = BOX_SHAPES[size]
    cells = range(size * size)
    stacks = size // box_cols
    masks = range(1 << (size + 1))
    return Geometry(
        size=size,
        box_rows=box_rows,
        box_cols=box_cols,
        row_of=tuple(i // size for i in cells),
        col_of=tuple(i % size for i in cells),
        box_of=tuple((i // size // box_rows) * stacks + (i % size) // box_cols for i in cells),
        full=((1 << size) - 1) << 1,
        popcount=tuple(m.bit_count() for m in masks),
        digits=tuple(tuple(d for d in range(1, size + 1) if m >> d & 1) for m in masks),
    )


class SudokuState(NamedTuple):
    """The grid and the digits each row, column and box already holds (as bitmasks)."""

    cells: tuple[int, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    boxes: tuple[int, ...]


@dataclass(frozen=True)
class SudokuMove:
    """Place `digit` in the cell at 0-based (`row`, `col`)."""

    row: int
    col: int
    digit: int


def state_from_cells(geo: Geometry, cells: Sequence[int]) -> SudokuState:
    """The state of a grid whose filled cells do not conflict (e.g. a puzzle's givens)."""
    rows, cols, boxes = [0] * geo.size, [0] * geo.size, [0] * geo.size
    for i, digit in enumerate(cells):
        if digit:
            bit = 1 << digit
            rows[geo.row_of[i]] |= bit
            cols[geo.col_of[i]] |= bit
            boxes[geo.box_of[i]] |= bit
    return SudokuState(tuple(cells), tuple(rows), tuple(cols), tuple(boxes))


def candidates(geo: Geometry, state: SudokuState, cell: int) -> int:
    """Bitmask of the digits a blank `cell` may still take."""
    return geo.full & ~(state.rows[geo.row_of[cell]] | state.cols[geo.col_of[cell]]
                        | state.boxes[geo.box_of[cell]])


def blank_candidates(geo: Geometry, state: SudokuState) -> Iterator[tuple[int, int]]:
    """(cell, candidate mask) of every blank cell, in row-major order."""
    rows, cols, boxes = state.rows, state.cols, state.boxes
    row_of, col_of, box_of, full = geo.row_of, geo.col_of, geo.box_of, geo.full
    for i, digit in enumerate(state.cells):
        if not digit:
            yield i, full & ~(rows[row_of[i]] | cols[col_of[i]] | boxes[box_of[i]])


def most_constrained(geo: Geometry, state: SudokuState) -> tuple[int, int] | None:
    """(cell, mask) of the blank cell with the fewest candidates, first in row-major order
    among ties; None when the grid is full."""
    best: tuple[int, int] | None = None
    best_count = geo.size + 1
    popcount = geo.popcount
    for i, mask in blank_candidates(geo, state):
        count = popcount[mask]
        if count < best_count:
            best, best_count = (i, mask), count
            if count == 0:
                break
    return best


def place(geo: Geometry, state: SudokuState, cell: int, digit: int) -> SudokuState:
    """The state with `digit` in `cell`, unchecked (the caller knows it is legal)."""
    bit = 1 << digit
    r, c, b = geo.row_of[cell], geo.col_of[cell], geo.box_of[cell]
    return SudokuState(
        (*state.cells[:cell], digit, *state.cells[cell + 1 :]),
        (*state.rows[:r], state.rows[r] | bit, *state.rows[r + 1 :]),
        (*state.cols[:c], state.cols[c] | bit, *state.cols[c + 1 :]),
        (*state.boxes[:b], state.boxes[b] | bit, *state.boxes[b + 1 :]),
    )


def cell_name(row: int, col: int) -> str:
    """A 0-based cell as text: row 3, column 4 is `r4c5`."""
    return f"r{row + 1}c{col + 1}"


def flatten(grid: Sequence[Sequence[int]]) -> list[int]:
    return [digit for row in grid for digit in row]


class SudokuRules:
    """The state space of one Sudoku puzzle."""

    def __init__(self, size: int, grid: Sequence[Sequence[int]]) -> None:
        self.geo = geometry(size)
        self.start = state_from_cells(self.geo, flatten(grid))
        self._solvable: dict[tuple[int, ...], bool] = {}

    @staticmethod
    def from_data(data: dict[str, Any]) -> SudokuRules:
        return SudokuRules(data["size"], data["grid"])

    def initial_state(self) -> SudokuState:
        return self.start

    def expand(self, state: SudokuState) -> list[tuple[SudokuMove, SudokuState]]:
        """One child per candidate of the most constrained blank cell, ascending."""
        geo = self.geo
        chosen = most_constrained(geo, state)
        if chosen is None:
            return []
        cell, mask = chosen
        row, col = divmod(cell, geo.size)
        return [(SudokuMove(row, col, d), place(geo, state, cell, d)) for d in geo.digits[mask]]

    def wider_moves(self, state: SudokuState) -> Iterator[tuple[SudokuMove, SudokuState]]:
        """Every legal placement: fewest-candidate cells first, digits ascending (lazy)."""
        geo = self.geo
        ranked = sorted((geo.popcount[mask], cell, mask)
                        for cell, mask in blank_candidates(geo, state))
        for _, cell, mask in ranked:
            row, col = divmod(cell, geo.size)
            for digit in geo.digits[mask]:
                yield SudokuMove(row, col, digit), place(geo, state, cell, digit)

    def apply(self, state: SudokuState, move: SudokuMove) -> SudokuState | Violation:
        geo, n = self.geo, self.geo.size
        row, col, digit = move.row, move.col, move.digit
        if not (0 <= row < n and 0 <= col < n and 1 <= digit <= n):
            return Violation("out_of_range", f"{digit} at {cell_name(row, col)} is outside the "
                             f"{n}x{n} grid (rows, columns and digits run 1 to {n})")
        cell = row * n + col
        name = cell_name(row, col)
        if state.cells[cell]:
            return Violation("cell_filled", f"{name} already holds {state.cells[cell]}")
        bit = 1 << digit
        if state.rows[row] & bit:
            return Violation("row_conflict", f"{digit} is already in row {row + 1}")
        if state.cols[col] & bit:
            return Violation("column_conflict", f"{digit} is already in column {col + 1}")
        if state.boxes[geo.box_of[cell]] & bit:
            return Violation("box_conflict", f"{digit} is already in the box of {name}")
        return place(geo, state, cell, digit)

    def is_goal(self, state: SudokuState) -> bool:
        return 0 not in state.cells

    def dead_end(self, state: SudokuState) -> DeadEnd | None:
        """The first blank cell (row-major) with no candidate left, if any."""
        for cell, mask in blank_candidates(self.geo, state):
            if not mask:
                return DeadEnd(NO_CANDIDATES, divmod(cell, self.geo.size))
        return None

    def confirm_dead_end(self, state: SudokuState, claim: DeadEnd) -> str | None:
        n = self.geo.size
        if claim.code != NO_CANDIDATES or len(claim.detail) != 2:
            return f"{claim.code!r} is not a Sudoku dead end"
        row, col = claim.detail
        if not (0 <= row < n and 0 <= col < n):
            return f"{cell_name(row, col)} is not a cell of the {n}x{n} grid"
        cell = row * n + col
        name = cell_name(row, col)
        if state.cells[cell]:
            return f"{name} is filled with {state.cells[cell]}"
        mask = candidates(self.geo, state, cell)
        if mask:
            return f"{name} can still be {_natural_digits(self.geo.digits[mask])}"
        return None

    def state_key(self, state: SudokuState) -> Hashable:
        return state.cells

    def solvable(self, state: SudokuState) -> bool:
        """Whether the grid can still be filled: a depth-first search over `expand`,
        memoised on the cells. `expand` is complete: every completion puts one of the
        most constrained cell's candidates there (candidates only shrink as cells fill),
        and the rest of that completion stays legal after it, so no solution is missed.
        A cell with no candidate has no children, which ends a hopeless branch at once."""
        known = self._solvable.get(state.cells)
        if known is None:
            known = self.is_goal(state) or any(
                self.solvable(child) for _, child in self.expand(state))
            self._solvable[state.cells] = known
        return known

    def heuristic(self, state: SudokuState) -> float:
        """Each move fills one cell, so a goal is exactly the empty cells away."""
        return float(state.cells.count(0))

    def move_to_json(self, move: SudokuMove) -> str:
        return f"{cell_name(move.row, move.col)}={move.digit}"


# ---- step text -------------------------------------------------------------------------

_CELL = r"r([0-9]{1,2})c([0-9]{1,2})"
_DIGIT = r"([0-9]{1,2})"
_MOVE_PATTERNS = {
    "natural": (re.compile(rf"{_DIGIT} at {_CELL}"), (2, 3, 1)),
    "compact": (re.compile(rf"{_CELL}={_DIGIT}"), (1, 2, 3)),
}
_NATURAL_FULL = "Now every cell is filled"
_NATURAL_NONE = re.compile(rf"Now {_CELL} has no candidates left")
_NATURAL_SOME = re.compile(rf"Now {_CELL} can only be (.+)")
_NATURAL_LIST = re.compile(r"[0-9]{1,2}(?:, [0-9]{1,2})*(?: or [0-9]{1,2})?")
_COMPACT_FULL = "full"
_COMPACT_CELL = re.compile(rf"{_CELL}:\{{((?:[0-9]{{1,2}}(?:,[0-9]{{1,2}})*)?)\}}")
_DEAD_PATTERNS = {
    "natural": re.compile(rf"{_CELL} has no candidates"),
    "compact": re.compile(rf"{_CELL} empty"),
}
_REF_START = {"natural": "the starting grid", "compact": START}
_REF_PREFIX = {"natural": "the grid after ", "compact": "after "}
_GOAL = {"natural": "Every cell is filled", "compact": "full"}
_Claim = str | tuple[tuple[int, int], list[int]]


def _natural_digits(digits: Sequence[int]) -> str:
    """`3`, `3 or 8`, `1, 3 or 8`."""
    words = [str(d) for d in digits]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _compact_digits(digits: Sequence[int]) -> str:
    return "{" + ",".join(str(d) for d in digits) + "}"


def _zero_based_cell(row_text: str, col_text: str) -> tuple[int, int]:
    return int(row_text) - 1, int(col_text) - 1


class SudokuText:
    """How Sudoku steps are said and read back, in the natural and compact styles."""

    def __init__(self, size: int) -> None:
        self.geo = geometry(size)

    @staticmethod
    def from_data(data: dict[str, Any]) -> SudokuText:
        return SudokuText(data["size"])

    def move_phrase(self, move: SudokuMove, style: str) -> str:
        name = cell_name(move.row, move.col)
        return f"{name}={move.digit}" if style == "compact" else f"{move.digit} at {name}"

    def parse_move(self, text: str, style: str) -> SudokuMove | None:
        pattern, (row_group, col_group, digit_group) = _MOVE_PATTERNS[_style(style)]
        match = pattern.fullmatch(text)
        if match is None:
            return None
        row, col = _zero_based_cell(match.group(row_group), match.group(col_group))
        return SudokuMove(row, col, int(match.group(digit_group)))

    def state_phrase(self, state: SudokuState, style: str) -> str:
        """What the most constrained blank cell can still be (the cell the solver picks)."""
        geo = self.geo
        chosen = most_constrained(geo, state)
        compact = style == "compact"
        if chosen is None:
            return _COMPACT_FULL if compact else _NATURAL_FULL
        cell, mask = chosen
        name = cell_name(*divmod(cell, geo.size))
        digits = geo.digits[mask]
        if compact:
            return f"{name}:{_compact_digits(digits)}"
        if not digits:
            return f"Now {name} has no candidates left"
        return f"Now {name} can only be {_natural_digits(digits)}"

    def state_claim_error(self, text: str, state: SudokuState, style: str) -> str | None:
        """None when the stated cell is blank with exactly the stated candidates (any cell,
        not only the most constrained one), or when "full" is stated of a full grid."""
        claim = self._read_claim(text, style)
        if claim is None:
            return f"cannot read the stated cell {text!r}"
        geo, n = self.geo, self.geo.size
        if claim == _COMPACT_FULL:
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
            return (f"states {name} can be {_compact_digits(stated)} but it can be "
                    f"{_compact_digits(actual)}")
        return None

    def _read_claim(self, text: str, style: str) -> _Claim | None:
        """`full`, or ((row, col), stated digits), or None when unreadable."""
        if style == "compact":
            if text == _COMPACT_FULL:
                return _COMPACT_FULL
            match = _COMPACT_CELL.fullmatch(text)
            if match is None:
                return None
            listed = match.group(3)
            return (_zero_based_cell(match.group(1), match.group(2)),
                    [int(d) for d in listed.split(",")] if listed else [])
        if text == _NATURAL_FULL:
            return _COMPACT_FULL
        match = _NATURAL_NONE.fullmatch(text)
        if match is not None:
            return _zero_based_cell(match.group(1), match.group(2)), []
        match = _NATURAL_SOME.fullmatch(text)
        if match is None or _NATURAL_LIST.fullmatch(match.group(3)) is None:
            return None
        listed = match.group(3).replace(" or ", ", ").split(", ")
        return _zero_based_cell(match.group(1), match.group(2)), [int(d) for d in listed]

    def dead_end_phrase(self, state: SudokuState, dead: DeadEnd, style: str) -> str:
        name = cell_name(*dead.detail)
        return f"{name} empty" if style == "compact" else f"{name} has no candidates"

    def parse_dead_end(self, text: str, style: str) -> DeadEnd | None:
        match = _DEAD_PATTERNS[_style(style)].fullmatch(text)
        if match is None:
            return None
        return DeadEnd(NO_CANDIDATES, _zero_based_cell(match.group(1), match.group(2)))

    def ref_phrase(self, state: SudokuState, move_in: SudokuMove | None, style: str) -> str:
        """A path state named by the move that made it: each cell is filled once per path."""
        style = _style(style)
        if move_in is None:
            return _REF_START[style]
        return _REF_PREFIX[style] + self.move_phrase(move_in, style)

    def parse_ref(self, text: str, style: str) -> Hashable | None:
        style = _style(style)
        if text == _REF_START[style]:
            return START
        prefix = _REF_PREFIX[style]
        if not text.startswith(prefix):
            return None
        move = self.parse_move(text[len(prefix) :], style)
        return None if move is None else (move.row, move.col, move.digit)

    def ref_key(self, state: SudokuState, move_in: SudokuMove | None) -> Hashable:
        return START if move_in is None else (move_in.row, move_in.col, move_in.digit)

    def goal_phrase(self, state: SudokuState, style: str) -> str:
        return _GOAL[_style(style)]


def _style(style: str) -> str:
    """Any style other than compact reads as natural, as the shared renderer does."""
    return "compact" if style == "compact" else "natural"


# ---- answers ---------------------------------------------------------------------------

MAX_ANSWER_CHARS = 2000
_IGNORED = str.maketrans("", "", " \t\r|-+,")


def format_grid(cells: Sequence[int], size: int, blank: str = "0") -> str:
    """One row per line, digits without separators; blank cells shown as `blank`."""
    return "\n".join(
        "".join(str(d) if d else blank for d in cells[r * size : (r + 1) * size])
        for r in range(size)
    )


def answer_from_moves(data: dict[str, Any], moves: Sequence[SudokuMove]) -> str:
    """The solved grid: the givens plus every move's digit, one row per line."""
    size = data["size"]
    cells = flatten(data["grid"])
    for move in moves:
        cells[move.row * size + move.col] = move.digit
    if 0 in cells:
        raise ValueError("the moves leave blank cells")
    return format_grid(cells, size)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: a full grid that keeps every given and breaks no rule.

    Reads the last <answer> block (else the whole text); one row per line or all cells on
    one line; spaces, `|`, `-`, `+` and `,` are ignored, `.` and `0` mean blank.
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    from searchtrace.tasks.base import extract_answer

    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    size = data["size"]
    cells = _read_cells(body, size)
    if isinstance(cells, Verdict):
        return cells
    for problem in (_given_changed(flatten(data["grid"]), cells, size),
                    _broken_unit(cells, geometry(size))):
        if problem is not None:
            return problem
    return OK


def _read_cells(body: str, size: int) -> list[int] | Verdict:
    """The answer's cells in row-major order, or why they cannot be read as a full grid."""
    rows = [line.translate(_IGNORED) for line in body.splitlines()]
    rows = [row for row in rows if row]
    joined = "".join(rows)
    if not joined or not all(ch == "." or "0" <= ch <= "9" for ch in joined):
        return Verdict.fail("unparsable_answer", "the answer must be a grid of digits")
    by_rows = len(rows) == size and all(len(row) == size for row in rows)
    if not by_rows and len(joined) != size * size:
        return Verdict.fail("wrong_size", f"the answer is not a {size}x{size} grid")
    cells = [0 if ch == "." else int(ch) for ch in joined]
    if 0 in cells:
        return Verdict.fail("incomplete", "the answer leaves blank cells")
    if max(cells) > size:
        return Verdict.fail("invalid_digit", f"digits must run 1 to {size}, got {max(cells)}")
    return cells


def _given_changed(givens: list[int], cells: list[int], size: int) -> Verdict | None:
    for i, (given, digit) in enumerate(zip(givens, cells, strict=True)):
        if given and given != digit:
            name = cell_name(*divmod(i, size))
            return Verdict.fail("given_changed", f"{name} is given as {given}, the answer has "
                                f"{digit}")
    return None


def _broken_unit(cells: list[int], geo: Geometry) -> Verdict | None:
    """The first row, column or box that does not hold every digit exactly once."""
    units = (("row", geo.row_of), ("column", geo.col_of), ("box", geo.box_of))
    for kind, unit_of in units:
        seen = [0] * geo.size
        for i, digit in enumerate(cells):
            unit = unit_of[i]
            if seen[unit] >> digit & 1:
                return Verdict.fail(f"{kind}_repeat", f"{kind} {unit + 1} repeats {digit}")
            seen[unit] |= 1 << digit
    return None


RULES = SudokuRules
TEXT = SudokuText
