"""Singles propagation: how far a Sudoku gets without guessing.

A naked single is a blank cell with one candidate left; a hidden single is a digit that
fits only one blank cell of a row, column or box. Placing singles until none is left is
the deduction every solver does before it guesses, so a puzzle that singles finish needs
no search at all: its reference DFS never branches and its dead ends are not reached by
a real choice. The generator's `require_search` knob keeps only puzzles that singles do
not finish.
"""

from __future__ import annotations

from collections.abc import Sequence

from searchtrace.tasks.sudoku.grid import Geometry, geometry


def units(geo: Geometry) -> tuple[tuple[int, ...], ...]:
    """Every row, column and box of the grid as its cells (row-major indices)."""
    cells = range(geo.size * geo.size)
    return tuple(
        tuple(i for i in cells if of[i] == k)
        for of in (geo.row_of, geo.col_of, geo.box_of)
        for k in range(geo.size)
    )


def propagate_singles(size: int, cells: Sequence[int]) -> list[int]:
    """The row-major grid (0 = blank) after placing naked and hidden singles until none
    is left. Singles are forced, so for a puzzle with a solution every placed digit is the
    solution's; a cell left without candidates stops the propagation as it is."""
    geo = geometry(size)
    grid = list(cells)
    rows, cols, boxes = [0] * size, [0] * size, [0] * size

    def put(i: int, digit: int) -> None:
        bit = 1 << digit
        grid[i] = digit
        rows[geo.row_of[i]] |= bit
        cols[geo.col_of[i]] |= bit
        boxes[geo.box_of[i]] |= bit

    for i, digit in enumerate(cells):
        if digit:
            put(i, digit)
    all_units = units(geo)

    def mask(i: int) -> int:
        return geo.full & ~(rows[geo.row_of[i]] | cols[geo.col_of[i]] | boxes[geo.box_of[i]])

    progress = True
    while progress:
        progress = False
        for i in range(len(grid)):
            if not grid[i]:
                candidates = mask(i)
                if geo.popcount[candidates] == 1:
                    put(i, geo.digits[candidates][0])
                    progress = True
                elif not candidates:
                    return grid
        for unit in all_units:
            for digit in range(1, size + 1):
                bit = 1 << digit
                places = [i for i in unit if not grid[i] and mask(i) & bit]
                if len(places) == 1:
                    put(places[0], digit)
                    progress = True
    return grid


def needs_search(size: int, cells: Sequence[int]) -> bool:
    """Whether naked and hidden singles leave a blank cell in the grid."""
    return 0 in propagate_singles(size, cells)
