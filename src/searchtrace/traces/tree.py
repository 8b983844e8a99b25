"""The search tree every solver returns: each visited node, in visit order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from searchtrace.tasks.base import DeadEnd, Rules


@dataclass
class Node:
    """One state the search created. `state` lives in memory only; the stored tree keeps
    the moves. A solver that records more per node (a cost, a value, the model's text)
    uses a subclass of its own, which `json_fields` writes into the stored tree."""

    id: int
    parent: int | None
    move: Any
    depth: int
    state: Any
    status: str = "expanded"
    reason: DeadEnd | None = None
    widened: bool = False
    children: list[int] = field(default_factory=list)

    def json_fields(self) -> dict[str, Any]:
        """What a solver's node type adds to the node in the stored tree (nothing here)."""
        return {}


@dataclass
class SearchTree:
    """Visited nodes in visit order (ids are visit order), plus search statistics.

    Nodes added after the search by the linearizer, to find more dead ends than the search
    met, carry `widened=True`; `nodes_expanded` counts only the solver's own expansions.
    `node_type` is the solver's node class; `add` makes every node of it, widened ones too.
    """

    solver: str
    nodes: list[Node] = field(default_factory=list)
    solution: int | None = None
    nodes_expanded: int = 0
    children_generated: int = 0  # successors the expansions produced (branching factor)
    stats: dict[str, Any] = field(default_factory=dict)  # solver-specific, e.g. batch sizes
    node_type: type[Node] = field(default=Node, repr=False)

    def add(self, parent: int | None, move: Any, state: Any, *, widened: bool = False) -> Node:
        depth = 0 if parent is None else self.nodes[parent].depth + 1
        node = self.node_type(len(self.nodes), parent, move, depth, state, widened=widened)
        self.nodes.append(node)
        if parent is not None:
            self.nodes[parent].children.append(node.id)
        return node

    def path_to(self, node_id: int) -> list[int]:
        """Node ids from the root to `node_id`, inclusive."""
        path = []
        current: int | None = node_id
        while current is not None:
            path.append(current)
            current = self.nodes[current].parent
        return path[::-1]

    def solution_path(self) -> list[int]:
        if self.solution is None:
            raise ValueError("the search found no solution")
        return self.path_to(self.solution)

    def branching(self) -> float:
        """Mean successors per expansion: the effective branching factor of the search."""
        return self.children_generated / self.nodes_expanded if self.nodes_expanded else 0.0

    def guesses(self) -> int:
        """Solver-visited nodes where the solver tried more than one child."""
        return sum(
            1 for n in self.nodes
            if not n.widened and sum(not self.nodes[c].widened for c in n.children) > 1
        )

    def to_json(self, rules: Rules) -> str:
        """The tree without states: enough to replay every node through the rules.

        Dead-end details are written as JSON where they can be, otherwise as text (a
        Countdown fraction becomes "7/3")."""
        nodes = []
        for n in self.nodes:
            node = {
                "id": n.id,
                "parent": n.parent,
                "move": None if n.move is None else rules.move_to_json(n.move),
                "depth": n.depth,
                "status": n.status,
                "reason": None if n.reason is None else [n.reason.code, list(n.reason.detail)],
                "widened": n.widened,
                **n.json_fields(),
            }
            nodes.append(node)
        tree = {"solver": self.solver, "solution": self.solution,
                "nodes_expanded": self.nodes_expanded, "nodes": nodes}
        if self.stats:
            tree["stats"] = self.stats
        return json.dumps(tree, separators=(",", ":"), default=str)
