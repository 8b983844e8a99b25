"""Zebra (logic-grid) puzzles with exactly one solution: 3 to 6 houses, 2 to 5 attributes.

The attributes are drawn from a pool of six (colour, nationality, pet, drink, job, sport)
and each takes `houses` of its six values; a random solution gives every attribute a random
permutation over the houses. Clues are then added until the solution is unique: while a
solution counter (counting up to 2) still finds a second solution, a random clue that is
true of the solution and false of that second one is added (a clue that does nothing is
never added). With `remove_redundant`, each clue is then dropped in a random order if the
puzzle stays unique without it. A final count confirms uniqueness; the clues are listed in
a random order. Zebra holds nothing out for the test split: overlaps between splits are
removed by problem id like any duplicate.

The counter works on permutations, not cells: each attribute's arrangement is one of the
n! permutations, held as bitsets over them. A position clue (or a next-to / left-of clue
between two values of one attribute) narrows one attribute's set; a clue between two
attributes gives, for each house of one value, the set of permutations the other
attribute may take. The search assigns attributes one at a time (most narrowed first, then
the one with most clues to those assigned) and intersects those sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import permutations
from typing import Annotated

import numpy as np
from pydantic import field_validator

from searchtrace.tasks.base import (
    GenerationSkipped,
    Problem,
    TaskConfig,
    between,
    canonical_json,
    problem_id,
)
from searchtrace.tasks.zebra.rules import (
    ATTRIBUTE_POOL,
    KINDS,
    LEFT_OF,
    NOT_SAME,
    POSITION,
    SAME,
    Clue,
    Puzzle,
    can_hold,
    holds_in_grid,
)

TASK = "zebra"
HOUSES_RANGE = (3, 6)
ATTRIBUTES_RANGE = (2, 5)
# How often each kind of clue is proposed (renormalized over the configured kinds).
KIND_WEIGHTS = {"same": 3.0, "not_same": 4.0, "next_to": 2.0, "left_of": 2.0, "position": 1.0}
MAX_PROPOSALS = 400  # random clues tried per distinguishing clue
MAX_CLUES = 80

Grid = tuple[tuple[int, ...], ...]  # grid[a][h] = value index in house h


class ZebraConfig(TaskConfig):
    """Knobs of a zebra puzzle.

    houses: 3 to 6 houses in a row; attributes: 2 to 5 attributes, each with one value per
    house; clue_types: which kinds of clue the puzzle may use (any of same, not_same,
    next_to, left_of, position; at least one of position or left_of, since the others read
    the same on the mirrored row and could never pin a solution down); remove_redundant:
    drop every clue the solution stays unique without (fewer clues, a harder puzzle).
    """

    houses: Annotated[int, between(*HOUSES_RANGE)] = 4
    attributes: Annotated[int, between(*ATTRIBUTES_RANGE)] = 4
    clue_types: tuple[str, ...] = KINDS
    remove_redundant: bool = True

    @field_validator("clue_types")
    @classmethod
    def _clue_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [kind for kind in value if kind not in KINDS]
        if unknown:
            raise ValueError(f"unknown clue type {unknown[0]!r}; allowed: {', '.join(KINDS)}")
        if len(set(value)) != len(value):
            raise ValueError("must not name a clue type twice")
        if "position" not in value and "left_of" not in value:
            raise ValueError("must include 'position' or 'left_of' (the other clue types "
                             "cannot tell left from right)")
        return tuple(kind for kind in KINDS if kind in value)


DESCRIPTION = ("Fill a logic grid of 3 to 6 houses and 2 to 5 attributes from numbered clues, "
               "with exactly one solution.")
CONFIG = ZebraConfig

PRESETS: dict[str, dict] = {
    "easy": {"houses": 3, "attributes": 3},
    "medium": {"houses": 4, "attributes": 4},
    "hard": {"houses": 5, "attributes": 5},
}


def generate(config: ZebraConfig, rng: np.random.Generator, split: str) -> Problem:
    """A puzzle whose clues have exactly one solution (any split)."""
    n, count = config.houses, config.attributes
    pool = list(ATTRIBUTE_POOL)
    chosen = sorted(rng.choice(len(pool), size=count, replace=False).tolist())
    attributes = []
    for index in chosen:
        name = pool[index]
        picked = sorted(rng.choice(len(ATTRIBUTE_POOL[name]), size=n, replace=False).tolist())
        attributes.append({"name": name, "values": [ATTRIBUTE_POOL[name][i] for i in picked]})
    solution: Grid = tuple(tuple(rng.permutation(n).tolist()) for _ in range(count))
    kinds = list(config.clue_types)
    weights = np.array([KIND_WEIGHTS[k] for k in kinds])
    weights = weights / weights.sum()

    clues: list[Clue] = []
    while True:
        found = solve_grids(n, count, clues, limit=2)
        if len(found) == 1:
            break
        if len(clues) >= MAX_CLUES:
            raise GenerationSkipped("not_unique")
        other = found[0] if found[0] != solution else found[1]
        clue = _distinguishing_clue(rng, kinds, weights, solution, other)
        if clue is None:
            raise GenerationSkipped("no_distinguishing_clue")
        clues.append(clue)
    if config.remove_redundant:
        for clue in [clues[i] for i in rng.permutation(len(clues)).tolist()]:
            rest = [c for c in clues if c != clue]
            if len(solve_grids(n, count, rest, limit=2)) == 1:
                clues = rest
    clues = [clues[i] for i in rng.permutation(len(clues)).tolist()]
    found = solve_grids(n, count, clues, limit=2)
    if len(found) != 1 or found[0] != solution:
        raise GenerationSkipped("not_unique")
    data = {"houses": n, "attributes": attributes,
            "clues": [_clue_to_data(attributes, c) for c in clues]}
    key = {**data, "clues": sorted(data["clues"], key=canonical_json)}
    return Problem(
        task=TASK,
        id=problem_id(TASK, key),
        data=data,
        prompt=prompt_for(data),
        knobs=config.model_dump(mode="json"),
    )


def prompt_for(data: dict) -> str:
    puzzle = Puzzle(data)
    n = puzzle.n
    listing = "\n".join(f"- {name}: {', '.join(values)}"
                        for name, values in zip(puzzle.names, puzzle.values, strict=True))
    clues = "\n".join(f"{i + 1}. {text}." for i, text in enumerate(puzzle.texts))
    example = ", ".join(values[0] for values in puzzle.values)
    return (
        f"Solve this logic puzzle. There are {n} houses in a row, numbered 1 to {n} from left "
        f"to right. Each house has exactly one value of each attribute below, and each value "
        f"belongs to exactly one house:\n{listing}\n\n"
        f"\"Next to\" means in a neighbouring house (house numbers differ by 1). \"Immediately "
        f"left of\" means in the house numbered exactly one lower (not just anywhere to the "
        f"left).\n\nClues:\n{clues}\n\n"
        f"Think through your search, then give the full grid inside <answer></answer>, one "
        f"line per house with its values in the order {', '.join(puzzle.names)}, for example "
        f"\"House 1: {example}\" (that shows the format only)."
    )


def _clue_to_data(attributes: Sequence[dict], clue: Clue) -> list:
    kind, a1, v1, a2, v2, house = clue
    first = [KINDS[kind], attributes[a1]["name"], attributes[a1]["values"][v1]]
    if kind == POSITION:
        return [*first, house + 1]
    return [*first, attributes[a2]["name"], attributes[a2]["values"][v2]]


def _random_clue(rng: np.random.Generator, kind: int, solution: Grid) -> Clue:
    """A random clue of one kind that is true of `solution`."""
    n, count = len(solution[0]), len(solution)
    if kind == POSITION:
        a, h = int(rng.integers(count)), int(rng.integers(n))
        return (kind, a, solution[a][h], -1, -1, h)
    if kind in (SAME, NOT_SAME):
        a1, a2 = sorted(rng.choice(count, size=2, replace=False).tolist())
        h1 = int(rng.integers(n))
        h2 = h1 if kind == SAME else (h1 + 1 + int(rng.integers(n - 1))) % n
        return (kind, a1, solution[a1][h1], a2, solution[a2][h2], -1)
    h = int(rng.integers(n - 1))
    a1, a2 = int(rng.integers(count)), int(rng.integers(count))
    h1, h2 = (h, h + 1) if kind == LEFT_OF or rng.integers(2) == 0 else (h + 1, h)
    return (kind, a1, solution[a1][h1], a2, solution[a2][h2], -1)


def _distinguishing_clue(
    rng: np.random.Generator, kinds: list[str], weights: np.ndarray, solution: Grid, other: Grid
) -> Clue | None:
    """A random clue true of `solution` and false of `other`."""
    for _ in range(MAX_PROPOSALS):
        kind = KINDS.index(kinds[int(rng.choice(len(kinds), p=weights))])
        clue = _random_clue(rng, kind, solution)
        if not holds_in_grid(clue, other):
            return clue
    return None


# ---- the solution counter --------------------------------------------------------------


@cache
def _tables(n: int) -> tuple[tuple[Grid, ...], tuple[tuple[int, ...], ...], int]:
    """All permutations of n values (perm[h] = value in house h), where[v][h] = bitset of
    the permutations putting value v in house h, and the bitset of them all."""
    perms = tuple(permutations(range(n)))
    where = [[0] * n for _ in range(n)]
    for index, perm in enumerate(perms):
        for h, v in enumerate(perm):
            where[v][h] |= 1 << index
    return perms, tuple(tuple(row) for row in where), (1 << len(perms)) - 1


def solve_grids(n: int, count: int, clues: Sequence[Clue], limit: int = 2) -> list[Grid]:
    """Up to `limit` full grids (grid[a][h]) of `count` attributes over `n` houses in
    which every clue holds."""
    perms, where, full = _tables(n)
    houses = range(n)
    allowed = [full] * count
    # links[target][source] = [(source value, table)]: table[h] = permutations of
    # `target` allowed when the source value is in house h.
    links: list[dict[int, list[tuple[int, tuple[int, ...]]]]] = [{} for _ in range(count)]
    for kind, a1, v1, a2, v2, house in clues:
        if kind == POSITION:
            allowed[a1] &= where[v1][house]
            continue
        pairs = [(h1, h2) for h1 in houses for h2 in houses
                 if can_hold(kind, 1 << h1, 1 << h2, -1)]
        if a1 == a2:
            mask = 0
            for h1, h2 in pairs:
                if h1 != h2:
                    mask |= where[v1][h1] & where[v2][h2]
            allowed[a1] &= mask
            continue
        to_second = [0] * n
        to_first = [0] * n
        for h1, h2 in pairs:
            to_second[h1] |= where[v2][h2]
            to_first[h2] |= where[v1][h1]
        links[a2].setdefault(a1, []).append((v1, tuple(to_second)))
        links[a1].setdefault(a2, []).append((v2, tuple(to_first)))
    order = _order(allowed, links)
    found: list[Grid] = []
    chosen: list[tuple[int, ...] | None] = [None] * count  # per attribute: value -> house

    def search(depth: int) -> bool:
        if depth == count:
            grid = [()] * count
            for a, pos in enumerate(chosen):
                row = [0] * n
                for v, h in enumerate(pos):
                    row[h] = v
                grid[a] = tuple(row)
            found.append(tuple(grid))
            return len(found) >= limit
        a = order[depth]
        mask = allowed[a]
        for source, tables in links[a].items():
            pos = chosen[source]
            if pos is None:
                continue
            for value, table in tables:
                mask &= table[pos[value]]
        while mask:
            low = mask & -mask
            perm = perms[low.bit_length() - 1]
            mask ^= low
            pos = [0] * n
            for h, v in enumerate(perm):
                pos[v] = h
            chosen[a] = tuple(pos)
            if search(depth + 1):
                return True
        chosen[a] = None
        return False

    search(0)
    return found


def _order(allowed: list[int], links: list[dict]) -> list[int]:
    """Attributes in search order: the most narrowed first, then the one with the most
    clues to those already placed (ties: fewer permutations allowed, then index)."""
    remaining = set(range(len(allowed)))
    order: list[int] = []
    while remaining:
        def rank(a: int) -> tuple[int, int, int]:
            tied = sum(len(tables) for source, tables in links[a].items() if source in order)
            return (-tied, allowed[a].bit_count(), a)

        best = min(remaining, key=rank)
        order.append(best)
        remaining.remove(best)
    return order
