"""Solvers by name: every one takes the rules and returns a SearchTree."""

from __future__ import annotations

from searchtrace.solvers.best_first import solve_astar, solve_best_first
from searchtrace.solvers.bfs import solve_bfs
from searchtrace.solvers.dfs import solve_dfs
from searchtrace.solvers.iddfs import solve_iddfs
from searchtrace.solvers.mcts import MctsSettings, solve_mcts
from searchtrace.solvers.tree import SearchTree
from searchtrace.tasks.base import Rules

SOLVERS = ("dfs", "bfs", "astar", "best_first", "iddfs", "mcts")
DEPTH_FIRST = ("dfs", "iddfs")  # their visit order is a walk: `natural` traces need one
# They promise a shortest solution (A* under the rules' admissible heuristic; iterative
# deepening finds the shallowest goal); the verifier holds their rows to it.
SHORTEST = ("bfs", "astar", "iddfs")


def solve(name: str, rules: Rules, node_budget: int, mcts: MctsSettings, seed: int) -> SearchTree:
    """Run solver `name`; `seed` drives the only randomised one (MCTS)."""
    if name == "dfs":
        return solve_dfs(rules, node_budget)
    if name == "bfs":
        return solve_bfs(rules, node_budget)
    if name == "astar":
        return solve_astar(rules, node_budget)
    if name == "best_first":
        return solve_best_first(rules, node_budget)
    if name == "iddfs":
        return solve_iddfs(rules, node_budget)
    if name == "mcts":
        return solve_mcts(rules, node_budget, mcts, seed)
    raise ValueError(f"unknown solver {name!r}; allowed: {', '.join(SOLVERS)}")
