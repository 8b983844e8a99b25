"""LLM-guided MCTS with real policies: a tiny model trained here by the trainer stage,
sampled in-process and served by a real OpenAI-compatible server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
import yaml

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.plan import Candidate
from searchtrace.pipelines.process import Generated, generate_candidate, llm_mcts_settings
from searchtrace.solvers.base import SearchProblem
from searchtrace.solvers.llm_mcts import (
    LLM_MCTS,
    ProposedNode,
    Rejection,
    read_proposal,
    solve_llm_mcts,
)
from searchtrace.solvers.policy_local import LocalPolicy
from searchtrace.tasks import get_task
from searchtrace.tasks.base import DeadEnd
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.tree import SearchTree

pytest.importorskip("torch")  # the `train` extra; .ci/run installs it

TASK = {"name": "countdown", "preset": "easy",
        "knobs": {"count": 3, "number_range": [1, 7], "target_range": [3, 50]}}
TRACES = {"k_mix": {0: 0.5, 1: 0.5}, "style": "compact", "max_dead_end_length": 3}
COMPACT = get_style("compact")


def llm_config(policy: dict[str, Any], **sections: Any) -> dict[str, Any]:
    raw = {"name": "llm-test", "task": TASK, "traces": TRACES, "seed": 11,
           "solver": {"name": "llm_mcts", "node_budget": 48,
                      "llm_mcts": {"simulations": 24, "problems_per_batch": 8}},
           "policy": {"samples": 12, "max_step_tokens": 24, **policy},
           "splits": {"train": 6, "test": 2}}
    raw.update(sections)
    return raw


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1M-parameter model trained by the trainer stage on verified k=0 traces of the
    same small Countdown task (about 2 minutes here)."""
    from searchtrace.trainer.sft import SftSettings, run_sft

    root = tmp_path_factory.mktemp("policy")
    data = parse_config({"name": "policy-data", "task": TASK, "solver": {"name": "dfs"},
                         "traces": {"k_mix": {0: 1.0}, "style": "compact"},
                         "splits": {"train": 500, "test": 10}, "seed": 7})
    run_build(data, root / "data")
    run_sft(root / "data", "tiny", root / "sft", SftSettings(epochs=16, save_steps=10_000))
    return root / "sft"


def test_a_proposal_is_a_legal_step_a_confirmed_dead_end_or_a_named_broken_rule() -> None:
    task = get_task("countdown")
    data = {"numbers": [3, 4, 11], "target": 10}
    rules, text = task.rules(data), task.phrasing("compact", data)
    state = rules.initial_state()
    move, after = read_proposal(rules, text, COMPACT, state, "try 3+4=7 -> [7, 11]")
    assert sorted(after) == [7, 11]
    cases = {"try 5+4=9 -> [9, 11]": "number_not_available",
             "try 3+4=8 -> [8, 11]": "wrong_result",
             "try 3+4=7 -> [7, 12]": "wrong_state",
             "try 3 plus 4 -> [7, 11]": "unparsable_move",
             "3 and 4 make 7": "unparsable_step",
             "back to [3, 4, 11]": "backtrack_without_dead_end",
             "goal: 10 = 10": "false_goal",
             "dead: 3,4 cannot make 10": "false_dead_end",
             "dead: nothing works": "unparsable_dead_end"}
    for line, code in cases.items():
        meaning = read_proposal(rules, text, COMPACT, state, line)
        assert isinstance(meaning, Rejection) and meaning.code == code, (line, meaning)
    claim = read_proposal(rules, text, COMPACT, (1, 1), "dead: 1,1 cannot make 10")
    assert claim == DeadEnd("pair_cannot_reach", (1, 1))
    assert move is not None


def test_a_proposed_node_stores_its_value_then_the_models_line_and_its_prior() -> None:
    """The stored node keeps the order rows were written in: visits and value (as the
    symbolic MCTS), then the proposal and the prior, each only where it is set."""
    task = get_task("countdown")
    data = {"numbers": [3, 4, 11], "target": 10}
    rules = task.rules(data)
    tree = SearchTree(solver=LLM_MCTS.name, node_type=ProposedNode)
    root = tree.add(None, None, rules.initial_state())
    move, state = rules.expand(root.state)[0]
    child = tree.add(root.id, move, state)
    child.visits, child.value_sum, child.proposal, child.prior = 3, 1.0, "try 3+4=7", 0.25
    rejected = tree.add(root.id, None, None)
    rejected.status, rejected.proposal = "dead_end", "3 and 4 make 7"
    nodes = json.loads(tree.to_json(rules))["nodes"]
    assert list(nodes[1])[-4:] == ["visits", "value", "proposal", "prior"]
    assert (nodes[1]["value"], nodes[1]["prior"]) == (0.333333, 0.25)
    assert list(nodes[2])[-1] == "proposal" and "prior" not in nodes[2]
    assert not {"visits", "proposal", "prior"} & set(nodes[0])


def _problems(count: int) -> tuple[list[Generated], list[SearchProblem]]:
    config = parse_config(llm_config({"backend": "http", "url": "http://127.0.0.1:9/v1"}))
    task = get_task("countdown")
    generated = [generate_candidate(task, config.task_config(), Candidate("train", 0, 0, i), 11)
                 for i in range(count)]
    generated = [g for g in generated if isinstance(g, Generated)]
    problems = [SearchProblem(task.rules(g.problem.data), task.phrasing("compact", g.problem.data),
                              g.problem.prompt) for g in generated]
    return generated, problems


def test_the_search_sends_each_frontier_in_one_call_and_checks_every_proposal(
        checkpoint: Path) -> None:
    config = parse_config(llm_config({"backend": "local", "checkpoint": str(checkpoint)}))
    _, problems = _problems(16)
    policy = LocalPolicy(checkpoint)
    trees = solve_llm_mcts(problems, policy, llm_mcts_settings(config), "compact", 48, seed=5)
    sizes = policy.stats.batch_sizes
    assert sizes[0] == len(problems)  # the first wave: every root in one call
    assert all(1 <= s <= len(problems) for s in sizes) and sizes == sorted(sizes, reverse=True)
    assert policy.stats.samples == 12 * sum(sizes)
    rejected: Counter[str] = Counter()
    legal = 0
    for tree, problem in zip(trees, problems, strict=True):
        assert tree.stats["waves"] >= 1 and tree.stats["frontier_batch_max"] == sizes[0]
        for node in tree.nodes[1:]:
            parent = tree.nodes[node.parent]
            if node.proposal is None:
                continue
            meaning = read_proposal(problem.rules, problem.text, COMPACT, parent.state,
                                    node.proposal)
            if node.state is None:  # a proposal that broke a rule: a dead end saying which
                assert node.status == "dead_end" and isinstance(meaning, Rejection)
                assert node.reason == DeadEnd(meaning.code, (meaning.message,))
                rejected[meaning.code] += 1
            else:
                assert isinstance(meaning, tuple)
                assert problem.rules.state_key(meaning[1]) == problem.rules.state_key(node.state)
                legal += 1
        priors = [tree.nodes[c].prior for c in tree.nodes[0].children if tree.nodes[c].prior]
        assert not priors or abs(sum(priors) - 1) < 1e-5  # stored to 6 places
    solved = [t for t in trees if t.solution is not None]
    assert rejected and legal and solved, (rejected, legal, len(solved))
    for tree, problem in zip(trees, problems, strict=True):
        if tree.solution is not None:
            state = problem.rules.initial_state()
            for node_id in tree.solution_path()[1:]:
                state = problem.rules.apply(state, tree.nodes[node_id].move)
            assert problem.rules.is_goal(state)


def test_rollout_values_replay_the_models_continuations_through_the_rules(
        checkpoint: Path) -> None:
    raw = llm_config({"backend": "local", "checkpoint": str(checkpoint)})
    raw["solver"]["llm_mcts"]["value"] = "rollout"
    settings = llm_mcts_settings(parse_config(raw))
    _, problems = _problems(8)
    policy = LocalPolicy(checkpoint)
    trees = solve_llm_mcts(problems, policy, settings, "compact", 48, seed=3)
    waves = max(t.stats["waves"] for t in trees)
    assert policy.stats.calls > waves  # rollouts are calls of their own, after expansions
    assert policy.stats.samples < 12 * policy.stats.prompts  # rollouts sample once
    for tree, problem in zip(trees, problems, strict=True):
        for node in tree.nodes[1:]:
            if node.visits:
                assert 0.0 <= node.value <= 1.0
        if tree.solution is not None:
            state = problem.rules.initial_state()
            for node_id in tree.solution_path()[1:]:
                state = problem.rules.apply(state, tree.nodes[node_id].move)
            assert problem.rules.is_goal(state)
    assert any(t.solution is not None for t in trees)


def _rows(out: Path) -> list[dict[str, Any]]:
    return [row for path in sorted((out / "data").glob("*.parquet"))
            for row in pq.read_table(path).to_pylist()]


def _check_rows(out: Path, model: str) -> None:
    task = get_task("countdown")
    rows = _rows(out)
    assert len(rows) == 8
    assert Counter((r["split"], r["num_backtracks"]) for r in rows) == {
        ("train", 0): 3, ("train", 1): 3, ("test", 0): 1, ("test", 1): 1}
    for row in rows:
        verdict = verify_completion(task, json.loads(row["problem"]), row["completion"],
                                    row["style"], row["num_backtracks"])
        assert verdict.ok, verdict
        assert row["solver"] == "llm_mcts"
        policy = json.loads(row["policy"])
        assert policy["model"] == model and policy["samples"] == 12
        assert policy["temperature"] == 1.0 and policy["max_step_tokens"] == 24
        tree = json.loads(row["search_tree"])
        assert tree["stats"]["frontier_batch_max"] >= 1
        assert any("proposal" in n for n in tree["nodes"])
        moves = sum(1 for line in row["completion"].split("\n") if line.startswith("try "))
        assert len(row["step_values"]) == moves
    stats = json.loads((out / "stats.json").read_text())["policy"]
    assert stats["models"] == [model] and 1 <= stats["frontier_batch_max"] <= 8
    assert stats["proposals"] >= 12 * len(rows)  # every tree expanded its root at least
    assert sum(stats["distinct_rejected_by_rule"].values()) <= stats["rejected_proposals"]
    card = (out / "README.md").read_text()
    assert f"- policy: `{model}`" in card and f"{stats['proposals']} proposals" in card


def test_a_build_with_the_in_process_policy_writes_only_verified_rows(
        checkpoint: Path, tmp_path: Path) -> None:
    config = parse_config(llm_config({"backend": "local", "checkpoint": str(checkpoint)}))
    run_build(config, tmp_path / "out")
    _check_rows(tmp_path / "out", str(checkpoint.resolve()))
    written = yaml.safe_load((tmp_path / "out" / "config.yaml").read_text())
    assert len(written["policy"]["checkpoint_sha256"]) == 64


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "searchtrace.cli", *args]


@pytest.fixture
def server(checkpoint: Path) -> Any:
    """`searchtrace serve-policy` on a free port, ready; yields (process, base url)."""
    port = _free_port()
    process = subprocess.Popen(
        _cli("serve-policy", str(checkpoint), "--port", str(port), "--served-model-name",
             "tiny-countdown"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("the policy server did not start")
    yield process, url
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _write(path: Path, raw: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.usefixtures("prefect_api")
def test_a_build_against_a_real_policy_server_writes_verified_rows(
        server: Any, tmp_path: Path) -> None:
    _, url = server
    config = _write(tmp_path / "c.yaml", llm_config({"backend": "http", "url": url}))
    result = subprocess.run(_cli("build", str(config), "--out", str(tmp_path / "out")),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    _check_rows(tmp_path / "out", "tiny-countdown")


@pytest.mark.usefixtures("prefect_api")
def test_a_server_killed_mid_build_fails_in_one_line_and_publishes_nothing(
        server: Any, tmp_path: Path) -> None:
    process, url = server
    raw = llm_config({"backend": "http", "url": url, "retries": 1, "timeout_s": 5},
                     splits={"train": 400, "test": 40})
    config = _write(tmp_path / "c.yaml", raw)
    out = tmp_path / "out"
    build = subprocess.Popen(_cli("build", str(config), "--out", str(out), "--retries", "0"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staged = tmp_path.glob(".out.staging-*/staged/*.parquet")
    deadline = time.monotonic() + 300
    while not any(True for _ in staged) and build.poll() is None:
        assert time.monotonic() < deadline, "no batch was staged"
        time.sleep(0.2)
        staged = tmp_path.glob(".out.staging-*/staged/*.parquet")
    os.killpg(process.pid, signal.SIGKILL)  # the server dies while batches are in flight
    _, stderr = build.communicate(timeout=300)
    assert build.returncode == 1, stderr
    message = stderr.strip().splitlines()
    assert len(message) == 1, stderr
    assert url in message[0] and "nothing was published" in message[0], message[0]
    assert not out.exists()
    staged_rows = [row for path in tmp_path.glob(".out.staging-*/staged/*.parquet")
                   for row in pq.read_table(path, columns=["problem_id"]).to_pylist()]
    assert staged_rows  # whole batches answered before the kill are kept for a resume


def test_policy_settings_are_checked_before_anything_runs(tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    bad = {
        "other-weights": (llm_config({"backend": "local", "checkpoint": str(weights),
                                      "checkpoint_sha256": "0" * 64}), "the config pins"),
        "no-policy": ({k: v for k, v in llm_config({"backend": "http"}).items()
                       if k != "policy"}, "solver llm_mcts needs a `policy:` section"),
        "no-url": (llm_config({"backend": "http"}), "backend http needs `url`"),
        "bad-url": (llm_config({"backend": "http", "url": "127.0.0.1:8000"}),
                    "url must start with http:// or https://"),
        "no-checkpoint": (llm_config({"backend": "local", "checkpoint": str(tmp_path / "nope")}),
                          "is not a local Hugging Face model folder"),
        "policy-for-dfs": ({**llm_config({"backend": "http", "url": "http://127.0.0.1:9/v1"}),
                            "solver": {"name": "dfs"}}, "only solver llm_mcts uses a policy"),
    }
    for name, (raw, expected) in bad.items():
        config = _write(tmp_path / f"{name}.yaml", raw)
        result = subprocess.run(_cli("build", str(config), "--out", str(tmp_path / name)),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, (name, result.stderr)
        assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1, (
            name, result.stderr)
        assert not (tmp_path / name).exists()
