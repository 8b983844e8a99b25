"""N-Queens rules, step text and answer checker, for boards of 4x4 to 12x12.

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

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from searchtrace.tasks.base import OK, DeadEnd, Verdict, Violation

MIN_SIZE, MAX_SIZE = 4, 12
NO_SAFE_SQUARE = "no_safe_square"
START = "start"
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
            return f"column {col + 1} is still safe at {_natural_rows(free)}"
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


# ---- step text -------------------------------------------------------------------------

_NUM = r"([0-9]{1,2})"
_MOVE_PATTERNS = {
    "natural": re.compile(rf"a queen in column {_NUM} at row {_NUM}"),
    "compact": re.compile(rf"c{_NUM}=r{_NUM}"),
}
_NATURAL_SOME = re.compile(rf"That leaves (.+) safe in column {_NUM}")
_NATURAL_NONE = re.compile(rf"That leaves no safe row in column {_NUM}")
_NATURAL_ROWS = re.compile(r"only row [0-9]{1,2}|rows [0-9]{1,2}(?:, [0-9]{1,2})* and [0-9]{1,2}")
_COMPACT_COLUMN = re.compile(rf"c{_NUM}:\{{((?:[0-9]{{1,2}}(?:,[0-9]{{1,2}})*)?)\}}")
_COMPACT_FULL = "full"
_DEAD_PATTERNS = {
    "natural": re.compile(rf"Every row of column {_NUM} is attacked"),
    "compact": re.compile(rf"c{_NUM} blocked"),
}
_REF_START = {"natural": "the starting board", "compact": START}
_REF_EMPTY = "the empty board"
_REF_PREFIX = {"natural": "the board after ", "compact": "after "}
_Claim = str | tuple[int, list[int]]


def _natural_rows(rows: Sequence[int]) -> str:
    """0-based rows as text: `only row 3`, `rows 2 and 7`, `rows 1, 4 and 6`."""
    words = [str(r + 1) for r in rows]
    if len(words) == 1:
        return f"only row {words[0]}"
    return f"rows {', '.join(words[:-1])} and {words[-1]}"


class QueensText:
    """How N-Queens steps are said and read back, in the natural and compact styles."""

    def __init__(self, n: int, has_preplaced: bool) -> None:
        self.n = n
        self.start_phrase = _REF_START["natural"] if has_preplaced else _REF_EMPTY

    @staticmethod
    def from_data(data: dict[str, Any]) -> QueensText:
        return QueensText(data["n"], any(data["preplaced"]))

    def move_phrase(self, move: QueensMove, style: str) -> str:
        if style == "compact":
            return square_name(move.col, move.row)
        return f"a queen in column {move.col + 1} at row {move.row + 1}"

    def parse_move(self, text: str, style: str) -> QueensMove | None:
        match = _MOVE_PATTERNS[_style(style)].fullmatch(text)
        if match is None:
            return None
        return QueensMove(int(match.group(1)) - 1, int(match.group(2)) - 1)

    def state_phrase(self, state: QueensState, style: str) -> str:
        """The safe rows of the column that decides what comes next: a blocked column if
        there is one, else the next column to fill."""
        col = blocked_column(self.n, state)
        if col is None:
            col = next_column(state)
        compact = style == "compact"
        if col is None:
            return _COMPACT_FULL if compact else f"That places all {self.n} queens"
        free = safe_rows(self.n, state, col)
        if compact:
            return f"c{col + 1}:{{{','.join(str(r + 1) for r in free)}}}"
        if not free:
            return f"That leaves no safe row in column {col + 1}"
        return f"That leaves {_natural_rows(free)} safe in column {col + 1}"

    def state_claim_error(self, text: str, state: QueensState, style: str) -> str | None:
        """None when the stated column is empty with exactly the stated safe rows (any
        empty column, not only the one the solver names), or a full board is stated of a
        full board."""
        claim = self._read_claim(text, style)
        if claim is None:
            return f"cannot read the stated column {text!r}"
        n = self.n
        if claim == _COMPACT_FULL:
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

    def _read_claim(self, text: str, style: str) -> _Claim | None:
        """`full`, or (0-based column, 0-based stated safe rows), or None when unreadable."""
        if style == "compact":
            if text == _COMPACT_FULL:
                return _COMPACT_FULL
            match = _COMPACT_COLUMN.fullmatch(text)
            if match is None:
                return None
            listed = match.group(2)
            return (int(match.group(1)) - 1,
                    [int(r) - 1 for r in listed.split(",")] if listed else [])
        if text == f"That places all {self.n} queens":
            return _COMPACT_FULL
        match = _NATURAL_NONE.fullmatch(text)
        if match is not None:
            return int(match.group(1)) - 1, []
        match = _NATURAL_SOME.fullmatch(text)
        if match is None or _NATURAL_ROWS.fullmatch(match.group(1)) is None:
            return None
        numbers = re.findall(r"[0-9]{1,2}", match.group(1))
        return int(match.group(2)) - 1, [int(r) - 1 for r in numbers]

    def dead_end_phrase(self, state: QueensState, dead: DeadEnd, style: str) -> str:
        (col,) = dead.detail
        if style == "compact":
            return f"c{col + 1} blocked"
        return f"Every row of column {col + 1} is attacked"

    def parse_dead_end(self, text: str, style: str) -> DeadEnd | None:
        match = _DEAD_PATTERNS[_style(style)].fullmatch(text)
        if match is None:
            return None
        return DeadEnd(NO_SAFE_SQUARE, (int(match.group(1)) - 1,))

    def ref_phrase(self, state: QueensState, move_in: QueensMove | None, style: str) -> str:
        """A path state named by the move that made it: each column is filled once per
        path, so the move names the state."""
        style = _style(style)
        if move_in is None:
            return self.start_phrase if style == "natural" else _REF_START[style]
        return _REF_PREFIX[style] + self.move_phrase(move_in, style)

    def parse_ref(self, text: str, style: str) -> Hashable | None:
        style = _style(style)
        start = self.start_phrase if style == "natural" else _REF_START[style]
        if text == start:
            return START
        prefix = _REF_PREFIX[style]
        if not text.startswith(prefix):
            return None
        move = self.parse_move(text[len(prefix) :], style)
        return None if move is None else (move.col, move.row)

    def ref_key(self, state: QueensState, move_in: QueensMove | None) -> Hashable:
        return START if move_in is None else (move_in.col, move_in.row)

    def goal_phrase(self, state: QueensState, style: str) -> str:
        if _style(style) == "compact":
            return f"{self.n} queens placed"
        return f"All {self.n} queens are placed and none attacks another"


def _style(style: str) -> str:
    """Any style other than compact reads as natural, as the shared renderer does."""
    return "compact" if style == "compact" else "natural"


# ---- answers ---------------------------------------------------------------------------

MAX_ANSWER_CHARS = 1000
_PAIR = re.compile(
    r"c(?:ol(?:umn)?)?\s*([0-9]{1,3})\s*[=:]\s*(?:r(?:ow)?\s*)?([0-9]{1,3})", re.IGNORECASE)
_PAIR_SEPARATORS = re.compile(r"[\s,;]*")
_LIST_ITEM = re.compile(r"[0-9]{1,3}")
_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_BRACKETS = ("[]", "()", "{}")
_BOARD_IGNORED = str.maketrans("", "", " \t\r|")
_BOARD_CHARS = re.compile(r"[Qq.*_ \t\r\n|]+")


def format_answer(rows: Sequence[int]) -> str:
    """0-based rows by column as the canonical answer: `c1=r2 c2=r4 c3=r1 c4=r3`."""
    return " ".join(square_name(col, row) for col, row in enumerate(rows))


def answer_from_moves(data: dict[str, Any], moves: Sequence[QueensMove]) -> str:
    """Every queen, pre-placed or moved, as `c1=r.. c2=r.. ...` in column order."""
    rows = [r - 1 if r else EMPTY for r in data["preplaced"]]
    for move in moves:
        rows[move.col] = move.row
    if EMPTY in rows:
        raise ValueError("the moves leave empty columns")
    return format_answer(rows)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: one queen per column, no two attacking, every pre-placed
    queen kept.

    Reads the last <answer> block (else the whole text) in any of these forms: column=row
    pairs in any order (`c1=r2 c2=r4`, `c1: 2, c2: 4`, `column 1 = row 2`); the rows in
    column order (`[2, 4, 1, 3]`, `2 4 1 3`, `2,4,1,3`); or the board drawn as n lines of
    `Q` and `.` (row 1 on top, spaces and `|` ignored). Rows and columns count from 1.
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    from searchtrace.tasks.base import extract_answer

    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    n = data["n"]
    rows = _read_rows(body, n)
    if isinstance(rows, Verdict):
        return rows
    for col, given in enumerate(data["preplaced"]):
        if given and rows[col] != given - 1:
            return Verdict.fail("preplaced_moved", f"column {col + 1} has a pre-placed queen at "
                                f"row {given}, the answer puts it at row {rows[col] + 1}")
    for col in range(n):
        if rows[col] in rows[:col]:
            return Verdict.fail("row_attack", f"the queens in columns {rows.index(rows[col]) + 1} "
                                f"and {col + 1} share row {rows[col] + 1}")
    for col in range(n):
        for other in range(col):
            if abs(rows[col] - rows[other]) == col - other:
                return Verdict.fail("diagonal_attack", f"the queens in columns {other + 1} and "
                                    f"{col + 1} share a diagonal")
    return OK


def _read_rows(body: str, n: int) -> list[int] | Verdict:
    """The 0-based row of the queen in each column, or why the answer cannot be read."""
    if _BOARD_CHARS.fullmatch(body) and ("Q" in body or "q" in body):
        return _read_board(body, n)
    if _PAIR.search(body) is not None:
        return _read_pairs(body, n)
    return _read_list(body, n)


def _read_pairs(body: str, n: int) -> list[int] | Verdict:
    pairs = []
    position = 0
    for match in _PAIR.finditer(body):
        if not _PAIR_SEPARATORS.fullmatch(body, position, match.start()):
            return Verdict.fail("unparsable_answer",
                                f"unexpected text {body[position:match.start()][:40]!r}")
        pairs.append((int(match.group(1)) - 1, int(match.group(2)) - 1))
        position = match.end()
    if not _PAIR_SEPARATORS.fullmatch(body, position):
        return Verdict.fail("unparsable_answer", f"unexpected text {body[position:][:40]!r}")
    rows = [EMPTY] * n
    for col, row in pairs:
        if not (0 <= col < n and 0 <= row < n):
            return Verdict.fail("out_of_board", f"column {col + 1}, row {row + 1} is off the "
                                f"{n}x{n} board")
        if rows[col] != EMPTY:
            return Verdict.fail("column_repeat", f"column {col + 1} has more than one queen")
        rows[col] = row
    return _all_columns(rows, n)


def _read_list(body: str, n: int) -> list[int] | Verdict:
    inner = body.strip()
    for pair in _BRACKETS:
        if len(inner) >= 2 and inner[0] == pair[0] and inner[-1] == pair[1]:
            inner = inner[1:-1].strip()
            break
    items = [item for item in _LIST_SEPARATORS.split(inner) if item]
    if not items or not all(_LIST_ITEM.fullmatch(item) for item in items):
        return Verdict.fail("unparsable_answer", "the answer must list the row of the queen in "
                            "each column, e.g. c1=r2 c2=r4 ... or [2, 4, ...]")
    if len(items) != n:
        return Verdict.fail("wrong_count", f"the answer lists {len(items)} rows, the board has "
                            f"{n} columns")
    rows = [int(item) - 1 for item in items]
    for col, row in enumerate(rows):
        if not 0 <= row < n:
            return Verdict.fail("out_of_board", f"row {row + 1} in column {col + 1} is off the "
                                f"{n}x{n} board")
    return rows


def _read_board(body: str, n: int) -> list[int] | Verdict:
    lines = [line.translate(_BOARD_IGNORED) for line in body.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) != n or any(len(line) != n for line in lines):
        return Verdict.fail("wrong_count", f"the drawn board is not {n}x{n}")
    rows = [EMPTY] * n
    for row, line in enumerate(lines):
        for col, ch in enumerate(line):
            if ch in "Qq":
                if rows[col] != EMPTY:
                    return Verdict.fail("column_repeat", f"column {col + 1} has more than one "
                                        "queen")
                rows[col] = row
    return _all_columns(rows, n)


def _all_columns(rows: list[int], n: int) -> list[int] | Verdict:
    if EMPTY in rows:
        return Verdict.fail("wrong_count", f"column {rows.index(EMPTY) + 1} has no queen; the "
                            f"answer needs one queen in each of the {n} columns")
    return rows


RULES = QueensRules
TEXT = QueensText
