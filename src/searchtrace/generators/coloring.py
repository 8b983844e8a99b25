"""Graph coloring problems: color a random graph's nodes with k colors, no edge monochrome.

A graph is drawn as G(n, p): each of the n(n-1)/2 pairs of nodes is joined with
probability `density`. The nodes are then numbered in a coloring order that constrains
early (maximum cardinality: the highest-degree node first, then each time the node with
the most already-numbered neighbors, ties by degree), so the solver can simply color
node 1, 2, 3, ... in turn. Only colorable graphs are kept: an exact DSatur search
with a node budget either finds a k-coloring or proves there is none (the seed is then
skipped as `not_colorable`, or as `search_budget` when the budget runs out first).
Coloring holds nothing out for the test split: overlaps are removed by problem id.

Densities near the k-colorability threshold give the most genuine dead ends: a sparse
graph colors greedily without a single failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import field_validator

from searchtrace.generators.base import GenerationSkipped, Problem, TaskConfig, between, problem_id
from searchtrace.verifiers.coloring import COLOR_LETTERS, COLOR_NAMES, MAX_COLORS

TASK = "coloring"
SEARCH_BUDGET = 200_000  # DSatur nodes before a seed is skipped as undecided


class ColoringConfig(TaskConfig):
    """Knobs of a graph coloring problem.

    nodes: how many nodes (4 to 40); density: the probability that two nodes are joined
    (greater than 0, at most 1); colors: how many colors may be used (2 to 8). Graphs that
    need more colors than `colors` are skipped, so a high density with few colors skips
    most seeds.
    """

    nodes: Annotated[int, between(4, 40)] = 12
    density: float = 0.35
    colors: Annotated[int, between(2, MAX_COLORS)] = 3

    @field_validator("density")
    @classmethod
    def _density(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError(f"must be greater than 0 and at most 1, got {value}")
        return value


DESCRIPTION = "Color a random graph's nodes with k colors so that no edge joins two alike."
CONFIG = ColoringConfig

PRESETS: dict[str, dict] = {
    "easy": {"nodes": 6, "density": 0.7, "colors": 3},
    "medium": {"nodes": 12, "density": 0.35, "colors": 3},
    "hard": {"nodes": 24, "density": 0.3, "colors": 4},
}


def generate(config: ColoringConfig, rng: np.random.Generator, split: str) -> Problem:
    """A k-colorable random graph, numbered in its coloring order (any split)."""
    n = config.nodes
    first, second = np.triu_indices(n, k=1)
    joined = rng.random(first.size) < config.density
    pairs = list(zip(first[joined].tolist(), second[joined].tolist(), strict=True))
    label = coloring_order(n, pairs)
    edges = sorted(tuple(sorted((label[u] + 1, label[v] + 1))) for u, v in pairs)
    if find_coloring(n, edges, config.colors) is None:
        raise GenerationSkipped("not_colorable")
    data = {"nodes": n, "colors": config.colors, "edges": [list(e) for e in edges]}
    return Problem(
        task=TASK,
        id=problem_id(TASK, data),
        data=data,
        prompt=prompt_for(n, config.colors, edges),
        knobs=config.model_dump(mode="json"),
    )


def prompt_for(nodes: int, colors: int, edges: Sequence[Sequence[int]]) -> str:
    named = ", ".join(f"{COLOR_NAMES[c]} ({COLOR_LETTERS[c]})" for c in range(colors))
    listed = ", ".join(f"{u}-{v}" for u, v in edges) if edges else "none"
    example = " ".join(f"{i + 1}:{COLOR_NAMES[i % colors]}" for i in range(min(3, nodes)))
    return (
        f"Color this graph with {colors} colors: {named}. The nodes are numbered 1 to "
        f"{nodes}, and two nodes joined by an edge must get different colors. The edges are: "
        f"{listed}.\n\nColor one node at a time. Any uncolored node may be colored next, but "
        f"going in order (node 1 first, then node 2, and so on) works well; when a node has "
        f"no color left, go back and change an earlier choice. Think "
        f"through your search, then give the color of every node inside <answer></answer>, "
        f"as node:color pairs, e.g. <answer>{example} ...</answer>."
    )


def coloring_order(n: int, pairs: Sequence[tuple[int, int]]) -> list[int]:
    """label[v] = v's 0-based position in the coloring order (maximum cardinality: the
    node with the most already-ordered neighbors next, ties by degree, then lowest v)."""
    adj: list[list[int]] = [[] for _ in range(n)]
    for u, v in pairs:
        adj[u].append(v)
        adj[v].append(u)
    degree = [len(a) for a in adj]
    ordered_neighbors = [0] * n
    label = [-1] * n
    for position in range(n):
        best = max((v for v in range(n) if label[v] < 0),
                   key=lambda v: (ordered_neighbors[v], degree[v], -v))
        label[best] = position
        for u in adj[best]:
            ordered_neighbors[u] += 1
    return label


class _BudgetSpent(Exception):
    """The colorability search ran out of its node budget."""


def find_coloring(
    n: int, edges: Sequence[Sequence[int]], colors: int, budget: int = SEARCH_BUDGET
) -> list[int] | None:
    """A proper coloring (colors 1..`colors` per 1-based node, as a list) or None when
    there is none; exact DSatur backtracking on bitmasks. Raises GenerationSkipped when
    `budget` search nodes are not enough to decide."""
    adj = [0] * n
    for u, v in edges:
        adj[u - 1] |= 1 << (v - 1)
        adj[v - 1] |= 1 << (u - 1)
    color = [0] * n
    spent = 0

    def used(v: int) -> int:
        mask, rest = 0, adj[v]
        while rest:
            low = rest & -rest
            mask |= 1 << color[low.bit_length() - 1]
            rest ^= low
        return mask & ~1

    def search(colored: int, highest: int) -> bool:
        nonlocal spent
        if colored == n:
            return True
        spent += 1
        if spent > budget:
            raise _BudgetSpent
        best, best_used, best_key = -1, 0, (-1, -1)
        for v in range(n):
            if color[v]:
                continue
            mask = used(v)
            key = (mask.bit_count(), adj[v].bit_count())
            if key > best_key:
                best, best_used, best_key = v, mask, key
        # Colors above the highest used so far are interchangeable: try only the first.
        for c in range(1, min(highest + 1, colors) + 1):
            if best_used >> c & 1:
                continue
            color[best] = c
            if search(colored + 1, max(highest, c)):
                return True
        color[best] = 0
        return False

    try:
        found = search(0, 0)
    except _BudgetSpent:
        raise GenerationSkipped("search_budget") from None
    return list(color) if found else None
