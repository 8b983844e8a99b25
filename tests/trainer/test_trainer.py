"""The trainer stage on CPU at tiny sizes: the tokenizer and model built from scratch, SFT
(loss falls, the checkpoint reloads and generates, an interrupted run resumes), rewards and
evaluation that agree with the verifiers, GRPO steps with verifier rewards, and the
backtrack-sweep experiment end to end (seeds, intervals, resumption after a SIGKILL)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import yaml

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.flows.steps import run_build
from searchtrace.trainer.behaviour import (
    analyse,
    answer_reward,
    format_reward,
    step_validity_reward,
)
from searchtrace.trainer.chance import chance_accuracy
from searchtrace.trainer.data import RowFilter, load_split
from searchtrace.trainer.evaluate import evaluate_rows, summarise
from searchtrace.trainer.experiment import load_sweep
from searchtrace.trainer.intervals import bootstrap_mean
from searchtrace.trainer.models import MARKUP, build_tiny_model, parameter_count, train_tokenizer
from searchtrace.trainer.rl import RlSettings, run_rl
from searchtrace.trainer.runs import finished_run, write_run_record
from searchtrace.trainer.sft import SftSettings, run_sft
from tests.trainer.support import kill_after_first_run, sweep_cli

ROOT = Path(__file__).resolve().parents[2]
TINY_DATA = {
    "name": "countdown-3-tiny",
    "task": {"name": "countdown", "preset": "easy",
             "knobs": {"number_range": [1, 20], "target_range": [10, 100],
                       "test_targets": [13, 27, 34, 41, 52]}},
    "traces": {"k_mix": {0: 0.5, 1: 0.5}, "style": "compact", "max_dead_end_length": 3},
    "splits": {"train": 240, "test": 30},
    "seed": 4,
}
QUICK_SFT = SftSettings(epochs=3, learning_rate=3e-3, batch_size=16, max_length=256,
                        save_steps=10, logging_steps=5)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trainer") / "data"
    run_build(parse_config(TINY_DATA), out)
    return out


@pytest.fixture(scope="module")
def sft_run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sft") / "run"
    return out, run_sft(data, "tiny", out, QUICK_SFT)


def test_the_tokenizer_round_trips_text_and_keeps_the_markup_whole(data: Path) -> None:
    rows = load_split(data, "train")
    tokenizer = train_tokenizer((r["prompt"] + r["completion"] for r in rows), 512)
    for row in rows.select(range(20)):
        text = row["prompt"] + row["completion"]
        assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
        prompt_ids = tokenizer(row["prompt"])["input_ids"]
        assert tokenizer(text)["input_ids"][: len(prompt_ids)] == prompt_ids
    for markup in MARKUP:
        assert len(tokenizer(markup)["input_ids"]) == 1


def test_the_1m_model_has_about_a_million_parameters(data: Path) -> None:
    rows = load_split(data, "train")
    tokenizer = train_tokenizer((r["prompt"] + r["completion"] for r in rows), 512)
    model = build_tiny_model(tokenizer, "1m", max_positions=256, seed=0)
    assert 0.8e6 < parameter_count(model) < 1.5e6
    assert model.config.model_type == "llama"


def test_sft_loss_falls_and_the_checkpoint_reloads_and_generates(sft_run, data: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, record = sft_run
    assert record["rows"] == 240 and record["steps"] == 45
    assert record["losses"][-1] < 0.5 * record["losses"][0]
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    prompt = load_split(data, "test")[0]["prompt"]
    ids = tokenizer(prompt, return_tensors="pt")
    tokens = model.generate(**ids, max_new_tokens=40, do_sample=False,
                            pad_token_id=tokenizer.pad_token_id)
    text = tokenizer.decode(tokens[0][ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert text.startswith("<think>\ntry ")  # it learned the shape of a trace


def test_a_finished_run_is_reused_and_an_interrupted_one_resumes(
    sft_run, data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out, record = sft_run
    assert run_sft(data, "tiny", out, QUICK_SFT) == record  # finished: reused as it is
    interrupted = tmp_path / "interrupted"
    shutil.copytree(out, interrupted)
    for leftover in ["run.json", "model.safetensors", "checkpoint-45"]:
        target = interrupted / leftover
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    assert (interrupted / "checkpoint-40").is_dir()
    with caplog.at_level(logging.INFO, logger="searchtrace.trainer"):
        resumed = run_sft(data, "tiny", interrupted, QUICK_SFT)
    assert "resuming from" in caplog.text and "checkpoint-40" in caplog.text
    assert resumed["resumed_from_step"] == 40 and resumed["steps"] == 45
    assert record["resumed_from_step"] == 0
    # resumed from step 40 into a longer run, whose later checkpoints rotate checkpoint-40
    # itself away before the run record is written: the record still says where it resumed
    rotated = tmp_path / "rotated"
    shutil.copytree(interrupted, rotated, ignore=shutil.ignore_patterns("checkpoint-45"))
    for leftover in ["run.json", "model.safetensors"]:
        (rotated / leftover).unlink()
    again = run_sft(data, "tiny", rotated, replace(QUICK_SFT, epochs=4))
    assert not (rotated / "checkpoint-40").exists()
    assert again["resumed_from_step"] == 40 and again["steps"] == 60


def test_rewards_and_behaviour_agree_with_the_verifier(data: Path) -> None:
    rows = load_split(data, "train", RowFilter(k=(1,), limit=5))
    task, problem, style = rows["task"], rows["problem"], rows["style"]
    good = rows["completion"]
    assert answer_reward(good, task, problem, style) == [1.0] * 5
    assert format_reward(good) == [1.0] * 5
    assert step_validity_reward(good, task, problem, style) == [1.0] * 5
    wrong = [c.replace("<answer>", "<answer>1+").replace("</answer>", "+1</answer>")
             for c in good]
    assert answer_reward(wrong, task, problem, style) == [0.0] * 5
    assert format_reward([c.replace("</think>", "") for c in good]) == [0.0] * 5
    lines = good[0].split("\n")  # <think>, then steps; break the second step's arithmetic
    steps = lines[1:lines.index("</think>")]
    broken = [*lines[:2], lines[2].replace("=", "=1", 1), *lines[3:]]
    behaviour = analyse(task[0], problem[0], "\n".join(broken), style[0])
    assert behaviour.legal_steps == 1 and behaviour.steps == len(steps)
    assert step_validity_reward(["\n".join(broken)], task[:1], problem[:1], style[:1]) == [
        1 / len(steps)]
    assert analyse(task[0], problem[0], good[0], style[0]).backtracks == 1


def test_evaluation_numbers_on_a_handcrafted_set(data: Path) -> None:
    row = load_split(data, "train", RowFilter(k=(1,), limit=1))[0]
    good = row["completion"]
    handcrafted = [
        good,  # correct, 1 backtrack, every step legal
        good.replace("</answer>", "+1</answer>"),  # wrong answer, steps legal
        "no think block at all",  # malformed
        good.replace("try ", "tyr ", 1),  # first line unparsable, answer still right
    ]
    judged = [analyse(row["task"], row["problem"], c, row["style"]) for c in handcrafted]
    summary = summarise(judged)
    assert summary.problems == 4
    assert summary.accuracy == 0.5  # accuracy judges the answer alone
    assert summary.format_rate == 0.75
    assert summary.mean_backtracks == (1 + 1 + 0 + 1) / 4
    assert summary.legal_step_fraction == (1 + 1 + 0 + 0) / 4
    assert summary.unparsable_lines == 1


def test_evaluating_a_model_judges_its_own_completions(sft_run, data: Path) -> None:
    from searchtrace.trainer.models import load_model

    out, _ = sft_run
    model, tokenizer = load_model(str(out))
    rows = load_split(data, "test", RowFilter(limit=8))
    summary, judged = evaluate_rows(model, tokenizer, rows, max_new_tokens=120)
    again = [analyse(r["task"], r["problem"], j["completion"], r["style"])
             for r, j in zip(rows, judged, strict=True)]
    assert summary == summarise(again)
    assert summary.format_rate > 0  # a trained model writes traces the verifier can read


def test_grpo_runs_steps_with_rewards_from_the_verifiers(sft_run, data: Path,
                                                         tmp_path: Path) -> None:
    sft_out, _ = sft_run
    settings = RlSettings(steps=2, batch_size=8, num_generations=4, max_completion_length=96,
                          save_steps=100)
    record = run_rl(data, str(sft_out), tmp_path / "rl", settings)
    assert record["steps"] == 2
    assert set(record["rewards"]) == {"answer_reward", "format_reward", "step_validity_reward"}
    assert all(len(values) == 2 for values in record["rewards"].values())
    assert all(0 <= v <= 1 for values in record["rewards"].values() for v in values)
    assert max(record["rewards"]["format_reward"]) > 0  # real completions, judged
    assert (tmp_path / "rl" / "model.safetensors").is_file()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "searchtrace.cli", *args], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "COLUMNS": "200"})


def test_trainer_commands_refuse_bad_input_in_one_line(data: Path, tmp_path: Path) -> None:
    cases = [
        (["train", "sft", "--data", str(tmp_path), "--out", str(tmp_path / "o")],
         "not a searchtrace dataset folder"),
        (["train", "rl", "--data", str(data), "--model", "tiny", "--out", str(tmp_path / "o")],
         "RL starts from a trained checkpoint"),
        (["train", "sft", "--data", str(data), "--size", "5m", "--out", str(tmp_path / "o")],
         "unknown tiny model size '5m'"),
        (["eval", "--model", str(tmp_path), "--data", str(data)],
         "neither `tiny` nor a local Hugging Face model folder"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr


SMALLEST_SWEEP = {
    "name": "sweep-smallest",
    "dataset": str(ROOT / "configs" / "countdown-3.yaml"),
    "k_values": [0, 2],
    "seeds": [0, 1],
    "dataset_overrides": {"splits": {"train": 120, "test": 20}},
    "sft": {"epochs": 2, "max_length": 256},
    "rl": {"steps": 2, "batch_size": 8, "max_completion_length": 64},
    "eval": {"max_problems": 10, "max_new_tokens": 64},
}


def _run_sweep(tmp_path: Path) -> tuple[Path, Path, dict, str]:
    """Run the smallest sweep under `tmp_path`: (its config, out folder, results, table)."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump(SMALLEST_SWEEP))
    out = tmp_path / "out"
    result = run_cli("experiment", "backtrack-sweep", str(sweep), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return (sweep, out, json.loads((out / "results.json").read_text()),
            (out / "results.md").read_text())


@pytest.mark.usefixtures("prefect_api")
def test_the_backtrack_sweep_runs_end_to_end_with_seeds_and_intervals(tmp_path: Path) -> None:
    _, out, results, _ = _run_sweep(tmp_path)
    assert results["seeds"] == [0, 1] and results["problems"] == 10
    assert [r["k"] for r in results["arms"]] == [0, 2]
    for r in results["arms"]:
        assert r["seeds"] == 2
        for stage in ("sft", "rl"):
            judged = [json.loads((out / "eval" / f"{stage}-k{r['k']}-s{seed}" / "eval.json")
                                 .read_text())["completions"] for seed in (0, 1)]
            assert all(len(j) == 10 for j in judged)
            pooled = [float(c["correct"]) for j in judged for c in j]
            mean = sum(pooled) / len(pooled)  # the mean over (seed, problem) pairs
            assert r[f"{stage}_accuracy"] == pytest.approx(mean, abs=1e-4)
            assert r[f"{stage}_accuracy_low"] <= r[f"{stage}_accuracy"]
            assert r[f"{stage}_accuracy"] <= r[f"{stage}_accuracy_high"]
            interval = bootstrap_mean([[float(c["correct"]) for c in j] for j in judged])
            assert r[f"{stage}_accuracy_low"] == pytest.approx(interval.low, abs=1e-4)
        runs = [json.loads((out / "runs" / f"sft-k{r['k']}-s{seed}" / "run.json").read_text())
                for seed in (0, 1)]
        assert [run["settings"]["seed"] for run in runs] == [0, 1]
    differences = results["differences"]
    assert [(d["stage"], d["k"], d["minus_k"]) for d in differences] == [("sft", 2, 0),
                                                                        ("rl", 2, 0)]
    sft_k0, sft_k2 = results["arms"][0], results["arms"][1]
    assert differences[0]["accuracy"]["mean"] == pytest.approx(
        sft_k2["sft_accuracy"] - sft_k0["sft_accuracy"], abs=1e-3)
    k2 = load_split(out / "data" / "k2", "train")
    assert set(k2["num_backtracks"]) == {2}
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.startswith("k,seeds,sft_rows,sft_accuracy,sft_accuracy_low,sft_accuracy_high")
    assert (out / "results.png").read_bytes().startswith(b"\x89PNG")
    table = (out / "results.md").read_text()
    assert "| k | SFT rows |" in table and "## Differences between arms" in table
    assert "excludes 0" in table and "| SFT | k=2 − k=0 |" in table
    assert results["stages"] == ["sft", "rl"] and "| RL final reward |" in table
    chance = chance_accuracy(load_split(out / "data" / "k0", "test", RowFilter(limit=10)))
    assert results["chance"] == {"accuracy": round(chance.accuracy, 4), "problems": 10,
                                 "unsettled": 0}


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
def test_a_sweep_killed_after_its_first_run_resumes_to_the_same_results(tmp_path: Path) -> None:
    """The same sweep SIGKILLed once its first run has finished, then rerun: the finished
    run is reused, the rest is done again, and the results are the same."""
    sweep, _, results, table = _run_sweep(tmp_path)
    again = tmp_path / "again"
    first_run = again / "runs" / "sft-k0-s0" / "run.json"
    finished = kill_after_first_run(sweep_cli(sweep, again), first_run)
    assert not (again / "results.json").exists()
    result = subprocess.run(sweep_cli(sweep, again), capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr
    assert first_run.read_text() == finished  # reused, not trained again
    assert json.loads((again / "results.json").read_text()) == results
    assert (again / "results.md").read_text() == table


def test_sweep_configs_refuse_bad_seeds_in_one_line(tmp_path: Path) -> None:
    cases = [({"seeds": [0, 0]}, "seeds must be distinct and >= 0, got [0, 0]"),
             ({"seeds": []}, "seeds: List should have at least 1 item"),
             ({"sft": {"seed": 3}}, "sft.seed: training seeds are set for the whole sweep"),
             ({"rl": {"steps": 2, "seed": 3}}, "rl.seed: training seeds")]
    for change, message in cases:
        path = tmp_path / "sweep.yaml"
        path.write_text(yaml.safe_dump({**SMALLEST_SWEEP, **change}))
        with pytest.raises(UserError, match=re.escape(message)):
            load_sweep(path)
    for name in ("sweep-countdown.yaml", "sweep-countdown-gpu.yaml"):
        sweep, *_ = load_sweep(ROOT / "configs" / name)
        assert sweep.seeds == [0, 1, 2]


def test_a_finished_run_with_a_k_filter_is_reused(tmp_path: Path) -> None:
    """The record stores settings as JSON, where the filter's tuple of k values is a list:
    the same settings must still match, or every rerun of a `--k` run would train again."""
    settings = {"stage": "sft", "filter": asdict(RowFilter(k=(0, 2), limit=5))}
    record = write_run_record(tmp_path, {"settings": settings, "rows": 5})
    assert finished_run(tmp_path, settings) == json.loads(json.dumps(record))
    assert finished_run(tmp_path, {**settings, "filter": asdict(RowFilter(k=(1,)))}) is None
