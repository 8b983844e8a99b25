"""Exact solvability (`Rules.solvable`) of countdown, sudoku, nqueens and zebra.

Each task's check is compared with a brute-force solver written here from the problem's
data alone (its own moves and its own goal test, no code from the task's module) on many
states that random legal play reaches from generated problems, on and off the solution
path; and on hand-made states whose answer is known. The memo must not change answers:
every state is asked of one shared rules object and of a fresh one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import cache
from itertools import combinations
from typing import Any

import numpy as np
import pytest

from searchtrace.tasks import get_task
from searchtrace.tasks.base import GenerationSkipped, Problem
from searchtrace.tasks.nqueens.rules import QueensMove, QueensState
from searchtrace.tasks.sudoku.rules import SudokuMove, SudokuState
from searchtrace.tasks.zebra.rules import ZebraMove

Walk = Callable[[Any, random.Random], Iterator[Any]]


def problems(task: str, preset: str, how_many: int, **knobs: Any) -> list[Problem]:
    """The first `how_many` problems the generator makes for `preset` (skipped seeds move on)."""
    spec = get_task(task)
    config = spec.make_config(preset, knobs)
    found: list[Problem] = []
    for index in range(how_many * 20):
        rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0, index)))
        try:
            found.append(spec.generate(config, rng, "train"))
        except GenerationSkipped:
            continue
        if len(found) == how_many:
            return found
    raise AssertionError(f"fewer than {how_many} {task} problems")


def walked_states(rules: Any, draw: random.Random, walks: int, depth: int) -> list[Any]:
    """States random legal play reaches: walks from the start through `wider_moves`
    (every legal move the rules offer), so most leave the solution path early."""
    states = []
    for _ in range(walks):
        state = rules.initial_state()
        for _ in range(depth):
            states.append(state)
            children = list(rules.wider_moves(state))
            if not children:
                break
            state = draw.choice(children)[1]
    return states


def assert_agrees(task: str, problem: Problem, brute: Callable[[Any], bool],
                  walks: int = 12, depth: int = 12) -> tuple[int, int]:
    """`solvable` equals `brute` on every walked state, with a shared and a fresh memo;
    returns (solvable, unsolvable) counts so callers can check both kinds were seen."""
    spec = get_task(task)
    shared = spec.rules(problem.data)
    draw = random.Random(problem.id)
    counts = [0, 0]
    for state in walked_states(spec.rules(problem.data), draw, walks, depth):
        expected = brute(state)
        assert shared.solvable(state) is expected, (problem.data, state)
        assert spec.rules(problem.data).solvable(state) is expected, (problem.data, state)
        counts[0 if expected else 1] += 1
    return counts[0], counts[1]


# ---- countdown --------------------------------------------------------------------------


def countdown_brute(numbers: tuple, target: int, fractions: bool) -> bool:
    """Combine any two numbers with + - * / (positive results; integers unless fractions
    are allowed) until one is left; the target must be that one."""

    @cache
    def reach(pool: tuple[Fraction, ...]) -> bool:
        if len(pool) == 1:
            return pool[0] == target
        for i, j in combinations(range(len(pool)), 2):
            rest = [v for k, v in enumerate(pool) if k not in (i, j)]
            a, b = pool[i], pool[j]
            for value in (a + b, a - b, b - a, a * b, a / b, b / a):
                if value <= 0 or (not fractions and value.denominator != 1):
                    continue
                if reach(tuple(sorted([*rest, value]))):
                    return True
        return False

    return reach(tuple(sorted(Fraction(v) for v in numbers)))


@pytest.mark.parametrize(("preset", "knobs"), [
    ("easy", {}), ("medium", {}), ("medium", {"allow_fractions": True}),
    ("medium", {"count": 5, "number_range": (1, 12)}),
])
def test_countdown_solvable_matches_brute_force(preset: str, knobs: dict) -> None:
    seen = [0, 0]
    for problem in problems("countdown", preset, 8, **knobs):
        data = problem.data
        found = assert_agrees("countdown", problem, lambda s, d=data: countdown_brute(
            s, d["target"], d["allow_fractions"]))
        seen = [seen[0] + found[0], seen[1] + found[1]]
    assert seen[0] > 10 and seen[1] > 10, seen


def test_countdown_solvable_hand_made() -> None:
    rules = get_task("countdown").rules({"numbers": [21, 14, 25, 8], "target": 52})
    # The example: [8, 60] was abandoned after 60+8=68 but 60-8 makes 52.
    assert rules.solvable((8, 60)) and rules.solvable((21, 14, 25, 8))
    assert not rules.solvable((8, 68)) and not rules.solvable((68,))
    assert rules.solvable((52,))
    # 3, 3, 8, 8 make 24 only through a fraction: 8 / (3 - 8/3).
    fractional = {"numbers": [3, 3, 8, 8], "target": 24}
    assert not get_task("countdown").rules(fractional).solvable((3, 3, 8, 8))
    assert get_task("countdown").rules({**fractional, "allow_fractions": True}).solvable(
        (3, 3, 8, 8))
    assert get_task("countdown").rules({**fractional, "allow_fractions": True}).solvable(
        (3, 8, Fraction(8, 3)))


# ---- sudoku -----------------------------------------------------------------------------


def sudoku_brute(size: int, cells: tuple[int, ...]) -> bool:
    """Fill the blanks in row-major order with any digit not yet in the cell's row,
    column or box; the grid is solvable when some order of such fillings fills it."""
    box_rows, box_cols = {4: (2, 2), 6: (2, 3), 9: (3, 3)}[size]

    def unit_ok(grid: list[int], cell: int, digit: int) -> bool:
        r, c = divmod(cell, size)
        for other in range(size * size):
            if grid[other] != digit or other == cell:
                continue
            orow, ocol = divmod(other, size)
            same_box = (orow // box_rows == r // box_rows and ocol // box_cols == c // box_cols)
            if orow == r or ocol == c or same_box:
                return False
        return True

    def fill(grid: list[int]) -> bool:
        if 0 not in grid:
            return True
        cell = grid.index(0)
        for digit in range(1, size + 1):
            if unit_ok(grid, cell, digit):
                grid[cell] = digit
                if fill(grid):
                    return True
                grid[cell] = 0
        return False

    return fill(list(cells))


@pytest.mark.parametrize("knobs", [{"size": 4, "givens": 5}, {"size": 6, "givens": 16}])
def test_sudoku_solvable_matches_brute_force(knobs: dict) -> None:
    seen = [0, 0]
    for problem in problems("sudoku", "easy", 6, **knobs):
        size = problem.data["size"]
        found = assert_agrees("sudoku", problem, lambda s, n=size: sudoku_brute(n, s.cells))
        seen = [seen[0] + found[0], seen[1] + found[1]]
    assert seen[0] > 10 and seen[1] > 10, seen


def test_sudoku_solvable_hand_made() -> None:
    rules = get_task("sudoku").rules({"size": 4, "grid": [[1, 2, 0, 0], [0, 0, 0, 0],
                                                           [0, 0, 0, 0], [0, 0, 0, 0]]})
    start = rules.initial_state()
    assert rules.solvable(start)
    # 3 at r2c3 is legal, but row 1 then needs 3 and 4 in r1c3 and r1c4, whose box
    # already holds the 3: both cells can only be 4 (neither is empty of candidates yet).
    state = rules.apply(start, SudokuMove(1, 2, 3))
    assert isinstance(state, SudokuState) and rules.dead_end(state) is None
    assert sudoku_brute(4, state.cells) is False
    assert not rules.solvable(state)
    # 1 there is right: rows 1 2 3 4 and 3 4 1 2 start a solution.
    assert rules.solvable(rules.apply(start, SudokuMove(1, 2, 1)))


# ---- nqueens ----------------------------------------------------------------------------


def nqueens_brute(n: int, rows: tuple[int, ...]) -> bool:
    """Try every row for the empty columns, right to left, keeping no two queens on a
    row or a diagonal; the board is solvable when all columns get a queen."""
    board = list(rows)

    def safe(col: int, row: int) -> bool:
        return all(r == -1 or c == col or (r != row and abs(r - row) != abs(c - col))
                   for c, r in enumerate(board))

    placed = [(c, r) for c, r in enumerate(board) if r != -1]
    if any(not safe(c, r) for c, r in placed):
        return False

    def fill(empty: list[int]) -> bool:
        if not empty:
            return True
        col = empty[-1]
        for row in range(n):
            if safe(col, row):
                board[col] = row
                if fill(empty[:-1]):
                    return True
                board[col] = -1
        return False

    return fill([c for c, r in enumerate(board) if r == -1])


@pytest.mark.parametrize(("n", "preplaced"), [(5, 1), (6, 0), (8, 2), (8, 0)])
def test_nqueens_solvable_matches_brute_force(n: int, preplaced: int) -> None:
    seen = [0, 0]
    for problem in problems("nqueens", "medium", 4 if preplaced else 1, n=n,
                            preplaced=preplaced):
        found = assert_agrees("nqueens", problem, lambda s, n=n: nqueens_brute(n, s.rows),
                              walks=30)
        seen = [seen[0] + found[0], seen[1] + found[1]]
    assert seen[0] > 5 and seen[1] > 5, seen


def test_nqueens_solvable_hand_made() -> None:
    rules = get_task("nqueens").rules({"n": 4, "preplaced": [0, 0, 0, 0]})
    start = rules.initial_state()
    corner = rules.apply(start, QueensMove(0, 0))
    second = rules.apply(start, QueensMove(0, 1))
    # 4-queens has two solutions, rows 2-4-1-3 and 3-1-4-2: a queen in a corner is
    # hopeless although every other column still has a safe row.
    assert isinstance(corner, QueensState) and rules.dead_end(corner) is None
    assert not rules.solvable(corner)
    assert rules.solvable(second) and rules.solvable(start)


# ---- zebra ------------------------------------------------------------------------------


def zebra_brute(data: dict[str, Any], grid: tuple[int, ...]) -> bool:
    """Give each attribute a permutation of its values over the houses that keeps the
    filled cells, attribute by attribute, dropping any choice that makes a clue whose
    attributes are all chosen false; solvable when every attribute gets one."""
    n = data["houses"]
    names = [a["name"].lower() for a in data["attributes"]]
    values = [[v.lower() for v in a["values"]] for a in data["attributes"]]
    clues = []
    for clue in data["clues"]:
        a1 = names.index(clue[1].lower())
        v1 = values[a1].index(clue[2].lower())
        if clue[0] == "position":
            clues.append((clue[0], a1, v1, a1, v1, int(clue[3]) - 1))
        else:
            a2 = names.index(clue[3].lower())
            clues.append((clue[0], a1, v1, a2, values[a2].index(clue[4].lower()), -1))

    def true(clue: tuple, where: dict[int, list[int]]) -> bool:
        kind, a1, v1, a2, v2, house = clue
        h1, h2 = where[a1].index(v1), where[a2].index(v2)
        return {"same": h1 == h2, "not_same": h1 != h2, "next_to": abs(h1 - h2) == 1,
                "left_of": h2 - h1 == 1, "position": h1 == house}[kind]

    def choose(a: int, where: dict[int, list[int]]) -> bool:
        if a == len(names):
            return True
        fixed = grid[a * n : (a + 1) * n]
        for order in _permutations(n):
            if any(v >= 0 and order[h] != v for h, v in enumerate(fixed)):
                continue
            where[a] = list(order)
            if all(true(c, where) for c in clues if c[1] <= a and c[3] <= a) and choose(
                    a + 1, where):
                return True
            del where[a]
        return False

    return choose(0, {})


@cache
def _permutations(n: int) -> list[tuple[int, ...]]:
    if n == 0:
        return [()]
    return [(*rest[:i], n - 1, *rest[i:]) for rest in _permutations(n - 1) for i in range(n)]


@pytest.mark.parametrize("preset", ["easy", "medium"])
def test_zebra_solvable_matches_brute_force(preset: str) -> None:
    seen = [0, 0]
    for problem in problems("zebra", preset, 4):
        found = assert_agrees("zebra", problem, lambda s, d=problem.data: zebra_brute(d, s),
                              walks=10, depth=16)
        seen = [seen[0] + found[0], seen[1] + found[1]]
    assert seen[0] > 10 and seen[1] > 10, seen


def test_zebra_solvable_hand_made() -> None:
    data = {"houses": 3,
            "attributes": [{"name": "colour", "values": ["red", "green", "blue"]},
                           {"name": "pet", "values": ["dog", "cat", "fish"]}],
            "clues": [["left_of", "colour", "red", "colour", "green"],
                      ["same", "pet", "dog", "colour", "green"]]}
    rules = get_task("zebra").rules(data)
    start = rules.initial_state()
    assert rules.solvable(start)
    # The dog in house 1 breaks no clue by itself (no colour is placed), but the dog's
    # house is green and red must be immediately left of it.
    first = rules.apply(start, ZebraMove(0, "pet", "dog"))
    assert isinstance(first, tuple)
    assert zebra_brute(data, first) is False
    assert not rules.solvable(first)
    # In house 2 it works: red, green, blue.
    second = rules.apply(start, ZebraMove(1, "pet", "dog"))
    assert isinstance(second, tuple) and rules.solvable(second)
