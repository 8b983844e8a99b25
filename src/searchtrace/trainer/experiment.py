"""The backtrack-sweep experiment: for each arm (a k, and optionally a difficulty bucket
and a control corpus; `arms`), build (or reuse) its dataset, whose every trace has exactly
k backtracks; for each training seed, SFT one model on it, evaluate it, and (unless the
sweep's `stages` is [sft]) run GRPO from it and evaluate again; then a results table (CSV +
markdown) and plots of accuracy after each stage against k, as in "How Much Backtracking is
Enough?", with chance (uniformly random legal moves, `chance`) on the same test problems.

All models are evaluated on the same prompts: the test split of the first k's dataset, or
with a `difficulty:` section each bucket's (the test split of its first k's dataset), every
model on every bucket's (test problems are held out of every training set by the builds'
split rules). A training seed fixes model initialisation and data order for SFT and
sampling for RL; every number is the mean over (seed, problem) pairs with a 95% bootstrap
interval (`intervals`), and differences between arms one factor apart are marked when
their paired bootstrap interval excludes 0 (`sweep_report`). With `compute_matched:`, each
model is also evaluated by sequential against parallel sampling at matched token budgets,
seeded by its training seed. Datasets, runs and evaluations are cached, so a killed sweep
picks up where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from searchtrace.trainer.arms import ArmSpec, Factors, arm_configs
from searchtrace.trainer.compute_matched import SamplingSettings
from searchtrace.trainer.data import RowFilter, load_split
from searchtrace.trainer.rl import RlSettings, run_rl
from searchtrace.trainer.runs import logger
from searchtrace.trainer.sft import SftSettings, run_sft
from searchtrace.trainer.sweep_config import SweepConfig, load_sweep
from searchtrace.trainer.sweep_eval import (
    TestSet,
    budget_values,
    chance_eval,
    compute_matched_eval,
    greedy_eval,
)
from searchtrace.trainer.sweep_report import METRICS, Measured, Report, write_results

__all__ = ["backtrack_sweep", "load_sweep"]


def backtrack_sweep(config: str | Path, out: str | Path) -> list[dict[str, Any]]:
    """Run the sweep into `out` (data/, runs/, eval/, results.csv, results.md, results.json,
    results.png, and results-budget.png with compute_matched); finished datasets, runs and
    evaluations are reused, so a killed sweep picks up where it stopped. Returns one row per
    arm (and test bucket): each number's mean and 95% interval."""
    from searchtrace.flows.build import build_flow

    sweep, dataset, sft, rl = load_sweep(config)
    out = Path(out)
    configs = arm_configs(sweep, dataset)
    data_dirs = {arm: out / "data" / arm.name for arm in configs}
    for arm, build in configs.items():
        build_flow(config=build, out=str(data_dirs[arm]),
                   max_rejection_rate=sweep.max_rejection_rate)
    tests = _test_sets(sweep, data_dirs)
    measured = []
    for arm in configs:
        seeds = [_measure_seed(sweep, out, arm, data_dirs[arm], tests, replace(sft, seed=seed),
                               replace(rl, seed=seed)) for seed in sweep.seeds]
        measured.append(Measured(
            arm=arm, per_seed=tuple(row for s in seeds for row in s.rows),
            values={key: {q: [s.values[key][q] for s in seeds] for q in found}
                    for key, found in seeds[0].values.items()},
            budgets={key: {q: [s.budgets[key][q] for s in seeds] for q in found}
                     for key, found in seeds[0].budgets.items()}))
    chance = {t.bucket: chance_eval(out / "eval" / _chance_name(t.bucket), t) for t in tests}
    report = Report(sweep=sweep, factors=Factors.of(sweep), measured=tuple(measured),
                    problems={t.bucket: len(t.rows) for t in tests}, chance=chance)
    return write_results(out, report)


def _test_sets(sweep: SweepConfig, data_dirs: dict[ArmSpec, Path]) -> list[TestSet]:
    """The test problems: of the first k's dataset, or of each bucket's first k's."""
    buckets = list(sweep.difficulty.buckets) if sweep.difficulty else [None]
    found = []
    for bucket in buckets:
        data = data_dirs[ArmSpec(sweep.k_values[0], bucket)]
        rows = load_split(data, "test", RowFilter(limit=sweep.eval.max_problems))
        found.append(TestSet(bucket=bucket, data=data, rows=rows))
    return found


def _chance_name(bucket: str | None) -> str:
    """The cached chance of a test set: eval/chance.json, or eval/chance-on-BUCKET.json."""
    return "chance" + (f"-on-{bucket}" if bucket else "") + ".json"


@dataclass(frozen=True)
class SeedResult:
    """One seed of one arm: its summary rows (one per test set) and per-problem values,
    values[(stage, test)][metric][problem] and budgets[(stage, test, budget)][quantity][problem]."""

    rows: list[dict[str, Any]]
    values: dict[tuple[str, str | None], dict[str, list[float]]]
    budgets: dict[tuple[str, str | None, int], dict[str, list[float]]]


def _measure_seed(sweep: SweepConfig, out: Path, arm: ArmSpec, data: Path,
                  tests: list[TestSet], sft: SftSettings, rl: RlSettings) -> SeedResult:
    """One seed of one arm: SFT, evaluate, and with `stages: [sft, rl]` RL, evaluate (each
    evaluation on every test set, greedy and, with compute_matched, sampled seeded by the
    training seed)."""
    from searchtrace.trainer.models import load_model

    seed = sft.seed
    rows: dict[str | None, dict[str, Any]] = {
        t.bucket: {"seed": seed, **({"test": t.bucket} if sweep.difficulty else {})}
        for t in tests}
    result = SeedResult(rows=list(rows.values()), values={}, budgets={})
    for stage in sweep.stages:
        run_dir = out / "runs" / f"{stage}-{arm.name}-s{seed}"
        if stage == "sft":
            record = run_sft(data, sweep.model, run_dir, sft, arm.train_filter())
            for row in rows.values():
                row["sft_rows"] = record["rows"]
        else:
            record = run_rl(data, str(out / "runs" / f"sft-{arm.name}-s{seed}"), run_dir, rl,
                            arm.train_filter())
            rewards = record["reward"]
            for row in rows.values():
                row["rl_final_reward"] = round(rewards[-1], 4) if rewards else None
        load = cache(lambda run_dir=run_dir: load_model(str(run_dir)))
        for test in tests:
            folder = out / "eval" / (f"{stage}-{arm.name}-s{seed}"
                                     + (f"-on-{test.bucket}" if test.bucket else ""))
            record = greedy_eval(folder, run_dir, test, sweep.eval.max_new_tokens, load)
            summary, judged = record["summary"], record["completions"]
            rows[test.bucket][f"{stage}_accuracy"] = round(summary["accuracy"], 4)
            rows[test.bucket][f"{stage}_backtracks"] = round(summary["mean_backtracks"], 3)
            logger.info("%s seed=%d %s on %s: accuracy %.3f", arm.name, seed, stage,
                        test.bucket or "test", summary["accuracy"])
            result.values[(stage, test.bucket)] = {
                metric: [value(j) for j in judged] for metric, value in METRICS.items()}
            if sweep.compute_matched is not None:
                section = sweep.compute_matched
                settings = SamplingSettings(
                    samples=section.samples, budgets=tuple(section.budgets), seed=seed,
                    temperature=section.temperature, top_p=section.top_p)
                problems = compute_matched_eval(folder / "compute-matched", run_dir, test,
                                                settings, load)
                for budget, found in budget_values(problems).items():
                    result.budgets[(stage, test.bucket, budget)] = found
    return result
