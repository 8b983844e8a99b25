"""Singles propagation and the `require_search` knob, checked against a singles solver
written here from the rules' definitions (sets of peers and candidates, no bitmasks):
the module and the independent solver agree on which puzzles singles finish, every digit
they place is the solution's, kept puzzles make the reference DFS choose between
candidates, and rows of configs without the knob record the same knobs as before."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks.base import GenerationSkipped, Problem
from searchtrace.tasks.sudoku.generate import SudokuConfig, count_solutions
from searchtrace.tasks.sudoku.grid import BOX_SHAPES, flatten
from searchtrace.tasks.sudoku.singles import needs_search, propagate_singles
from tests.tasks.sudoku.support import TASK


def reference_singles(size: int, cells: list[int]) -> list[int]:
    """Naked and hidden singles by sets: a cell's peers share its row, column or box."""
    box_rows, box_cols = BOX_SHAPES[size]

    def box(i: int) -> tuple[int, int]:
        return (i // size) // box_rows, (i % size) // box_cols

    everything = range(size * size)
    houses = ([[i for i in everything if i // size == r] for r in range(size)]
              + [[i for i in everything if i % size == c] for c in range(size)]
              + [[i for i in everything if box(i) == b]
                 for b in {box(i) for i in everything}])
    peers = {i: {j for house in houses if i in house for j in house} - {i} for i in everything}
    grid = list(cells)

    def options(i: int) -> set[int]:
        return set(range(1, size + 1)) - {grid[j] for j in peers[i]}

    changed = True
    while changed:
        changed = False
        for i in everything:
            if grid[i] == 0 and len(options(i)) == 1:
                grid[i] = options(i).pop()
                changed = True
        for house in houses:
            for digit in range(1, size + 1):
                spots = [i for i in house if grid[i] == 0 and digit in options(i)]
                if len(spots) == 1:
                    grid[spots[0]] = digit
                    changed = True
    return grid


def puzzles(config: SudokuConfig, count: int) -> list[Problem]:
    """The first `count` puzzles the generator keeps from consecutive seeds."""
    kept: list[Problem] = []
    seed = 0
    while len(kept) < count:
        with contextlib.suppress(GenerationSkipped):
            kept.append(TASK.generate(config, np.random.default_rng(seed), "train"))
        seed += 1
    return kept


def solution_of(size: int, cells: list[int]) -> list[int]:
    tree = solve_dfs(TASK.rules({"size": size, "grid": [cells[r * size:(r + 1) * size]
                                                        for r in range(size)]}), 200_000)
    return list(tree.nodes[tree.solution].state.cells)


@pytest.mark.parametrize(("size", "givens"), [(4, 5), (6, 12), (9, 26), (9, 36)])
def test_propagation_agrees_with_the_reference_and_the_solution(size: int, givens: int) -> None:
    for problem in puzzles(SudokuConfig(size=size, givens=givens), 12):
        cells = flatten(problem.data["grid"])
        ours = propagate_singles(size, cells)
        assert ours == reference_singles(size, cells)
        solution = solution_of(size, cells)
        assert all(d in (0, s) for d, s in zip(ours, solution, strict=True))
        assert needs_search(size, cells) == (0 in ours)


def test_a_hidden_single_is_found_where_no_naked_single_is() -> None:
    # Row 1 of a 4x4: 1 is excluded from r1c1 and r1c2 by their box (r2c1) and from r1c3
    # by its column (r4c3), so it must go to r1c4, whose candidates are still 1 to 4.
    cells = [0, 0, 0, 0,
             1, 0, 0, 0,
             0, 1, 0, 0,
             0, 0, 1, 0]
    filled = propagate_singles(4, cells)
    assert filled == reference_singles(4, cells)
    assert filled[3] == 1


def test_require_search_keeps_only_puzzles_that_make_the_solver_guess() -> None:
    config = SudokuConfig(size=9, givens=26, require_search=True)
    for problem in puzzles(config, 8):
        cells = flatten(problem.data["grid"])
        assert count_solutions(9, cells) == 1
        assert 0 in reference_singles(9, cells)
        # The DFS meets a cell with two or more candidates (its first pick may be right,
        # so `guesses`, which counts nodes where it tried a second child, can still be 0).
        tree = solve_dfs(TASK.rules(problem.data), 200_000)
        assert tree.children_generated > tree.nodes_expanded
        assert problem.knobs == {"size": 9, "givens": 26, "require_search": True}


def test_require_search_skips_puzzles_singles_finish_with_a_reason() -> None:
    reasons = set()
    for seed in range(20):
        try:
            TASK.generate(SudokuConfig(size=9, givens=36, require_search=True),
                          np.random.default_rng(seed), "train")
        except GenerationSkipped as skipped:
            reasons.add(skipped.reason)
    assert reasons == {"solved_by_singles"}


def test_default_off_keeps_the_rows_knobs_and_puzzles() -> None:
    plain = puzzles(SudokuConfig(size=9, givens=36), 5)
    assert all(p.knobs == {"size": 9, "givens": 36} for p in plain)
    assert any(0 not in reference_singles(9, flatten(p.data["grid"])) for p in plain)
