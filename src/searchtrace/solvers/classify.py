"""How every solver classifies a state it visits, so all trees mean the same thing."""

from __future__ import annotations

from searchtrace.tasks.base import Rules
from searchtrace.traces.tree import Node, SearchTree


def classify(rules: Rules, tree: SearchTree, node: Node) -> bool:
    """Mark `node` as solution or dead end where the rules say so; True if it is either.

    A solution also becomes the tree's solution (the first one found wins).
    """
    if rules.is_goal(node.state):
        node.status = "solution"
        if tree.solution is None:
            tree.solution = node.id
        return True
    dead = rules.dead_end(node.state)
    if dead is not None:
        node.status = "dead_end"
        node.reason = dead
        return True
    return False


def mark_unexpanded(tree: SearchTree, expanded: set[int]) -> None:
    """Generated nodes the search never expanded (it stopped first) become `pruned`."""
    for node in tree.nodes:
        if node.status == "expanded" and node.id not in expanded:
            node.status = "pruned"
