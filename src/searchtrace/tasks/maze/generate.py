"""Grid mazes: find a route from S to G through open cells, stepping up, down, left, right.

Walls are scattered at random: exactly round(wall_density * height * width) cells, drawn
without replacement. The start is a random open cell and the goal a random open cell at
least half the grid's largest Manhattan distance ((height + width - 2) // 2) from it. A
breadth-first search from the start must reach the goal; the generator tries a few start
and goal pairs on the same walls and otherwise skips the seed (`goal_unreachable`, or
`no_distant_cell` when no open cell lies far enough from any start it drew). Mazes hold
nothing out for the test split: overlaps between splits are removed by problem id.
"""

from __future__ import annotations

from collections import deque
from typing import Annotated

import numpy as np

from searchtrace.tasks.base import GenerationSkipped, Problem, TaskConfig, between, problem_id
from searchtrace.tasks.maze.rules import GOAL, OPEN, START, WALL, parse_maze

TASK = "maze"
SIDE_RANGE = (5, 41)
DENSITY_RANGE = (0.0, 0.5)
PAIR_ATTEMPTS = 8


class MazeConfig(TaskConfig):
    """Knobs of a maze.

    height, width: rows and columns of the grid, 5 to 41 each; wall_density: the share of
    cells that are walls, 0 to 0.5 (denser mazes have longer detours, more cul-de-sacs and
    more skipped seeds, as the goal is cut off more often).
    """

    height: Annotated[int, between(*SIDE_RANGE)] = 11
    width: Annotated[int, between(*SIDE_RANGE)] = 11
    wall_density: Annotated[float, between(*DENSITY_RANGE)] = 0.3


DESCRIPTION = "Find a route from S to G through a grid maze, moving up, down, left or right."
CONFIG = MazeConfig

PRESETS: dict[str, dict] = {
    "easy": {"height": 7, "width": 7, "wall_density": 0.2},
    "medium": {"height": 11, "width": 11, "wall_density": 0.35},
    "hard": {"height": 21, "width": 21, "wall_density": 0.35},
}


def generate(config: MazeConfig, rng: np.random.Generator, split: str) -> Problem:
    """A maze whose goal the start can reach (any split)."""
    height, width = config.height, config.width
    cells = height * width
    walls = round(config.wall_density * cells)
    is_open = [True] * cells
    for cell in rng.permutation(cells)[:walls].tolist():
        is_open[cell] = False
    open_cells = [i for i in range(cells) if is_open[i]]
    if len(open_cells) < 2:
        raise GenerationSkipped("no_distant_cell")
    far = (height + width - 2) // 2
    reason = "no_distant_cell"
    for _ in range(PAIR_ATTEMPTS):
        start = open_cells[int(rng.integers(len(open_cells)))]
        row, col = divmod(start, width)
        distant = [i for i in open_cells
                   if abs(i // width - row) + abs(i % width - col) >= far]
        if not distant:
            continue
        goal = distant[int(rng.integers(len(distant)))]
        if shortest_distance(is_open, height, width, start, goal) is None:
            reason = "goal_unreachable"
            continue
        grid = draw(is_open, height, width, start, goal)
        data = {"grid": grid}
        return Problem(
            task=TASK,
            id=problem_id(TASK, data),
            data=data,
            prompt=prompt_for(grid),
            knobs=config.model_dump(mode="json"),
        )
    raise GenerationSkipped(reason)


def shortest_distance(
    is_open: list[bool], height: int, width: int, start: int, goal: int
) -> int | None:
    """Moves on the shortest route from `start` to `goal` (breadth-first), None if none."""
    seen = {start: 0}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            return seen[cell]
        row, col = divmod(cell, width)
        for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
            n = r * width + c
            if 0 <= r < height and 0 <= c < width and is_open[n] and n not in seen:
                seen[n] = seen[cell] + 1
                queue.append(n)
    return None


def draw(is_open: list[bool], height: int, width: int, start: int, goal: int) -> list[str]:
    """Rows of `#` (wall), `.` (open), `S` (start) and `G` (goal)."""
    marks = {start: START, goal: GOAL}
    return ["".join(marks.get(i, OPEN if is_open[i] else WALL)
                    for i in range(r * width, (r + 1) * width)) for r in range(height)]


def prompt_for(grid: list[str]) -> str:
    maze = parse_maze(tuple(grid))
    shown = "\n".join(" ".join(row) for row in grid)
    return (
        f"Find a route through this maze from S to G. The maze has {maze.height} rows and "
        f"{maze.width} columns: # is a wall, . is an open cell, S is the start and G is the "
        f"goal (both open). Cells are named (row,column), counting from 1: (1,1) is the "
        f"top-left cell, rows are numbered downwards and columns to the right. S is at "
        f"{maze.name(maze.start)} and G is at {maze.name(maze.goal)}.\n\n{shown}\n\n"
        f"Each move goes one cell up, down, left or right, onto an open cell; it may not "
        f"leave the grid or enter a wall. While searching, never step onto a cell that is "
        f"already on your current path: when you are stuck, go back. Think through your "
        f"search, then give your moves from S to G inside <answer></answer> as the letters "
        f"U, D, L and R separated by spaces, for example <answer>R R D L</answer>."
    )
