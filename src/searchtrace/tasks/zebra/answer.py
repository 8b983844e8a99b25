"""Zebra answers: the canonical answer for a solution (one line per house), and the checker
of free-form model answers (a full grid in many layouts, judged against every clue)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from searchtrace.tasks.base import OK, Verdict, extract_answer
from searchtrace.tasks.zebra.rules import Puzzle, ZebraMove, holds_in_grid

MAX_ANSWER_CHARS = 4000
MAX_ANSWER_LINES = 60
_TOKEN = re.compile(r"[A-Za-z]{1,30}|[0-9]{1,6}")


def format_answer(puzzle: Puzzle, grid: Sequence[Sequence[int]]) -> str:
    """One line per house, values in attribute order: `House 1: red, Brit, dog, tea`."""
    return "\n".join(
        f"House {h + 1}: " + ", ".join(puzzle.values[a][grid[a][h]]
                                       for a in range(len(puzzle.names)))
        for h in range(puzzle.n))


def answer_from_moves(data: dict[str, Any], moves: Sequence[ZebraMove]) -> str:
    """The full grid that the moves fill in, one line per house."""
    puzzle = Puzzle(data)
    n = puzzle.n
    grid = [[-1] * n for _ in puzzle.names]
    for move in moves:
        a = puzzle.attr_index[move.attribute.lower()]
        grid[a][move.house] = puzzle.value_index[a][move.value.lower()]
    if any(-1 in row for row in grid):
        raise ValueError("the moves leave empty cells")
    return format_answer(puzzle, grid)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: a full grid in which every clue holds.

    Reads the last <answer> block (else the whole text). Each line that names values of
    the puzzle is one house: its first number is the house (a line without a number is
    the next house in order), its values may come in any order with any separators and
    words around them ("House 2: red, Swede, cat", "| 2 | red | Swede | cat |",
    "2. colour=red pet=cat"). Lines naming no value (headers, prose) are ignored. Every
    value must be in exactly one house and every clue must hold: under the puzzle's
    uniqueness that is exactly its one solution.
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    puzzle = Puzzle(data)
    grid = _read_grid(puzzle, body)
    if isinstance(grid, Verdict):
        return grid
    for index, clue in enumerate(puzzle.clues):
        if not holds_in_grid(clue, grid):
            return Verdict.fail("clue_broken",
                                f"clue {index + 1} ({puzzle.texts[index]}) does not hold")
    return OK


def _read_grid(puzzle: Puzzle, body: str) -> list[list[int]] | Verdict:
    """grid[a][h] from the answer's lines, or why it is not one full grid."""
    n = puzzle.n
    grid = [[-1] * n for _ in puzzle.names]
    where: dict[tuple[int, int], int] = {}  # (attribute, value) -> house
    seen_houses: set[int] = set()
    house_lines = 0
    for line in body.splitlines()[:MAX_ANSWER_LINES]:
        tokens = _TOKEN.findall(line)
        items = [(puzzle.owner[t.lower()], t) for t in tokens if t.lower() in puzzle.owner]
        if not items:
            continue
        house_lines += 1
        number = next((int(t) for t in tokens if t.isdigit()), house_lines)
        if not 1 <= number <= n:
            return Verdict.fail("unknown_house", f"there is no house {number}; houses are "
                                f"numbered 1 to {n}")
        if number in seen_houses:
            return Verdict.fail("house_repeated", f"house {number} is given twice")
        seen_houses.add(number)
        h = number - 1
        for a, token in items:
            v = puzzle.value_index[a][token.lower()]
            name, value = puzzle.names[a], puzzle.values[a][v]
            if (a, v) in where:
                return Verdict.fail("value_repeated", f"{value} is in house {where[a, v] + 1} "
                                    f"and house {number}")
            if grid[a][h] >= 0:
                return Verdict.fail("cell_conflict", f"house {number} has two {name} values, "
                                    f"{puzzle.values[a][grid[a][h]]} and {value}")
            grid[a][h] = v
            where[a, v] = h
    if not house_lines:
        return Verdict.fail("unparsable_answer", "the answer names no value of the puzzle")
    for a, row in enumerate(grid):
        if -1 in row:
            return Verdict.fail("incomplete", f"house {row.index(-1) + 1} has no "
                                f"{puzzle.names[a]}")
    return grid
