"""Monte Carlo tree search over any task's rules: UCT, or PUCT with priors from the
task's heuristic. Values come from random rollouts or from the heuristic.

Every node (a `ValuedNode`) keeps `visits` and `value_sum`; its value is the estimated
chance that the step into it leads to a solution, the per-step target ReST-MCTS* trains a
process reward model on. Every node of the solution path has one: the solution's value is backed up
through the path, grafted rollout nodes included. A node all of whose children are
confirmed failures is proven dead and never selected again, so the budget goes to what is
still open.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from searchtrace.solvers.base import Settings, Solver
from searchtrace.solvers.classify import classify, mark_unexpanded
from searchtrace.tasks.base import Rules
from searchtrace.traces.tree import Node, SearchTree


class MctsSettings(Settings):
    """Monte Carlo tree search, the config section `solver.mcts`: simulations per
    problem, the exploration constant, UCT or PUCT (priors from the task's heuristic),
    and rollout or heuristic values."""

    simulations: int = Field(default=200, ge=1, le=1_000_000)
    exploration: float = Field(default=1.4, gt=0, le=100)
    variant: Literal["uct", "puct"] = "uct"
    value: Literal["rollout", "heuristic"] = "rollout"
    rollout_depth: int = Field(default=50, ge=1, le=10_000)


@dataclass
class ValuedNode(Node):
    """A node of a Monte Carlo search: simulations through it and the sum of their values."""

    visits: int = 0
    value_sum: float = 0.0

    @property
    def value(self) -> float | None:
        """Estimated chance that this step leads to a solution; None if never visited."""
        return self.value_sum / self.visits if self.visits else None

    def json_fields(self) -> dict[str, Any]:
        if not self.visits:
            return {}
        return {"visits": self.visits, "value": round(self.value_sum / self.visits, 6)}


def solve_mcts(rules: Rules, node_budget: int, settings: MctsSettings, seed: int) -> SearchTree:
    """Run simulations until one reaches a goal, the simulations run out, or the node
    budget is spent. A rollout that reaches a goal is grafted into the tree, so the tree
    always holds the solution path it reports."""
    tree = SearchTree(solver=f"mcts-{settings.variant}", node_type=ValuedNode)
    draw = random.Random(seed)
    root = tree.add(None, None, rules.initial_state())
    if classify(rules, tree, root):
        return tree
    priors: dict[int, float] = {}
    dead: set[int] = set()
    expanded: set[int] = set()
    leaf = root.id
    for _ in range(settings.simulations):
        if root.id in dead or tree.nodes_expanded >= node_budget:
            break
        leaf = _select(tree, root.id, priors, dead, settings)
        node = tree.nodes[leaf]
        if node.status == "expanded" and leaf not in expanded:
            tree.nodes_expanded += 1
            expanded.add(leaf)
            _expand(rules, tree, leaf, priors, settings)
            if tree.solution is not None:
                backpropagate(tree, tree.solution, 1.0)
                break
            _mark_dead(tree, leaf, dead)
            open_children = [c for c in node.children if c not in dead]
            if open_children:
                leaf = draw.choice(open_children)
        value = _evaluate(rules, tree, leaf, draw, settings)
        if tree.solution is not None:  # the rollout reached a goal and grafted its path:
            backpropagate(tree, tree.solution, value)  # its nodes get the visit too
            break
        backpropagate(tree, leaf, value)
    mark_unexpanded(tree, expanded)
    if tree.solution is None and root.id not in dead:
        # simulations or nodes ran out: the last leaf is where the search stopped
        tree.nodes[leaf].status = "budget"
    return tree


def _select(tree: SearchTree, node_id: int, priors: dict[int, float], dead: set[int],
            settings: MctsSettings) -> int:
    """Descend by the UCT/PUCT score through expanded nodes to a leaf."""
    while True:
        node = tree.nodes[node_id]
        children = [c for c in node.children if c not in dead]
        if not children:
            return node_id
        unvisited = [c for c in children if tree.nodes[c].visits == 0]
        if unvisited and settings.variant == "uct":
            return unvisited[0]
        parent_visits = max(node.visits, 1)

        def score(child_id: int, parent_visits: int = parent_visits) -> float:
            child = tree.nodes[child_id]
            q = child.value_sum / child.visits if child.visits else 0.0
            if settings.variant == "puct":
                u = priors[child_id] * math.sqrt(parent_visits) / (1 + child.visits)
            else:
                u = math.sqrt(math.log(parent_visits) / child.visits)
            return q + settings.exploration * u

        node_id = max(children, key=score)


def _expand(rules: Rules, tree: SearchTree, node_id: int, priors: dict[int, float],
            settings: MctsSettings) -> None:
    children = rules.expand(tree.nodes[node_id].state)
    weights = []
    for move, state in children:
        child = tree.add(node_id, move, state)
        classify(rules, tree, child)
        weights.append(math.exp(-float(rules.heuristic(state))))
    total = sum(weights) or 1.0
    for child_id, weight in zip(tree.nodes[node_id].children, weights, strict=True):
        priors[child_id] = weight / total if settings.variant == "puct" else 1.0


def _mark_dead(tree: SearchTree, node_id: int, dead: set[int]) -> None:
    """Confirmed failures are dead; so is a node whose children are all dead (upwards)."""
    for child in tree.nodes[node_id].children:
        if tree.nodes[child].status == "dead_end":
            dead.add(child)
    current: int | None = node_id
    while current is not None:
        node = tree.nodes[current]
        if node.status == "dead_end" or (node.children and all(c in dead
                                                               for c in node.children)):
            dead.add(current)
            current = node.parent
        else:
            break


def _evaluate(rules: Rules, tree: SearchTree, node_id: int, draw: random.Random,
              settings: MctsSettings) -> float:
    node = tree.nodes[node_id]
    if node.status == "solution":
        return 1.0
    if node.status == "dead_end":
        return 0.0
    if settings.value == "heuristic":
        return 1.0 / (1.0 + float(rules.heuristic(node.state)))
    return _rollout(rules, tree, node_id, draw, settings.rollout_depth)


def _rollout(rules: Rules, tree: SearchTree, node_id: int, draw: random.Random,
             depth: int) -> float:
    """Random moves from the node; a rollout that reaches a goal is grafted into the tree."""
    path = []
    state = tree.nodes[node_id].state
    for _ in range(depth):
        if rules.is_goal(state):
            parent = node_id
            for move, step_state in path:
                child = tree.add(parent, move, step_state)
                parent = child.id
            classify(rules, tree, tree.nodes[parent])
            return 1.0
        if rules.dead_end(state) is not None:
            return 0.0
        children = rules.expand(state)
        if not children:
            return 0.0
        move, state = draw.choice(children)
        path.append((move, state))
    return 0.0


def backpropagate(tree: SearchTree, node_id: int, value: float) -> None:
    """Add one visit with `value` to the node and every ancestor."""
    current: int | None = node_id
    while current is not None:
        node = tree.nodes[current]
        node.visits += 1
        node.value_sum += value
        current = node.parent


# Its nodes carry values (the rows' step_values); its trees are named by the variant.
MCTS = Solver("mcts", search=solve_mcts, settings_model=MctsSettings, node_values=True,
              tree_names=("mcts-uct", "mcts-puct"))
