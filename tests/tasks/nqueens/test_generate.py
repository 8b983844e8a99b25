"""N-Queens generation: the knobs' range errors, presets placing their queens, solution
counts against brute force and known values, puzzles that keep a solution, one problem per
size on an empty board, and hard puzzles that depth-first search solves fast."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks.base import problem_id
from searchtrace.tasks.nqueens.generate import (
    PRESETS,
    NQueensConfig,
    all_solutions,
    count_solutions,
)
from tests.tasks.nqueens.support import TASK, brute_force, make_problem

KNOWN_COUNTS = {4: 2, 5: 10, 6: 4, 7: 40, 8: 92, 9: 352, 10: 724, 11: 2680, 12: 14200}


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"n": 3}, "n", "must be between 4 and 12, got 3"),
        ({"n": 13}, "n", "must be between 4 and 12, got 13"),
        ({"n": 8, "preplaced": 8}, "preplaced", "preplaced for n=8 must be between 0 and 7, got 8"),
        ({"n": 5, "preplaced": -1}, "preplaced", "preplaced for n=5 must be between 0 and 4, "
         "got -1"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        NQueensConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)



@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_place_their_queens(preset: str) -> None:
    config = TASK.make_config(preset, {})
    for seed in range(3):
        problem = TASK.generate(config, np.random.default_rng(seed), "train")
        assert sum(1 for r in problem.data["preplaced"] if r) == config.preplaced
        assert problem.knobs == PRESETS[preset]


def test_solution_counts_match_brute_force_and_known_values() -> None:
    for n, known in KNOWN_COUNTS.items():
        assert len(all_solutions(n)) == known
    for n in (4, 5, 6, 7, 8):
        assert set(all_solutions(n)) == brute_force(n, [0] * n)


@pytest.mark.parametrize(("n", "preplaced"), [(5, 1), (6, 2), (8, 2), (8, 4)])
def test_puzzles_keep_a_solution_and_are_solvable(n: int, preplaced: int) -> None:
    for seed in range(4):
        problem = make_problem(n, preplaced, seed)
        given = problem.data["preplaced"]
        assert problem.data == {"n": n, "preplaced": given}
        assert len(given) == n and sum(1 for r in given if r) == preplaced
        completions = brute_force(n, given)
        assert completions
        assert count_solutions(n, given, limit=None) == len(completions)
        assert problem.id == problem_id("nqueens", problem.data)


def test_no_preplaced_queens_is_one_problem_per_size() -> None:
    ids = {make_problem(8, 0, seed).id for seed in range(5)}
    assert len(ids) == 1
    assert "The board starts empty." in make_problem(8, 0, 0).prompt


def test_count_solutions_sees_attacking_preplaced_queens() -> None:
    assert count_solutions(4, [1, 2, 0, 0]) == 0  # diagonal neighbours
    assert count_solutions(4, [0, 0, 0, 0]) == 2
    assert count_solutions(4, [2, 0, 0, 0]) == 1


def test_prompt_names_and_draws_the_preplaced_queens() -> None:
    problem = make_problem(8, 2, 0)
    col = next(c for c, r in enumerate(problem.data["preplaced"]) if r)
    row = problem.data["preplaced"][col]
    assert f"column {col + 1} at row {row}" in problem.prompt
    board_row = "".join("Q" if problem.data["preplaced"][c] == row else "." for c in range(8))
    assert board_row in problem.prompt
    assert "an 8x8 chessboard" in problem.prompt and "<answer></answer>" in problem.prompt


def test_hard_preset_is_solved_fast_by_dfs() -> None:
    config = TASK.make_config("hard", {})
    for seed in range(5):
        problem = TASK.generate(config, np.random.default_rng(seed), "train")
        tree = solve_dfs(TASK.rules(problem.data), 20_000)
        assert tree.solution is not None and tree.nodes_expanded < 2000
