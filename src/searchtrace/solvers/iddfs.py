"""Iterative deepening: depth-limited depth-first searches with growing limits."""

from __future__ import annotations

from searchtrace.solvers.base import Solver
from searchtrace.solvers.classify import classify, mark_unexpanded
from searchtrace.tasks.base import Rules
from searchtrace.traces.tree import SearchTree

MAX_DEPTH = 1000


def solve_iddfs(rules: Rules, node_budget: int) -> SearchTree:
    """Depth-first search to depth 0, 1, 2, ... until a goal; the tree is the last
    iteration's (a depth-first visit order), `nodes_expanded` counts all iterations."""
    spent = 0
    tree = SearchTree(solver="iddfs")
    for limit in range(MAX_DEPTH + 1):
        tree = SearchTree(solver="iddfs")
        expanded: set[int] = set()
        cut_off = _depth_limited(rules, tree, limit, node_budget - spent, expanded)
        mark_unexpanded(tree, expanded)
        spent += tree.nodes_expanded
        tree.nodes_expanded = spent
        if tree.solution is not None or not cut_off:
            return tree
        if spent >= node_budget:
            _mark_budget(tree)
            return tree
    return tree


def _mark_budget(tree: SearchTree) -> None:
    """The budget ran out: the last node left unexpanded is where the search stopped."""
    if not any(n.status == "budget" for n in tree.nodes):
        last = max((n for n in tree.nodes if n.status == "pruned"), key=lambda n: n.id,
                   default=tree.nodes[-1])
        last.status = "budget"


def _depth_limited(
    rules: Rules, tree: SearchTree, limit: int, budget: int, expanded: set[int]
) -> bool:
    """One depth-first search to `limit`; True if some branch was cut by the limit."""
    root = tree.add(None, None, rules.initial_state())
    if classify(rules, tree, root):
        return False
    if limit == 0:
        return True
    stack = [(root.id, list(reversed(rules.expand(root.state))))]
    tree.nodes_expanded += 1
    expanded.add(root.id)
    cut_off = False
    while stack:
        node_id, pending = stack[-1]
        if not pending:
            stack.pop()
            continue
        move, state = pending.pop()
        child = tree.add(node_id, move, state)
        if classify(rules, tree, child):
            if tree.solution is not None:
                return False
            continue
        if child.depth >= limit:
            cut_off = True
            continue
        if tree.nodes_expanded >= budget:
            child.status = "budget"
            return True
        tree.nodes_expanded += 1
        expanded.add(child.id)
        stack.append((child.id, list(reversed(rules.expand(state)))))
    return cut_off


# The last iteration is a depth-first walk, and it finds the shallowest goal.
IDDFS = Solver("iddfs", search=lambda rules, budget, _settings, _seed: solve_iddfs(rules, budget),
               shortest=True, walk=True)
