"""Sokoban rules, step text and answer checker.

A room is a rectangle of walls (`#`), floor (`-`) and goals (`.`) holding boxes (`$`, or
`*` on a goal) and the player (`@`, or `+` on a goal); there are as many goals as boxes.
Cells are named (row,column), 1-based in text, "(1,1)" being the top-left cell of the
drawn grid. Inside, the grid is padded with one ring of walls and cells are numbered
row-major over the padded grid, so the drawn cell (r,c) is number r * (width + 2) + c.

A move is a PUSH: the box at (r,c) moves one cell up, down, left or right. The player must
be able to walk (through floor and goals, never through walls or boxes) to the cell right
behind the box, and the cell in front of it must be floor or a goal without a box; after
the push the player stands where the box was. Walking is free: only pushes count, and a
problem allows at most `max_pushes` of them. A state is the player's cell, the sorted box
cells and the pushes made so far. Its key drops the push count and names the player's
whole walking region by its first cell (row-major), so positions that differ only in where
the player stands within one region are one position (a position reached with fewer pushes
is never worse, so searches that keep the first one they meet lose nothing).

A push can break six rules, each with its own code: the named cell is off the grid
(`off_grid`), holds no box (`no_box`), the box would go into a wall (`blocked_by_wall`) or
another box (`blocked_by_box`), the player cannot walk to the cell behind the box
(`player_cannot_reach`), or every allowed push is already used (`push_limit`).

The goal is every box on a goal. A state is a confirmed dead end, checked exactly, when
- a box off the goals sits in a corner: a wall above or below it and a wall left or right
  of it, so it can never move (`corner`);
- a box off the goals lies in a 2x2 block made only of walls and boxes: no box of such a
  block can ever move (`frozen`);
- a box sits on a cell from which no sequence of pushes could bring it onto any goal, even
  with every other box gone (`dead_square`, from a table of the room);
- the boxes need more pushes than are left (`out_of_pushes`). "Need" is `Room.needed`:
  give each box its own goal as cheaply as possible, a box costing its fewest pushes to
  that goal with the other boxes gone (never less than its Manhattan distance). A claim
  of N needed is true when N is more than the pushes left and at most that bound;
- no box can be pushed at all (`no_push`).

The heuristic is the same bound (admissible and consistent: one push moves one box one
cell). The solver tries the pushes that leave the smallest bound first.

In text, a move is "pushing the box at (2,3) right" (compact "(2,3) right"), a state says
where the boxes are and how many pushes are left, and a backtrack names its target by the
pushes made to reach it (which grow along a path, so they name one state of it) and its
boxes: "the position after 2 pushes, with the boxes at (2,4) and (3,3)".
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import permutations
from typing import Any, NamedTuple

from searchtrace.tasks.base import OK, DeadEnd, Verdict, Violation

WALL, FLOOR, GOAL, BOX, BOX_ON_GOAL, PLAYER, PLAYER_ON_GOAL = "#", "-", ".", "$", "*", "@", "+"
FLOOR_ALIASES = (" ", "_")  # other floor characters of the usual level formats
STEPS: dict[str, tuple[int, int]] = {  # in the order pushes are listed
    "up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
CORNER, FROZEN, DEAD_SQUARE, OUT_OF_PUSHES, NO_PUSH = (
    "corner", "frozen", "dead_square", "out_of_pushes", "no_push")
NO_PATH = 10_000  # push distance of a cell from which no goal can be reached
MAX_SIZE = 30  # rows and columns a room may have (coordinates stay two digits)
MAX_BOXES = 6  # `Room.needed` tries every assignment of boxes to goals


@dataclass(frozen=True, slots=True)
class SokobanMove:
    """Push the box at the 1-based cell (`row`, `col`) one cell in `direction`."""

    row: int
    col: int
    direction: str


class SokobanState(NamedTuple):
    """Where the player stands, the box cells (sorted) and how many pushes were made."""

    player: int
    boxes: tuple[int, ...]
    pushes: int


@dataclass(frozen=True, eq=False)
class Room:
    """One room and the tables the rules and the text share.

    `floor` and `goals` are bitmasks over the padded grid (bit = cell); `goal_distance`
    gives, per goal and cell, the fewest pushes that bring a box from the cell onto that
    goal with no other box in the way (NO_PATH when none can), and `push_distance` the
    same to the nearest goal; `corners` marks floor cells off the goals with a wall on a
    vertical and on a horizontal side.
    """

    height: int
    width: int
    stride: int
    floor: int
    goals: int
    boxes: tuple[int, ...]
    player: int
    max_pushes: int
    goal_distance: tuple[tuple[int, ...], ...]
    push_distance: tuple[int, ...]
    corners: int
    deltas: tuple[tuple[str, int], ...]
    _needed: dict[tuple[int, ...], int] = field(default_factory=dict, repr=False)

    def needed(self, boxes: tuple[int, ...]) -> int:
        """Pushes the boxes need at least: the cheapest way to give every box its own goal,
        a box costing its fewest pushes to that goal with no other box in the way. NO_PATH
        or more when no such assignment exists."""
        found = self._needed.get(boxes)
        if found is None:
            if len(boxes) == 1:
                found = self.push_distance[boxes[0]]
            else:
                tables = self.goal_distance
                found = min(sum(tables[g][b] for g, b in zip(order, boxes, strict=True))
                            for order in permutations(range(len(tables))))
            if len(self._needed) >= 100_000:
                self._needed.clear()
            self._needed[boxes] = found
        return found

    def cell(self, row: int, col: int) -> int | None:
        """The cell number of a drawn 1-based (row, col), None when it is off the grid."""
        if 1 <= row <= self.height and 1 <= col <= self.width:
            return row * self.stride + col
        return None

    def coords(self, cell: int) -> tuple[int, int]:
        return divmod(cell, self.stride)

    def name(self, cell: int) -> str:
        row, col = divmod(cell, self.stride)
        return f"({row},{col})"

    def is_wall(self, cell: int) -> bool:
        return not self.floor >> cell & 1

    def is_goal(self, cell: int) -> bool:
        return bool(self.goals >> cell & 1)

    def region(self, player: int, box_mask: int) -> int:
        """Bitmask of the cells the player can walk to (a bit-parallel flood fill)."""
        free = self.floor & ~box_mask
        stride = self.stride
        reach = 1 << player
        while True:
            grown = (reach | reach << 1 | reach >> 1 | reach << stride | reach >> stride) & free
            if grown == reach:
                return reach
            reach = grown


def box_mask(boxes: Sequence[int]) -> int:
    mask = 0
    for box in boxes:
        mask |= 1 << box
    return mask


def lowest_cell(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def parse_grid(grid: Sequence[str]) -> tuple[int, int, set[tuple[int, int]],
                                             set[tuple[int, int]], set[tuple[int, int]],
                                             tuple[int, int]]:
    """(height, width, walls, goals, boxes, player) of a drawn grid, 1-based cells.

    Raises ValueError on a grid of other characters, or without exactly one player, or
    without as many goals as boxes (1 to MAX_BOXES); short rows are padded with walls."""
    height = len(grid)
    width = max((len(row) for row in grid), default=0)
    if not 1 <= height <= MAX_SIZE or not 1 <= width <= MAX_SIZE:
        raise ValueError(f"a room must have 1 to {MAX_SIZE} rows and columns")
    walls, goals, boxes, players = set(), set(), set(), []
    for r, row in enumerate(grid, start=1):
        for c, char in enumerate(row.ljust(width, WALL), start=1):
            if char == WALL:
                walls.add((r, c))
            elif char in (BOX, BOX_ON_GOAL):
                boxes.add((r, c))
            elif char in (PLAYER, PLAYER_ON_GOAL):
                players.append((r, c))
            elif char not in (FLOOR, GOAL, *FLOOR_ALIASES):
                raise ValueError(f"unknown character {char!r} at ({r},{c})")
            if char in (GOAL, BOX_ON_GOAL, PLAYER_ON_GOAL):
                goals.add((r, c))
    if len(players) != 1:
        raise ValueError(f"a room needs exactly one player, found {len(players)}")
    if not 1 <= len(boxes) <= MAX_BOXES or len(boxes) != len(goals):
        raise ValueError(f"a room needs as many goals as boxes (1 to {MAX_BOXES}), found "
                         f"{len(goals)} goals and {len(boxes)} boxes")
    return height, width, walls, goals, boxes, players[0]


def make_room(grid: tuple[str, ...], max_pushes: int) -> Room:
    """The room of a drawn grid and its tables."""
    height, width, walls, goals, boxes, player = parse_grid(grid)
    stride = width + 2
    size = (height + 2) * stride
    floor = 0
    for r in range(1, height + 1):
        for c in range(1, width + 1):
            if (r, c) not in walls:
                floor |= 1 << (r * stride + c)
    goal_cells = sorted(r * stride + c for r, c in goals)
    deltas = tuple((name, dr * stride + dc) for name, (dr, dc) in STEPS.items())

    def is_floor(cell: int) -> bool:
        return 0 <= cell < size and bool(floor >> cell & 1)

    # Pushes from each cell to each goal, backwards from the goal: a box at `c` reaches
    # `c + d` when the player can stand at `c - d` (both floor).
    tables = []
    for goal in goal_cells:
        distance = [NO_PATH] * size
        distance[goal] = 0
        frontier = [goal]
        while frontier:
            following = []
            for target in frontier:
                for _, delta in deltas:
                    source = target - delta
                    if (is_floor(source) and is_floor(source - delta)
                            and distance[source] == NO_PATH):
                        distance[source] = distance[target] + 1
                        following.append(source)
            frontier = following
        tables.append(tuple(distance))
    corners = 0
    for cell in range(size):
        vertical = not is_floor(cell - stride) or not is_floor(cell + stride)
        horizontal = not is_floor(cell - 1) or not is_floor(cell + 1)
        if is_floor(cell) and vertical and horizontal and cell not in goal_cells:
            corners |= 1 << cell
    return Room(
        height=height, width=width, stride=stride, floor=floor, goals=box_mask(goal_cells),
        boxes=tuple(sorted(r * stride + c for r, c in boxes)),
        player=player[0] * stride + player[1], max_pushes=max_pushes,
        goal_distance=tuple(tables), push_distance=tuple(map(min, zip(*tables, strict=True))),
        corners=corners,
        deltas=deltas,
    )


build_room = lru_cache(maxsize=512)(make_room)  # rules, text and answers share a room


def room_from_data(data: dict[str, Any]) -> Room:
    return build_room(tuple(data["grid"]), int(data["max_pushes"]))


def draw(room: Room, boxes: Sequence[int], player: int) -> list[str]:
    """The grid drawn with the standard characters, boxes and player where given."""
    rows = []
    for r in range(1, room.height + 1):
        row = []
        for c in range(1, room.width + 1):
            cell = r * room.stride + c
            goal = room.is_goal(cell)
            if room.is_wall(cell):
                row.append(WALL)
            elif cell in boxes:
                row.append(BOX_ON_GOAL if goal else BOX)
            elif cell == player:
                row.append(PLAYER_ON_GOAL if goal else PLAYER)
            else:
                row.append(GOAL if goal else FLOOR)
        rows.append("".join(row))
    return rows


class SokobanRules:
    """The state space of one Sokoban problem."""

    MAX_CACHE = 20_000

    def __init__(self, room: Room) -> None:
        self.room = room
        self._regions: dict[tuple[int, tuple[int, ...]], int] = {}
        # Per position (state key): the most pushes known NOT to solve it, and the fewest
        # known to solve it; `solvable` narrows the two until they decide a question.
        self._fails_within: dict[Hashable, int] = {}
        self._solves_within: dict[Hashable, int] = {}

    @staticmethod
    def from_data(data: dict[str, Any]) -> SokobanRules:
        return SokobanRules(room_from_data(data))

    def region(self, state: SokobanState) -> int:
        """Bitmask of the cells the player can walk to in `state` (cached)."""
        key = (state.player, state.boxes)
        found = self._regions.get(key)
        if found is None:
            if len(self._regions) >= self.MAX_CACHE:
                self._regions.clear()
            found = self.room.region(state.player, box_mask(state.boxes))
            self._regions[key] = found
        return found

    def initial_state(self) -> SokobanState:
        return SokobanState(self.room.player, self.room.boxes, 0)

    def pushes(self, state: SokobanState) -> Iterator[tuple[SokobanMove, SokobanState]]:
        """Every push the room allows (ignoring the push limit), boxes in row-major order,
        directions up, down, left, right."""
        room = self.room
        boxes = state.boxes
        free = room.floor & ~box_mask(boxes)
        region = self.region(state)
        stride = room.stride
        for box in boxes:
            for name, delta in room.deltas:
                if free >> (box + delta) & 1 and region >> (box - delta) & 1:
                    moved = tuple(sorted(box + delta if b == box else b for b in boxes))
                    row, col = divmod(box, stride)
                    yield SokobanMove(row, col, name), SokobanState(box, moved, state.pushes + 1)

    def expand(self, state: SokobanState) -> list[tuple[SokobanMove, SokobanState]]:
        """Every push within the limit: those leaving the fewest pushes needed at least
        (`Room.needed`) first; among those, a push that would fill the player's own cell
        (after a push, that undoes it) last, and pushes of a box the player already stands
        next to before the others."""
        if state.pushes >= self.room.max_pushes:
            return []
        needed = self.room.needed
        player = state.player
        near = {player + delta for _, delta in self.room.deltas}
        ranked = sorted(
            ((needed(child.boxes), player in child.boxes, child.player not in near, index,
              move, child)
             for index, (move, child) in enumerate(self.pushes(state))),
            key=lambda item: item[:4],
        )
        return [(move, child) for *_, move, child in ranked]

    def wider_moves(self, state: SokobanState) -> list[tuple[SokobanMove, SokobanState]]:
        return self.expand(state)

    def apply(self, state: SokobanState, move: SokobanMove) -> SokobanState | Violation:
        room = self.room
        where = f"({move.row},{move.col})"
        box = room.cell(move.row, move.col)
        if box is None:
            return Violation("off_grid", f"{where} is outside the {room.height}x{room.width} "
                             f"grid")
        step = dict(room.deltas).get(move.direction)
        if step is None:
            return Violation("unknown_direction", f"{move.direction!r} is not up, down, left "
                             f"or right")
        if box not in state.boxes:
            what = "a wall" if room.is_wall(box) else "empty"
            return Violation("no_box", f"there is no box at {where}: it is {what}")
        if state.pushes >= room.max_pushes:
            return Violation("push_limit", f"all {room.max_pushes} allowed pushes are used")
        target, behind = box + step, box - step
        if room.is_wall(target):
            return Violation("blocked_by_wall", f"the box at {where} would go into the wall "
                             f"at {room.name(target)}")
        if target in state.boxes:
            return Violation("blocked_by_box", f"the box at {where} would go into the box "
                             f"at {room.name(target)}")
        stand = f"to push the box at {where} {move.direction} the player must stand at " \
                f"{room.name(behind)}"
        if room.is_wall(behind):
            return Violation("player_cannot_reach", f"{stand}, which is a wall")
        if behind in state.boxes:
            return Violation("player_cannot_reach", f"{stand}, which holds a box")
        if not self.region(state) >> behind & 1:
            return Violation("player_cannot_reach", f"{stand} but cannot walk there from "
                             f"{room.name(state.player)}")
        moved = tuple(sorted(target if b == box else b for b in state.boxes))
        return SokobanState(box, moved, state.pushes + 1)

    def is_goal(self, state: SokobanState) -> bool:
        return not box_mask(state.boxes) & ~self.room.goals

    def dead_end(self, state: SokobanState) -> DeadEnd | None:
        """The first confirmed failure: a cornered box, a frozen block, a box on a dead
        square, too few pushes left, or no push at all."""
        room = self.room
        off_goal = [b for b in state.boxes if not room.is_goal(b)]
        if not off_goal:
            return None
        for box in off_goal:
            if room.corners >> box & 1:
                return DeadEnd(CORNER, room.coords(box))
        mask = box_mask(state.boxes)
        for box in off_goal:
            block = self._frozen_block(box, mask)
            if block is not None:
                return DeadEnd(FROZEN, (*room.coords(box), *room.coords(block)))
        for box in off_goal:
            if room.push_distance[box] >= NO_PATH:
                return DeadEnd(DEAD_SQUARE, room.coords(box))
        needed, left = room.needed(state.boxes), room.max_pushes - state.pushes
        if needed > left:  # when no goal assignment works, any number past `left` is true
            return DeadEnd(OUT_OF_PUSHES, (left + 1 if needed >= NO_PATH else needed, left))
        if next(self.pushes(state), None) is None:
            return DeadEnd(NO_PUSH, ())
        return None

    def _frozen_block(self, box: int, mask: int) -> int | None:
        """Top-left cell of a 2x2 block holding `box` made only of walls and boxes."""
        room = self.room
        solid = ~room.floor | mask
        stride = room.stride
        for top in (box - stride - 1, box - stride, box - 1, box):
            cells = (top, top + 1, top + stride, top + stride + 1)
            if all(cell >= 0 and solid >> cell & 1 for cell in cells):
                return top
        return None


    def confirm_dead_end(self, state: SokobanState, claim: DeadEnd) -> str | None:
        room = self.room
        detail = claim.detail
        if not isinstance(detail, tuple) or not all(type(x) is int for x in detail):
            return "the claim's evidence is not a list of whole numbers"
        if claim.code in (CORNER, FROZEN, DEAD_SQUARE):
            wanted = 4 if claim.code == FROZEN else 2
            if len(detail) != wanted:
                return f"a {claim.code} claim names {wanted} numbers"
            box = room.cell(detail[0], detail[1])
            where = f"({detail[0]},{detail[1]})"
            if box is None or box not in state.boxes:
                return f"there is no box at {where}"
            if room.is_goal(box):
                return f"the box at {where} is on a goal"
            if claim.code == CORNER and not room.corners >> box & 1:
                return f"the box at {where} is not in a corner"
            if claim.code == DEAD_SQUARE and room.push_distance[box] < NO_PATH:
                return (f"the box at {where} can still reach a goal in "
                        f"{room.push_distance[box]} pushes")
            if claim.code == FROZEN:
                return self._frozen_error(state, box, where, detail[2], detail[3])
            return None
        if claim.code == OUT_OF_PUSHES:
            if len(detail) != 2:
                return "an out_of_pushes claim names 2 numbers"
            claimed, said_left = detail
            left = room.max_pushes - state.pushes
            if said_left != left:
                return f"{left} pushes are left, not {said_left}"
            if claimed <= left:
                return f"{claimed} pushes needed would fit in the {left} left"
            needed = room.needed(state.boxes)
            if claimed > needed:
                return (f"the boxes can be shown to need at least {needed} pushes, not "
                        f"{claimed}")
            return None
        if claim.code == NO_PUSH:
            if detail:
                return "a no_push claim names nothing"
            if self.is_goal(state):
                return "every box is on a goal"
            push = next(self.pushes(state), None)
            if push is not None:
                move = push[0]
                return f"the box at ({move.row},{move.col}) can be pushed {move.direction}"
            return None
        return f"{claim.code!r} is not a Sokoban dead end"

    def _frozen_error(self, state: SokobanState, box: int, where: str, top_row: int,
                      top_col: int) -> str | None:
        room = self.room
        row, col = room.coords(box)
        if top_row not in (row - 1, row) or top_col not in (col - 1, col):
            return f"the block from ({top_row},{top_col}) does not hold the box at {where}"
        top = top_row * room.stride + top_col
        for cell in (top, top + 1, top + room.stride, top + room.stride + 1):
            if not room.is_wall(cell) and cell not in state.boxes:
                return f"{room.name(cell)} in that block is neither a wall nor a box"
        return None

    def state_key(self, state: SokobanState) -> Hashable:
        return lowest_cell(self.region(state)), state.boxes

    def solvable(self, state: SokobanState) -> bool:
        """Whether every box can be pushed onto a goal within the pushes the limit leaves.

        Exact: a depth-first search over positions bounded by the pushes left, pruned only
        by facts that hold of every solution (`Room.needed` never overestimates; a cornered
        or frozen box off the goals never moves). Its answers are memoised per position (the
        state key) as the most pushes known not to be enough and the fewest known to be
        enough, so later questions about the same room reuse every earlier search."""
        left = self.room.max_pushes - state.pushes
        return left >= 0 and self._within(state, left)

    def _within(self, state: SokobanState, budget: int) -> bool:
        """Whether `state` can be solved in at most `budget` pushes."""
        if self.is_goal(state):
            return True
        key = self.state_key(state)
        if self._solves_within.get(key, NO_PATH) <= budget:
            return True
        known_fail = self._fails_within.get(key, -1)
        if known_fail >= budget:
            return False
        room = self.room
        needed = room.needed(state.boxes)
        if needed >= NO_PATH or self._stuck(state.boxes):
            self._remember(self._fails_within, key, NO_PATH)
            return False
        if needed > budget:
            self._remember(self._fails_within, key, needed - 1)
            return False
        children = sorted((room.needed(child.boxes), index, child)
                          for index, (_, child) in enumerate(self.pushes(state)))
        for _, _, child in children:
            if self._within(child, budget - 1):
                self._remember(self._solves_within, key, budget)
                return True
        self._remember(self._fails_within, key, budget)
        return False

    def _remember(self, table: dict[Hashable, int], key: Hashable, pushes: int) -> None:
        """Store a bound in a memo of `solvable`, starting it afresh when it is full."""
        if len(table) >= self.MAX_CACHE * 10:
            table.clear()
        table[key] = pushes

    def _stuck(self, boxes: tuple[int, ...]) -> bool:
        """Whether a box off the goals can never move again: cornered, or in a 2x2 block
        of walls and boxes."""
        room = self.room
        mask = box_mask(boxes)
        if room.corners & mask:
            return True
        return any(not room.is_goal(box) and self._frozen_block(box, mask) is not None
                   for box in boxes)

    def heuristic(self, state: SokobanState) -> float:
        """`Room.needed`: the cheapest assignment of boxes to goals in pushes with no other
        box in the way (admissible and consistent); a state where no assignment works counts
        as more than the pushes allowed."""
        needed = self.room.needed(state.boxes)
        return float(self.room.max_pushes + 1 if needed >= NO_PATH else needed)

    def move_to_json(self, move: SokobanMove) -> str:
        return f"({move.row},{move.col}) {move.direction}"


# ---- step text -------------------------------------------------------------------------

_NUM = r"[0-9]{1,3}"
_COORD = rf"\(({_NUM}),({_NUM})\)"
_COORD_BARE = rf"\({_NUM},{_NUM}\)"
_COORD_FIND = re.compile(_COORD)
_DIRECTION = "(up|down|left|right)"
_MOVE = {
    "natural": re.compile(rf"pushing the box at {_COORD} {_DIRECTION}"),
    "compact": re.compile(rf"{_COORD} {_DIRECTION}"),
}
_NATURAL_LIST = rf"{_COORD_BARE}(?:, {_COORD_BARE})*(?: and {_COORD_BARE})?"
_COMPACT_LIST = rf"{_COORD_BARE}(?: {_COORD_BARE})*"
_STATE = {
    "natural": re.compile(rf"Now the (?:box is|boxes are) at ({_NATURAL_LIST}), with "
                          rf"(no|{_NUM}) push(?:es)? left"),
    "compact": re.compile(rf"({_COMPACT_LIST}); ({_NUM}) left"),
}
_DEAD = {
    "natural": [
        (CORNER, re.compile(rf"The box at {_COORD} is stuck in a corner off the goals")),
        (FROZEN, re.compile(rf"The box at {_COORD} is off the goals and frozen in the block of "
                            rf"walls and boxes from {_COORD} to {_COORD}")),
        (DEAD_SQUARE, re.compile(rf"The box at {_COORD} can never be pushed onto a goal from "
                                 rf"there")),
        (OUT_OF_PUSHES, re.compile(rf"The goals are at least ({_NUM}) push(?:es)? away, but "
                                   rf"(?:only ({_NUM}) (?:is|are) left|(none) are left)")),
        (NO_PUSH, re.compile(r"No box can be pushed")),
    ],
    "compact": [
        (CORNER, re.compile(rf"{_COORD} cornered")),
        (FROZEN, re.compile(rf"{_COORD} frozen in {_COORD}-{_COORD}")),
        (DEAD_SQUARE, re.compile(rf"{_COORD} dead square")),
        (OUT_OF_PUSHES, re.compile(rf"need ({_NUM}) > ({_NUM}) left")),
        (NO_PUSH, re.compile(r"no push")),
    ],
}
_REF = {
    "natural": re.compile(rf"the (?:start|position after ({_NUM}) push(?:es)?), with the "
                          rf"(?:box|boxes) at ({_NATURAL_LIST})"),
    "compact": re.compile(rf"(?:start|push ({_NUM})): ({_COMPACT_LIST})"),
}
_GOAL = {"natural": "Every box is on a goal", "compact": "all boxes on goals"}


def _style(style: str) -> str:
    """Any style other than compact reads as natural, as the shared renderer does."""
    return "compact" if style == "compact" else "natural"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}es"


class SokobanText:
    """How Sokoban steps are said and read back, in the natural and compact styles."""

    def __init__(self, room: Room) -> None:
        self.room = room

    @staticmethod
    def from_data(data: dict[str, Any]) -> SokobanText:
        return SokobanText(room_from_data(data))

    def _coords(self, boxes: Sequence[int]) -> list[tuple[int, int]]:
        return [self.room.coords(b) for b in boxes]

    def _listing(self, boxes: Sequence[int], style: str) -> str:
        names = [self.room.name(b) for b in boxes]
        if style == "compact":
            return " ".join(names)
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"

    def move_phrase(self, move: SokobanMove, style: str) -> str:
        where = f"({move.row},{move.col}) {move.direction}"
        return where if style == "compact" else f"pushing the box at {where}"

    def parse_move(self, text: str, style: str) -> SokobanMove | None:
        match = _MOVE[_style(style)].fullmatch(text)
        if match is None:
            return None
        return SokobanMove(int(match.group(1)), int(match.group(2)), match.group(3))

    def state_phrase(self, state: SokobanState, style: str) -> str:
        left = self.room.max_pushes - state.pushes
        listing = self._listing(state.boxes, _style(style))
        if style == "compact":
            return f"{listing}; {left} left"
        boxes = "box is" if len(state.boxes) == 1 else "boxes are"
        pushes = "no pushes" if left == 0 else _plural(left, "push")
        return f"Now the {boxes} at {listing}, with {pushes} left"

    def state_claim_error(self, text: str, state: SokobanState, style: str) -> str | None:
        """None when the stated boxes are exactly the boxes (in any order) and the stated
        pushes left are the pushes left."""
        match = _STATE[_style(style)].fullmatch(text)
        if match is None:
            return f"cannot read the stated position {text!r}"
        stated = sorted(_read_coords(match.group(1)))
        actual = self._coords(state.boxes)
        if stated != actual:
            return (f"states boxes at {' '.join(f'({r},{c})' for r, c in stated)} but they "
                    f"are at {self._listing(state.boxes, 'compact')}")
        left = self.room.max_pushes - state.pushes
        said = 0 if match.group(2) == "no" else int(match.group(2))
        if said != left:
            return f"states {said} pushes left but {left} are left"
        return None

    def dead_end_phrase(self, state: SokobanState, dead: DeadEnd, style: str) -> str:
        code, detail = dead.code, dead.detail
        compact = style == "compact"
        if code == NO_PUSH:
            return "no push" if compact else "No box can be pushed"
        if code == OUT_OF_PUSHES:
            needed, left = detail
            if compact:
                return f"need {needed} > {left} left"
            rest = "none are left" if left == 0 else (
                f"only {left} {'is' if left == 1 else 'are'} left")
            return f"The goals are at least {_plural(needed, 'push')} away, but {rest}"
        where = f"({detail[0]},{detail[1]})"
        if code == CORNER:
            return f"{where} cornered" if compact else (
                f"The box at {where} is stuck in a corner off the goals")
        if code == DEAD_SQUARE:
            return f"{where} dead square" if compact else (
                f"The box at {where} can never be pushed onto a goal from there")
        top, bottom = f"({detail[2]},{detail[3]})", f"({detail[2] + 1},{detail[3] + 1})"
        return f"{where} frozen in {top}-{bottom}" if compact else (
            f"The box at {where} is off the goals and frozen in the block of walls and boxes "
            f"from {top} to {bottom}")

    def parse_dead_end(self, text: str, style: str) -> DeadEnd | None:
        for code, pattern in _DEAD[_style(style)]:
            match = pattern.fullmatch(text)
            if match is None:
                continue
            if code == NO_PUSH:
                return DeadEnd(NO_PUSH, ())
            if code == OUT_OF_PUSHES:  # natural "none are left" leaves group 2 empty
                left = match.group(2)
                return DeadEnd(OUT_OF_PUSHES, (int(match.group(1)), 0 if left is None
                                               else int(left)))
            numbers = [int(g) for g in match.groups()]
            if code == FROZEN:
                row, col, top_row, top_col, bottom_row, bottom_col = numbers
                if (bottom_row, bottom_col) != (top_row + 1, top_col + 1):
                    return None
                return DeadEnd(FROZEN, (row, col, top_row, top_col))
            return DeadEnd(code, (int(match.group(1)), int(match.group(2))))
        return None

    def ref_phrase(self, state: SokobanState, move_in: SokobanMove | None, style: str) -> str:
        """A path state named by its push count (which grows along a path) and its boxes."""
        listing = self._listing(state.boxes, _style(style))
        if style == "compact":
            return f"start: {listing}" if state.pushes == 0 else (
                f"push {state.pushes}: {listing}")
        where = "the start" if state.pushes == 0 else (
            f"the position after {_plural(state.pushes, 'push')}")
        boxes = "box" if len(state.boxes) == 1 else "boxes"
        return f"{where}, with the {boxes} at {listing}"

    def parse_ref(self, text: str, style: str) -> Hashable | None:
        match = _REF[_style(style)].fullmatch(text)
        if match is None:
            return None
        pushes = 0 if match.group(1) is None else int(match.group(1))
        if match.group(1) is not None and pushes == 0:
            return None  # the start is said as "start"
        return pushes, tuple(sorted(_read_coords(match.group(2))))

    def ref_key(self, state: SokobanState, move_in: SokobanMove | None) -> Hashable:
        return state.pushes, tuple(self._coords(state.boxes))

    def goal_phrase(self, state: SokobanState, style: str) -> str:
        return _GOAL[_style(style)]


def _read_coords(text: str) -> list[tuple[int, int]]:
    return [(int(m.group(1)), int(m.group(2))) for m in _COORD_FIND.finditer(text)]


# ---- answers ---------------------------------------------------------------------------

MAX_ANSWER_CHARS = 4000
_PUSH_ITEM = re.compile(
    r"(?:push(?:ing)?\s+)?(?:the\s+)?(?:box\s+)?(?:at\s+)?"
    r"\(\s*([0-9]{1,3})\s*,\s*([0-9]{1,3})\s*\)\s*(?:to\s+the\s+)?"
    r"(up|down|left|right|u|d|l|r)(?![a-z])",
    re.IGNORECASE,
)
# A list mark at a line start, after the line's own indentation (not across blank lines:
# `\s*` from every line start of a blank run would read the rest of the run each time).
_LIST_MARK = re.compile(r"(?m)^[^\S\n]*(?:[0-9]{1,3}[.)]|[-*])[ \t]+")
_FILLER = re.compile(r"\b(?:then|and|next|finally)\b", re.IGNORECASE)
_LURD = re.compile(r"[lurdLURD\s,]+")
_LETTER_WORDS = {"u": "up", "d": "down", "l": "left", "r": "right"}


def answer_from_moves(data: dict[str, Any], moves: Sequence[SokobanMove]) -> str:
    """The pushes in order: `push (2,3) right; push (2,4) down`."""
    return "; ".join(f"push ({m.row},{m.col}) {m.direction}" for m in moves)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: pushes that are legal in turn, within the push limit,
    and leave every box on a goal.

    Reads the last <answer> block (else the whole text). Accepts a list of pushes, each
    the box's cell before the push and a direction (`push (2,3) right; (2,4) down`,
    separated by semicolons, commas or lines, optionally numbered), or the player's full
    move string in LURD letters (uppercase or not; a step into a box pushes it).
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    from searchtrace.tasks.base import extract_answer

    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    rules = SokobanRules.from_data(data)
    if body and _LURD.fullmatch(body) and any(ch.isalpha() for ch in body):
        return _check_lurd(rules, "".join(ch for ch in body if ch.isalpha()))
    moves = []
    for match in _PUSH_ITEM.finditer(body):
        direction = match.group(3).lower()
        moves.append(SokobanMove(int(match.group(1)), int(match.group(2)),
                                 _LETTER_WORDS.get(direction, direction)))
    residue = _FILLER.sub(" ", _PUSH_ITEM.sub(" ", _LIST_MARK.sub("", body)))
    if not moves or re.search(r"[A-Za-z0-9]", residue):
        return Verdict.fail("unparsable_answer", "the answer must be pushes like "
                            "'push (2,3) right; push (2,4) down'")
    state = rules.initial_state()
    for number, move in enumerate(moves, start=1):
        result = rules.apply(state, move)
        if isinstance(result, Violation):
            return Verdict.fail(result.code, f"push {number}: {result.message}")
        state = result
    return _solved(rules, state)


def _check_lurd(rules: SokobanRules, letters: str) -> Verdict:
    room = rules.room
    deltas = dict(room.deltas)
    player, boxes, pushes = room.player, set(room.boxes), 0
    for number, letter in enumerate(letters.lower(), start=1):
        step = deltas[_LETTER_WORDS[letter]]
        ahead = player + step
        if room.is_wall(ahead):
            return Verdict.fail("walks_into_wall", f"move {number} walks into the wall at "
                                f"{room.name(ahead)}")
        if ahead in boxes:
            beyond = ahead + step
            if room.is_wall(beyond):
                return Verdict.fail("blocked_by_wall", f"move {number} pushes the box at "
                                    f"{room.name(ahead)} into a wall")
            if beyond in boxes:
                return Verdict.fail("blocked_by_box", f"move {number} pushes the box at "
                                    f"{room.name(ahead)} into another box")
            if pushes >= room.max_pushes:
                return Verdict.fail("push_limit", f"move {number} is a push beyond the "
                                    f"{room.max_pushes} allowed")
            boxes.remove(ahead)
            boxes.add(beyond)
            pushes += 1
        player = ahead
    return _solved(rules, SokobanState(player, tuple(sorted(boxes)), pushes))


def _solved(rules: SokobanRules, state: SokobanState) -> Verdict:
    if rules.is_goal(state):
        return OK
    stray = next(b for b in state.boxes if not rules.room.is_goal(b))
    return Verdict.fail("not_solved", f"the box at {rules.room.name(stray)} is not on a goal")


RULES = SokobanRules
TEXT = SokobanText
