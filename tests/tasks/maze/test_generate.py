"""Maze generation: knob ranges, the walls and a reachable distant goal, seeds skipped with
a reason, presets that rarely skip, the prompt, and how hard the hard preset is."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks.base import GenerationSkipped, problem_id
from searchtrace.tasks.maze.generate import MazeConfig
from tests.tasks.maze.support import TASK, find, make_problem, shortest

# ---- config ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"height": 4}, "height", "must be between 5 and 41, got 4"),
        ({"height": 42}, "height", "must be between 5 and 41, got 42"),
        ({"width": 3}, "width", "must be between 5 and 41, got 3"),
        ({"wall_density": 0.6}, "wall_density", "must be between 0 and 0.5, got 0.6"),
        ({"wall_density": -0.1}, "wall_density", "must be between 0 and 0.5, got -0.1"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        MazeConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


# ---- generation -----------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_rarely_skip_a_seed(preset: str) -> None:
    config = TASK.make_config(preset, {})
    made = 0
    for seed in range(20):
        try:
            problem = TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            continue
        made += 1
        assert len(problem.data["grid"]) == config.height
        assert problem.knobs == config.model_dump(mode="json")
    assert made >= 17


@pytest.mark.parametrize(("height", "width", "density"),
                         [(5, 5, 0.0), (7, 7, 0.2), (11, 11, 0.35), (9, 23, 0.3), (21, 21, 0.35)])
def test_mazes_have_the_walls_and_a_reachable_distant_goal(
    height: int, width: int, density: float
) -> None:
    for seed in range(4):
        problem = make_problem(seed, height=height, width=width, wall_density=density)
        grid = problem.data["grid"]
        assert len(grid) == height and {len(row) for row in grid} == {width}
        cells = "".join(grid)
        assert set(cells) <= set("#.SG")
        assert cells.count("S") == 1 and cells.count("G") == 1
        assert cells.count("#") == round(density * height * width)
        (sr, sc), (gr, gc) = find(grid, "S"), find(grid, "G")
        assert abs(sr - gr) + abs(sc - gc) >= (height + width - 2) // 2
        assert shortest(grid, (sr, sc)) is not None
        assert problem.id == problem_id("maze", problem.data)


def test_unreachable_goals_are_skipped_with_a_reason() -> None:
    config = MazeConfig(height=9, width=9, wall_density=0.5)
    reasons = []
    for seed in range(30):
        try:
            problem = TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped as skipped:
            reasons.append(skipped.reason)
            continue
        assert shortest(problem.data["grid"], find(problem.data["grid"], "S")) is not None
    assert reasons and set(reasons) <= {"goal_unreachable", "no_distant_cell"}


def test_prompt_draws_the_grid_and_names_start_and_goal() -> None:
    problem = make_problem(0)
    grid = problem.data["grid"]
    for row in grid:
        assert " ".join(row) in problem.prompt
    (sr, sc), (gr, gc) = find(grid, "S"), find(grid, "G")
    assert f"S is at ({sr + 1},{sc + 1}) and G is at ({gr + 1},{gc + 1})" in problem.prompt
    assert "(1,1) is the top-left cell" in problem.prompt
    assert "<answer></answer>" in problem.prompt
    assert problem.data == {"grid": grid}


# ---- difficulty -----------------------------------------------------------------------


def test_hard_mazes_are_solved_by_dfs_well_within_the_budget() -> None:
    for seed in range(6):
        problem = make_problem(seed, "hard")
        tree = solve_dfs(TASK.rules(problem.data), 20_000)
        assert tree.solution is not None and tree.nodes_expanded < 2000
