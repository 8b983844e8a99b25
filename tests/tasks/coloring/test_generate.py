"""Coloring generation: knob ranges, graphs that are well formed and colorable by
construction, nodes numbered in coloring order, room for distinct problems, how hard each
preset is, and every preset building its default dataset through the validation gate."""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from searchtrace.config import parse_config
from searchtrace.flows.gate import run_gate
from searchtrace.flows.steps import run_build
from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks.base import problem_id
from searchtrace.tasks.coloring.generate import PRESETS, ColoringConfig
from searchtrace.traces.linearize import NotEnoughDeadEnds, linearize_exact
from tests.tasks.coloring.support import TASK, make_problem, solved


def is_proper(data: dict, colors: list[int]) -> bool:
    return (len(colors) == data["nodes"] and all(1 <= c <= data["colors"] for c in colors)
            and all(colors[u - 1] != colors[v - 1] for u, v in data["edges"]))


def brute_force_colorable(data: dict) -> bool:
    """Whether any assignment of k colors to the n nodes is proper (no search involved)."""
    k = data["colors"]
    return any(is_proper(data, list(colors))
               for colors in product(range(1, k + 1), repeat=data["nodes"]))


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"nodes": 3}, "nodes", "must be between 4 and 40, got 3"),
        ({"nodes": 41}, "nodes", "must be between 4 and 40, got 41"),
        ({"density": 0}, "density", "must be greater than 0 and at most 1, got 0"),
        ({"density": 1.5}, "density", "must be greater than 0 and at most 1, got 1.5"),
        ({"colors": 1}, "colors", "must be between 2 and 8, got 1"),
        ({"colors": 9}, "colors", "must be between 2 and 8, got 9"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        ColoringConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_density_one_is_allowed() -> None:
    assert ColoringConfig(density=1).density == 1


# ---- generation ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_no_preset_ever_skips_a_seed(preset: str) -> None:
    config = TASK.make_config(preset, {})
    for seed in range(20):
        TASK.generate(config, np.random.default_rng(seed), "test")  # never skipped


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_graphs_are_well_formed_and_colorable(preset: str) -> None:
    for seed in range(4):
        problem = make_problem(preset, seed)
        data = problem.data
        n = data["nodes"]
        assert (n, data["colors"]) == (PRESETS[preset]["nodes"], PRESETS[preset]["colors"])
        edges = [tuple(e) for e in data["edges"]]
        assert edges == sorted(set(edges))
        assert all(1 <= u < v <= n for u, v in edges)
        assert problem.id == problem_id("coloring", data)
        assert problem.knobs == PRESETS[preset]
        _, tree = solved(preset, seed)
        final = list(tree.nodes[tree.solution].state)
        assert is_proper(data, final)


def test_every_graph_is_colorable_by_construction() -> None:
    """Dense small graphs, where most random graphs would need more colors, all color, as
    trying every assignment shows; so does the densest graph a planted coloring allows."""
    for knobs in ({"nodes": 7, "density": 0.9, "colors": 3},
                  {"nodes": 8, "density": 1, "colors": 2},
                  {"nodes": 6, "density": 1, "colors": 4}):
        config = ColoringConfig(**knobs)
        for seed in range(15):
            data = TASK.generate(config, np.random.default_rng(seed), "train").data
            assert brute_force_colorable(data), data
    big = ColoringConfig(nodes=40, density=1, colors=8)
    data = TASK.generate(big, np.random.default_rng(0), "train").data
    assert TASK.rules(data).solvable((0,) * 40)


def test_planted_classes_are_balanced_and_never_joined_inside() -> None:
    """At density 1 every pair of nodes in different hidden classes is joined: with classes
    as even as possible (7 nodes, 3 colors: sizes 3, 2, 2), that is 21 - 3 - 1 - 1 edges,
    and the graph's complement is exactly those classes' cliques."""
    for seed in range(10):
        data = TASK.generate(ColoringConfig(nodes=7, density=1, colors=3),
                             np.random.default_rng(seed), "train").data
        assert len(data["edges"]) == 16
        joined = {tuple(e) for e in data["edges"]}
        apart = [(u, v) for u in range(1, 8) for v in range(u + 1, 8) if (u, v) not in joined]
        classes: list[set[int]] = []
        for u, v in apart:
            home = next((c for c in classes if u in c or v in c), None)
            if home is None:
                classes.append({u, v})
            else:
                home |= {u, v}
        assert sorted(len(c) for c in classes) == [2, 2, 3]


def test_easy_has_room_for_a_default_build() -> None:
    """1,500 easy draws (more than the default 1,000 + 100 rows) repeat under 5% of the
    time, so deduplication costs a default build little."""
    config = TASK.make_config("easy", {})
    ids = {TASK.generate(config, np.random.default_rng(np.random.SeedSequence(0, spawn_key=(i,))),
                         "train").id for i in range(1_500)}
    assert len(ids) > 0.95 * 1_500


def test_nodes_are_numbered_in_maximum_cardinality_order() -> None:
    """Node 1 has the highest degree; every later node has at least as many lower-numbered
    neighbors as any node after it."""
    for seed in range(4):
        data = make_problem("medium", seed).data
        n = data["nodes"]
        adj = {v: set() for v in range(1, n + 1)}
        for u, v in data["edges"]:
            adj[u].add(v)
            adj[v].add(u)
        assert len(adj[1]) == max(len(a) for a in adj.values())
        for i in range(2, n + 1):
            earlier = set(range(1, i))
            assert all(len(adj[i] & earlier) >= len(adj[j] & earlier) for j in range(i, n + 1))


def test_prompt_lists_the_edges_and_only_the_colors_allowed() -> None:
    problem = make_problem("medium", 0)
    u, v = problem.data["edges"][0]
    assert f"{u}-{v}" in problem.prompt
    assert "red (R), green (G), blue (B)." in problem.prompt
    assert "yellow" not in problem.prompt
    assert "<answer></answer>" in problem.prompt


# ---- difficulty ------------------------------------------------------------------------


def test_hard_graphs_solve_within_the_budget() -> None:
    for seed in range(6):
        _, tree = solved("hard", seed)
        assert tree.solution is not None and tree.nodes_expanded < 20_000


def test_medium_graphs_supply_five_dead_ends() -> None:
    config = TASK.make_config("medium", {})
    short = 0
    for seed in range(60):
        problem = TASK.generate(config, np.random.default_rng(seed), "train")
        rules = TASK.rules(problem.data)
        try:
            linearize_exact(solve_dfs(rules, 20_000), rules, 5, "uniform", 6)
        except NotEnoughDeadEnds:
            short += 1
    assert short <= 6


# ---- default builds --------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_preset_builds_its_default_rows_through_the_gate(preset: str, tmp_path: Path) -> None:
    """Every preset builds its default dataset (1,000 train + 100 test rows, default solver,
    k-mix and gate settings) through the real Beam pipeline and passes the validation gate:
    no candidate is lost for want of a coloring, and easy has enough distinct graphs."""
    config = parse_config({"task": {"name": "coloring", "preset": preset}})
    assert config.splits == {"train": 1000, "test": 100}
    out = tmp_path / preset
    run_build(config, out)
    report = run_gate(out)  # the default ceiling on rejected candidates, every row replayed
    assert report.ok, report.failures
    assert (report.rows, report.reverified) == (1100, 1100)
    stats = json.loads((out / "stats.json").read_text())
    reasons = {reason for bucket in stats["rejections"].values() for reason in bucket}
    assert not any(reason.startswith("generate:") for reason in reasons), reasons
    tried = sum(bucket["candidates"] for bucket in stats["buckets"])
    rejected = sum(sum(bucket.values()) for bucket in stats["rejections"].values())
    assert rejected <= 0.1 * tried, stats["rejections"]
