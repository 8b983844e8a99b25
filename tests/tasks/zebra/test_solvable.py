"""Exact solvability (`Rules.solvable`) of zebra puzzles.

The check is compared with a brute-force solver written here from the problem's data alone
(permutations of each attribute's values, no code from the task's modules) on many states
that random legal play reaches from generated problems, on and off the solution path; and
on a hand-made state whose answer is known. The memo must not change answers: every state
is asked of one shared rules object and of a fresh one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from searchtrace.tasks import get_task
from searchtrace.tasks.zebra.rules import ZebraMove
from tests.tasks.solvable import assert_agrees_on_walks, preset_problems

TASK = get_task("zebra")


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
    for problem in preset_problems(TASK, preset, 4):
        found = assert_agrees_on_walks(TASK, problem,
                                       lambda s, d=problem.data: zebra_brute(d, s),
                                       walks=10, depth=16)
        seen = [seen[0] + found[0], seen[1] + found[1]]
    assert seen[0] > 10 and seen[1] > 10, seen


def test_zebra_solvable_hand_made() -> None:
    data = {"houses": 3,
            "attributes": [{"name": "colour", "values": ["red", "green", "blue"]},
                           {"name": "pet", "values": ["dog", "cat", "fish"]}],
            "clues": [["left_of", "colour", "red", "colour", "green"],
                      ["same", "pet", "dog", "colour", "green"]]}
    rules = TASK.rules(data)
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
