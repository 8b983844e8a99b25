"""Countdown generation: the knobs' range errors, problems drawn within their ranges,
held-out targets, every problem solvable, and ids that ignore the numbers' order."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from pydantic import ValidationError

from searchtrace.tasks.base import GenerationSkipped, Problem
from searchtrace.tasks.countdown.answer import check_answer
from searchtrace.tasks.countdown.generate import CountdownConfig
from tests.tasks.countdown.support import (
    HELD_OUT,
    TASK,
    canonical_answer,
    make_problem,
    solve,
)


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"count": 2}, "count", "must be between 3 and 8, got 2"),
        ({"count": 9}, "count", "must be between 3 and 8, got 9"),
        ({"number_range": (0, 10)}, "number_range", "1 <= low <= high <= 10000, got [0, 10]"),
        ({"number_range": (20, 10)}, "number_range", "1 <= low <= high <= 10000, got [20, 10]"),
        ({"number_range": (1, 10_001)}, "number_range", "1 <= low <= high <= 10000"),
        ({"target_range": (0, 50)}, "target_range", "1 <= low <= high <= 1000000, got [0, 50]"),
        ({"target_range": (90, 80)}, "target_range", "1 <= low <= high <= 1000000"),
        ({"target_range": (1, 1_000_001)}, "target_range", "1 <= low <= high <= 1000000"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        CountdownConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_held_out_targets_must_lie_in_range_and_leave_train_some() -> None:
    with pytest.raises(ValidationError, match=r"test_targets must lie in target_range "
                                              r"\[10, 100\], got \[5, 101\]"):
        CountdownConfig(target_range=(10, 100), test_targets=(5, 50, 101))
    with pytest.raises(ValidationError, match="hold out every target"):
        CountdownConfig(target_range=(10, 12), test_targets=(10, 11, 12, 11))
    assert CountdownConfig(target_range=(10, 12), test_targets=(10, 12)).test_targets == (10, 12)


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_hold_no_target_out_and_keep_results_whole(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert config.test_targets == () and config.allow_fractions is False


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_problems_draw_numbers_and_targets_within_their_ranges(preset: str) -> None:
    config = TASK.make_config(preset, {})

    def make(seed: int) -> Problem | None:
        try:
            return TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            return None

    made = [p for p in (make(seed) for seed in range(12)) if p is not None]
    assert len(made) >= 8
    assert len({p.id for p in made}) >= len(made) - 1
    low, high = config.number_range
    for problem in made:
        assert len(problem.data["numbers"]) == config.count
        assert all(low <= n <= high for n in problem.data["numbers"])
        assert config.target_range[0] <= problem.data["target"] <= config.target_range[1]
        assert problem.knobs == config.model_dump(mode="json")


def test_prompt_lists_the_numbers_and_the_target() -> None:
    for seed in range(5):
        problem = make_problem(seed, "medium", allow_fractions=bool(seed % 2))
        listed = ", ".join(str(n) for n in problem.data["numbers"])
        assert f"Use the numbers {listed} to make {problem.data['target']}." in problem.prompt
        assert "<answer></answer>" in problem.prompt


def test_held_out_targets_only_in_test_and_never_in_train() -> None:
    config = TASK.make_config("medium", {"test_targets": HELD_OUT})
    made: dict[str, list[int]] = {"train": [], "test": []}
    for split in made:
        for seed in range(200):
            try:
                problem = TASK.generate(config, np.random.default_rng(seed), split)
            except GenerationSkipped as skipped:
                assert skipped.reason == "no_target_in_range"
                continue
            made[split].append(problem.data["target"])
    assert len(made["train"]) >= 190 and len(made["test"]) >= 100
    assert set(made["test"]) <= set(HELD_OUT)
    assert len(set(made["test"])) >= 4  # not stuck on one held-out target
    assert not set(made["train"]) & set(HELD_OUT)
    assert all(10 <= t <= 100 for t in made["train"])


@pytest.mark.parametrize(
    ("preset", "knobs", "seeds", "budget"),
    [
        ("easy", {}, 30, 20_000),
        ("medium", {}, 30, 20_000),
        ("medium", {"allow_fractions": True}, 20, 20_000),
        ("medium", {"count": 5, "test_targets": HELD_OUT}, 15, 20_000),
        ("hard", {}, 4, 200_000),
    ],
)
def test_every_problem_is_solvable_and_its_answer_checks(
    preset: str, knobs: dict, seeds: int, budget: int
) -> None:
    config = TASK.make_config(preset, knobs)
    solved = 0
    for seed in range(seeds):
        for split in ("train", "test"):
            try:
                problem = TASK.generate(config, np.random.default_rng(seed), split)
            except GenerationSkipped:
                continue
            tree = solve(problem, budget)
            assert TASK.rules(problem.data).is_goal(tree.nodes[tree.solution].state)
            # every number is used: one move per number but the last
            assert len(tree.solution_path()) == len(problem.data["numbers"])
            answer = canonical_answer(problem, tree)
            assert check_answer(problem.data, answer).ok, (problem.data, answer)
            assert check_answer(problem.data, f"{answer} = {problem.data['target']}").ok
            solved += 1
    assert solved >= seeds


def test_id_depends_on_sorted_numbers_and_target_only() -> None:
    """Tiny ranges make the generator repeat problems in different number orders."""
    config = CountdownConfig(count=3, number_range=(1, 4), target_range=(1, 100))
    by_content: dict[tuple, set[str]] = defaultdict(set)
    orders: dict[tuple, set[tuple]] = defaultdict(set)
    for seed in range(300):
        problem = TASK.generate(config, np.random.default_rng(seed), "train")
        key = (tuple(sorted(problem.data["numbers"])), problem.data["target"])
        by_content[key].add(problem.id)
        orders[key].add(tuple(problem.data["numbers"]))
    assert all(len(ids) == 1 for ids in by_content.values())
    assert len({next(iter(ids)) for ids in by_content.values()}) == len(by_content)
    assert any(len(seen) > 1 for seen in orders.values())  # the same id despite new orders
