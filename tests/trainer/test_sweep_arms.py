"""The backtrack sweep's arms beyond k: difficulty buckets (every model evaluated on every
bucket's test problems), control corpora (corrupt, length_match) compared with their real
arm, and the compute-matched evaluation per arm and seed; cached evaluations, resumption
after a SIGKILL, and one-line errors for bad sections. Tiny sizes: the numbers are not
meant to show an effect, only to be what the files behind them say."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from searchtrace.errors import UserError
from searchtrace.trainer.chance import chance_accuracy
from searchtrace.trainer.data import RowFilter, load_split
from searchtrace.trainer.experiment import load_sweep
from searchtrace.trainer.intervals import bootstrap_mean
from tests.trainer.support import kill_after_first_run, sweep_cli

ROOT = Path(__file__).resolve().parents[2]
BUCKETS = {"direct": (0, 1), "guessing": (1, None)}  # the reference DFS's guesses
TINY_ARMS: dict[str, Any] = {
    "name": "sweep-arms-tiny",
    "dataset": str(ROOT / "configs" / "countdown-3.yaml"),
    "k_values": [1],
    "seeds": [0],
    "dataset_overrides": {"splits": {"train": 24, "test": 6}},
    "max_rejection_rate": 0.9,
    "sft": {"epochs": 1, "max_length": 128, "batch_size": 8},
    "rl": {"steps": 1, "batch_size": 4, "num_generations": 2, "max_completion_length": 12},
    "eval": {"max_problems": 3, "max_new_tokens": 16},
    "difficulty": {"metric": "guesses",
                   "buckets": {name: {"range": list(r)} for name, r in BUCKETS.items()}},
    "controls": ["length_match"],
    "compute_matched": {"samples": 2, "budgets": [4, 9]},
}
STAGES = ("sft", "rl")
METRICS = ("accuracy", "backtracks", "legal_steps", "format")
MODES = ("sequential", "parallel_pass", "parallel_majority")


def _run(config: dict[str, Any], tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    """Run `config` as a sweep under `tmp_path`: (its file, out folder, results.json)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "out"
    result = subprocess.run(sweep_cli(path, out), capture_output=True, text=True,
                            timeout=1800, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr[-3000:]
    return path, out, json.loads((out / "results.json").read_text())


def _arms(config: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    """(k, bucket, control) of every arm the config asks for, in the sweep's order."""
    found = []
    for bucket in config["difficulty"]["buckets"]:
        found += [(k, bucket, None) for k in config["k_values"]]
        found += [(k, bucket, c) for c in config["controls"] for k in config["k_values"] if k]
    return found


def _name(k: int, bucket: str, control: str | None) -> str:
    return "-".join(p for p in (f"k{k}", bucket, control) if p)


def _check_bounds(bounds: dict[str, float]) -> None:
    assert bounds["low"] <= bounds["mean"] <= bounds["high"], bounds


def _check_results(config: dict[str, Any], out: Path, results: dict[str, Any]) -> None:
    """Every arm x test bucket x stage x metric with low <= mean <= high and the mean the
    eval files give; control-vs-real and k-vs-k differences only; every compute-matched
    number within its budget."""
    arms = _arms(config)
    tests = list(config["difficulty"]["buckets"])
    assert [(r["k"], r["bucket"], r["control"], r["test"]) for r in results["arms"]] == [
        (*arm, test) for test in tests for arm in arms]
    assert results["problems"] == {t: config["eval"]["max_problems"] for t in tests}
    prompts = {}
    for row in results["arms"]:
        name = _name(row["k"], row["bucket"], row["control"])
        for stage in STAGES:
            judged = [json.loads((out / "eval" / f"{stage}-{name}-s{seed}-on-{row['test']}"
                                  / "eval.json").read_text())["completions"]
                      for seed in config["seeds"]]
            prompts.setdefault(row["test"], {c["prompt"] for c in judged[0]})
            assert all({c["prompt"] for c in j} == prompts[row["test"]] for j in judged)
            accuracy = bootstrap_mean([[float(c["correct"]) for c in j] for j in judged])
            assert row[f"{stage}_accuracy"] == pytest.approx(accuracy.mean, abs=1e-4)
            assert row[f"{stage}_accuracy_low"] == pytest.approx(accuracy.low, abs=1e-4)
            for metric in METRICS:
                _check_bounds({"low": row[f"{stage}_{metric}_low"],
                               "mean": row[f"{stage}_{metric}"],
                               "high": row[f"{stage}_{metric}_high"]})
    assert prompts[tests[0]].isdisjoint(prompts[tests[1]])  # each bucket's own problems

    expected = set()
    for test in tests:
        for first, second in [(a, b) for i, a in enumerate(arms) for b in arms[i + 1:]]:
            if first[1] != second[1]:
                continue  # buckets are not compared with each other
            if first[2] == second[2]:
                expected.add((test, second, "k", first[0]))
            elif first[0] == second[0] and first[2] is None:
                expected.add((test, second, "control", None))
    for stage in STAGES:
        found = {(d["test"], (d["k"], d["bucket"], d["control"]),
                  "k" if "minus_k" in d else "control",
                  d.get("minus_k", d.get("minus_control")))
                 for d in results["differences"] if d["stage"] == stage}
        assert found == expected
    for entry in results["differences"]:
        for metric in METRICS:
            _check_bounds(entry[metric])
            assert entry[metric]["outside_noise"] == (entry[metric]["low"] > 0
                                                      or entry[metric]["high"] < 0)

    section = config["compute_matched"]
    matched = results["compute_matched"]
    assert matched["samples"] == section["samples"]
    assert [(e["k"], e["bucket"], e["control"], e["stage"], e["test"], e["budget"])
            for e in matched["results"]] == [
        (*arm, stage, test, budget) for arm in arms for stage in STAGES for test in tests
        for budget in section["budgets"]]
    for entry in matched["results"]:
        for mode in MODES:
            _check_bounds(entry[mode])
        for name, mode in (("pass_minus_sequential", "parallel_pass"),
                           ("majority_minus_sequential", "parallel_majority")):
            _check_bounds(entry[name])
            assert entry[name]["mean"] == pytest.approx(
                entry[mode]["mean"] - entry["sequential"]["mean"], abs=1e-3)
        assert entry["parallel_pass"]["mean"] >= entry["parallel_majority"]["mean"]
        for mode in ("sequential", "parallel"):
            assert 0 < entry[f"{mode}_tokens"] <= entry[f"{mode}_tokens_max"]
            assert entry[f"{mode}_tokens_max"] <= entry["budget"]
    table = (out / "results.md").read_text()
    for test in tests:  # chance on each bucket's test problems, those of its first k
        rows = load_split(out / "data" / _name(config["k_values"][0], test, None), "test",
                          RowFilter(limit=config["eval"]["max_problems"]))
        assert {r["prompt"] for r in rows} == prompts[test]
        chance = chance_accuracy(rows)
        assert results["chance"][test] == {
            "accuracy": None if chance.accuracy is None else round(chance.accuracy, 4),
            "problems": len(rows), "unsettled": chance.unsettled}
        assert f"chance (random legal moves) on these {len(rows)} problems: " in table
    assert "## Sequential vs parallel at matched budgets" in table
    assert all(f"## Test problems of bucket `{t}`" in table for t in tests)
    for name in ("results.png", "results-budget.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")


@pytest.mark.usefixtures("prefect_api")
def test_a_sweep_with_buckets_a_control_and_compute_matched_runs_end_to_end(
        tmp_path: Path) -> None:
    config_path, out, results = _run(TINY_ARMS, tmp_path)
    _check_results(TINY_ARMS, out, results)
    differences = [d for d in results["differences"] if d["stage"] == "sft"]
    assert {d["control"] for d in differences} == {"length_match"}
    assert "| SFT | direct | length_match − real (k=1, direct) |" in (
        out / "results.md").read_text()

    # Each bucket's datasets hold only that bucket's rows; the length-matched control
    # trains on the padded k = 0 rows, as many as its real arm has.
    train_rows = TINY_ARMS["dataset_overrides"]["splits"]["train"]
    for bucket, (low, high) in BUCKETS.items():
        for name in (f"k1-{bucket}", f"k1-{bucket}-length_match"):
            data = out / "data" / name
            table = pq.read_table(data / "data").to_pylist()
            assert all(low <= r["difficulty"]["guesses"] and (high is None
                       or r["difficulty"]["guesses"] < high) for r in table)
        control = json.loads((out / "runs" / f"sft-k1-{bucket}-length_match-s0" / "run.json")
                             .read_text())
        assert control["settings"]["filter"]["k"] == [0] and control["rows"] == train_rows
        padded = pq.read_table(out / "data" / f"k1-{bucket}-length_match" / "data").to_pylist()
        assert any(r["padding_lines"] > 0 for r in padded if r["num_backtracks"] == 0)
        assert set(load_split(out / "data" / f"k1-{bucket}", "train")["num_backtracks"]) == {1}

    # Run again on the same folder: every run and evaluation is reused as it is.
    written = {path: path.stat().st_mtime_ns for path in (out / "eval").rglob("eval.json")}
    assert len(written) == 4 * 2 * 2 * 2  # arms x stages x test buckets x (greedy, sampled)
    written |= {path: path.stat().st_mtime_ns for path in (out / "eval").glob("chance-on-*")}
    assert len(written) == 4 * 2 * 2 * 2 + 2  # and chance on each test bucket
    again = subprocess.run(sweep_cli(config_path, out), capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {path: path.stat().st_mtime_ns for path in written} == written
    assert json.loads((out / "results.json").read_text()) == results


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
def test_a_sweep_with_arms_killed_after_its_first_run_resumes_to_the_same_results(
        tmp_path: Path) -> None:
    """k 0 and 1, two buckets, the corrupt control and compute_matched: the same sweep
    SIGKILLed once its first run has finished, then rerun, gives the same results."""
    config = {**TINY_ARMS, "k_values": [0, 1], "controls": ["corrupt"]}
    config_path, out, results = _run(config, tmp_path / "first")
    _check_results(config, out, results)
    again = tmp_path / "again"
    first_run = again / "runs" / "sft-k0-direct-s0" / "run.json"
    finished = kill_after_first_run(sweep_cli(config_path, again), first_run)
    assert not (again / "results.json").exists()
    result = subprocess.run(sweep_cli(config_path, again), capture_output=True, text=True,
                            timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    assert first_run.read_text() == finished  # reused, not trained again
    assert json.loads((again / "results.json").read_text()) == results
    assert (again / "results.md").read_text() == (out / "results.md").read_text()
    corrupted = pq.read_table(again / "data" / "k1-guessing-corrupt" / "data").to_pylist()
    assert corrupted and all(row["corruptions"] for row in corrupted)


def test_bad_arm_sections_are_refused_in_one_line(tmp_path: Path) -> None:
    plain = {key: value for key, value in TINY_ARMS.items()
             if key not in ("difficulty", "controls", "compute_matched")}
    cases = [
        ({"controls": ["shuffled"]},
         "controls: unknown control 'shuffled'; allowed: corrupt, length_match"),
        ({"controls": ["corrupt"], "k_values": [0]},
         "controls: a control arm is made for each k > 0, and k_values has none"),
        ({"corrupt": {"share": 0.5}}, "corrupt: settings for the corrupt control, which "
                                      "`controls` does not ask for"),
        ({"controls": ["corrupt"], "corrupt": {"kinds": ["wrong_color"]}},
         "arm k1-corrupt: invalid config: traces.corrupt.kinds: unknown kinds ['wrong_color']"),
        ({"controls": ["length_match"],
          "dataset_overrides": {"traces": {"corrupt": {"share": 0.5, "kinds": ["wrong_state"]}}}},
         "arm k1-length_match: invalid config: traces: length_match and corrupt cannot be "
         "combined in one build"),
        ({"difficulty": {"buckets": {}}},
         "difficulty.buckets: Value error, must name at least one bucket"),
        ({"difficulty": {"buckets": {"a": {"range": [0, 3]}, "b": {"range": [2, None]}}}},
         "difficulty.buckets: Value error, ranges of a and b overlap"),
        ({"difficulty": {"buckets": {"a/b": {"range": [0, 3]}}}},
         "difficulty.buckets: Value error, bucket names must be letters, digits and _"),
        ({"difficulty": {"metric": "colour", "buckets": {"a": {"range": [0, 3]}}}},
         "difficulty.metric: Input should be"),
        ({"compute_matched": {"samples": 4, "budgets": [16, 3, 2]}},
         "compute_matched.budgets: each budget must be at least samples (4) so every "
         "parallel sample gets a token; got [3, 2]"),
        ({"compute_matched": {"samples": 2, "budgets": []}},
         "compute_matched.budgets: List should have at least 1 item"),
        ({"compute_matched": {"samples": 2, "budgets": [8], "top_p": 0}},
         "compute_matched.top_p: Input should be greater than 0"),
    ]
    for change, message in cases:
        path = tmp_path / "sweep.yaml"
        path.write_text(yaml.safe_dump({**plain, **change}))
        with pytest.raises(UserError, match=re.escape(message)) as raised:
            load_sweep(path)
        assert "\n" not in str(raised.value)
    path.write_text(yaml.safe_dump({**plain, "controls": ["shuffled"]}))
    result = subprocess.run(sweep_cli(path, tmp_path / "out"), capture_output=True, text=True,
                            timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "unknown control" in lines[0]
    assert not (tmp_path / "out").exists()  # nothing half-written
    sweep, *_ = load_sweep(ROOT / "configs" / "sweep-countdown-arms.yaml")
    assert sweep.difficulty is not None and sweep.controls == ["corrupt", "length_match"]
    assert sweep.compute_matched is not None
