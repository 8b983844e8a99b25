"""Depth-first backtracking search over any task's rules, with a node budget."""

from __future__ import annotations

from searchtrace.solvers.base import Solver
from searchtrace.solvers.classify import classify
from searchtrace.tasks.base import Rules
from searchtrace.traces.tree import SearchTree


def solve_dfs(rules: Rules, node_budget: int) -> SearchTree:
    """Visit states depth first in the rules' move order until a goal or the budget.

    Every visited state becomes a node; the search stops at the first solution. A node
    visited when the budget runs out is marked `budget` and the tree has no solution.
    """
    tree = SearchTree(solver="dfs")
    root = tree.add(None, None, rules.initial_state())
    # Each stack entry: (node id, pending (move, state) children in reverse order).
    stack: list[tuple[int, list]] = []
    pending_root = _visit(rules, tree, root.id)
    if pending_root is None:
        return tree
    stack.append((root.id, pending_root))
    while stack:
        node_id, pending = stack[-1]
        if not pending:
            stack.pop()
            continue
        if tree.nodes_expanded >= node_budget:
            move, state = pending.pop()
            tree.add(node_id, move, state).status = "budget"
            return tree
        move, state = pending.pop()
        child = tree.add(node_id, move, state)
        children = _visit(rules, tree, child.id)
        if tree.solution is not None:
            return tree
        if children is not None:
            stack.append((child.id, children))
    return tree


def _visit(rules: Rules, tree: SearchTree, node_id: int) -> list | None:
    """Classify a node; return its children (reversed, for popping) if it is expanded."""
    node = tree.nodes[node_id]
    if classify(rules, tree, node):
        return None
    tree.nodes_expanded += 1
    children = rules.expand(node.state)
    tree.children_generated += len(children)
    if not children:
        node.status = "dead_end"  # stuck, but no rule confirms it: never said as a dead end
        return None
    children.reverse()
    return children


# Its visit order is a walk: traces in its own order (`natural`) need one.
DFS = Solver("dfs", search=lambda rules, budget, _settings, _seed: solve_dfs(rules, budget),
             walk=True)
