"""Maze rules, step text and answer checker.

A maze is a grid of walls (`#`) and open cells (`.`) with a start `S` and a goal `G`, both
open. Cells are named (row,column), 1-based in text, "(1,1)" being the top-left cell, and
numbered row-major from 0 inside (cell = row * width + column).

A state is the current cell and the cells on the current path (a bitmask that holds the
current cell too). A move steps up, down, left or right onto an open cell of the grid that
is not on the current path, and names the cell it reaches ("down to (3,4)"), so a move can
break four rules: it names a cell that is not one step in its direction (`not_adjacent`),
it leaves the grid (`off_grid`), it runs into a wall (`into_wall`), or it steps onto a cell
already on the path (`revisit`). The goal is standing on G.

A state that is not the goal is a confirmed dead end for one of two reasons, both about
the current cell: a cul-de-sac, when no neighbouring cell is open and off the path (the
walls, the grid's edge and the path itself close it in); or a cut-off, when the goal can
no longer be reached over open cells off the path (the path has closed off the area the
search is in). Every cul-de-sac is also a cut-off; the verifier accepts either claim
wherever it is true. The solver's `dead_end` names a cul-de-sac first, and a cut-off only
when the closed-off area holds at least POCKET cells: a smaller pocket it walks into until
it is stuck in a cul-de-sac, which keeps its dead ends local and readable; a larger one
it abandons at once, since walking every simple path through a closed-off area is
exponential (without cut-offs, depth-first search ran out of a 20,000-node budget on about
one hard maze in seven).

Because the path is part of the state, two states at the same cell with different paths
are different states (`state_key` is the cell with the path's cells); the heuristic, the
Manhattan distance from the current cell to the goal, is admissible and consistent, so A*
over these states still returns a shortest route (as a tree search, which is larger than
a search over cells alone). The solver tries the neighbours closest to the goal first.

A backtrack names the cell to return to: a path never holds a cell twice, so a cell names
one state of the current path.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from searchtrace.tasks.base import OK, DeadEnd, Verdict, Violation

WALL, OPEN, START, GOAL = "#", ".", "S", "G"
CUL_DE_SAC = "cul_de_sac"
CUT_OFF = "cut_off"
POCKET = 8  # the solver calls a cut-off only when it closes off at least this many cells
DIRECTIONS = "UDLR"  # the fixed order directions are listed in
DELTAS: dict[str, tuple[int, int]] = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}
WORDS: dict[str, str] = {"U": "up", "D": "down", "L": "left", "R": "right"}
LETTERS: dict[str, str] = {word: letter for letter, word in WORDS.items()}


@dataclass(frozen=True, slots=True)
class MazeMove:
    """Step `direction` (U, D, L or R) to the 0-based cell (`row`, `col`) the move names."""

    direction: str
    row: int
    col: int


class MazeState(NamedTuple):
    """The current cell and the cells on the current path, as a bitmask (bit = cell)."""

    cell: int
    visited: int


def cell_name(row: int, col: int) -> str:
    """A 0-based cell as text: row 2, column 3 is `(3,4)`."""
    return f"({row + 1},{col + 1})"


@dataclass(frozen=True, eq=False)
class Maze:
    """One maze, with the tables the rules and the text share.

    `steps[cell]` holds (move, neighbour, neighbour bit) for every open neighbour of an
    open cell, closest to the goal (Manhattan) first, then in U, D, L, R order.
    """

    height: int
    width: int
    is_open: tuple[bool, ...]
    start: int
    goal: int
    distance: tuple[int, ...]
    steps: tuple[tuple[tuple[MazeMove, int, int], ...], ...]
    open_mask: int
    not_first_col: int
    not_last_col: int

    def name(self, cell: int) -> str:
        return cell_name(*divmod(cell, self.width))

    def region(self, state: MazeState) -> int:
        """Bitmask of the cells reachable from the current cell over open cells off the
        path (the current cell not included), grown one step at a time on bitmasks; the
        growth stops early once it holds the goal."""
        free = self.open_mask & ~state.visited
        width, goal_bit = self.width, 1 << self.goal
        left_ok, right_ok = self.not_last_col, self.not_first_col
        reach = 1 << state.cell
        while True:
            grown = (reach | reach >> width | reach << width | (reach >> 1) & left_ok
                     | (reach << 1) & right_ok) & free
            grown |= reach
            if grown == reach or grown & goal_bit:
                return grown & ~(1 << state.cell)
            reach = grown

    def exits(self, state: MazeState) -> list[str]:
        """Directions to open neighbours that are not on the path, in U, D, L, R order."""
        visited = state.visited
        found = {move.direction for move, _, bit in self.steps[state.cell] if not visited & bit}
        return [d for d in DIRECTIONS if d in found]


@lru_cache(maxsize=512)
def parse_maze(grid: tuple[str, ...]) -> Maze:
    """The maze drawn by `grid` (rows of `#`, `.`, one `S` and one `G`); built once per grid."""
    height, width = len(grid), len(grid[0])
    cells = "".join(grid)
    start, goal = cells.index(START), cells.index(GOAL)
    is_open = tuple(ch != WALL for ch in cells)
    goal_row, goal_col = divmod(goal, width)
    distance = tuple(abs(i // width - goal_row) + abs(i % width - goal_col)
                     for i in range(len(cells)))
    not_first_col = sum(1 << i for i in range(len(cells)) if i % width)
    not_last_col = sum(1 << i for i in range(len(cells)) if i % width != width - 1)
    open_mask = sum(1 << i for i in range(len(cells)) if is_open[i])
    steps = []
    for cell in range(len(cells)):
        row, col = divmod(cell, width)
        found = []
        if is_open[cell]:
            for rank, direction in enumerate(DIRECTIONS):
                dr, dc = DELTAS[direction]
                r, c = row + dr, col + dc
                if 0 <= r < height and 0 <= c < width and is_open[r * width + c]:
                    n = r * width + c
                    found.append((distance[n], rank, (MazeMove(direction, r, c), n, 1 << n)))
        found.sort(key=lambda item: item[:2])
        steps.append(tuple(item[2] for item in found))
    return Maze(height, width, is_open, start, goal, distance, tuple(steps), open_mask,
                not_first_col, not_last_col)


def maze_from_data(data: dict[str, Any]) -> Maze:
    return parse_maze(tuple(data["grid"]))


class MazeRules:
    """The state space of one maze: simple paths from the start."""

    MAX_CACHE = 200_000  # solvability answers kept before the memo starts afresh

    def __init__(self, maze: Maze) -> None:
        self.maze = maze
        self._solvable: dict[MazeState, bool] = {}

    @staticmethod
    def from_data(data: dict[str, Any]) -> MazeRules:
        return MazeRules(maze_from_data(data))

    def initial_state(self) -> MazeState:
        start = self.maze.start
        return MazeState(start, 1 << start)

    def expand(self, state: MazeState) -> list[tuple[MazeMove, MazeState]]:
        """One child per open neighbour off the path, closest to the goal first."""
        visited = state.visited
        return [(move, MazeState(n, visited | bit))
                for move, n, bit in self.maze.steps[state.cell] if not visited & bit]

    def wider_moves(self, state: MazeState) -> list[tuple[MazeMove, MazeState]]:
        """Every legal move: the same as `expand`, which already lists them all."""
        return self.expand(state)

    def apply(self, state: MazeState, move: MazeMove) -> MazeState | Violation:
        maze = self.maze
        row, col = divmod(state.cell, maze.width)
        here = cell_name(row, col)
        delta = DELTAS.get(move.direction)
        if delta is None:
            return Violation("not_adjacent", f"{move.direction!r} is not a direction")
        word = WORDS[move.direction]
        to_row, to_col = row + delta[0], col + delta[1]
        named = cell_name(move.row, move.col)
        if (move.row, move.col) != (to_row, to_col):
            return Violation("not_adjacent", f"{named} is not the cell {word} of {here}; "
                             f"that is {cell_name(to_row, to_col)}")
        if not (0 <= to_row < maze.height and 0 <= to_col < maze.width):
            return Violation("off_grid", f"going {word} from {here} leaves the grid of "
                             f"{maze.height} rows and {maze.width} columns")
        cell = to_row * maze.width + to_col
        if not maze.is_open[cell]:
            return Violation("into_wall", f"{named} is a wall")
        if state.visited >> cell & 1:
            return Violation("revisit", f"{named} is already on the current path")
        return MazeState(cell, state.visited | 1 << cell)

    def is_goal(self, state: MazeState) -> bool:
        return state.cell == self.maze.goal

    def dead_end(self, state: MazeState) -> DeadEnd | None:
        """A cul-de-sac (every neighbour is a wall, off the grid or on the path), else a
        cut-off that closes off at least POCKET cells: the goal cannot be reached over open
        cells off the path. A smaller closed-off pocket is walked into until stuck."""
        maze = self.maze
        if state.cell == maze.goal:
            return None
        visited = state.visited
        for _, _, bit in maze.steps[state.cell]:
            if not visited & bit:
                break
        else:
            return DeadEnd(CUL_DE_SAC, divmod(state.cell, maze.width))
        region = maze.region(state)
        if not region >> maze.goal & 1 and region.bit_count() >= POCKET:
            return DeadEnd(CUT_OFF, divmod(state.cell, maze.width))
        return None

    def confirm_dead_end(self, state: MazeState, claim: DeadEnd) -> str | None:
        """A claim holds when it names the current cell and its reason is true there (a
        cut-off of any size, so a cul-de-sac may also be called a cut-off)."""
        maze = self.maze
        if claim.code not in (CUL_DE_SAC, CUT_OFF) or len(claim.detail) != 2:
            return f"{claim.code!r} is not a maze dead end"
        row, col = claim.detail
        if not (isinstance(row, int) and isinstance(col, int)):
            return f"{claim.detail!r} is not a cell"
        here = divmod(state.cell, maze.width)
        name = cell_name(row, col)
        if (row, col) != here:
            return f"the search is at {cell_name(*here)}, not at {name}"
        if state.cell == maze.goal:
            return f"{name} is the goal"
        if claim.code == CUL_DE_SAC:
            exits = maze.exits(state)
            if exits:
                return f"from {name} one can still go {_natural_words(exits)}"
        elif maze.region(state) >> maze.goal & 1:
            return f"the goal can still be reached from {name} without crossing the path"
        return None

    def state_key(self, state: MazeState) -> Hashable:
        """The cell and the path's cells: both decide what can happen next."""
        return state

    def solvable(self, state: MazeState) -> bool:
        """Whether the goal can still be reached from `state` without stepping onto the
        path: exactly when the current cell is the goal or the goal lies in its region
        over open cells off the path (a walk through that region can be cut down to a
        simple path, so no move order matters). Memoised by state key."""
        found = self._solvable.get(state)
        if found is None:
            maze = self.maze
            found = state.cell == maze.goal or bool(maze.region(state) >> maze.goal & 1)
            if len(self._solvable) >= self.MAX_CACHE:
                self._solvable.clear()
            self._solvable[state] = found
        return found

    def search_key(self, state: MazeState) -> Hashable:
        """The cell alone: a breadth-first or best-first search that reached a cell has a
        shortest path to it, and the path it took cannot block a shortest way on (the
        Manhattan distance is consistent), so later arrivals add nothing."""
        return state.cell

    def heuristic(self, state: MazeState) -> float:
        """Manhattan distance to the goal: each move changes it by exactly one."""
        return float(self.maze.distance[state.cell])

    def move_to_json(self, move: MazeMove) -> str:
        return f"{move.direction}{cell_name(move.row, move.col)}"


# ---- step text -------------------------------------------------------------------------

_NUM = r"([0-9]{1,3})"
_CELL = rf"\( ?{_NUM} ?, ?{_NUM} ?\)"
_WORD = r"(?:up|down|left|right)"
_MOVE_PATTERNS = {
    "natural": re.compile(rf"({_WORD}) to {_CELL}"),
    "compact": re.compile(rf"([UDLR]) ?{_CELL}"),
}
_NATURAL_EXITS = re.compile(
    rf"From {_CELL} I can (?:only )?go ({_WORD}(?:, {_WORD}){{0,3}}(?: or {_WORD})?)")
_NATURAL_NONE = re.compile(rf"From {_CELL} there is nowhere new to go")
_NATURAL_GOAL = re.compile(rf"{_CELL} is the goal")
_COMPACT_EXITS = re.compile(r"open (none|[UDLR](?:,[UDLR]){0,3})")
_AT_GOAL = "goal"
_DEAD_SAY = {
    ("natural", CUL_DE_SAC): "I am stuck in a cul-de-sac at {}",
    ("natural", CUT_OFF): "The walls and my path cut off the goal from {}",
    ("compact", CUL_DE_SAC): "cul-de-sac at {}",
    ("compact", CUT_OFF): "goal cut off at {}",
}
_DEAD_PATTERNS = {  # per style: (code, its phrase with the cell as two groups)
    style: [(code, re.compile(re.escape(said).replace(re.escape("{}"), _CELL)))
            for (said_style, code), said in _DEAD_SAY.items() if said_style == style]
    for style in ("natural", "compact")
}
_REF = re.compile(_CELL)
_GOAL_PREFIX = {"natural": "I have reached the goal at ", "compact": ""}


def _natural_words(directions: Sequence[str]) -> str:
    """`up`, `up or left`, `up, left or right`."""
    words = [WORDS[d] for d in directions]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _zero_based(row_text: str, col_text: str) -> tuple[int, int]:
    return int(row_text) - 1, int(col_text) - 1


def _style(style: str) -> str:
    """Any style other than compact reads as natural, as the shared renderer does."""
    return "compact" if style == "compact" else "natural"


class MazeText:
    """How maze steps are said and read back, in the natural and compact styles."""

    def __init__(self, maze: Maze) -> None:
        self.maze = maze

    @staticmethod
    def from_data(data: dict[str, Any]) -> MazeText:
        return MazeText(maze_from_data(data))

    def move_phrase(self, move: MazeMove, style: str) -> str:
        name = cell_name(move.row, move.col)
        if style == "compact":
            return f"{move.direction}{name}"
        return f"{WORDS[move.direction]} to {name}"

    def parse_move(self, text: str, style: str) -> MazeMove | None:
        match = _MOVE_PATTERNS[_style(style)].fullmatch(text)
        if match is None:
            return None
        direction = match.group(1)
        return MazeMove(LETTERS.get(direction, direction),
                        *_zero_based(match.group(2), match.group(3)))

    def state_phrase(self, state: MazeState, style: str) -> str:
        """Where the search stands and which ways lead to cells off the path."""
        maze = self.maze
        compact = style == "compact"
        if state.cell == maze.goal:
            return _AT_GOAL if compact else f"{maze.name(state.cell)} is the goal"
        exits = maze.exits(state)
        if compact:
            return f"open {','.join(exits) if exits else 'none'}"
        here = maze.name(state.cell)
        if not exits:
            return f"From {here} there is nowhere new to go"
        if len(exits) == 1:
            return f"From {here} I can only go {WORDS[exits[0]]}"
        return f"From {here} I can go {_natural_words(exits)}"

    def state_claim_error(self, text: str, state: MazeState, style: str) -> str | None:
        """None when the stated cell is the current one and the stated ways out are exactly
        the open neighbours off the path (any order), or "goal" is stated at the goal."""
        maze = self.maze
        claim = self._read_claim(text, style)
        if claim is None:
            return f"cannot read the stated position {text!r}"
        cell, stated = claim
        here = divmod(state.cell, maze.width)
        if cell is not None and cell != here:
            return f"states the position {cell_name(*cell)} but the search is at " \
                   f"{cell_name(*here)}"
        if stated == _AT_GOAL:
            if state.cell != maze.goal:
                return f"states the goal but {cell_name(*here)} is not the goal"
            return None
        actual = maze.exits(state)
        if sorted(stated) != sorted(actual):
            said = ",".join(stated) or "none"
            return (f"states the ways out of {cell_name(*here)} are {said} but they are "
                    f"{','.join(actual) or 'none'}")
        return None

    def _read_claim(
        self, text: str, style: str
    ) -> tuple[tuple[int, int] | None, str | list[str]] | None:
        """(stated cell or None, "goal" or the stated directions), or None if unreadable."""
        if _style(style) == "compact":
            if text == _AT_GOAL:
                return None, _AT_GOAL
            match = _COMPACT_EXITS.fullmatch(text)
            if match is None:
                return None
            listed = match.group(1)
            return None, [] if listed == "none" else listed.split(",")
        match = _NATURAL_GOAL.fullmatch(text)
        if match is not None:
            return _zero_based(match.group(1), match.group(2)), _AT_GOAL
        match = _NATURAL_NONE.fullmatch(text)
        if match is not None:
            return _zero_based(match.group(1), match.group(2)), []
        match = _NATURAL_EXITS.fullmatch(text)
        if match is None:
            return None
        words = match.group(3).replace(" or ", ", ").split(", ")
        return _zero_based(match.group(1), match.group(2)), [LETTERS[w] for w in words]

    def dead_end_phrase(self, state: MazeState, dead: DeadEnd, style: str) -> str:
        name = cell_name(*dead.detail)
        return _DEAD_SAY[_style(style), dead.code].format(name)

    def parse_dead_end(self, text: str, style: str) -> DeadEnd | None:
        for code, pattern in _DEAD_PATTERNS[_style(style)]:
            match = pattern.fullmatch(text)
            if match is not None:
                return DeadEnd(code, _zero_based(match.group(1), match.group(2)))
        return None

    def ref_phrase(self, state: MazeState, move_in: MazeMove | None, style: str) -> str:
        """The path state's cell: a simple path holds each cell once."""
        return self.maze.name(state.cell)

    def parse_ref(self, text: str, style: str) -> Hashable | None:
        match = _REF.fullmatch(text)
        return None if match is None else _zero_based(match.group(1), match.group(2))

    def ref_key(self, state: MazeState, move_in: MazeMove | None) -> Hashable:
        return divmod(state.cell, self.maze.width)

    def goal_phrase(self, state: MazeState, style: str) -> str:
        return _GOAL_PREFIX[_style(style)] + self.maze.name(state.cell)


# ---- answers ---------------------------------------------------------------------------

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
    from searchtrace.tasks.base import extract_answer

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


RULES = MazeRules
TEXT = MazeText
