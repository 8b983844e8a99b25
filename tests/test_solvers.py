"""The search algorithms: what each promises (optimality, order, statistics, budgets)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.solvers.mcts import MctsSettings, solve_mcts
from searchtrace.solvers.registry import SOLVERS, solve
from searchtrace.tasks import get_task
from searchtrace.tasks.base import GenerationSkipped
from searchtrace.traces.linearize import linearize_natural
from tests.conftest import SMALL_COUNTDOWN

COUNTDOWN = get_task("countdown")
SUDOKU = get_task("sudoku")


def countdown_rules(seed: int):
    config = COUNTDOWN.make_config("medium", {})
    return COUNTDOWN.rules(COUNTDOWN.generate(config, np.random.default_rng(seed), "train").data)


def sudoku_rules(seed: int):
    config = SUDOKU.make_config("easy", {"size": 6, "givens": 16})
    for index in range(50):
        try:
            problem = SUDOKU.generate(config, np.random.default_rng([seed, index]), "train")
        except Exception:
            continue
        return SUDOKU.rules(problem.data)
    raise AssertionError("no 6x6 puzzle")


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("make_rules", [countdown_rules, sudoku_rules])
def test_every_solver_finds_a_solution_whose_path_replays(name: str, make_rules) -> None:
    for seed in range(4):
        rules = make_rules(seed)
        tree = solve(name, rules, 20_000, MctsSettings(), seed)
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


def test_astar_records_g_and_an_admissible_h_on_the_solution_path() -> None:
    for seed in range(3):
        rules = sudoku_rules(seed)
        tree = solve("astar", rules, 20_000, MctsSettings(), seed)
        path = tree.solution_path()
        for depth, node_id in enumerate(path):
            node = tree.nodes[node_id]
            assert node.g == depth
            assert node.h <= len(path) - 1 - depth  # never overestimates what is left
        stored = json.loads(tree.to_json(rules))["nodes"]
        assert all("g" in n and "h" in n for n in stored)


def test_astar_expands_no_more_than_bfs() -> None:
    for seed in range(5):
        rules = countdown_rules(seed)
        astar = solve("astar", rules, 20_000, MctsSettings(), seed)
        bfs = solve("bfs", rules, 20_000, MctsSettings(), seed)
        assert astar.nodes_expanded <= bfs.nodes_expanded


def test_iddfs_counts_every_iteration_and_keeps_the_last_walk() -> None:
    rules = countdown_rules(1)
    iddfs = solve("iddfs", rules, 20_000, MctsSettings(), 1)
    last_walk = sum(1 for n in iddfs.nodes if n.status == "expanded")
    assert iddfs.nodes_expanded > last_walk  # earlier, shallower iterations count too
    trace = linearize_natural(iddfs)
    assert trace.num_backtracks == sum(1 for s in trace.steps if s.kind == "dead_end")


@pytest.mark.parametrize("variant", ["uct", "puct"])
@pytest.mark.parametrize("value", ["rollout", "heuristic"])
def test_mcts_is_seeded_and_keeps_visits_and_values(variant: str, value: str) -> None:
    settings = MctsSettings(simulations=200, variant=variant, value=value)
    rules = countdown_rules(3)
    first = solve_mcts(rules, 20_000, settings, seed=5)
    again = solve_mcts(rules, 20_000, settings, seed=5)
    assert first.to_json(rules) == again.to_json(rules)
    assert first.solution is not None
    root = first.nodes[0]
    assert root.visits >= 1 and 0.0 <= root.value <= 1.0
    assert sum(first.nodes[c].visits for c in root.children) <= root.visits
    for node in first.nodes:
        if node.visits:
            assert 0.0 <= node.value <= 1.0
        if node.status == "dead_end" and node.visits:
            assert node.value == 0.0


@pytest.mark.parametrize("name", SOLVERS)
def test_a_tiny_budget_leaves_no_solution_and_marks_the_stop(name: str) -> None:
    rules = sudoku_rules(0)
    tree = solve(name, rules, 1, MctsSettings(simulations=1, rollout_depth=1), 0)
    assert tree.solution is None
    assert sum(n.status == "budget" for n in tree.nodes) == 1


def test_natural_traces_need_a_depth_first_solver() -> None:
    raw = {**SMALL_COUNTDOWN, "traces": {"k_mix": "natural"}, "solver": {"name": "bfs"}}
    with pytest.raises(UserError, match="only dfs and iddfs visit as a walk"):
        parse_config(raw)
    parse_config({**raw, "solver": {"name": "iddfs"}})


def test_an_mcts_build_records_the_solver_and_step_values(tmp_path) -> None:
    from searchtrace.flows.steps import run_build

    raw = {**SMALL_COUNTDOWN, "solver": {"name": "mcts", "mcts": {"variant": "puct"}},
           "splits": {"train": 12, "test": 4}}
    out = tmp_path / "mcts"
    run_build(parse_config(raw), out)
    import pyarrow.parquet as pq

    rows = [r for p in sorted((out / "data").glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()]
    assert {r["solver"] for r in rows} == {"mcts-puct"}
    from searchtrace.traces.parse import split_completion
    from searchtrace.traces.styles import get_style

    for row in rows:
        think, _ = split_completion(row["completion"])
        style = get_style(row["style"])
        moves = [e for e in (style.parse_line(line) for line in think.split("\n"))
                 if e.kind == "move"]
        assert len(row["step_values"]) == len(moves)
        known = [v for v in row["step_values"] if v is not None]
        assert known and all(0.0 <= v <= 1.0 for v in known)
        # difficulty comes from the reference DFS, not from the solver that made the row
        reference = solve("dfs", COUNTDOWN.rules(json.loads(row["problem"])), 20_000,
                          MctsSettings(), 0)
        assert row["difficulty"]["nodes_expanded"] == reference.nodes_expanded
        assert row["difficulty"]["branching"] == round(reference.branching(), 4) > 1


def test_astar_on_mazes_is_optimal_and_expands_no_more_than_bfs() -> None:
    maze = get_task("maze")
    config = maze.make_config("medium", {})
    checked = 0
    for seed in range(40):
        try:
            problem = maze.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            continue
        rules = maze.rules(problem.data)
        astar = solve("astar", rules, 1_000_000, MctsSettings(), 0)
        bfs = solve("bfs", rules, 1_000_000, MctsSettings(), 0)
        assert len(astar.solution_path()) == len(bfs.solution_path())  # both shortest
        assert astar.nodes_expanded <= bfs.nodes_expanded
        open_cells = sum(line.count(".") + line.count("S") + line.count("G")
                         for line in problem.data["grid"])
        assert bfs.nodes_expanded <= open_cells  # the maze's search key: each cell once
        checked += 1
    assert checked >= 30
