"""Sokoban generation: the knobs' ranges, what each preset makes, rooms of the configured
shape whose push limit is exactly the fewest pushes (found by an independent brute-force
search) plus the slack, and rooms too easy to keep skipped with a reason."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from searchtrace.tasks.base import GenerationSkipped, Problem, problem_id
from searchtrace.tasks.sokoban.answer import check_answer
from searchtrace.tasks.sokoban.generate import PRESETS, SokobanConfig
from searchtrace.tasks.sokoban.room import draw, lowest_cell
from tests.tasks.sokoban.support import TASK, Plain, make_problem, solution_moves, solved


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"height": 2}, "height", "must be between 3 and 10, got 2"),
        ({"width": 11}, "width", "must be between 3 and 10, got 11"),
        ({"boxes": 0}, "boxes", "must be between 1 and 3, got 0"),
        ({"boxes": 4}, "boxes", "must be between 1 and 3, got 4"),
        ({"pulls": 0}, "pulls", "must be between 1 and 300, got 0"),
        ({"min_pushes": 61}, "min_pushes", "must be between 1 and 60, got 61"),
        ({"slack": -1}, "slack", "must be between 0 and 10, got -1"),
        ({"slack": 11}, "slack", "must be between 0 and 10, got 11"),
        ({"walls": -1}, "walls", "must be between 0 and a third of height * width, got -1"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        SokobanConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_walls_must_fit_the_room() -> None:
    with pytest.raises(ValidationError, match=r"walls must be between 0 and 8 \(a third of the "
                                              r"5x5 floor\), got 9"):
        SokobanConfig(height=5, width=5, walls=9)
    assert SokobanConfig(height=5, width=5, walls=8).walls == 8


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_each_preset_sets_its_box_count(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert config.model_dump() == PRESETS[preset]
    assert config.boxes == {"easy": 1, "medium": 2, "hard": 3}[preset]


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_rooms_have_the_configured_shape_and_boxes(preset: str) -> None:
    config = TASK.make_config(preset, {})

    def make(seed: int) -> Problem | None:
        try:
            return TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            return None

    made = [p for p in (make(seed) for seed in range(6)) if p is not None]
    assert len(made) >= 5
    for problem in made:
        grid = problem.data["grid"]
        assert len(grid) == config.height + 2 and {len(row) for row in grid} == {config.width + 2}
        assert set(grid[0]) == set(grid[-1]) == {"#"}
        plain = Plain.read(grid)
        assert len(plain.boxes) == len(plain.goals) == config.boxes
        assert not plain.boxes <= plain.goals
        assert problem.knobs == config.model_dump(mode="json")


def test_prompt_draws_the_room_and_the_id_names_the_position() -> None:
    for seed in range(3):
        problem = make_problem(seed)
        assert "\n".join(problem.data["grid"]) in problem.prompt
        assert f"at most {problem.data['max_pushes']} pushes" in problem.prompt
        assert "<answer></answer>" in problem.prompt
        for char in "#-.$*@+":
            assert f"{char} is" in problem.prompt
        # the id names the position, not where in its region the player happens to stand
        rules = TASK.rules(problem.data)
        start = rules.initial_state()
        canonical = draw(rules.room, start.boxes, lowest_cell(rules.region(start)))
        assert problem.id == problem_id("sokoban", {"grid": canonical,
                                                    "max_pushes": problem.data["max_pushes"]})


@pytest.mark.parametrize(("preset", "seeds"), [("easy", 6), ("medium", 5), ("hard", 1)])
def test_every_problem_is_solvable_within_its_limit(preset: str, seeds: int) -> None:
    """Brute-force BFS finds the fewest pushes: the limit is exactly that plus slack."""
    config = TASK.make_config(preset, {})
    for seed in range(seeds):
        problem = make_problem(seed, preset)
        plain = Plain.read(problem.data["grid"])
        limit = problem.data["max_pushes"]
        fewest = plain.fewest(plain.player, plain.boxes, limit)
        assert fewest == limit - config.slack, problem.data
        assert fewest >= config.min_pushes


def test_hard_problems_solve_within_the_budget() -> None:
    for seed in range(4):
        problem, tree = solved(seed, "hard")
        assert tree.nodes_expanded < 20_000
        assert check_answer(problem.data, TASK.answer(problem.data, solution_moves(tree))).ok


def test_rooms_that_are_too_easy_are_skipped_with_a_reason() -> None:
    config = SokobanConfig(height=4, width=4, boxes=1, walls=0, pulls=3, min_pushes=40)
    reasons = set()
    for seed in range(4):
        with pytest.raises(GenerationSkipped) as skipped:
            TASK.generate(config, np.random.default_rng(seed), "train")
        reasons.add(skipped.value.reason)
    assert reasons <= {"too_easy", "no_box_moved"} and "too_easy" in reasons
