"""Monte Carlo tree search: seeded, visits and values on its nodes, validated settings,
and the per-step values of the rows it makes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from searchtrace.solvers.dfs import solve_dfs
from searchtrace.solvers.mcts import MctsSettings, ValuedNode, solve_mcts
from searchtrace.traces.parse import split_completion
from searchtrace.traces.styles import get_style
from tests.conftest import SMALL_COUNTDOWN
from tests.solvers.problems import COUNTDOWN, countdown_rules


@pytest.mark.parametrize("variant", ["uct", "puct"])
@pytest.mark.parametrize("value", ["rollout", "heuristic"])
def test_mcts_is_seeded_and_keeps_visits_and_values(variant: str, value: str) -> None:
    settings = MctsSettings(simulations=200, variant=variant, value=value)
    rules = countdown_rules(3)
    first = solve_mcts(rules, 20_000, settings, seed=5)
    again = solve_mcts(rules, 20_000, settings, seed=5)
    assert first.to_json(rules) == again.to_json(rules)
    assert first.solution is not None and first.solver == f"mcts-{variant}"
    root = first.nodes[0]
    assert root.visits >= 1 and 0.0 <= root.value <= 1.0
    assert sum(first.nodes[c].visits for c in root.children) <= root.visits
    for node in first.nodes:
        if node.visits:
            assert 0.0 <= node.value <= 1.0
        if node.status == "dead_end" and node.visits:
            assert node.value == 0.0


def test_only_visited_nodes_store_a_visit_count_and_a_value() -> None:
    rules = countdown_rules(3)
    tree = solve_mcts(rules, 20_000, MctsSettings(), seed=1)
    assert all(isinstance(n, ValuedNode) for n in tree.nodes)
    stored = json.loads(tree.to_json(rules))["nodes"]
    for node, kept in zip(tree.nodes, stored, strict=True):
        if node.visits:
            assert kept["visits"] == node.visits
            assert kept["value"] == round(node.value_sum / node.visits, 6)
        else:
            assert "visits" not in kept and "value" not in kept and node.value is None


@pytest.mark.parametrize(("field", "value"), [("simulations", 0), ("exploration", 0),
                                              ("variant", "ucb"), ("value", "model"),
                                              ("rollout_depth", 0), ("rollouts", 3)])
def test_mcts_settings_are_validated(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        MctsSettings(**{field: value})


def test_an_mcts_build_records_the_solver_and_step_values(tmp_path: Path) -> None:
    raw = {**SMALL_COUNTDOWN, "solver": {"name": "mcts", "mcts": {"variant": "puct"}},
           "splits": {"train": 12, "test": 4}}
    out = tmp_path / "mcts"
    run_build(parse_config(raw), out)
    rows = [r for p in sorted((out / "data").glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()]
    assert {r["solver"] for r in rows} == {"mcts-puct"}
    for row in rows:
        think, _ = split_completion(row["completion"])
        moves = [e for e in (get_style(row["style"]).parse_line(line) for line in think.split("\n"))
                 if e.kind == "move"]
        assert len(row["step_values"]) == len(moves)
        known = [v for v in row["step_values"] if v is not None]
        assert known and all(0.0 <= v <= 1.0 for v in known)
        # difficulty comes from the reference DFS, not from the solver that made the row
        reference = solve_dfs(COUNTDOWN.rules(json.loads(row["problem"])), 20_000)
        assert row["difficulty"]["nodes_expanded"] == reference.nodes_expanded
        assert row["difficulty"]["branching"] == round(reference.branching(), 4) > 1
    card = (out / "README.md").read_text()
    assert "`step_values`: one value per move step" in card
