"""`Rules.solvable` for coloring and maze, checked against brute-force solvers.

Each brute force below is written from the task's stated rules alone and shares no code
with the task modules: it reads the problem's own data (edges, grid) and
decides a state by exhaustive enumeration. The states compared are the initial state,
every state of a depth-first solver's tree (its dead-end branches are off the solution
path), random walks through the legal moves and, where the rules allow any such state,
random states drawn directly; each task also has hand-made states whose answer is known.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import product
from typing import Any

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import Task, get_task
from searchtrace.tasks.base import GenerationSkipped, Problem
from searchtrace.tasks.maze.rules import MazeState

COLORING, MAZE = get_task("coloring"), get_task("maze")


def problems(task: Task, knobs: dict[str, Any], count: int, seed: int) -> Iterator[Problem]:
    """`count` problems of `task` with `knobs`, from seed `seed` (skipped seeds move on)."""
    config = task.make_config(None, knobs)
    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        try:
            yield task.generate(config, rng, "train")
        except GenerationSkipped:
            continue
        made += 1


def sampled_states(task: Task, problem: Problem, walks: int, seed: int) -> list[Any]:
    """The initial state, every state of a depth-first tree, and the states of random
    walks over every legal move (`wider_moves`), which wander off any solution path."""
    rules = task.rules(problem.data)
    states = [node.state for node in solve_dfs(rules, 2_000).nodes]
    rng = random.Random(seed)
    for _ in range(walks):
        state = rules.initial_state()
        for _ in range(rng.randrange(1, 25)):
            moves = list(rules.wider_moves(state))
            if not moves:
                break
            state = rng.choice(moves)[1]
            states.append(state)
    return states


def assert_agrees(task: Task, problem: Problem, states: list[Any], brute: Any) -> tuple[int, int]:
    """`solvable` equals `brute(state)` on every state, asked of one shared Rules object (so
    the memo is exercised, in a shuffled order) and of a fresh one per state; returns the
    count of (solvable, unsolvable) states seen, so callers can insist on both."""
    shared = task.rules(problem.data)
    order = list(states)
    random.Random(7).shuffle(order)
    seen = [0, 0]
    for state in order:
        expected = brute(state)
        assert shared.solvable(state) is expected, (problem.data, state)
        assert task.rules(problem.data).solvable(state) is expected, (problem.data, state)
        seen[0 if expected else 1] += 1
    return seen[0], seen[1]


# ---- coloring ---------------------------------------------------------------------------


def coloring_brute(data: dict[str, Any], state: tuple[int, ...]) -> bool:
    """Try every color for every uncolored node; solvable when one full assignment keeps
    the given colors and gives the two ends of every edge different colors."""
    blanks = [i for i, color in enumerate(state) if color == 0]
    for choice in product(range(1, data["colors"] + 1), repeat=len(blanks)):
        full = list(state)
        for node, color in zip(blanks, choice, strict=True):
            full[node] = color
        if all(full[u - 1] != full[v - 1] for u, v in data["edges"]):
            return True
    return False


def test_coloring_solvable_matches_brute_force() -> None:
    rng = random.Random(1)
    totals = [0, 0]
    for index, knobs in enumerate([{"nodes": 6, "density": 0.7, "colors": 3},
                                   {"nodes": 8, "density": 0.45, "colors": 3},
                                   {"nodes": 7, "density": 0.6, "colors": 4},
                                   {"nodes": 8, "density": 0.3, "colors": 2}]):
        for problem in problems(COLORING, knobs, 6, index):
            data = problem.data
            states = sampled_states(COLORING, problem, 10, index)
            for _ in range(30):  # any assignment at all, clashing ones included
                states.append(tuple(rng.choice([0, 0, *range(1, data["colors"] + 1)])
                                    for _ in range(data["nodes"])))
            solvable, unsolvable = assert_agrees(
                COLORING, problem, states, lambda s, d=data: coloring_brute(d, s))
            totals[0] += solvable
            totals[1] += unsolvable
    assert min(totals) > 100, totals


def test_coloring_hand_made_states() -> None:
    # Nodes 1 to 4 are all joined (K4) and node 5 hangs off node 4; three colors. With node
    # 1 red, nodes 2, 3 and 4 each still have green and blue free, so no node is out of
    # colors, yet three mutually joined nodes cannot share two colors.
    k4 = {"nodes": 5, "colors": 3, "edges": [[1, 2], [1, 3], [1, 4], [2, 3], [2, 4],
                                             [3, 4], [4, 5]]}
    rules = COLORING.rules(k4)
    assert rules.dead_end((1, 0, 0, 0, 0)) is None
    assert rules.solvable((1, 0, 0, 0, 0)) is False
    assert rules.solvable((0, 0, 0, 0, 0)) is False
    # A wheel: hub 5 joined to the rim 1-2-3-4-1. The hub takes one color and the rim
    # alternates the other two, so the rim's opposite nodes 1 and 3 must match.
    wheel = {"nodes": 5, "colors": 3, "edges": [[1, 2], [2, 3], [3, 4], [1, 4], [1, 5],
                                                [2, 5], [3, 5], [4, 5]]}
    rules = COLORING.rules(wheel)
    assert rules.solvable((0,) * 5) is True
    assert rules.solvable((1, 2, 0, 0, 0)) is True  # 3 red, 4 green, 5 blue
    assert rules.dead_end((1, 0, 2, 0, 0)) is None
    assert rules.solvable((1, 0, 2, 0, 0)) is False  # 2 and 4 blue, nothing left for 5
    assert rules.solvable((1, 2, 3, 1, 3)) is False  # a clash is never a solution
    assert rules.solvable((1, 2, 1, 2, 3)) is True  # a full proper coloring is the goal


# ---- maze -------------------------------------------------------------------------------


def maze_brute(grid: list[str], state: MazeState) -> bool:
    """Walk every simple path from the current cell that avoids the cells on the path so
    far (depth first, four directions); solvable when one of them stands on G."""
    width = len(grid[0])
    cells = "".join(grid)
    goal = cells.index("G")

    def walk(cell: int, used: frozenset[int]) -> bool:
        if cell == goal:
            return True
        row, col = divmod(cell, width)
        for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
            near = r * width + c
            if (0 <= r < len(grid) and 0 <= c < width and cells[near] != "#"
                    and near not in used and walk(near, used | {near})):
                return True
        return False

    used = frozenset(i for i in range(len(cells)) if state.visited >> i & 1)
    return walk(state.cell, used)


def test_maze_solvable_matches_brute_force() -> None:
    rng = random.Random(2)
    totals = [0, 0]
    for index, knobs in enumerate([{"height": 5, "width": 5, "wall_density": 0.2},
                                   {"height": 5, "width": 6, "wall_density": 0.3},
                                   {"height": 6, "width": 5, "wall_density": 0.1}]):
        for problem in problems(MAZE, knobs, 8, index):
            grid = problem.data["grid"]
            cells = "".join(grid)
            states = sampled_states(MAZE, problem, 20, index)
            open_cells = [i for i, ch in enumerate(cells) if ch != "#"]
            for _ in range(30):  # a cell with any set of open cells marked as path
                cell = rng.choice(open_cells)
                visited = 1 << cell
                for other in rng.sample(open_cells, rng.randrange(len(open_cells) // 2)):
                    visited |= 1 << other
                states.append(MazeState(cell, visited))
            solvable, unsolvable = assert_agrees(
                MAZE, problem, states, lambda s, g=grid: maze_brute(g, s))
            totals[0] += solvable
            totals[1] += unsolvable
    assert min(totals) > 100, totals


def test_maze_hand_made_states() -> None:
    # G can only be reached through (1,2), left of S; cells are numbered row-major.
    grid = ["G.S..",
            "####.",
            "....."]
    rules = MAZE.rules({"grid": grid})
    assert rules.solvable(rules.initial_state()) is True
    assert rules.solvable(MazeState(1, 1 << 2 | 1 << 1)) is True  # one step left
    # One step right puts S on the path behind it: G is cut off at once, though (1,4) has
    # exits and the closed-off area is too small for the solver to call a cut-off.
    right = MazeState(3, 1 << 2 | 1 << 3)
    assert rules.dead_end(right) is None
    assert rules.solvable(right) is False
    walked = MazeState(13, sum(1 << c for c in (2, 3, 4, 9, 14, 13)))
    assert rules.dead_end(walked) is None
    assert rules.solvable(walked) is False
    assert rules.solvable(MazeState(0, 1 << 2 | 1 << 1 | 1)) is True  # on the goal
