"""Sokoban rules.

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

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from searchtrace.tasks.base import DeadEnd, Violation
from searchtrace.tasks.sokoban.room import NO_PATH, Room, box_mask, lowest_cell, room_from_data

CORNER, FROZEN, DEAD_SQUARE, OUT_OF_PUSHES, NO_PUSH = (
    "corner", "frozen", "dead_square", "out_of_pushes", "no_push")


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


RULES = SokobanRules
