"""The Solver record: how a solver is run (one problem, or a batch with a policy) and
which trees are its own."""

from __future__ import annotations

import pytest

from searchtrace.solvers.base import Solver
from searchtrace.solvers.dfs import DFS
from searchtrace.solvers.llm_mcts import LLM_MCTS
from searchtrace.solvers.mcts import MCTS, MctsSettings
from tests.solvers.problems import countdown_rules


def test_solve_takes_the_settings_models_defaults_when_given_none() -> None:
    rules = countdown_rules(2)
    assert (MCTS.solve(rules, 20_000, seed=4).to_json(rules)
            == MCTS.solve(rules, 20_000, MctsSettings(), 4).to_json(rules))
    settings = MctsSettings(variant="puct", simulations=50)
    assert MCTS.solve(rules, 20_000, settings, 4).solver == "mcts-puct"


def test_solve_passes_the_budget_settings_and_seed_through() -> None:
    calls = []
    solver = Solver("probe", search=lambda *args: calls.append(args))
    solver.solve("rules", 7, None, 3)
    assert calls == [("rules", 7, None, 3)]
    assert not solver.batched and solver.made("probe") and not solver.made("probe-x")


def test_a_solver_runs_only_the_way_it_searches() -> None:
    assert LLM_MCTS.batched and not DFS.batched
    with pytest.raises(TypeError, match="llm_mcts searches batches of problems"):
        LLM_MCTS.solve(countdown_rules(0), 100)
    with pytest.raises(TypeError, match="dfs searches one problem at a time"):
        DFS.solve_batch([], None, None, "compact", 100, 0)


def test_a_solver_whose_trees_name_a_variant_owns_only_those_names() -> None:
    assert MCTS.made("mcts-uct") and MCTS.made("mcts-puct") and not MCTS.made("mcts")
    assert LLM_MCTS.made("llm_mcts") and not LLM_MCTS.made("mcts-uct")
