"""The sweep's results: each arm's numbers (mean and 95% bootstrap interval over (seed,
problem) pairs) on each test set, the differences between arms that differ in exactly one
factor (paired bootstrap, `*` when the interval excludes 0), chance on each test set (the
random-legal-move policy), and, with `compute_matched`, sequential against parallel
sampling at each budget; every table and plot has the sweep's own stages (SFT alone, or SFT
and RL). Written as results.csv, results.json, results.md, results.png and
results-budget.png."""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchtrace.trainer.arms import ArmSpec, Factors
from searchtrace.trainer.chance import MAX_STATES, Chance
from searchtrace.trainer.intervals import (
    CONFIDENCE,
    RESAMPLES,
    Interval,
    bootstrap_difference,
    bootstrap_mean,
)
from searchtrace.trainer.sweep_config import SweepConfig

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
# The compute-matched accuracies, and the differences reported against sequential search.
MODES = {"sequential": "sequential", "parallel_pass": "parallel pass@N",
         "parallel_majority": "parallel majority"}
MODE_DIFFERENCES = {"pass_minus_sequential": "parallel_pass",
                    "majority_minus_sequential": "parallel_majority"}


@dataclass(frozen=True)
class Measured:
    """What one arm's runs measured: each seed's summary rows, and the per-problem values
    behind every number: values[(stage, test)][metric][seed index][problem index] and,
    with compute_matched, budgets[(stage, test, budget)][quantity][seed][problem]."""

    arm: ArmSpec
    per_seed: tuple[dict[str, Any], ...]
    values: dict[tuple[str, str | None], dict[str, list[list[float]]]]
    budgets: dict[tuple[str, str | None, int], dict[str, list[list[float]]]]


@dataclass(frozen=True)
class Report:
    """Everything the results files are made of."""

    sweep: SweepConfig
    factors: Factors
    measured: tuple[Measured, ...]
    problems: dict[str | None, int]  # test problems per test set (None: the one set)
    chance: dict[str | None, Chance]  # the random-legal-move policy on each test set

    @property
    def tests(self) -> list[str | None]:
        return list(self.problems)

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages the sweep ran, in order: ("sft",) or ("sft", "rl")."""
        return tuple(self.sweep.stages)

    @property
    def with_rl(self) -> bool:
        return "rl" in self.stages

    def test_key(self, test: str | None) -> dict[str, Any]:
        return {"test": test} if self.factors.bucket else {}


def _bounds(interval: Interval) -> dict[str, float]:
    return {"mean": round(interval.mean, 4), "low": round(interval.low, 4),
            "high": round(interval.high, 4)}


def _difference(later: list[list[float]], earlier: list[list[float]]) -> dict[str, Any]:
    interval = bootstrap_difference(later, earlier)
    return {**_bounds(interval), "outside_noise": interval.excludes_zero()}


def arm_rows(report: Report) -> list[dict[str, Any]]:
    """One row per test set and arm: each number's mean, low and high (95%, over seeds and
    problems) after each stage, and with RL the final RL reward averaged over seeds."""
    rows = []
    for test in report.tests:
        for m in report.measured:
            first = m.per_seed[0]
            row: dict[str, Any] = {**report.factors.label(m.arm), **report.test_key(test),
                                   "seeds": len(m.per_seed), "sft_rows": first["sft_rows"]}
            for stage in report.stages:
                for metric in METRICS:
                    bounds = _bounds(bootstrap_mean(m.values[(stage, test)][metric]))
                    row[f"{stage}_{metric}"] = bounds["mean"]
                    row[f"{stage}_{metric}_low"] = bounds["low"]
                    row[f"{stage}_{metric}_high"] = bounds["high"]
            if report.with_rl:
                rewards = [s["rl_final_reward"] for s in m.per_seed
                           if s["rl_final_reward"] is not None]
                row["rl_final_reward"] = (round(sum(rewards) / len(rewards), 4) if rewards
                                          else None)
            rows.append(row)
    return rows


def one_factor_apart(first: ArmSpec, second: ArmSpec) -> str | None:
    """The factor two arms differ in when they differ in exactly one that is compared:
    `k` (same bucket and control) or `control` (a control arm against the real arm of
    its k and bucket); None otherwise (buckets are not compared with each other)."""
    if first.bucket != second.bucket:
        return None
    if first.control == second.control and first.k != second.k:
        return "k"
    if first.k == second.k and first.control is None and second.control is not None:
        return "control"
    return None


def differences(report: Report) -> list[dict[str, Any]]:
    """At each stage and test set, every pair of arms one factor apart: the later arm
    (larger k, or the control) minus the earlier, per metric, with the paired bootstrap
    interval and whether it excludes 0."""
    found = []
    for stage in report.stages:
        for test in report.tests:
            for first, second in itertools.combinations(report.measured, 2):
                factor = one_factor_apart(first.arm, second.arm)
                if factor is None:
                    continue
                entry: dict[str, Any] = {"stage": stage, **report.test_key(test),
                                         **report.factors.label(second.arm),
                                         f"minus_{factor}": getattr(first.arm, factor)}
                for metric in METRICS:
                    entry[metric] = _difference(second.values[(stage, test)][metric],
                                                first.values[(stage, test)][metric])
                found.append(entry)
    return found


def budget_rows(report: Report) -> list[dict[str, Any]]:
    """With compute_matched: per arm, stage, test set and budget, the sequential and
    parallel accuracies with their intervals, parallel minus sequential with its paired
    interval, and the tokens generated per problem (mean and most)."""
    section = report.sweep.compute_matched
    if section is None:
        return []
    found = []
    for m in report.measured:
        for stage in report.stages:
            for test in report.tests:
                for budget in section.budgets:
                    values = m.budgets[(stage, test, budget)]
                    entry: dict[str, Any] = {**report.factors.label(m.arm), "stage": stage,
                                             **report.test_key(test), "budget": budget}
                    for mode in MODES:
                        entry[mode] = _bounds(bootstrap_mean(values[mode]))
                    for name, mode in MODE_DIFFERENCES.items():
                        entry[name] = _difference(values[mode], values["sequential"])
                    for mode in ("sequential", "parallel"):
                        pooled = [v for seed in values[f"{mode}_tokens"] for v in seed]
                        entry[f"{mode}_tokens"] = round(sum(pooled) / len(pooled), 2)
                        entry[f"{mode}_tokens_max"] = int(max(pooled))
                    found.append(entry)
    return found


def write_results(out: Path, report: Report) -> list[dict[str, Any]]:
    """results.csv, results.json, results.md, results.png and (with compute_matched)
    results-budget.png; returns the arm rows."""
    rows = arm_rows(report)
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    found = differences(report)
    budgets = budget_rows(report)
    sweep = report.sweep
    problems: int | dict[str, int] = (
        {str(t): n for t, n in report.problems.items()} if report.factors.bucket
        else report.problems[None])
    chance: dict[str, Any] = (
        {str(t): _chance_json(c) for t, c in report.chance.items()} if report.factors.bucket
        else _chance_json(report.chance[None]))
    extra: dict[str, Any] = {}
    if sweep.compute_matched is not None:
        extra = {"compute_matched": {"samples": sweep.compute_matched.samples,
                                     "budgets": sweep.compute_matched.budgets,
                                     "temperature": sweep.compute_matched.temperature,
                                     "top_p": sweep.compute_matched.top_p,
                                     "results": budgets}}
    (out / "results.json").write_text(json.dumps(
        {"name": sweep.name, "model": sweep.model, "stages": list(report.stages),
         "problems": problems, "chance": chance, "seeds": sweep.seeds,
         "confidence": CONFIDENCE, "resamples": RESAMPLES, "arms": rows,
         "per_seed": {report.factors.key(m.arm): list(m.per_seed) for m in report.measured},
         "differences": found, **extra}, indent=2) + "\n")
    (out / "results.md").write_text(markdown(report, rows, found, budgets))
    _plot(out / "results.png", report, rows)
    if budgets:
        _plot_budgets(out / "results-budget.png", report, budgets)
    return rows


def _chance_json(chance: Chance) -> dict[str, Any]:
    """A test set's chance in results.json: its accuracy (None when unsettled problems
    leave it unknown), the problems and how many of them were unsettled."""
    accuracy = None if chance.accuracy is None else round(chance.accuracy, 4)
    return {"accuracy": accuracy, "problems": chance.problems, "unsettled": chance.unsettled}


def chance_line(chance: Chance) -> str:
    """The results.md line under each test set's table."""
    head = f"chance (random legal moves) on these {chance.problems} problems: "
    if chance.accuracy is not None:
        return head + f"{chance.accuracy:.3f}"
    return (head + f"not settled ({chance.unsettled} of them reach more than {MAX_STATES:,} "
            "states, too many to count exactly)")


INTERVAL_TEXT = (f"Intervals: {CONFIDENCE:.0%} percentile bootstrap, {RESAMPLES} resamples "
                 "with replacement of the (seed, problem) pairs (seeded, so the same values "
                 "give the same interval).")
DIFFERENCE_TEXT = ("Each difference is the later k's mean minus the earlier k's, with a paired "
                   "bootstrap interval: the same resampled (seed index, problem index) pairs "
                   "for both arms. A `*` marks a difference whose "
                   f"{CONFIDENCE:.0%} interval excludes 0; without one the arms are not told "
                   "apart at this size.")
CONTROL_DIFFERENCE_TEXT = (" A control's difference is its mean minus the mean of the real "
                           "arm of its k (and bucket).")
ARMS_TEXT = ("Arms are (k, bucket, control): the backtracks per SFT trace, the difficulty "
             "bucket its dataset was built from (`difficulty:`), and the corpus (`real` "
             "traces, or a control of the same k: `corrupt`, a wrong step in each corrupted "
             "row with the structure kept; `length_match`, k = 0 traces padded with true "
             "check lines to the length of the k traces). Differences compare arms one "
             "factor apart: k against k with the same bucket and corpus, and a control "
             "against the real arm of its k and bucket.")


def _cell(mean: float, low: float, high: float, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{mean:{sign}.3f} [{low:{sign}.3f}, {high:{sign}.3f}]"


def _marked(entry: dict[str, Any]) -> str:
    return (_cell(entry["mean"], entry["low"], entry["high"], signed=True)
            + (" *" if entry["outside_noise"] else ""))


def _arm_of(entry: dict[str, Any]) -> ArmSpec:
    return ArmSpec(entry["k"], entry.get("bucket"), entry.get("control"))


def _factor_headers(factors: Factors) -> list[str]:
    return ["k", *(["bucket"] if factors.bucket else []),
            *(["corpus"] if factors.control else [])]


def _factor_cells(factors: Factors, entry: dict[str, Any]) -> list[str]:
    return [str(entry["k"]), *([str(entry["bucket"])] if factors.bucket else []),
            *([entry["control"] or "real"] if factors.control else [])]


def _difference_text(report: Report, entry: dict[str, Any]) -> str:
    """`k=2 − k=0` (with the bucket and corpus they share), or `corrupt − real (k=2)`."""
    factors = report.factors
    shared = [*([entry["bucket"]] if factors.bucket else [])]
    if "minus_k" in entry:
        shared += [entry["control"] or "real"] if factors.control else []
        return (f"k={entry['k']} − k={entry['minus_k']}"
                + (f" ({', '.join(shared)})" if shared else ""))
    return f"{entry['control']} − real (k={entry['k']}{''.join(', ' + s for s in shared)})"


def _intro(report: Report) -> list[str]:
    sweep = report.sweep
    pairs = len(sweep.seeds)
    if report.factors.bucket:
        counts = ", ".join(f"`{t}` {n}" for t, n in report.problems.items())
        problems = (f"Test problems per difficulty bucket ({counts}), the same for every "
                    "arm: every model is evaluated on every bucket's test problems")
        pairs_text = f"the {pairs} seed(s) × the test bucket's problems"
    else:
        n = report.problems[None]
        problems = f"{n} test problems, the same for every k"
        pairs_text = f"{pairs * n}"
    title = "before and after RL" if report.with_rl else "after SFT (no RL stage)"
    runs = "one SFT and one RL run" if report.with_rl else "one SFT run"
    seeded = ("initialisation, data order and sampling" if report.with_rl
              else "initialisation and data order")
    return [f"# {sweep.name}: accuracy {title} against k", "",
            f"{problems}; model `{sweep.model}`; training seeds {sweep.seeds} ({runs} per "
            f"{'arm' if report.factors.any else 'k'} and seed: {seeded}). Each "
            f"number is the mean over {pairs_text} (seed, problem) pairs, its interval in "
            "brackets. " + INTERVAL_TEXT, "",
            *([ARMS_TEXT, ""] if report.factors.any else [])]


def _arm_table(report: Report, rows: Sequence[dict[str, Any]]) -> list[str]:
    headers = [*_factor_headers(report.factors), "SFT rows",
               *(f"{STAGE_NAMES[s]} {METRIC_NAMES[m]}" for m in METRICS for s in report.stages),
               *(["RL final reward"] if report.with_rl else [])]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [*_factor_cells(report.factors, row), str(row["sft_rows"])]
        cells += [_cell(row[f"{s}_{m}"], row[f"{s}_{m}_low"], row[f"{s}_{m}_high"])
                  for m in METRICS for s in report.stages]
        cells += [str(row["rl_final_reward"])] if report.with_rl else []
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(report: Report, rows: list[dict[str, Any]], found: list[dict[str, Any]],
             budgets: list[dict[str, Any]]) -> str:
    lines = _intro(report)
    for test in report.tests:
        if test is not None:
            lines += [f"## Test problems of bucket `{test}` ({report.problems[test]})", ""]
        lines += [*_arm_table(report, [r for r in rows if r.get("test") == test]), "",
                  chance_line(report.chance[test]), ""]
    with_test = report.factors.bucket
    lines += ["## Differences between arms", "", DIFFERENCE_TEXT
              + (CONTROL_DIFFERENCE_TEXT if report.factors.control else ""), "",
              "| stage | " + ("test bucket | " if with_test else "") + "difference | "
              + " | ".join(METRIC_NAMES[m] for m in METRICS) + " |",
              "|" + "---|" * (2 + with_test + len(METRICS))]
    for entry in found:
        lines.append(f"| {STAGE_NAMES[entry['stage']]} | "
                     + (f"{entry['test']} | " if with_test else "")
                     + f"{_difference_text(report, entry)} | "
                     + " | ".join(_marked(entry[m]) for m in METRICS) + " |")
    lines += _budget_lines(report, budgets)
    lines += ["", "## Per seed", "", *_per_seed_table(report)]
    return "\n".join(lines) + "\n"


def _per_seed_table(report: Report) -> list[str]:
    """Each seed's accuracy and backtracks after each stage (and its final RL reward)."""
    fields = [f"{s}_{m}" for m in ("accuracy", "backtracks") for s in report.stages]
    fields += ["rl_final_reward"] if report.with_rl else []
    names = [f"{STAGE_NAMES[s]} {m}" for m in ("accuracy", "backtracks") for s in report.stages]
    names += ["RL final reward"] if report.with_rl else []
    with_test = report.factors.bucket
    head = ["arm" if report.factors.any else "k", "seed",
            *(["test bucket"] if with_test else []), *names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in report.measured:
        lines += ["| " + " | ".join([report.factors.text(m.arm), str(s["seed"]),
                                     *([str(s["test"])] if with_test else []),
                                     *(str(s[f]) for f in fields)]) + " |"
                  for s in m.per_seed]
    return lines


def _budget_lines(report: Report, budgets: list[dict[str, Any]]) -> list[str]:
    section = report.sweep.compute_matched
    if section is None:
        return []
    n = section.samples
    with_test = report.factors.bucket
    head = ["arm", "stage", *(["test bucket"] if with_test else []), "budget", "sequential",
            f"parallel pass@{n}", "parallel majority", f"pass@{n} − sequential",
            "majority − sequential", "tokens per problem: sequential / parallel (most)"]
    lines = ["", "## Sequential vs parallel at matched budgets", "",
             f"At each token budget B: sequential, one sampled output of up to B new tokens; "
             f"parallel, {n} outputs sharing B tokens (B/{n} each), judged as pass@{n} (any "
             "correct) and by majority vote; sampled with temperature "
             f"{section.temperature} and top-p {section.top_p}, seeded by the training seed. "
             "The same problems as above, for every arm, stage and seed; differences are "
             "paired over (seed, problem), `*` when their interval excludes 0.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for entry in budgets:
        cells = [report.factors.text(_arm_of(entry)), STAGE_NAMES[entry["stage"]],
                 *([str(entry["test"])] if with_test else []), str(entry["budget"]),
                 *(_cell(entry[m]["mean"], entry[m]["low"], entry[m]["high"]) for m in MODES),
                 *(_marked(entry[d]) for d in MODE_DIFFERENCES),
                 f"{entry['sequential_tokens']:.1f} ({entry['sequential_tokens_max']}) / "
                 f"{entry['parallel_tokens']:.1f} ({entry['parallel_tokens_max']})"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _errorbar(axis: Any, xs: list[float], bounds: list[dict[str, float]], label: str) -> None:
    means = [b["mean"] for b in bounds]
    errors = [[b["mean"] - b["low"] for b in bounds], [b["high"] - b["mean"] for b in bounds]]
    axis.errorbar(xs, means, yerr=errors, marker="o", capsize=3, label=label)


def _group_text(factors: Factors, bucket: str | None, control: str | None) -> str:
    """A (bucket, corpus) group of arms in a legend: `hard, corrupt`; empty for k alone."""
    return ", ".join([*([str(bucket)] if factors.bucket else []),
                      *([control or "real"] if factors.control else [])])


def _plot(path: Path, report: Report, rows: list[dict[str, Any]]) -> None:
    """Accuracy and backtracks per output against k, one panel per test set and number,
    one line per stage and (bucket, corpus) group; chance as a dashed line on the accuracy
    panels."""
    from matplotlib.figure import Figure

    tests = report.tests
    figure = Figure(figsize=(4.5 * len(tests) * 2, 3.6))
    axes = figure.subplots(1, 2 * len(tests), squeeze=False)[0]
    groups = list(dict.fromkeys((r.get("bucket"), r.get("control")) for r in rows))
    for column, (metric, test) in enumerate(itertools.product(("accuracy", "backtracks"),
                                                              tests)):
        axis = axes[column]
        for group, stage in itertools.product(groups, report.stages):
            chosen = [r for r in rows if r.get("test") == test
                      and (r.get("bucket"), r.get("control")) == group]
            name = _group_text(report.factors, *group)
            label = f"{name} after {STAGE_NAMES[stage]}" if name else (
                f"after {STAGE_NAMES[stage]}")
            _errorbar(axis, [r["k"] for r in chosen],
                      [{"mean": r[f"{stage}_{metric}"], "low": r[f"{stage}_{metric}_low"],
                        "high": r[f"{stage}_{metric}_high"]} for r in chosen], label)
        axis.set_xlabel("backtracks per SFT trace (k)")
        if metric == "accuracy":
            axis.set_ylabel(f"test accuracy ({CONFIDENCE:.0%} interval)")
            axis.set_ylim(0, 1)
            chance = report.chance[test].accuracy
            if chance is not None:
                axis.axhline(chance, linestyle="--", color="grey", linewidth=1,
                             label="chance (random legal moves)")
        else:
            axis.set_ylabel("backtracks per model output")
        if test is not None:
            axis.set_title(f"test bucket {test}", fontsize=9)
        axis.legend(fontsize=7)
    figure.suptitle(f"{report.sweep.name} ({len(report.sweep.seeds)} seeds)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def _plot_budgets(path: Path, report: Report, budgets: list[dict[str, Any]]) -> None:
    """Accuracy against token budget, one line per mode, one panel per arm (on its own
    bucket's test problems) and stage."""
    from matplotlib.figure import Figure

    arms = [m.arm for m in report.measured]
    samples = report.sweep.compute_matched.samples if report.sweep.compute_matched else 0
    stages = report.stages
    figure = Figure(figsize=(3.6 * len(arms), 3.2 * len(stages)))
    axes = figure.subplots(len(stages), len(arms), squeeze=False)
    for (row, stage), (column, arm) in itertools.product(enumerate(stages), enumerate(arms)):
        axis = axes[row][column]
        chosen = [e for e in budgets if e["stage"] == stage and _arm_of(e) == arm
                  and e.get("test") == arm.bucket]
        for mode, name in MODES.items():
            _errorbar(axis, [e["budget"] for e in chosen], [e[mode] for e in chosen],
                      name.replace("@N", f"@{samples}"))
        if len({e["budget"] for e in chosen}) > 1:
            axis.set_xscale("log", base=2)
        axis.set_ylim(-0.02, 1.02)
        axis.set_title(f"{report.factors.text(arm)}: after {STAGE_NAMES[stage]}", fontsize=9)
        axis.set_xlabel("token budget per problem (B)")
        axis.set_ylabel("accuracy")
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
