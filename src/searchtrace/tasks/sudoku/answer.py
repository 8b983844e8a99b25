"""Sudoku answers: the solved grid for a solution, and the checker of a model's free-form
grid (its layout forgiven, every given kept, no rule broken)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from searchtrace.tasks.base import OK, Verdict, extract_answer
from searchtrace.tasks.sudoku.grid import Geometry, cell_name, flatten, format_grid, geometry
from searchtrace.tasks.sudoku.rules import SudokuMove

MAX_ANSWER_CHARS = 2000
_IGNORED = str.maketrans("", "", " \t\r|-+,")


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
