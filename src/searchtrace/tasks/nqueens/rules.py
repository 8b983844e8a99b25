"""N-Queens rules, for boards of 4x4 to 12x12.

A state holds the row of the queen in each column (-1 for an empty column) and, for every
column, the bitmask of its rows that the placed queens attack (bit r for row r), so a
column's safe squares are one AND away. Queens go column by column: a move puts a queen in
the next empty column (the leftmost one; pre-placed queens keep their columns) on a row
no queen attacks along a row or a diagonal, so every full board reached by moves is a
solution. A state is a confirmed dead end when some empty column has no safe square left
(forward checking): every one of its rows is attacked by a placed queen, which anyone can
check from the queens on the board.

The solver tries the safe rows of the next column; rows that leave no column without a
safe square come first, then those that leave the most safe squares in the remaining
columns (ties by row). After each move the step text states the safe rows of the column
that decides what happens next: a column left with none, else the next column to fill.
Rows and columns are 1-based in text ("column 3", "c3=r5") and 0-based inside; row 1 is
the top row and column 1 the leftmost.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from searchtrace.tasks.base import DeadEnd, Violation

MIN_SIZE, MAX_SIZE = 4, 12
NO_SAFE_SQUARE = "no_safe_square"
EMPTY = -1


class QueensState(NamedTuple):
    """The queen's row in each column (EMPTY where none) and each column's attacked rows."""

    rows: tuple[int, ...]
    attacked: tuple[int, ...]


@dataclass(frozen=True)
class QueensMove:
    """Put a queen in 0-based column `col`, row `row`."""

    col: int
    row: int


@cache
def attack_masks(n: int) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """`attack_masks(n)[col][row][c]`: the rows of column c that a queen at (col, row)
    attacks along its row and its two diagonals (c == col gives the queen's own row)."""
    table = []
    for col in range(n):
        per_row = []
        for row in range(n):
            masks = []
            for c in range(n):
                d = abs(c - col)
                mask = 1 << row
                if row + d < n:
                    mask |= 1 << (row + d)
                if row - d >= 0:
                    mask |= 1 << (row - d)
                masks.append(mask)
            per_row.append(tuple(masks))
        table.append(tuple(per_row))
    return tuple(table)


def place(n: int, state: QueensState, col: int, row: int) -> QueensState:
    """The state with a queen at (col, row), unchecked (the caller knows it is legal)."""
    masks = attack_masks(n)[col][row]
    return QueensState(
        (*state.rows[:col], row, *state.rows[col + 1 :]),
        tuple(a | m for a, m in zip(state.attacked, masks, strict=True)),
    )


def state_from_rows(n: int, rows: Sequence[int]) -> QueensState:
    """The state of queens at 0-based `rows` (EMPTY for an empty column), unchecked."""
    state = QueensState((EMPTY,) * n, (0,) * n)
    for col, row in enumerate(rows):
        if row != EMPTY:
            state = place(n, state, col, row)
    return state


def safe_rows(n: int, state: QueensState, col: int) -> list[int]:
    """The 0-based rows of `col` that no placed queen attacks, ascending."""
    free = ((1 << n) - 1) & ~state.attacked[col]
    return [r for r in range(n) if free >> r & 1]


def next_column(state: QueensState) -> int | None:
    """The leftmost empty column, where the next queen goes; None on a full board."""
    try:
        return state.rows.index(EMPTY)
    except ValueError:
        return None


def blocked_column(n: int, state: QueensState) -> int | None:
    """The leftmost empty column with no safe square, if any."""
    full = (1 << n) - 1
    for col, (row, attacked) in enumerate(zip(state.rows, state.attacked, strict=True)):
        if row == EMPTY and attacked & full == full:
            return col
    return None


def attacker(state: QueensState, col: int, row: int) -> tuple[str, int, int] | None:
    """("row" or "diagonal", column, row) of the first placed queen (left to right) that
    attacks the square (col, row); None when the square is safe."""
    for c, r in enumerate(state.rows):
        if r == EMPTY or c == col:
            continue
        if r == row:
            return "row", c, r
        if abs(r - row) == abs(c - col):
            return "diagonal", c, r
    return None


def square_name(col: int, row: int) -> str:
    """A 0-based square as text: column 3, row 5 (1-based) is `c3=r5`."""
    return f"c{col + 1}=r{row + 1}"


def row_list(rows: Sequence[int]) -> str:
    """0-based rows as text: `only row 3`, `rows 2 and 7`, `rows 1, 4 and 6`."""
    words = [str(r + 1) for r in rows]
    if len(words) == 1:
        return f"only row {words[0]}"
    return f"rows {', '.join(words[:-1])} and {words[-1]}"


class QueensRules:
    """The state space of one N-Queens instance (board size and pre-placed queens)."""

    def __init__(self, n: int, preplaced: Sequence[int]) -> None:
        self.n = n
        self.full = (1 << n) - 1
        self.start = state_from_rows(n, [r - 1 if r else EMPTY for r in preplaced])
        self._solvable: dict[tuple[int, ...], bool] = {}

    @staticmethod
    def from_data(data: dict[str, Any]) -> QueensRules:
        return QueensRules(data["n"], data["preplaced"])

    def initial_state(self) -> QueensState:
        return self.start

    def expand(self, state: QueensState) -> list[tuple[QueensMove, QueensState]]:
        """One child per safe row of the next column. Children with no blocked column
        come first; among them, the ones leaving the most safe squares in the other
        empty columns; ties by row."""
        col = next_column(state)
        if col is None:
            return []
        n, full = self.n, self.full
        ranked = []
        for row in safe_rows(n, state, col):
            child = place(n, state, col, row)
            safe_total, blocked = 0, False
            for r, attacked in zip(child.rows, child.attacked, strict=True):
                if r == EMPTY:
                    free = (full & ~attacked).bit_count()
                    if not free:
                        safe_total, blocked = 0, True
                        break
                    safe_total += free
            ranked.append((blocked, -safe_total, row, child))
        ranked.sort(key=lambda item: item[:3])
        return [(QueensMove(col, row), child) for _, _, row, child in ranked]

    def wider_moves(self, state: QueensState) -> list[tuple[QueensMove, QueensState]]:
        """Every legal move: only the next column may take a queen, so this is `expand`."""
        return self.expand(state)

    def apply(self, state: QueensState, move: QueensMove) -> QueensState | Violation:
        n, col, row = self.n, move.col, move.row
        name = f"column {col + 1}, row {row + 1}"
        if not (0 <= col < n and 0 <= row < n):
            return Violation("out_of_board", f"{name} is off the {n}x{n} board (columns and "
                             f"rows run 1 to {n})")
        if state.rows[col] != EMPTY:
            return Violation("column_taken", f"column {col + 1} already has a queen at row "
                             f"{state.rows[col] + 1}")
        expected = state.rows.index(EMPTY)  # column `col` is empty, so one exists
        if col != expected:
            return Violation("wrong_column", f"queens go column by column: the next empty "
                             f"column is {expected + 1}, not {col + 1}")
        attack = attacker(state, col, row)
        if attack is not None:
            kind, c, r = attack
            code = "row_attack" if kind == "row" else "diagonal_attack"
            return Violation(code, f"the queen in column {c + 1} at row {r + 1} attacks "
                             f"{name} along its {kind}")
        return place(n, state, col, row)

    def is_goal(self, state: QueensState) -> bool:
        return EMPTY not in state.rows

    def dead_end(self, state: QueensState) -> DeadEnd | None:
        """The leftmost empty column with every row attacked, if any."""
        col = blocked_column(self.n, state)
        return None if col is None else DeadEnd(NO_SAFE_SQUARE, (col,))

    def confirm_dead_end(self, state: QueensState, claim: DeadEnd) -> str | None:
        n = self.n
        if claim.code != NO_SAFE_SQUARE or len(claim.detail) != 1:
            return f"{claim.code!r} is not an N-Queens dead end"
        (col,) = claim.detail
        if not isinstance(col, int) or not 0 <= col < n:
            return f"column {col} is not a column of the {n}x{n} board"
        if state.rows[col] != EMPTY:
            return f"column {col + 1} already has a queen at row {state.rows[col] + 1}"
        free = safe_rows(n, state, col)
        if free:
            return f"column {col + 1} is still safe at {row_list(free)}"
        return None

    def state_key(self, state: QueensState) -> Hashable:
        return state.rows

    def solvable(self, state: QueensState) -> bool:
        """Whether the board can still be completed: a depth-first search over `expand`
        (every legal move, the next column's safe rows), memoised on the queens' rows.
        A board with an empty column whose every row is attacked is hopeless at once,
        since placing queens only adds attacks."""
        known = self._solvable.get(state.rows)
        if known is None:
            if self.is_goal(state):
                known = True
            elif blocked_column(self.n, state) is not None:
                known = False
            else:
                known = any(self.solvable(child) for _, child in self.expand(state))
            self._solvable[state.rows] = known
        return known

    def heuristic(self, state: QueensState) -> float:
        """Each move fills one column, so a goal is exactly the empty columns away."""
        return float(state.rows.count(EMPTY))

    def move_to_json(self, move: QueensMove) -> str:
        return square_name(move.col, move.row)


RULES = QueensRules
