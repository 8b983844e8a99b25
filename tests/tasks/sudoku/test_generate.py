"""Sudoku generation: the knobs' range errors, puzzles with the asked givens and exactly one
solution (checked against every 4x4 grid), unreachable givens skipped, and the prompt."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
from pydantic import ValidationError

from searchtrace.tasks.base import GenerationSkipped, problem_id
from searchtrace.tasks.sudoku.generate import SudokuConfig, count_solutions
from searchtrace.tasks.sudoku.grid import flatten
from tests.tasks.sudoku.support import TASK, make_problem


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"size": 5}, "size", "must be one of 4, 6, 9, got 5"),
        ({"size": 9, "givens": 10}, "givens", "givens for 9x9 must be between 22 and 81, got 10"),
        ({"size": 4, "givens": 17}, "givens", "givens for 4x4 must be between 4 and 16, got 17"),
        ({"size": 6, "givens": 7}, "givens", "givens for 6x6 must be between 8 and 36, got 7"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        SudokuConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)



@pytest.mark.parametrize(("size", "givens"), [(4, 4), (4, 6), (6, 10), (9, 26), (9, 36)])
def test_puzzles_have_the_givens_and_one_solution(size: int, givens: int) -> None:
    for seed in range(3):
        problem = make_problem(size, givens, seed)
        cells = flatten(problem.data["grid"])
        assert len(cells) == size * size
        assert sum(1 for d in cells if d) == givens
        assert count_solutions(size, cells, limit=2) == 1
        assert problem.id == problem_id("sudoku", problem.data)
        assert problem.knobs == {"size": size, "givens": givens}


def all_4x4_grids() -> list[tuple[tuple[int, ...], ...]]:
    """Every valid 4x4 grid, by brute force over row permutations (no solver involved)."""
    rows = list(permutations(range(1, 5)))
    grids: list[tuple[tuple[int, ...], ...]] = [()]
    for _ in range(4):
        grids = [(*g, row) for g in grids for row in rows
                 if all(row[c] != above[c] for above in g for c in range(4))]

    def boxes_ok(grid: tuple[tuple[int, ...], ...]) -> bool:
        return all(len({grid[r][c] for r in (br, br + 1) for c in (bc, bc + 1)}) == 4
                   for br in (0, 2) for bc in (0, 2))

    return [g for g in grids if boxes_ok(g)]


def test_4x4_uniqueness_agrees_with_brute_force() -> None:
    grids = all_4x4_grids()
    assert len(grids) == 288
    for givens in (4, 5, 6):
        for seed in range(4):
            puzzle = make_problem(4, givens, seed).data["grid"]
            matching = [g for g in grids
                        if all(d in (0, g[r][c]) for r, row in enumerate(puzzle)
                               for c, d in enumerate(row))]
            assert len(matching) == 1


def test_count_solutions_sees_many_and_none() -> None:
    assert count_solutions(4, [0] * 16, limit=2) == 2
    assert count_solutions(4, [0] * 16, limit=500) == 288
    assert count_solutions(4, [1, 1] + [0] * 14, limit=2) == 0


def test_unreachable_givens_are_skipped_with_a_reason() -> None:
    config = SudokuConfig(size=6, givens=8)
    reasons = set()
    for seed in range(10):
        try:
            TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped as skipped:
            reasons.add(skipped.reason)
    assert reasons == {"givens_not_reached"}



def test_prompt_shows_the_grid() -> None:
    problem = make_problem(9, 30, 0)
    first_row = "".join(str(d) if d else "." for d in problem.data["grid"][0])
    assert first_row in problem.prompt
    assert "<answer></answer>" in problem.prompt
