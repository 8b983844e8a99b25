"""`Rules.solvable` for mazes, checked against a brute-force solver.

The brute force is written from the task's stated rules alone and shares no code with the
task modules: it reads the drawn grid and walks every simple path from the current cell
that avoids the path so far. The states compared are the initial state, every state of a
depth-first solver's tree, random walks through the legal moves and random states drawn
directly (any set of open cells marked as path); hand-made states have answers known by
hand.
"""

from __future__ import annotations

import random

from searchtrace.tasks.maze.rules import MazeState
from tests.tasks.maze.support import TASK as MAZE
from tests.tasks.solvable import assert_agrees, sampled_states, seeded_problems


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
        for problem in seeded_problems(MAZE, knobs, 8, index):
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
