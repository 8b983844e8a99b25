"""Sudoku rules, for 4x4, 6x6 and 9x9 grids.

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

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from searchtrace.tasks.base import DeadEnd, Violation
from searchtrace.tasks.sudoku.grid import Geometry, cell_name, digit_list, flatten, geometry

NO_CANDIDATES = "no_candidates"


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
            return f"{name} can still be {digit_list(self.geo.digits[mask])}"
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


RULES = SudokuRules
