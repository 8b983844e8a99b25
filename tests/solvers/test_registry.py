"""The solver registry: every solver by name, each one's stated properties, and what every
solver promises (a solution that replays, a budget that stops it). The properties are
checked against what the solvers do: other code decides by them, never by a name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.solvers.best_first import ASTAR, BEST_FIRST
from searchtrace.solvers.bfs import BFS
from searchtrace.solvers.dfs import DFS
from searchtrace.solvers.iddfs import IDDFS
from searchtrace.solvers.llm_mcts import LLM_MCTS, LlmMctsSection
from searchtrace.solvers.mcts import MCTS, MctsSettings
from searchtrace.solvers.registry import all_solvers, get_solver, solver_names, solver_of_tree
from searchtrace.traces.linearize import linearize_natural
from tests.conftest import SMALL_COUNTDOWN
from tests.solvers.problems import MAZE, countdown_rules, maze_problems, sudoku_rules

# the solvers that search one problem at a time (llm_mcts needs a policy)
SOLVERS = [solver.name for solver in all_solvers() if not solver.batched]
POLICY = {"backend": "http", "url": "http://127.0.0.1:9/v1"}


def test_the_registry_lists_every_solver_in_order() -> None:
    assert solver_names() == ("dfs", "bfs", "astar", "best_first", "iddfs", "mcts", "llm_mcts")
    assert all_solvers() == (DFS, BFS, ASTAR, BEST_FIRST, IDDFS, MCTS, LLM_MCTS)
    for name in solver_names():
        assert get_solver(name).name == name


def test_an_unknown_solver_is_a_user_error_naming_the_allowed_ones() -> None:
    with pytest.raises(UserError) as error:
        get_solver("beam_search")
    assert str(error.value) == ("unknown solver 'beam_search'; allowed: dfs, bfs, astar, "
                                "best_first, iddfs, mcts, llm_mcts")


@pytest.mark.parametrize(("name", "shortest", "walk", "needs_policy", "node_values", "batched",
                          "settings_model"), [
    ("dfs", False, True, False, False, False, None),
    ("bfs", True, False, False, False, False, None),
    ("astar", True, False, False, False, False, None),
    ("best_first", False, False, False, False, False, None),
    ("iddfs", True, True, False, False, False, None),
    ("mcts", False, False, False, True, False, MctsSettings),
    ("llm_mcts", False, False, True, True, True, LlmMctsSection),
])
def test_each_solver_states_its_properties(name: str, shortest: bool, walk: bool,
                                           needs_policy: bool, node_values: bool,
                                           batched: bool, settings_model: Any) -> None:
    solver = get_solver(name)
    assert (solver.shortest, solver.walk, solver.needs_policy, solver.node_values,
            solver.batched, solver.settings_model) == (
        shortest, walk, needs_policy, node_values, batched, settings_model)


def test_a_rows_solver_column_finds_the_solver_that_made_it() -> None:
    assert solver_of_tree("mcts-uct") is MCTS and solver_of_tree("mcts-puct") is MCTS
    for solver in all_solvers():
        if solver is not MCTS:
            assert solver_of_tree(solver.name) is solver
    assert solver_of_tree("mcts") is None  # an MCTS tree always names its variant
    assert solver_of_tree("beam_search") is None and solver_of_tree("") is None


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("make_rules", [countdown_rules, sudoku_rules])
def test_every_solver_finds_a_solution_whose_path_replays(name: str, make_rules: Any) -> None:
    for seed in range(4):
        rules = make_rules(seed)
        tree = get_solver(name).solve(rules, 20_000, seed=seed)
        assert tree.solution is not None
        state = rules.initial_state()
        for node_id in tree.solution_path()[1:]:
            state = rules.apply(state, tree.nodes[node_id].move)
            assert rules.state_key(state) == rules.state_key(tree.nodes[node_id].state)
        assert rules.is_goal(state)
        statuses = {n.status for n in tree.nodes}
        assert statuses <= {"expanded", "dead_end", "solution", "pruned", "budget"}
        for node in tree.nodes:
            if node.status == "dead_end" and node.reason is not None:
                assert rules.confirm_dead_end(node.state, node.reason) is None
        assert get_solver(name).made(tree.solver)


@pytest.mark.parametrize("name", SOLVERS)
def test_a_tiny_budget_leaves_no_solution_and_marks_the_stop(name: str) -> None:
    rules = sudoku_rules(0)
    tree = get_solver(name).solve(rules, 1, MctsSettings(simulations=1, rollout_depth=1), 0)
    assert tree.solution is None
    assert sum(n.status == "budget" for n in tree.nodes) == 1


def test_solvers_that_promise_a_shortest_solution_find_one() -> None:
    """On mazes, where depth-first routes are often longer: every `shortest` solver's
    solution is as short as breadth-first search's, and the others' sometimes are not."""
    longer = dict.fromkeys(SOLVERS, 0)
    for problem in maze_problems(12):
        rules = MAZE.rules(problem.data)
        best = len(BFS.solve(rules, 1_000_000).solution_path())
        for name in SOLVERS:
            tree = get_solver(name).solve(rules, 1_000_000, seed=1)
            length = len(tree.solution_path())
            assert length >= best
            longer[name] += length > best
    assert all(longer[s.name] == 0 for s in all_solvers() if s.shortest)
    assert longer["dfs"] > 0 and longer["best_first"] > 0 and longer["mcts"] > 0


@pytest.mark.parametrize("name", SOLVERS)
def test_a_walking_solvers_visit_order_is_a_walk(name: str) -> None:
    """Each node of a walk is a child of a node on the path to the one visited before it,
    which traces in the solver's own order (`natural`) need; the others are not walks."""
    walks = []
    for seed in range(3):
        tree = get_solver(name).solve(countdown_rules(seed), 20_000, seed=seed)
        walks.append(all(tree.nodes[i].parent in tree.path_to(i - 1)
                         for i in range(1, len(tree.nodes))))
        if get_solver(name).walk:
            trace = linearize_natural(tree)
            assert trace.num_backtracks == sum(1 for s in trace.steps if s.kind == "dead_end")
    assert all(walks) if get_solver(name).walk else not all(walks)


@pytest.mark.parametrize("name", SOLVERS)
def test_solvers_with_node_values_store_visits_and_values(name: str) -> None:
    rules = countdown_rules(3)
    stored = json.loads(get_solver(name).solve(rules, 20_000, seed=5).to_json(rules))
    valued = [n for n in stored["nodes"] if "visits" in n]
    assert bool(valued) == get_solver(name).node_values
    assert all(0.0 <= n["value"] <= 1.0 for n in valued)


def test_natural_traces_need_a_walking_solver() -> None:
    raw = {**SMALL_COUNTDOWN, "traces": {"k_mix": "natural"}, "solver": {"name": "bfs"}}
    with pytest.raises(UserError, match="only dfs and iddfs visit as a walk; got solver bfs"):
        parse_config(raw)
    parse_config({**raw, "solver": {"name": "iddfs"}})


def test_a_policy_goes_with_the_solvers_that_need_one_only() -> None:
    with pytest.raises(UserError, match="solver llm_mcts needs a `policy:` section"):
        parse_config({**SMALL_COUNTDOWN, "solver": {"name": "llm_mcts"}})
    with pytest.raises(UserError, match="policy: only solver llm_mcts uses a policy; solver "
                                        "is mcts"):
        parse_config({**SMALL_COUNTDOWN, "solver": {"name": "mcts"}, "policy": POLICY})
    parse_config({**SMALL_COUNTDOWN, "solver": {"name": "llm_mcts"}, "policy": POLICY})
