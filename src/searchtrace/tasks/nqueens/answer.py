"""N-Queens answers: the canonical `c1=r2 c2=r4 ...` for a solution, and the checker of a
model's free-form answer (column=row pairs, the rows in column order, or a drawn board)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from searchtrace.tasks.base import OK, Verdict, extract_answer
from searchtrace.tasks.nqueens.rules import EMPTY, QueensMove, square_name

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
