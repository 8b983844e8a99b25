"""N-Queens puzzles on boards of 4x4 to 12x12, with some queens optionally pre-placed.

Every solution of the empty n x n board is enumerated once per size (14,200 for n = 12,
about a third of a second) and cached; a problem takes one of them uniformly at random and
keeps its queens in `preplaced` random columns, so every problem is solvable by
construction. A search for a completion confirms it again. Problems are not unique
puzzles: any placement that keeps the pre-placed queens and has no two queens attacking is
a solution.

A problem is its board size plus its pre-placed queens (that is its id), so the number of
distinct problems is small: one per size with no queen pre-placed, 64 for n = 8 with one,
1,052 with two, 4,032 with three; 7,700 for n = 12 with two. Duplicates are removed by
problem id like any other. N-Queens holds nothing out for the test split.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Annotated

import numpy as np
from pydantic import ValidationInfo, field_validator

from searchtrace.tasks.base import GenerationSkipped, Problem, TaskConfig, between, problem_id
from searchtrace.tasks.nqueens.rules import MAX_SIZE, MIN_SIZE

TASK = "nqueens"


class NQueensConfig(TaskConfig):
    """Knobs of an N-Queens puzzle.

    n: the board's side and the number of queens, 4 to 12; preplaced: how many queens the
    puzzle places for you, 0 to n - 1, taken from a random solution (in random columns) so
    the puzzle stays solvable. With preplaced = 0 every puzzle of one size is the same
    problem (the empty board): a build then yields a single distinct problem per n, and
    pre-placed queens are what make problems differ.
    """

    n: Annotated[int, between(MIN_SIZE, MAX_SIZE)] = 8
    preplaced: int = 0

    @field_validator("preplaced")
    @classmethod
    def _preplaced(cls, value: int, info: ValidationInfo) -> int:
        n = info.data.get("n")
        if n is not None and not 0 <= value <= n - 1:
            raise ValueError(f"preplaced for n={n} must be between 0 and {n - 1}, got {value}")
        if n is None and value < 0:
            raise ValueError(f"must be at least 0, got {value}")
        return value


DESCRIPTION = "Place n queens on an n x n board, some pre-placed, so that no two attack."
CONFIG = NQueensConfig

PRESETS: dict[str, dict] = {
    "easy": {"n": 5, "preplaced": 1},
    "medium": {"n": 8, "preplaced": 2},
    "hard": {"n": 12, "preplaced": 2},
}


def generate(config: NQueensConfig, rng: np.random.Generator, split: str) -> Problem:
    """A solvable puzzle: `config.preplaced` queens of a random solution (any split)."""
    n = config.n
    every = all_solutions(n)
    solution = every[int(rng.integers(len(every)))]
    columns = sorted(int(c) for c in rng.choice(n, size=config.preplaced, replace=False))
    preplaced = [0] * n
    for col in columns:
        preplaced[col] = solution[col] + 1
    if count_solutions(n, preplaced, limit=1) != 1:
        raise GenerationSkipped("unsolvable")
    data = {"n": n, "preplaced": preplaced}
    return Problem(
        task=TASK,
        id=problem_id(TASK, data),
        data=data,
        prompt=prompt_for(n, preplaced),
        knobs=config.model_dump(mode="json"),
    )


def prompt_for(n: int, preplaced: Sequence[int]) -> str:
    article = "an" if n in (8, 11) else "a"
    if any(preplaced):
        board = "\n".join(
            "".join("Q" if preplaced[col] == row + 1 else "." for col in range(n))
            for row in range(n))
        listed = ", ".join(f"column {c + 1} at row {r}" for c, r in enumerate(preplaced) if r)
        start = (f"Some queens are already placed and must stay where they are ({listed}); "
                 f"on the board below Q is a queen and . an empty square:\n\n{board}\n\n")
    else:
        start = "The board starts empty.\n\n"
    return (
        f"Place {n} queens on {article} {n}x{n} chessboard so that no two queens attack each "
        f"other: no two may share a row, a column or a diagonal. Columns are numbered 1 to {n} "
        f"from the left and rows 1 to {n} from the top. {start}Place the queens column by "
        f"column, from left to right, skipping columns that already hold a queen. Think "
        f"through your search, then give every queen (the pre-placed ones too) inside "
        f"<answer></answer> as one column=row pair per column, in column order: "
        f"c1=r? c2=r? ... c{n}=r?, each ? replaced by the row of that column's queen (c3=r5 "
        f"means the queen in column 3 is on row 5)."
    )


@cache
def all_solutions(n: int) -> tuple[tuple[int, ...], ...]:
    """Every solution of the empty n x n board: 0-based rows by column, in search order."""
    return tuple(_solutions(n, [0] * n, None))


def count_solutions(n: int, preplaced: Sequence[int], limit: int | None = 2) -> int:
    """How many placements complete `preplaced` (1-based rows by column, 0 for an empty
    column), counting up to `limit` (all when None). Attacking pre-placed queens have none."""
    return len(_solutions(n, preplaced, limit))


def _solutions(n: int, preplaced: Sequence[int], limit: int | None) -> list[tuple[int, ...]]:
    """Up to `limit` solutions by depth-first search on bitmasks, column by column.

    `rows` is the used-row mask; `down` and `up` hold the diagonals shifted to the
    current column. A pre-placed column allows only its own row.
    """
    full = (1 << n) - 1
    rows_by_col = [0] * n
    found: list[tuple[int, ...]] = []

    def search(col: int, rows: int, down: int, up: int) -> bool:
        """Fill columns col.. ; True once `limit` solutions are found."""
        if col == n:
            found.append(tuple(rows_by_col))
            return limit is not None and len(found) >= limit
        free = full & ~(rows | down | up)
        if preplaced[col]:
            free &= 1 << (preplaced[col] - 1)
        while free:
            bit = free & -free
            free ^= bit
            rows_by_col[col] = bit.bit_length() - 1
            if search(col + 1, rows | bit, ((down | bit) << 1) & full, (up | bit) >> 1):
                return True
        return False

    search(0, 0, 0, 0)
    return found
