"""Sokoban `Rules.solvable`, checked against a brute-force solver written here from the
stated rules alone (it shares no code with the task): it reads the grid and the push limit
and decides a state by a 0-1 breadth-first search. The states compared are the initial
state, every state of a depth-first solver's tree, random walks through the legal moves and
random states drawn directly; hand-made states have known answers.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from searchtrace.tasks import get_task
from searchtrace.tasks.base import Problem
from searchtrace.tasks.sokoban.rules import SokobanState
from tests.tasks.solvable import assert_agrees, sampled_states, seeded_problems

SOKOBAN = get_task("sokoban")


def sokoban_brute(data: dict[str, Any], state: SokobanState) -> bool:
    """The fewest pushes that put every box on a goal, by a 0-1 breadth-first search over
    (player cell, box cells) where a step onto free floor costs 0 and a push costs 1;
    solvable when that is at most the pushes the limit leaves."""
    grid = data["grid"]
    height, width = len(grid), max(len(row) for row in grid)
    stride = width + 2  # the module's documented numbering: drawn (r,c) is r*stride + c
    walls = {(r, c) for r in range(height + 2) for c in range(width + 2)
             if not (1 <= r <= height and 1 <= c <= width)
             or grid[r - 1].ljust(width, "#")[c - 1] == "#"}
    goals = {(r, c) for r in range(1, height + 1) for c in range(1, width + 1)
             if grid[r - 1].ljust(width, "#")[c - 1] in ".*+"}
    left = data["max_pushes"] - state.pushes
    if left < 0:
        return False
    start = (divmod(state.player, stride), frozenset(divmod(b, stride) for b in state.boxes))
    best = {start: 0}
    queue: deque[tuple[int, tuple[tuple[int, int], frozenset[tuple[int, int]]]]] = deque(
        [(0, start)])
    while queue:
        pushes, position = queue.popleft()
        if best[position] < pushes:
            continue
        (row, col), boxes = position
        if boxes <= goals:
            return True
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            near = (row + dr, col + dc)
            if near in walls:
                continue
            cost, moved = 0, boxes
            if near in boxes:
                beyond = (row + 2 * dr, col + 2 * dc)
                if beyond in walls or beyond in boxes:
                    continue
                cost, moved = 1, (boxes - {near}) | {beyond}
            after = (near, moved)
            total = pushes + cost
            if total <= left and best.get(after, left + 1) > total:
                best[after] = total
                if cost:
                    queue.append((total, after))
                else:
                    queue.appendleft((total, after))
    return False


def sokoban_random_states(problem: Problem, count: int, rng: random.Random) -> list[Any]:
    """Boxes on random floor cells, the player on another, any pushes used so far."""
    grid = problem.data["grid"]
    stride = len(grid[0]) + 2
    floor = [(r + 1) * stride + c + 1 for r, row in enumerate(grid)
             for c, ch in enumerate(row) if ch != "#"]
    boxes = sum(row.count("$") + row.count("*") for row in grid)
    states = []
    for _ in range(count):
        cells = rng.sample(floor, boxes + 1)
        states.append(SokobanState(cells[0], tuple(sorted(cells[1:])),
                                   rng.randrange(problem.data["max_pushes"] + 2)))
    return states


def test_solvable_matches_brute_force() -> None:
    rng = random.Random(3)
    totals = [0, 0]
    for index, knobs in enumerate([
            {"height": 4, "width": 4, "boxes": 1, "walls": 2, "pulls": 15, "min_pushes": 2},
            {"height": 4, "width": 5, "boxes": 2, "walls": 3, "pulls": 30, "min_pushes": 3},
            {"height": 5, "width": 5, "boxes": 2, "walls": 4, "pulls": 40, "min_pushes": 4,
             "slack": 0},
            {"height": 5, "width": 4, "boxes": 3, "walls": 2, "pulls": 40, "min_pushes": 3,
             "slack": 1}]):
        for problem in seeded_problems(SOKOBAN, knobs, 5, index):
            states = sampled_states(SOKOBAN, problem, 15, index)
            states += sokoban_random_states(problem, 30, rng)
            solvable, unsolvable = assert_agrees(
                SOKOBAN, problem, states, lambda s, d=problem.data: sokoban_brute(d, s))
            totals[0] += solvable
            totals[1] += unsolvable
    assert min(totals) > 100, totals


def test_solvable_on_hand_made_states() -> None:
    # One box two cells left of its goal, in a room of two rows; cells are r * 9 + c.
    data = {"grid": ["#######",
                     "#@$-.-#",
                     "#-----#",
                     "#######"], "max_pushes": 2}
    rules = SOKOBAN.rules(data)
    start = rules.initial_state()
    assert rules.solvable(start) is True
    # The same position with one push already spent: the limit leaves one, too few.
    assert rules.solvable(start._replace(pushes=1)) is False
    # Pushed once right: one push from the goal with one left.
    assert rules.solvable(SokobanState(21, (22,), 1)) is True
    # A box against the bottom wall slides left and right but never comes back up.
    assert rules.solvable(SokobanState(21, (30,), 0)) is False
    # The box is one push left of its goal and one push is allowed, but the player is
    # walled in on the wrong side: pushing it back out, walking round and pushing it in
    # again takes three. The lower bound says one, and no dead-end rule fires.
    walled = {"grid": ["#######",
                       "#---#-#",
                       "#--$.@#",
                       "#######"], "max_pushes": 1}
    rules = SOKOBAN.rules(walled)
    start = rules.initial_state()
    assert rules.heuristic(start) == 1
    assert rules.dead_end(start) is None
    assert rules.solvable(start) is False
    assert SOKOBAN.rules({**walled, "max_pushes": 3}).solvable(start) is True
