"""Breadth-first search over any task's rules: shallowest solution first."""

from __future__ import annotations

from collections import deque

from searchtrace.solvers.base import Solver
from searchtrace.solvers.classify import classify, mark_unexpanded
from searchtrace.tasks.base import Rules, search_key
from searchtrace.traces.tree import SearchTree


def solve_bfs(rules: Rules, node_budget: int) -> SearchTree:
    """Visit states level by level, each distinct state once, until a goal or the budget.

    Children enter the tree when they are generated, so every node is a state the search
    reached; a state already seen (by `state_key`) is not generated again.
    """
    tree = SearchTree(solver="bfs")
    root = tree.add(None, None, rules.initial_state())
    if classify(rules, tree, root):
        return tree
    key_of = search_key(rules)
    seen = {key_of(root.state)}
    frontier = deque([root.id])
    expanded: set[int] = set()
    while frontier and tree.solution is None:
        if tree.nodes_expanded >= node_budget:
            tree.nodes[frontier[0]].status = "budget"
            break
        parent = frontier.popleft()
        tree.nodes_expanded += 1
        expanded.add(parent)
        for move, state in rules.expand(tree.nodes[parent].state):
            key = key_of(state)
            if key in seen:
                continue
            seen.add(key)
            child = tree.add(parent, move, state)
            if classify(rules, tree, child):
                if tree.solution is not None:
                    break
                continue
            frontier.append(child.id)
    mark_unexpanded(tree, expanded)
    return tree


# The shallowest goal is found first: a shortest solution.
BFS = Solver("bfs", search=lambda rules, budget, _settings, _seed: solve_bfs(rules, budget),
             shortest=True)
