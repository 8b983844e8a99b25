"""Maze answers: the canonical answer for a route, and the checker of free-form model answers
(direction letters or words in many layouts, walked over the grid from S to G)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from searchtrace.tasks.base import OK, Verdict, extract_answer
from searchtrace.tasks.maze.rules import DELTAS, LETTERS, WORDS, MazeMove, cell_name, maze_from_data

MAX_ANSWER_CHARS = 20_000
_LABEL = re.compile(r"^(?![UDLRudlr ]*:)[A-Za-z ]{0,30}:")  # `Moves:`, not `R R:`
_SEPARATOR = re.compile(r"(?:->|=>|[-,;:|/.\s\[\](){}\"'`>→⇒])+")
_LETTER_RUN = re.compile(r"[udlr]+")


def answer_from_moves(data: dict[str, Any], moves: Sequence[MazeMove]) -> str:
    """The route as direction letters separated by spaces, e.g. `R R D L`."""
    return " ".join(move.direction for move in moves)


def read_directions(body: str) -> list[str] | None:
    """Direction letters from `R R D`, `RRD`, `R, R, D`, `right, right, down`, `R -> R -> D`
    (any case; a leading label such as `Moves:` is skipped); None if anything else is there."""
    body = _LABEL.sub("", body.strip(), count=1)
    directions: list[str] = []
    for token in _SEPARATOR.split(body.lower()):
        if not token:
            continue
        if token in LETTERS:
            directions.append(LETTERS[token])
        elif _LETTER_RUN.fullmatch(token):
            directions.extend(token.upper())
        else:
            return None
    return directions


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: moves that walk from S to G over open cells of the grid.

    Reads the last <answer> block (else the whole text) with `read_directions`. The walk
    may revisit cells and need not be the shortest: it must only never leave the grid or
    enter a wall, and must end on G.
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    directions = read_directions(body)
    if not directions:
        return Verdict.fail("unparsable_answer", "the answer must be moves such as `R R D L` "
                            "or `right, right, down, left`")
    maze = maze_from_data(data)
    row, col = divmod(maze.start, maze.width)
    for number, direction in enumerate(directions, start=1):
        dr, dc = DELTAS[direction]
        row, col = row + dr, col + dc
        if not (0 <= row < maze.height and 0 <= col < maze.width):
            return Verdict.fail("off_grid", f"move {number} ({WORDS[direction]}) leaves the grid")
        if not maze.is_open[row * maze.width + col]:
            return Verdict.fail("into_wall", f"move {number} ({WORDS[direction]}) runs into the "
                                f"wall at {cell_name(row, col)}")
    if row * maze.width + col != maze.goal:
        return Verdict.fail("not_at_goal", f"the moves end at {cell_name(row, col)}, not at the "
                            f"goal {maze.name(maze.goal)}")
    return OK
