"""A Sudoku grid's shape and plain forms, shared by the generator, the rules, the phrasing
and the answer checker: per-size lookup tables (which row, column and box each cell is
in; the digits of every candidate bitmask), cell names (`r4c5`, 1-based), digit lists
(`1, 3 or 8`) and the grid as rows of digits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

BOX_SHAPES: dict[int, tuple[int, int]] = {4: (2, 2), 6: (2, 3), 9: (3, 3)}


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


def cell_name(row: int, col: int) -> str:
    """A 0-based cell as text: row 3, column 4 is `r4c5`."""
    return f"r{row + 1}c{col + 1}"


def digit_list(digits: Sequence[int]) -> str:
    """`3`, `3 or 8`, `1, 3 or 8`."""
    words = [str(d) for d in digits]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def flatten(grid: Sequence[Sequence[int]]) -> list[int]:
    return [digit for row in grid for digit in row]


def format_grid(cells: Sequence[int], size: int, blank: str = "0") -> str:
    """One row per line, digits without separators; blank cells shown as `blank`."""
    return "\n".join(
        "".join(str(d) if d else blank for d in cells[r * size : (r + 1) * size])
        for r in range(size)
    )
