"""Graph coloring problems: color a random graph's nodes with k colors, no edge monochrome.

Every graph is k-colorable by construction: the nodes are first split into k hidden color
classes as evenly as possible (a random balanced coloring is planted), and each pair of
nodes in different classes is then joined with probability `density`; two nodes of one
class are never joined. So no seed is rejected for want of a coloring, and no search is
needed to prove one exists. The planted coloring is not part of the problem: the prompt
shows only the edges, and any proper coloring is an answer.

The nodes are then numbered in a coloring order that constrains early (maximum
cardinality: the highest-degree node first, then each time the node with the most
already-numbered neighbors, ties by degree), so the solver can simply color node 1, 2,
3, ... in turn. Coloring holds nothing out for the test split: overlaps are removed by
problem id.

Dense graphs near the planted coloring give the most genuine dead ends (partial colorings
that cannot be completed); a sparse graph colors greedily without a single failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import field_validator

from searchtrace.tasks.base import Problem, TaskConfig, between, problem_id
from searchtrace.tasks.coloring.rules import COLOR_LETTERS, COLOR_NAMES, MAX_COLORS

TASK = "coloring"


class ColoringConfig(TaskConfig):
    """Knobs of a graph coloring problem.

    nodes: how many nodes (4 to 40); colors: how many colors may be used (2 to 8); density:
    the probability that two nodes of different hidden color classes are joined (greater
    than 0, at most 1). Every graph has a planted coloring with `colors` colors, so none
    is skipped; a higher density leaves fewer colorings and more dead ends.
    """

    nodes: Annotated[int, between(4, 40)] = 12
    density: float = 0.55
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
    "easy": {"nodes": 9, "density": 0.7, "colors": 3},
    "medium": {"nodes": 12, "density": 0.55, "colors": 3},
    "hard": {"nodes": 24, "density": 0.4, "colors": 4},
}


def generate(config: ColoringConfig, rng: np.random.Generator, split: str) -> Problem:
    """A graph with a planted `colors`-coloring, numbered in its coloring order (any split)."""
    n = config.nodes
    hidden = planted_classes(n, config.colors, rng)
    first, second = np.triu_indices(n, k=1)
    joined = (hidden[first] != hidden[second]) & (rng.random(first.size) < config.density)
    pairs = list(zip(first[joined].tolist(), second[joined].tolist(), strict=True))
    label = coloring_order(n, pairs)
    edges = sorted(tuple(sorted((label[u] + 1, label[v] + 1))) for u, v in pairs)
    data = {"nodes": n, "colors": config.colors, "edges": [list(e) for e in edges]}
    return Problem(
        task=TASK,
        id=problem_id(TASK, data),
        data=data,
        prompt=prompt_for(n, config.colors, edges),
        knobs=config.model_dump(mode="json"),
    )


def planted_classes(n: int, colors: int, rng: np.random.Generator) -> np.ndarray:
    """Each node's hidden color class (0-based): classes as even as possible (sizes differ
    by at most one), nodes shuffled among them."""
    return rng.permutation(n) % colors


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
