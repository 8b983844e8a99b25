"""Every solver, by name: one line per solver. Adding a solver is its module and its line
here; the config's allowed names and settings sections come from this list."""

from __future__ import annotations

from searchtrace.errors import UserError
from searchtrace.solvers.base import Solver
from searchtrace.solvers.best_first import ASTAR, BEST_FIRST
from searchtrace.solvers.bfs import BFS
from searchtrace.solvers.dfs import DFS
from searchtrace.solvers.iddfs import IDDFS
from searchtrace.solvers.llm_mcts import LLM_MCTS
from searchtrace.solvers.mcts import MCTS

_SOLVERS: dict[str, Solver] = {solver.name: solver for solver in (
    DFS,
    BFS,
    ASTAR,
    BEST_FIRST,
    IDDFS,
    MCTS,
    LLM_MCTS,
)}


def solver_names() -> tuple[str, ...]:
    """The registered solvers' names, in registry order (the order errors list them in)."""
    return tuple(_SOLVERS)


def all_solvers() -> tuple[Solver, ...]:
    return tuple(_SOLVERS.values())


def get_solver(name: str) -> Solver:
    """The solver called `name`; a UserError naming the allowed ones if there is none."""
    solver = _SOLVERS.get(name)
    if solver is None:
        raise UserError(f"unknown solver {name!r}; allowed: {', '.join(_SOLVERS)}")
    return solver


def solver_of_tree(tree_solver: str) -> Solver | None:
    """The solver whose trees carry the name `tree_solver` (a row's `solver` column, e.g.
    `mcts-puct`), or None for a name no registered solver writes."""
    return next((s for s in _SOLVERS.values() if s.made(tree_solver)), None)
