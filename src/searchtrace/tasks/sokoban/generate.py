"""Sokoban rooms with 1 to 3 boxes, solvable by construction and checked by search.

A room is a rectangle of floor inside a ring of walls, with `walls` extra wall cells added
in a random order (a wall that would cut the floor in two is left out). The boxes start on
randomly chosen goals and the player on a random floor cell; the game is then played
BACKWARDS for `pulls` random pulls (the player steps away from an adjacent box and drags
it one cell along), so the reverse of those pulls is a sequence of pushes that solves the
room. An A* search over (player region, boxes) with an admissible, consistent heuristic
then finds the fewest pushes that solve it; the problem allows that many plus `slack`.
Rooms that need fewer than `min_pushes` pushes are skipped. Sokoban holds nothing out for
the test split: overlaps between splits are removed by problem id like any duplicate.
"""

from __future__ import annotations

import heapq
import random
from typing import Annotated

import numpy as np
from pydantic import field_validator, model_validator

from searchtrace.tasks.base import GenerationSkipped, Problem, TaskConfig, between, problem_id
from searchtrace.tasks.sokoban.room import NO_PATH, Room, box_mask, draw, lowest_cell, make_room
from searchtrace.tasks.sokoban.rules import SokobanRules, SokobanState

TASK = "sokoban"
SEARCH_LIMIT = 50_000  # A* states before a room counts as too large to check
UNLIMITED = 10_000  # the push limit while the generator searches
ATTEMPTS = 12  # rooms tried per seed before it is skipped


class SokobanConfig(TaskConfig):
    """Knobs of a Sokoban room.

    height, width: the floor area inside the outer walls, 3 to 10 cells each; boxes: 1 to
    3 (as many goals); walls: extra wall cells inside, 0 to a third of the floor area;
    pulls: random backward pulls that scatter the boxes from the goals (1 to 300; more
    pulls give harder rooms, up to a point); min_pushes: rooms solvable in fewer pushes are
    skipped (1 to 60); slack: pushes allowed beyond the fewest that solve the room (0 to
    10; the limit is stated in the prompt and enforced).
    """

    height: Annotated[int, between(3, 10)] = 6
    width: Annotated[int, between(3, 10)] = 6
    boxes: Annotated[int, between(1, 3)] = 2
    walls: int = 4
    pulls: Annotated[int, between(1, 300)] = 40
    min_pushes: Annotated[int, between(1, 60)] = 6
    slack: Annotated[int, between(0, 10)] = 2

    @field_validator("walls")
    @classmethod
    def _walls_not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"must be between 0 and a third of height * width, got {value}")
        return value

    @model_validator(mode="after")
    def _walls_fit(self) -> SokobanConfig:
        area = self.height * self.width
        if self.walls > area // 3:
            raise ValueError(f"walls must be between 0 and {area // 3} (a third of the "
                             f"{self.height}x{self.width} floor), got {self.walls}")
        return self


DESCRIPTION = "Push every box onto a goal in a small Sokoban room within a push limit."
CONFIG = SokobanConfig

PRESETS: dict[str, dict] = {
    "easy": {"height": 5, "width": 5, "boxes": 1, "walls": 3, "pulls": 20, "min_pushes": 3,
             "slack": 2},
    "medium": {"height": 6, "width": 6, "boxes": 2, "walls": 4, "pulls": 40, "min_pushes": 6,
               "slack": 2},
    "hard": {"height": 7, "width": 7, "boxes": 3, "walls": 12, "pulls": 60, "min_pushes": 8,
             "slack": 2},
}


def generate(config: SokobanConfig, rng: np.random.Generator, split: str) -> Problem:
    """A room solvable in at most `max_pushes` pushes, found by playing backwards; up to
    ATTEMPTS rooms are tried before the seed is skipped with the last room's reason."""
    draw_rng = random.Random(int(rng.integers(2**63)))  # scalar draws, far cheaper than numpy's
    reason = "no_attempt"
    for _ in range(ATTEMPTS):
        made = _attempt(config, draw_rng)
        if isinstance(made, Problem):
            return made
        reason = made
    raise GenerationSkipped(reason)


def _attempt(config: SokobanConfig, draw_rng: random.Random) -> Problem | str:
    """One random room played backwards: the problem, or why it was not kept."""
    height, width = config.height, config.width
    walls = _walls(height, width, config.walls, draw_rng)
    floor = [(r, c) for r in range(2, height + 2) for c in range(2, width + 2)
             if (r, c) not in walls]
    if len(floor) < config.boxes + 1:
        return "room_too_small"
    picked = draw_rng.sample(floor, config.boxes + 1)
    goals, player = picked[:-1], picked[-1]
    room = make_room(tuple(_grid(height, width, walls, goals, goals, player)), UNLIMITED)
    rules = SokobanRules(room)
    state = _pull_back(rules, config.pulls, draw_rng)
    if rules.is_goal(state):
        return "no_box_moved"
    region = rules.region(state)
    start = SokobanState(draw_rng.choice([cell for cell in range(region.bit_length())
                                          if region >> cell & 1]), state.boxes, 0)
    fewest = fewest_pushes(rules, start)
    if fewest is None:
        return "search_too_large"
    if fewest < config.min_pushes:
        return "too_easy"
    boxes = [room.coords(b) for b in start.boxes]
    grid = _grid(height, width, walls, goals, boxes, room.coords(start.player))
    max_pushes = fewest + config.slack
    canonical = draw(room, start.boxes, lowest_cell(rules.region(start)))  # player region
    return Problem(
        task=TASK,
        id=problem_id(TASK, {"grid": canonical, "max_pushes": max_pushes}),
        data={"grid": grid, "max_pushes": max_pushes},
        prompt=prompt_for(grid, max_pushes, config.boxes),
        knobs=config.model_dump(mode="json"),
    )


def prompt_for(grid: list[str], max_pushes: int, boxes: int) -> str:
    rows, cols = len(grid), len(grid[0])
    shown = "\n".join(grid)
    things = "the box onto the goal" if boxes == 1 else f"all {boxes} boxes onto the goals"
    return (
        f"Solve this Sokoban puzzle: push {things} using at most {max_pushes} "
        f"pushes. The room is drawn row by row: # is a wall, - is empty floor, . is a goal, "
        f"$ is a box, * is a box already on a goal, @ is you (the player) and + is you "
        f"standing on a goal. Rows are numbered 1 to {rows} from the top and columns 1 to "
        f"{cols} from the left; (2,3) is row 2, column 3.\n\n{shown}\n\n"
        f"You walk up, down, left and right over floor and goals, never through a wall or a "
        f"box; walking is free. To push a box one cell in a direction, stand on the cell "
        f"right behind it and step toward it: the box moves one cell and you take its old "
        f"place. You cannot pull a box, and a box cannot be pushed into a wall or another "
        f"box. Think through your search, then give the pushes in order inside "
        f"<answer></answer>, separated by semicolons, each as the box's cell before the push "
        f"and the direction, e.g. <answer>push (4,2) up; push (3,2) right</answer>."
    )


def _grid(height: int, width: int, walls: set[tuple[int, int]],
          goals: list[tuple[int, int]], boxes: list[tuple[int, int]],
          player: tuple[int, int]) -> list[str]:
    """The room drawn with the standard characters. Cells are (row, column) of the drawn
    grid, 1-based, so the floor area runs from (2,2) to (height+1, width+1) inside the
    outer walls."""
    rows = []
    for r in range(1, height + 3):
        row = []
        for c in range(1, width + 3):
            cell, goal = (r, c), (r, c) in goals
            if cell in walls or r in (1, height + 2) or c in (1, width + 2):
                row.append("#")
            elif cell in boxes:
                row.append("*" if goal else "$")
            elif cell == player:
                row.append("+" if goal else "@")
            else:
                row.append("." if goal else "-")
        rows.append("".join(row))
    return rows


def _walls(height: int, width: int, count: int, draw_rng: random.Random) -> set[tuple[int, int]]:
    """Up to `count` inner wall cells (drawn coordinates), tried in a random order; one that
    would split the floor is left out, so the floor stays connected."""
    cells = [(r, c) for r in range(2, height + 2) for c in range(2, width + 2)]
    draw_rng.shuffle(cells)
    walls: set[tuple[int, int]] = set()
    for cell in cells:
        if len(walls) == count:
            break
        walls.add(cell)
        if not _connected(height, width, walls):
            walls.discard(cell)
    return walls


def _connected(height: int, width: int, walls: set[tuple[int, int]]) -> bool:
    floor = {(r, c) for r in range(2, height + 2) for c in range(2, width + 2)} - walls
    if not floor:
        return False
    seen = {next(iter(floor))}
    stack = list(seen)
    while stack:
        r, c = stack.pop()
        for near in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if near in floor and near not in seen:
                seen.add(near)
                stack.append(near)
    return len(seen) == len(floor)


def _pull_back(rules: SokobanRules, pulls: int, draw_rng: random.Random) -> SokobanState:
    """Play `pulls` random pulls from the solved room (each is undone by one push) and keep
    the state along the way whose boxes need the most pushes at least (`Room.needed`; the
    latest among ties)."""
    needed = rules.room.needed
    state = rules.initial_state()
    best, best_far = state, 0
    for _ in range(pulls):
        options = list(_pulls(rules, state))
        if not options:
            break
        state = draw_rng.choice(options)
        far = needed(state.boxes)
        if far >= best_far:
            best, best_far = state, far
    return best


def _pulls(rules: SokobanRules, state: SokobanState):
    """Every state one pull away: the player stands next to a box, steps away from it
    onto free floor and drags it into the cell it left."""
    room = rules.room
    free = room.floor & ~box_mask(state.boxes)
    region = rules.region(state)
    for box in state.boxes:
        for _, delta in room.deltas:
            stand, back = box + delta, box + 2 * delta
            if region >> stand & 1 and free >> back & 1:
                moved = tuple(sorted(stand if b == box else b for b in state.boxes))
                yield SokobanState(back, moved, 0)


def fewest_pushes(rules: SokobanRules, start: SokobanState,
                  limit: int = SEARCH_LIMIT) -> int | None:
    """The fewest pushes that put every box on a goal (A* over positions), ignoring the
    room's push limit; None when the search passes `limit` states or finds no solution."""
    room: Room = rules.room
    distance = room.push_distance

    def estimate(boxes: tuple[int, ...]) -> int:
        return sum(distance[b] for b in boxes)

    start = SokobanState(start.player, start.boxes, 0)
    if estimate(start.boxes) >= NO_PATH:
        return None
    best = {rules.state_key(start): 0}
    frontier = [(estimate(start.boxes), 0, 0, start)]
    order = 0
    while frontier:
        _, pushes, _, state = heapq.heappop(frontier)
        if rules.is_goal(state):
            return pushes
        if best.get(rules.state_key(state), pushes) < pushes:
            continue
        for _, child in rules.pushes(state):
            guess = estimate(child.boxes)
            if guess >= NO_PATH:
                continue
            key = rules.state_key(child)
            if best.get(key, UNLIMITED) <= pushes + 1:
                continue
            best[key] = pushes + 1
            if len(best) > limit:
                return None
            order += 1
            child = SokobanState(child.player, child.boxes, 0)
            heapq.heappush(frontier, (pushes + 1 + guess, pushes + 1, order, child))
    return None
