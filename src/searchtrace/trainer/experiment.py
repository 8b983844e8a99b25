"""The backtrack-sweep experiment: for each k (an arm), build (or reuse) a dataset whose
every trace has exactly k backtracks; for each training seed, SFT one model on it, evaluate
it, run GRPO from it, evaluate again; then a results table (CSV + markdown) and a plot of
accuracy before/after RL against k, as in "How Much Backtracking is Enough?".

All models are evaluated on the same prompts: the test split of the first k's dataset
(test problems are held out of every training set by the builds' split rules). A training
seed fixes model initialisation and data order for SFT and sampling for RL; every number
is the mean over (seed, problem) pairs with a 95% bootstrap interval (`intervals`), and
differences between arms are marked when their paired bootstrap interval excludes 0.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from searchtrace.config import read_yaml
from searchtrace.errors import UserError
from searchtrace.trainer.data import RowFilter, load_split
from searchtrace.trainer.evaluate import evaluate_rows, write_report
from searchtrace.trainer.intervals import (
    CONFIDENCE,
    RESAMPLES,
    bootstrap_difference,
    bootstrap_mean,
)
from searchtrace.trainer.rl import RlSettings, run_rl
from searchtrace.trainer.runs import logger
from searchtrace.trainer.sft import SftSettings, run_sft


class EvalSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_problems: int = Field(default=100, ge=1)
    max_new_tokens: int = Field(default=320, ge=8)


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    dataset: str  # a build config, relative to the sweep file
    k_values: list[int] = Field(min_length=1)
    seeds: list[int] = Field(default=[0, 1, 2], min_length=1)
    dataset_overrides: dict[str, Any] = Field(default_factory=dict)
    model: str = "tiny"
    sft: dict[str, Any] = Field(default_factory=dict)
    rl: dict[str, Any] = Field(default_factory=dict)
    eval: EvalSection = EvalSection()


def load_sweep(path: str | Path) -> tuple[SweepConfig, Path, SftSettings, RlSettings]:
    """The sweep, its dataset config's path and the SFT and RL settings; one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"sweep config not found: {path}")
    try:
        sweep = SweepConfig.model_validate(read_yaml(path, "sweep config"))
        sft, rl = SftSettings(**sweep.sft), RlSettings(**sweep.rl)
    except ValidationError as error:
        item = error.errors()[0]
        where = ".".join(str(p) for p in item["loc"])
        raise UserError(f"invalid sweep config {path}: {where}: {item['msg']}") from None
    except TypeError as error:
        raise UserError(f"invalid sweep config {path}: {str(error).splitlines()[0]}") from None
    if len(set(sweep.k_values)) != len(sweep.k_values) or min(sweep.k_values) < 0:
        raise UserError(f"invalid sweep config {path}: k_values must be distinct and >= 0, "
                        f"got {sweep.k_values}")
    if len(set(sweep.seeds)) != len(sweep.seeds) or min(sweep.seeds) < 0:
        raise UserError(f"invalid sweep config {path}: seeds must be distinct and >= 0, "
                        f"got {sweep.seeds}")
    for stage in ("sft", "rl"):
        if "seed" in getattr(sweep, stage):
            raise UserError(f"invalid sweep config {path}: {stage}.seed: training seeds are "
                            f"set for the whole sweep by `seeds: [...]` (one run per seed)")
    dataset = (path.parent / sweep.dataset).resolve()
    if not dataset.is_file():
        raise UserError(f"invalid sweep config {path}: dataset config not found: {dataset}")
    return sweep, dataset, sft, rl



STAGES = ("sft", "rl")
STAGE_NAMES = {"sft": "SFT", "rl": "RL"}


def _legal_fraction(judged: dict[str, Any]) -> float:
    return judged["legal_steps"] / judged["steps"] if judged["steps"] else 0.0


# Each number's per-problem value, read from an evaluation's judged completion (the fields
# of `rewards.Behaviour`; the legal-step fraction as `Behaviour.legal_fraction` computes it).
METRICS: dict[str, Callable[[dict[str, Any]], float]] = {
    "accuracy": lambda judged: float(judged["correct"]),
    "backtracks": lambda judged: float(judged["backtracks"]),
    "legal_steps": _legal_fraction,
    "format": lambda judged: float(judged["format_ok"])}
METRIC_NAMES = {"accuracy": "accuracy", "backtracks": "backtracks per output",
                "legal_steps": "legal-step fraction", "format": "well-formed"}


@dataclass(frozen=True)
class Arm:
    """One k: what each seed's runs measured, and the per-problem values behind them
    (values[stage][metric][seed index][problem index])."""

    k: int
    per_seed: tuple[dict[str, Any], ...]
    values: dict[str, dict[str, list[list[float]]]]


def backtrack_sweep(config: str | Path, out: str | Path) -> list[dict[str, Any]]:
    """Run the sweep into `out` (data/, runs/, eval/, results.csv, results.md, results.json,
    results.png); finished datasets and runs are reused, so a killed sweep picks up where
    it stopped. Returns one row per k: each number's mean and 95% interval."""
    from searchtrace.flows.build import build_flow

    sweep, dataset, sft, rl = load_sweep(config)
    out = Path(out)
    data_dirs = {}
    for k in sweep.k_values:
        data_dirs[k] = out / "data" / f"k{k}"
        overrides = {**sweep.dataset_overrides, "name": f"{sweep.name}-k{k}",
                     "traces": {**sweep.dataset_overrides.get("traces", {}), "k_mix": {k: 1.0}}}
        build_flow(config=str(dataset), out=str(data_dirs[k]), overrides=overrides)
    eval_data = data_dirs[sweep.k_values[0]]
    eval_rows = load_split(eval_data, "test", RowFilter(limit=sweep.eval.max_problems))
    arms = []
    for k in sweep.k_values:
        per_seed = []
        values: dict[str, dict[str, list[list[float]]]] = {
            stage: {metric: [] for metric in METRICS} for stage in STAGES}
        for seed in sweep.seeds:
            measured = _train_and_evaluate(sweep, out, data_dirs[k], eval_data, eval_rows, k,
                                           replace(sft, seed=seed), replace(rl, seed=seed))
            per_seed.append(measured.pop("row"))
            for stage in STAGES:
                for metric, value in METRICS.items():
                    values[stage][metric].append([value(j) for j in measured[stage]])
        arms.append(Arm(k=k, per_seed=tuple(per_seed), values=values))
    rows = [_arm_row(arm) for arm in arms]
    _write_results(out, sweep, arms, rows, len(eval_rows))
    return rows


def _train_and_evaluate(sweep: SweepConfig, out: Path, data: Path, eval_data: Path,
                        eval_rows: Any, k: int, sft: SftSettings,
                        rl: RlSettings) -> dict[str, Any]:
    """One seed of one arm: SFT, evaluate, RL, evaluate. Returns the judged completions per
    stage and the seed's summary row."""
    from searchtrace.trainer.models import load_model

    seed = sft.seed
    row: dict[str, Any] = {"seed": seed}
    judged_by_stage = {}
    for stage in STAGES:
        run_dir = out / "runs" / f"{stage}-k{k}-s{seed}"
        if stage == "sft":
            record = run_sft(data, sweep.model, run_dir, sft)
            row["sft_rows"] = record["rows"]
        else:
            record = run_rl(data, str(out / "runs" / f"sft-k{k}-s{seed}"), run_dir, rl)
            rewards = record["reward"]
            row["rl_final_reward"] = round(rewards[-1], 4) if rewards else None
        model, tokenizer = load_model(str(run_dir))
        summary, judged = evaluate_rows(model, tokenizer, eval_rows,
                                        max_new_tokens=sweep.eval.max_new_tokens)
        write_report(out / "eval" / f"{stage}-k{k}-s{seed}", summary, judged,
                     {"model": str(run_dir), "data": str(eval_data), "split": "test"})
        row[f"{stage}_accuracy"] = round(summary.accuracy, 4)
        row[f"{stage}_backtracks"] = round(summary.mean_backtracks, 3)
        logger.info("k=%d seed=%d %s: accuracy %.3f", k, seed, stage, summary.accuracy)
        judged_by_stage[stage] = judged
    return {**judged_by_stage, "row": row}


def _arm_row(arm: Arm) -> dict[str, Any]:
    """The arm's table row: each number's mean, low and high (95%, over seeds and problems),
    and the final RL reward averaged over seeds."""
    row: dict[str, Any] = {"k": arm.k, "seeds": len(arm.per_seed),
                           "sft_rows": arm.per_seed[0]["sft_rows"]}
    for stage in STAGES:
        for metric in METRICS:
            interval = bootstrap_mean(arm.values[stage][metric])
            row[f"{stage}_{metric}"] = round(interval.mean, 4)
            row[f"{stage}_{metric}_low"] = round(interval.low, 4)
            row[f"{stage}_{metric}_high"] = round(interval.high, 4)
    rewards = [s["rl_final_reward"] for s in arm.per_seed if s["rl_final_reward"] is not None]
    row["rl_final_reward"] = round(sum(rewards) / len(rewards), 4) if rewards else None
    return row


def _differences(arms: list[Arm]) -> list[dict[str, Any]]:
    """Every pair of arms at each stage: later k minus earlier k, per metric, with the
    paired bootstrap interval and whether it excludes 0."""
    found = []
    for stage in STAGES:
        for first, second in itertools.combinations(arms, 2):
            entry: dict[str, Any] = {"stage": stage, "k": second.k, "minus_k": first.k}
            for metric in METRICS:
                interval = bootstrap_difference(second.values[stage][metric],
                                                first.values[stage][metric])
                entry[metric] = {"mean": round(interval.mean, 4),
                                 "low": round(interval.low, 4),
                                 "high": round(interval.high, 4),
                                 "outside_noise": interval.excludes_zero()}
            found.append(entry)
    return found


TEST_TEXT = (f"Intervals: {CONFIDENCE:.0%} percentile bootstrap, {RESAMPLES} resamples with "
             "replacement of the (seed, problem) pairs (seeded, so the same values give the "
             "same interval).")
DIFFERENCE_TEXT = ("Each difference is the later k's mean minus the earlier k's, with a paired "
                   "bootstrap interval: the same resampled (seed index, problem index) pairs "
                   "for both arms. A `*` marks a difference whose "
                   f"{CONFIDENCE:.0%} interval excludes 0; without one the arms are not told "
                   "apart at this size.")


def _cell(mean: float, low: float, high: float, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{mean:{sign}.3f} [{low:{sign}.3f}, {high:{sign}.3f}]"


def _write_results(out: Path, sweep: SweepConfig, arms: list[Arm], rows: list[dict[str, Any]],
                   problems: int) -> None:
    columns = list(rows[0])
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    differences = _differences(arms)
    (out / "results.json").write_text(json.dumps(
        {"name": sweep.name, "model": sweep.model, "problems": problems, "seeds": sweep.seeds,
         "confidence": CONFIDENCE, "resamples": RESAMPLES, "arms": rows,
         "per_seed": {str(arm.k): list(arm.per_seed) for arm in arms},
         "differences": differences}, indent=2) + "\n")
    (out / "results.md").write_text(_markdown(sweep, rows, arms, differences, problems))
    _plot(out / "results.png", sweep, rows)


def _markdown(sweep: SweepConfig, rows: list[dict[str, Any]], arms: list[Arm],
              differences: list[dict[str, Any]], problems: int) -> str:
    headers = ["k", "SFT rows"] + [f"{STAGE_NAMES[s]} {METRIC_NAMES[m]}"
                                   for m in METRICS for s in STAGES] + ["RL final reward"]
    lines = [f"# {sweep.name}: accuracy before and after RL against k", "",
             f"{problems} test problems, the same for every k; model `{sweep.model}`; "
             f"training seeds {sweep.seeds} (one SFT and one RL run per k and seed: "
             "initialisation, data order and sampling). Each number is the mean over "
             f"{len(sweep.seeds) * problems} (seed, problem) pairs, its interval in brackets. "
             + TEST_TEXT, "",
             "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [str(row["k"]), str(row["sft_rows"])]
        cells += [_cell(row[f"{s}_{m}"], row[f"{s}_{m}_low"], row[f"{s}_{m}_high"])
                  for m in METRICS for s in STAGES]
        lines.append("| " + " | ".join([*cells, str(row["rl_final_reward"])]) + " |")
    lines += ["", "## Differences between arms", "", DIFFERENCE_TEXT, "",
              "| stage | difference | " + " | ".join(METRIC_NAMES[m] for m in METRICS) + " |",
              "|" + "---|" * (2 + len(METRICS))]
    for entry in differences:
        cells = [_cell(entry[m]["mean"], entry[m]["low"], entry[m]["high"], signed=True)
                 + (" *" if entry[m]["outside_noise"] else "") for m in METRICS]
        lines.append(f"| {STAGE_NAMES[entry['stage']]} | k={entry['k']} − k={entry['minus_k']} | "
                     + " | ".join(cells) + " |")
    lines += ["", "## Per seed", "", "| k | seed | SFT accuracy | RL accuracy | "
              "SFT backtracks | RL backtracks | RL final reward |", "|" + "---|" * 7]
    for arm in arms:
        lines += [f"| {arm.k} | {s['seed']} | {s['sft_accuracy']} | {s['rl_accuracy']} | "
                  f"{s['sft_backtracks']} | {s['rl_backtracks']} | {s['rl_final_reward']} |"
                  for s in arm.per_seed]
    return "\n".join(lines) + "\n"


def _plot(path: Path, sweep: SweepConfig, rows: list[dict[str, Any]]) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.6))
    accuracy, backtracks = figure.subplots(1, 2)
    ks = [r["k"] for r in rows]
    for stage, label in (("sft", "after SFT"), ("rl", "after RL")):
        for axis, metric in ((accuracy, "accuracy"), (backtracks, "backtracks")):
            means = [r[f"{stage}_{metric}"] for r in rows]
            errors = [[m - r[f"{stage}_{metric}_low"] for m, r in zip(means, rows, strict=True)],
                      [r[f"{stage}_{metric}_high"] - m for m, r in zip(means, rows, strict=True)]]
            axis.errorbar(ks, means, yerr=errors, marker="o", capsize=3, label=label)
    accuracy.set_xlabel("backtracks per SFT trace (k)")
    accuracy.set_ylabel(f"test accuracy ({CONFIDENCE:.0%} interval)")
    accuracy.set_ylim(0, 1)
    accuracy.legend(fontsize=8)
    backtracks.set_xlabel("backtracks per SFT trace (k)")
    backtracks.set_ylabel("backtracks per model output")
    backtracks.legend(fontsize=8)
    figure.suptitle(f"{sweep.name} ({len(sweep.seeds)} seeds)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
