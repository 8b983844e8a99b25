"""Sudoku puzzles with exactly one solution, on 4x4, 6x6 and 9x9 grids.

A random full grid is filled by a randomized depth-first search; then cells are blanked
in a random order, each blank kept only if no other digit in that cell can complete the
grid (so the puzzle stays uniquely solvable), until `givens` cells remain. A final count
of solutions up to 2 confirms uniqueness. Sudoku holds nothing out for the test split:
overlaps between splits are removed by problem id like any duplicate.

The search works on mutable lists with row, column and box bitmasks, always branching on
the blank cell with the fewest candidates; a cell with one candidate is thereby filled at
once (naked-single propagation) and a cell with none ends the branch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import ValidationInfo, field_validator

from searchtrace.tasks.base import (
    GenerationSkipped,
    Problem,
    TaskConfig,
    problem_id,
    recorded_knobs,
)
from searchtrace.tasks.sudoku.grid import BOX_SHAPES, Geometry, flatten, format_grid, geometry
from searchtrace.tasks.sudoku.singles import needs_search

TASK = "sudoku"
# Knobs added after rows were published: recorded in a row only when set.
LATER_KNOBS = ("require_search",)
GIVENS_RANGE: dict[int, tuple[int, int]] = {4: (4, 16), 6: (8, 36), 9: (22, 81)}


class SudokuConfig(TaskConfig):
    """Knobs of a Sudoku puzzle.

    size: the grid's side, 4 (2x2 boxes), 6 (boxes of 2 rows by 3 columns) or 9 (3x3
    boxes); givens: how many cells the puzzle fills in, 4 to 16 for 4x4, 8 to 36 for 6x6,
    22 to 81 for 9x9 (fewer givens make a harder puzzle and a rarer one: when blanking
    cannot get down to `givens` without losing uniqueness the seed is skipped);
    require_search: keep only puzzles that naked and hidden singles do not finish, so the
    solver has to guess (off by default; a skipped seed counts as `solved_by_singles`).
    """

    size: int = 9
    givens: int = 36
    require_search: bool = False

    @field_validator("size")
    @classmethod
    def _size(cls, value: int) -> int:
        if value not in BOX_SHAPES:
            raise ValueError(f"must be one of 4, 6, 9, got {value}")
        return value

    @field_validator("givens")
    @classmethod
    def _givens(cls, value: int, info: ValidationInfo) -> int:
        size = info.data.get("size")
        if size in GIVENS_RANGE:
            low, high = GIVENS_RANGE[size]
            if not low <= value <= high:
                raise ValueError(
                    f"givens for {size}x{size} must be between {low} and {high}, got {value}")
        return value


DESCRIPTION = "Fill a 4x4, 6x6 or 9x9 grid that has exactly one solution."
CONFIG = SudokuConfig

PRESETS: dict[str, dict] = {
    "easy": {"size": 4, "givens": 6},
    "medium": {"size": 9, "givens": 30},
    "hard": {"size": 9, "givens": 26},
}


def generate(config: SudokuConfig, rng: np.random.Generator, split: str) -> Problem:
    """A uniquely solvable puzzle with exactly `config.givens` givens (any split)."""
    geo = geometry(config.size)
    solution = _random_solution(geo, rng)
    cells = _blank_out(geo, solution, config.givens, rng)
    if count_solutions(config.size, cells, limit=2) != 1:
        raise GenerationSkipped("not_unique")
    if config.require_search and not needs_search(config.size, cells):
        raise GenerationSkipped("solved_by_singles")
    n = config.size
    grid = [cells[r * n : (r + 1) * n] for r in range(n)]
    data = {"size": n, "grid": grid}
    return Problem(
        task=TASK,
        id=problem_id(TASK, data),
        data=data,
        prompt=prompt_for(n, grid),
        knobs=recorded_knobs(config, LATER_KNOBS),
    )


def prompt_for(size: int, grid: Sequence[Sequence[int]]) -> str:
    box_rows, box_cols = BOX_SHAPES[size]
    shown = format_grid(flatten(grid), size, blank=".")
    return (
        f"Solve this {size}x{size} Sudoku. Fill every blank cell (shown as .) with a digit "
        f"from 1 to {size} so that every row, every column and every {box_rows}x{box_cols} box "
        f"({box_rows} rows by {box_cols} columns) holds each digit exactly once. Rows are "
        f"numbered 1 to {size} from the top and columns 1 to {size} from the left; r2c3 is "
        f"row 2, column 3.\n\n{shown}\n\nThink through your search, then give the completed "
        f"grid inside <answer></answer>, one row of {size} digits per line."
    )


def count_solutions(size: int, cells: Sequence[int], limit: int = 2) -> int:
    """How many solutions the row-major grid `cells` (0 = blank) has, counting up to `limit`."""
    return len(_solutions(geometry(size), cells, limit))


def _random_solution(geo: Geometry, rng: np.random.Generator) -> list[int]:
    """A random full grid: the search tries each cell's digits in a random order."""
    n = geo.size
    orders = rng.permuted(np.tile(np.arange(1, n + 1), (n * n, 1)), axis=1).tolist()
    return _solutions(geo, [0] * (n * n), 1, orders=orders)[0]


def _blank_out(
    geo: Geometry, solution: list[int], givens: int, rng: np.random.Generator
) -> list[int]:
    """Blank cells in a random order while the puzzle stays unique, down to `givens`."""
    cells = list(solution)
    filled = len(cells)
    for cell in rng.permutation(len(cells)).tolist():
        if filled == givens:
            break
        digit = cells[cell]
        cells[cell] = 0
        if _other_digit_fits(geo, cells, cell, digit):
            cells[cell] = digit
        else:
            filled -= 1
    if filled != givens:
        raise GenerationSkipped("givens_not_reached")
    return cells


def _other_digit_fits(geo: Geometry, cells: list[int], cell: int, digit: int) -> bool:
    """Whether the grid, whose only solution has `digit` in `cell`, also has a solution
    with another digit there: exactly when blanking `cell` would break uniqueness."""
    return bool(_solutions(geo, cells, 1, exclude=(cell, digit)))


def _solutions(
    geo: Geometry,
    cells: Sequence[int],
    limit: int,
    *,
    exclude: tuple[int, int] | None = None,
    orders: list[list[int]] | None = None,
) -> list[list[int]]:
    """Up to `limit` solutions of a partial grid, by depth-first search on bitmasks.

    Branches on the blank cell with the fewest candidates; `exclude` = (cell, digit)
    forbids one digit in one cell; `orders` gives each cell's digit order (ascending when
    absent). Conflicting givens have no solution.
    """
    n, full = geo.size, geo.full
    row_of, col_of, box_of = geo.row_of, geo.col_of, geo.box_of
    popcount, digits = geo.popcount, geo.digits
    grid = list(cells)
    rows, cols, boxes = [0] * n, [0] * n, [0] * n
    banned = [0] * len(grid)
    if exclude is not None:
        banned[exclude[0]] = 1 << exclude[1]
    for i, digit in enumerate(grid):
        if digit:
            bit = 1 << digit
            r, c, b = row_of[i], col_of[i], box_of[i]
            if (rows[r] | cols[c] | boxes[b]) & bit:
                return []
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
    blanks = [i for i, digit in enumerate(grid) if not digit]
    found: list[list[int]] = []

    def search(depth: int) -> bool:
        """Fill blanks[depth:]; True once `limit` solutions are found."""
        if depth == len(blanks):
            found.append(list(grid))
            return len(found) >= limit
        best, best_mask, best_count = depth, 0, n + 1
        for j in range(depth, len(blanks)):
            i = blanks[j]
            mask = full & ~(rows[row_of[i]] | cols[col_of[i]] | boxes[box_of[i]] | banned[i])
            count = popcount[mask]
            if count < best_count:
                best, best_mask, best_count = j, mask, count
                if count <= 1:
                    break
        if best_count == 0:
            return False
        blanks[depth], blanks[best] = blanks[best], blanks[depth]
        i = blanks[depth]
        r, c, b = row_of[i], col_of[i], box_of[i]
        tries = digits[best_mask] if orders is None else [
            d for d in orders[i] if best_mask >> d & 1]
        for digit in tries:
            bit = 1 << digit
            grid[i] = digit
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            if search(depth + 1):
                return True
            rows[r] ^= bit
            cols[c] ^= bit
            boxes[b] ^= bit
        grid[i] = 0
        return False

    search(0)
    return found
