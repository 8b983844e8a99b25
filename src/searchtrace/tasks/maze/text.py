"""How maze steps are said and read back: one phrasing per style.

The natural style says where the search stands and which ways lead on ("From (2,3) I can
go up or left"); the compact style gives only the ways ("open U,L"); the tokens style both,
as space-separated tokens ("r2 c3 open U L"). A move names the cell it reaches in every
style ("down to (3,4)", "D(3,4)", "D r3 c4"), and a backtrack target is named by its cell
alone: a simple path holds each cell once. Parsers read back exactly what the
style writes (spaces inside a cell's brackets allowed) and return None on anything else.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Hashable
from typing import Any, ClassVar, Self

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.maze.rules import (
    CUL_DE_SAC,
    CUT_OFF,
    LETTERS,
    WORDS,
    Maze,
    MazeMove,
    MazeRules,
    MazeState,
    cell_name,
    direction_words,
    maze_from_data,
)

AT_GOAL = "goal"  # what `_read_claim` returns for a state phrase saying the goal is reached

_NUM = r"([0-9]{1,3})"
_CELL = rf"\( ?{_NUM} ?, ?{_NUM} ?\)"
_WORD = r"(?:up|down|left|right)"
_NATURAL_MOVE = re.compile(rf"({_WORD}) to {_CELL}")
_NATURAL_EXITS = re.compile(
    rf"From {_CELL} I can (?:only )?go ({_WORD}(?:, {_WORD}){{0,3}}(?: or {_WORD})?)")
_NATURAL_NONE = re.compile(rf"From {_CELL} there is nowhere new to go")
_NATURAL_GOAL = re.compile(rf"{_CELL} is the goal")
_NATURAL_DEAD = {CUL_DE_SAC: "I am stuck in a cul-de-sac at {}",
                 CUT_OFF: "The walls and my path cut off the goal from {}"}
_COMPACT_MOVE = re.compile(rf"([UDLR]) ?{_CELL}")
_COMPACT_EXITS = re.compile(r"open (none|[UDLR](?:,[UDLR]){0,3})")
_COMPACT_DEAD = {CUL_DE_SAC: "cul-de-sac at {}", CUT_OFF: "goal cut off at {}"}
_REF = re.compile(_CELL)
# (stated cell or None, AT_GOAL or the stated directions)
_Claim = tuple[tuple[int, int] | None, str | list[str]]


def _dead_patterns(said: dict[str, str]) -> list[tuple[str, re.Pattern[str]]]:
    """Per dead-end code, its phrase with the cell as two groups."""
    return [(code, re.compile(re.escape(phrase).replace(re.escape("{}"), _CELL)))
            for code, phrase in said.items()]


def _zero_based(row_text: str, col_text: str) -> tuple[int, int]:
    return int(row_text) - 1, int(col_text) - 1


class MazePhrasing(ABC):
    """What both styles share: the maze, checking a stated position, saying and reading a
    dead end from the style's phrases, and naming a backtrack target by its cell."""

    dead_say: ClassVar[dict[str, str]]  # per dead-end code, its phrase with `{}` for the cell
    dead_patterns: ClassVar[list[tuple[str, re.Pattern[str]]]]  # the same phrases, to read back

    def __init__(self, maze: Maze) -> None:
        self.maze = maze

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        return cls(maze_from_data(data))

    def state_claim_error(self, text: str, state: MazeState) -> str | None:
        """None when the stated cell is the current one and the stated ways out are exactly
        the open neighbours off the path (any order), or "goal" is stated at the goal."""
        maze = self.maze
        claim = self._read_claim(text)
        if claim is None:
            return f"cannot read the stated position {text!r}"
        cell, stated = claim
        here = divmod(state.cell, maze.width)
        if cell is not None and cell != here:
            return f"states the position {cell_name(*cell)} but the search is at " \
                   f"{cell_name(*here)}"
        if stated == AT_GOAL:
            if state.cell != maze.goal:
                return f"states the goal but {cell_name(*here)} is not the goal"
            return None
        actual = maze.exits(state)
        if sorted(stated) != sorted(actual):
            said = ",".join(stated) or "none"
            return (f"states the ways out of {cell_name(*here)} are {said} but they are "
                    f"{','.join(actual) or 'none'}")
        return None

    @abstractmethod
    def _read_claim(self, text: str) -> _Claim | None:
        """(stated cell or None, AT_GOAL or the stated directions), or None if unreadable."""

    def dead_end_phrase(self, state: MazeState, dead: DeadEnd) -> str:
        return self.dead_say[dead.code].format(cell_name(*dead.detail))

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        for code, pattern in self.dead_patterns:
            match = pattern.fullmatch(text)
            if match is not None:
                return DeadEnd(code, _zero_based(match.group(1), match.group(2)))
        return None

    def ref_phrase(self, state: MazeState, move_in: MazeMove | None) -> str:
        """The path state's cell: a simple path holds each cell once."""
        return self.maze.name(state.cell)

    def parse_ref(self, text: str) -> Hashable | None:
        match = _REF.fullmatch(text)
        return None if match is None else _zero_based(match.group(1), match.group(2))

    def ref_key(self, state: MazeState, move_in: MazeMove | None) -> Hashable:
        return divmod(state.cell, self.maze.width)


class MazeNatural(MazePhrasing):
    """Sentences with direction words: "down to (3,4)", "From (3,4) I can go left or right"."""

    dead_say = _NATURAL_DEAD
    dead_patterns = _dead_patterns(_NATURAL_DEAD)

    def move_phrase(self, move: MazeMove) -> str:
        return f"{WORDS[move.direction]} to {cell_name(move.row, move.col)}"

    def parse_move(self, text: str) -> MazeMove | None:
        match = _NATURAL_MOVE.fullmatch(text)
        if match is None:
            return None
        return MazeMove(LETTERS[match.group(1)], *_zero_based(match.group(2), match.group(3)))

    def state_phrase(self, state: MazeState) -> str:
        """Where the search stands and which ways lead to cells off the path."""
        maze = self.maze
        here = maze.name(state.cell)
        if state.cell == maze.goal:
            return f"{here} is the goal"
        exits = maze.exits(state)
        if not exits:
            return f"From {here} there is nowhere new to go"
        if len(exits) == 1:
            return f"From {here} I can only go {WORDS[exits[0]]}"
        return f"From {here} I can go {direction_words(exits)}"

    def _read_claim(self, text: str) -> _Claim | None:
        match = _NATURAL_GOAL.fullmatch(text)
        if match is not None:
            return _zero_based(match.group(1), match.group(2)), AT_GOAL
        match = _NATURAL_NONE.fullmatch(text)
        if match is not None:
            return _zero_based(match.group(1), match.group(2)), []
        match = _NATURAL_EXITS.fullmatch(text)
        if match is None:
            return None
        words = match.group(3).replace(" or ", ", ").split(", ")
        return _zero_based(match.group(1), match.group(2)), [LETTERS[w] for w in words]

    def goal_phrase(self, state: MazeState) -> str:
        return f"I have reached the goal at {self.maze.name(state.cell)}"


class MazeCompact(MazePhrasing):
    """Tokens with direction letters: "D(3,4)", "open L,R", "goal"."""

    dead_say = _COMPACT_DEAD
    dead_patterns = _dead_patterns(_COMPACT_DEAD)

    def move_phrase(self, move: MazeMove) -> str:
        return f"{move.direction}{cell_name(move.row, move.col)}"

    def parse_move(self, text: str) -> MazeMove | None:
        match = _COMPACT_MOVE.fullmatch(text)
        if match is None:
            return None
        return MazeMove(match.group(1), *_zero_based(match.group(2), match.group(3)))

    def state_phrase(self, state: MazeState) -> str:
        """The ways that lead to cells off the path, or "goal"."""
        if state.cell == self.maze.goal:
            return AT_GOAL
        exits = self.maze.exits(state)
        return f"open {','.join(exits) if exits else 'none'}"

    def _read_claim(self, text: str) -> _Claim | None:
        if text == AT_GOAL:
            return None, AT_GOAL
        match = _COMPACT_EXITS.fullmatch(text)
        if match is None:
            return None
        listed = match.group(1)
        return None, [] if listed == "none" else listed.split(",")

    def goal_phrase(self, state: MazeState) -> str:
        return self.maze.name(state.cell)


_TOKENS_CELL = r"r([0-9]{1,3}) c([0-9]{1,3})"
_TOKENS_MOVE = re.compile(rf"([UDLR]) {_TOKENS_CELL}")
_TOKENS_STATE = re.compile(rf"{_TOKENS_CELL} (goal|open none|open [UDLR](?: [UDLR]){{0,3}})")
_TOKENS_DEAD = {CUL_DE_SAC: "cul-de-sac", CUT_OFF: "cut-off"}
_TOKENS_CODES = {word: code for code, word in _TOKENS_DEAD.items()}


class MazeTokens(MazePhrasing):
    """Space-separated tokens, with the rules for the tokens style's costs: a move
    "D r3 c4", a position "r3 c4 open L R" (or "open none", or "goal"), a dead end
    "cul-de-sac r3 c4" or "cut-off r3 c4", a backtrack target and the goal "r3 c4"."""

    rules: MazeRules

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        phrasing = cls(maze_from_data(data))
        phrasing.rules = MazeRules(phrasing.maze)
        return phrasing

    def _cell(self, cell: int) -> str:
        row, col = divmod(cell, self.maze.width)
        return f"r{row + 1} c{col + 1}"

    def move_phrase(self, move: MazeMove) -> str:
        return f"{move.direction} r{move.row + 1} c{move.col + 1}"

    def parse_move(self, text: str) -> MazeMove | None:
        match = _TOKENS_MOVE.fullmatch(text)
        if match is None:
            return None
        return MazeMove(match.group(1), *_zero_based(match.group(2), match.group(3)))

    def state_phrase(self, state: MazeState) -> str:
        """The cell, then "goal" or the ways that lead to cells off the path."""
        if state.cell == self.maze.goal:
            return f"{self._cell(state.cell)} goal"
        exits = self.maze.exits(state)
        return f"{self._cell(state.cell)} open {' '.join(exits) if exits else 'none'}"

    def _read_claim(self, text: str) -> _Claim | None:
        match = _TOKENS_STATE.fullmatch(text)
        if match is None:
            return None
        cell = _zero_based(match.group(1), match.group(2))
        said = match.group(3)
        if said == AT_GOAL:
            return cell, AT_GOAL
        return cell, [] if said == "open none" else said.split(" ")[1:]

    def dead_end_phrase(self, state: MazeState, dead: DeadEnd) -> str:
        row, col = dead.detail
        return f"{_TOKENS_DEAD[dead.code]} r{row + 1} c{col + 1}"

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        word, _, cell = text.partition(" ")
        match = re.fullmatch(_TOKENS_CELL, cell)
        if word not in _TOKENS_CODES or match is None:
            return None
        return DeadEnd(_TOKENS_CODES[word], _zero_based(match.group(1), match.group(2)))

    def ref_phrase(self, state: MazeState, move_in: MazeMove | None) -> str:
        """The path state's cell: a simple path holds each cell once."""
        return self._cell(state.cell)

    def parse_ref(self, text: str) -> Hashable | None:
        match = re.fullmatch(_TOKENS_CELL, text)
        return None if match is None else _zero_based(match.group(1), match.group(2))

    def goal_phrase(self, state: MazeState) -> str:
        return self._cell(state.cell)


PHRASINGS = {"natural": MazeNatural.from_data, "compact": MazeCompact.from_data,
             "tokens": MazeTokens.from_data, "reflective": MazeNatural.from_data}
