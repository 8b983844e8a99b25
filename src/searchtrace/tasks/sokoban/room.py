"""A Sokoban room: the drawn grid read into bitmasks over a padded grid, and the tables the
rules, the text and the answer checker share.

Cells are named (row,column), 1-based in text, "(1,1)" being the top-left cell of the
drawn grid. Inside, the grid is padded with one ring of walls and cells are numbered
row-major over the padded grid, so the drawn cell (r,c) is number r * (width + 2) + c.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import permutations
from typing import Any

WALL, FLOOR, GOAL, BOX, BOX_ON_GOAL, PLAYER, PLAYER_ON_GOAL = "#", "-", ".", "$", "*", "@", "+"
FLOOR_ALIASES = (" ", "_")  # other floor characters of the usual level formats
STEPS: dict[str, tuple[int, int]] = {  # in the order pushes are listed
    "up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
NO_PATH = 10_000  # push distance of a cell from which no goal can be reached
MAX_SIZE = 30  # rows and columns a room may have (coordinates stay two digits)
MAX_BOXES = 6  # `Room.needed` tries every assignment of boxes to goals


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
