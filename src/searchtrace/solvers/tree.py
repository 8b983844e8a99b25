"""The search tree every solver returns: each visited node, in visit order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from searchtrace.tasks.base import DeadEnd, Rules


@dataclass
class Node:
    """One state the search created. `state` lives in memory only; the stored tree keeps
    the moves. `g`/`h` are set by best-first searches (cost so far, heuristic); `visits`
    and `value_sum` by Monte Carlo tree search (value: the share of simulations through
    the node that reached a solution). A language-model-guided search records the line
    the model proposed (`proposal`) and the share of samples that proposed it (`prior`);
    a proposal that broke the rules is a dead end with no move and no state."""

    id: int
    parent: int | None
    move: Any
    depth: int
    state: Any
    status: str = "expanded"
    reason: DeadEnd | None = None
    widened: bool = False
    children: list[int] = field(default_factory=list)
    g: float | None = None
    h: float | None = None
    visits: int = 0
    value_sum: float = 0.0
    proposal: str | None = None
    prior: float | None = None

    @property
    def value(self) -> float | None:
        """Estimated chance that this step leads to a solution (MCTS), else None."""
        return self.value_sum / self.visits if self.visits else None


@dataclass
class SearchTree:
    """Visited nodes in visit order (ids are visit order), plus search statistics.

    Nodes added after the search by the linearizer, to find more dead ends than the search
    met, carry `widened=True`; `nodes_expanded` counts only the solver's own expansions.
    """

    solver: str
    nodes: list[Node] = field(default_factory=list)
    solution: int | None = None
    nodes_expanded: int = 0
    children_generated: int = 0  # successors the expansions produced (branching factor)
    stats: dict[str, Any] = field(default_factory=dict)  # solver-specific, e.g. batch sizes

    def add(self, parent: int | None, move: Any, state: Any, *, widened: bool = False) -> Node:
        depth = 0 if parent is None else self.nodes[parent].depth + 1
        node = Node(len(self.nodes), parent, move, depth, state, widened=widened)
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
            }
            if n.g is not None:
                node["g"], node["h"] = n.g, n.h
            if n.visits:
                node["visits"], node["value"] = n.visits, round(n.value_sum / n.visits, 6)
            if n.proposal is not None:
                node["proposal"] = n.proposal
            if n.prior is not None:
                node["prior"] = n.prior
            nodes.append(node)
        tree = {"solver": self.solver, "solution": self.solution,
                "nodes_expanded": self.nodes_expanded, "nodes": nodes}
        if self.stats:
            tree["stats"] = self.stats
        return json.dumps(tree, separators=(",", ":"), default=str)
