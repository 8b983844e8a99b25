"""Mazes, solved and rendered once per test session, a hand-drawn maze, and walking and
measuring helpers written from the drawn grid."""

from __future__ import annotations

from collections import deque
from functools import cache

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import GenerationSkipped, Problem
from searchtrace.tasks.maze.rules import DELTAS, MazeMove, MazeRules, MazeState
from searchtrace.traces.tree import SearchTree
from tests.support import RenderedTrace as Rendered

TASK = get_task("maze")


# A hand-drawn maze: the left column opens into a closed-off area of 13 cells (so a first
# step down is a cut-off), which holds a cul-de-sac at (4,3); the route runs along the top
# and down the right side: R R R R R D D D D D.
SMALL = {"grid": [
    "S.....",
    ".####.",
    ".#..#.",
    ".#..#.",
    ".##.#.",
    "....#G",
]}


def make_problem(seed: int, preset: str = "medium", **knobs: object) -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    return _make_problem(seed, preset, tuple(sorted(knobs.items())))


@cache
def _make_problem(seed: int, preset: str, knobs: tuple) -> Problem:
    config = TASK.make_config(preset, dict(knobs))
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {preset} maze from seed {seed}")


@cache
def solved(seed: int, preset: str = "medium") -> tuple[Problem, SearchTree]:
    problem = make_problem(seed, preset)
    tree = solve_dfs(TASK.rules(problem.data), 20_000)
    assert tree.solution is not None, problem.data
    return problem, tree


def answer_of(problem: Problem, tree: SearchTree) -> str:
    return TASK.answer(problem.data, [tree.nodes[n].move for n in tree.solution_path()[1:]])


@cache
def rendered(seed: int, k: int, style: str, preset: str = "medium") -> Rendered:
    """A problem's exact-k trace, rendered as `build_row` renders it."""
    problem, tree = solved(seed, preset)
    return Rendered.build(TASK, problem, tree, k, style, 6, salt=seed)


def step(direction: str, cell: tuple[int, int]) -> MazeMove:
    """The move `direction` from the 0-based `cell`, naming the cell it reaches."""
    dr, dc = DELTAS[direction]
    return MazeMove(direction, cell[0] + dr, cell[1] + dc)


def walk(rules: MazeRules, directions: str) -> MazeState:
    """The state after the legal moves `directions` from the start."""
    state = rules.initial_state()
    for direction in directions:
        state = rules.apply(state, step(direction, divmod(state.cell, rules.maze.width)))
        assert isinstance(state, MazeState), state
    return state


def shortest(grid: list[str], start: tuple[int, int], blocked: frozenset = frozenset()) -> \
        int | None:
    """Moves on the shortest route from `start` to G over open cells not in `blocked`, by
    breadth-first search on the drawn grid (independent of the task's code)."""
    seen = {start: 0}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if grid[r][c] == "G":
            return seen[(r, c)]
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if (0 <= nr < len(grid) and 0 <= nc < len(grid[0]) and grid[nr][nc] != "#"
                    and (nr, nc) not in seen and (nr, nc) not in blocked):
                seen[(nr, nc)] = seen[(r, c)] + 1
                queue.append((nr, nc))
    return None


def find(grid: list[str], mark: str) -> tuple[int, int]:
    row = next(r for r, line in enumerate(grid) if mark in line)
    return row, grid[row].index(mark)
