"""Best-first search: A* (f = g + h) and greedy best-first (f = h) over any task's rules.

With the task's admissible heuristic, A* returns a shortest solution. Every node records
g (moves from the start) and h (the heuristic): a `ScoredNode`.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Any

from searchtrace.solvers.base import Solver
from searchtrace.solvers.classify import classify, mark_unexpanded
from searchtrace.tasks.base import Rules, search_key
from searchtrace.traces.tree import Node, SearchTree


@dataclass
class ScoredNode(Node):
    """A node of a best-first search: g (moves from the start) and h (the heuristic), set
    when the search generates it (a node the linearizer adds later has neither)."""

    g: float | None = None
    h: float | None = None

    def json_fields(self) -> dict[str, Any]:
        return {} if self.g is None else {"g": self.g, "h": self.h}


def solve_astar(rules: Rules, node_budget: int) -> SearchTree:
    return _best_first(rules, node_budget, "astar", weight_g=1.0)


def solve_best_first(rules: Rules, node_budget: int) -> SearchTree:
    return _best_first(rules, node_budget, "best_first", weight_g=0.0)


def _best_first(rules: Rules, node_budget: int, name: str, weight_g: float) -> SearchTree:
    """Pop the lowest f (ties: lower h, then first generated), expand it, push its children.

    A state reached again by a cheaper path is pushed again; a stale entry is skipped when
    popped. Nodes enter the tree when they are generated; the search stops when a goal is
    popped, so A*'s solution is optimal under an admissible heuristic.
    """
    tree = SearchTree(solver=name, node_type=ScoredNode)
    root = tree.add(None, None, rules.initial_state())
    root.g, root.h = 0.0, float(rules.heuristic(root.state))
    order = itertools.count()
    key_of = search_key(rules)
    best_g = {key_of(root.state): 0.0}
    frontier = [(weight_g * root.g + root.h, root.h, next(order), root.id)]
    expanded: set[int] = set()
    while frontier:
        _, _, _, node_id = heapq.heappop(frontier)
        node = tree.nodes[node_id]
        if node.g > best_g.get(key_of(node.state), float("inf")):
            continue  # a cheaper path to this state was found after this entry was pushed
        if _is_goal_or_dead(rules, tree, node):
            if node.status == "solution":
                break
            continue
        if tree.nodes_expanded >= node_budget:
            node.status = "budget"
            break
        tree.nodes_expanded += 1
        expanded.add(node.id)
        for move, state in rules.expand(node.state):
            g = node.g + 1.0
            key = key_of(state)
            if g >= best_g.get(key, float("inf")):
                continue
            best_g[key] = g
            child = tree.add(node.id, move, state)
            child.g, child.h = g, float(rules.heuristic(state))
            heapq.heappush(frontier, (weight_g * g + child.h, child.h, next(order), child.id))
    mark_unexpanded(tree, expanded)
    return tree


def _is_goal_or_dead(rules: Rules, tree: SearchTree, node: ScoredNode) -> bool:
    """Classify a popped node. Goals count only when popped (that is what makes A*
    optimal), so the tree's solution is set here rather than at generation."""
    if rules.is_goal(node.state):
        node.status = "solution"
        tree.solution = node.id
        return True
    return classify(rules, tree, node)


# Under the rules' admissible heuristic A* returns a shortest solution; greedy does not.
ASTAR = Solver("astar", search=lambda rules, budget, _settings, _seed: solve_astar(rules, budget),
               shortest=True)
BEST_FIRST = Solver("best_first",
                    search=lambda rules, budget, _settings, _seed: solve_best_first(rules, budget))
