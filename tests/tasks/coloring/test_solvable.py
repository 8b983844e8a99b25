"""`Rules.solvable` for coloring, checked against a brute-force solver.

The brute force is written from the task's stated rules alone and shares no code with the
task modules: it reads the problem's own edges and decides a state by trying every color
for every uncolored node. The states compared are the initial state, every state of a
depth-first solver's tree, random walks through the legal moves and random assignments
drawn directly (clashing ones included); hand-made states have answers known by hand.
"""

from __future__ import annotations

import random
from itertools import product
from typing import Any

from tests.tasks.coloring.support import TASK as COLORING
from tests.tasks.solvable import assert_agrees, sampled_states, seeded_problems


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
        for problem in seeded_problems(COLORING, knobs, 6, index):
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
