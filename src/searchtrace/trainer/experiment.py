"""The backtrack-sweep experiment: for each k, build (or reuse) a dataset whose every trace
has exactly k backtracks, SFT one model on it, evaluate it, run GRPO from it, evaluate
again; then a results table (CSV + markdown) and a plot of accuracy before/after RL
against k, as in "How Much Backtracking is Enough?".

All models are evaluated on the same prompts: the test split of the first k's dataset
(test problems are held out of every training set by the builds' split rules).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from searchtrace.config import read_yaml
from searchtrace.errors import UserError
from searchtrace.trainer.data import RowFilter, load_split
from searchtrace.trainer.evaluate import evaluate_rows, write_report
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
    dataset = (path.parent / sweep.dataset).resolve()
    if not dataset.is_file():
        raise UserError(f"invalid sweep config {path}: dataset config not found: {dataset}")
    return sweep, dataset, sft, rl


def backtrack_sweep(config: str | Path, out: str | Path) -> list[dict[str, Any]]:
    """Run the sweep into `out` (data/, runs/, eval/, results.csv, results.md, results.png);
    finished datasets and runs are reused, so a killed sweep picks up where it stopped."""
    from searchtrace.flows.build import build_flow
    from searchtrace.trainer.models import load_model

    sweep, dataset, sft, rl = load_sweep(config)
    out = Path(out)
    data_dirs = {}
    for k in sweep.k_values:
        data_dirs[k] = out / "data" / f"k{k}"
        overrides = {**sweep.dataset_overrides, "name": f"{sweep.name}-k{k}",
                     "traces": {**sweep.dataset_overrides.get("traces", {}), "k_mix": {k: 1.0}}}
        build_flow(config=str(dataset), out=str(data_dirs[k]), overrides=overrides)
    eval_rows = load_split(data_dirs[sweep.k_values[0]], "test",
                           RowFilter(limit=sweep.eval.max_problems))
    results = []
    for k in sweep.k_values:
        row: dict[str, Any] = {"k": k}
        for stage in ("sft", "rl"):
            run_dir = out / "runs" / f"{stage}-k{k}"
            if stage == "sft":
                record = run_sft(data_dirs[k], sweep.model, run_dir, sft)
                row["sft_rows"] = record["rows"]
            else:
                record = run_rl(data_dirs[k], str(out / "runs" / f"sft-k{k}"), run_dir, rl)
                rewards = record["reward"]
                row["rl_final_reward"] = round(rewards[-1], 4) if rewards else None
            model, tokenizer = load_model(str(run_dir))
            summary, judged = evaluate_rows(model, tokenizer, eval_rows,
                                            max_new_tokens=sweep.eval.max_new_tokens)
            write_report(out / "eval" / f"{stage}-k{k}", summary, judged,
                         {"model": str(run_dir), "data": str(data_dirs[sweep.k_values[0]]),
                          "split": "test"})
            row[f"{stage}_accuracy"] = round(summary.accuracy, 4)
            row[f"{stage}_legal_steps"] = round(summary.legal_step_fraction, 4)
            row[f"{stage}_backtracks"] = round(summary.mean_backtracks, 3)
            row[f"{stage}_format"] = round(summary.format_rate, 4)
            logger.info("k=%d %s: accuracy %.3f", k, stage, summary.accuracy)
        results.append(row)
    _write_results(out, sweep, results, len(eval_rows))
    return results


def _write_results(out: Path, sweep: SweepConfig, results: list[dict[str, Any]],
                   problems: int) -> None:
    columns = list(results[0])
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(results)
    lines = [f"# {sweep.name}: accuracy before and after RL against k", "",
             f"{problems} test problems, the same for every k; model `{sweep.model}`.", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in results]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    _plot(out / "results.png", sweep, results)


def _plot(path: Path, sweep: SweepConfig, results: list[dict[str, Any]]) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.6))
    accuracy, backtracks = figure.subplots(1, 2)
    ks = [r["k"] for r in results]
    for stage, label in (("sft", "after SFT"), ("rl", "after RL")):
        accuracy.plot(ks, [r[f"{stage}_accuracy"] for r in results], marker="o", label=label)
        backtracks.plot(ks, [r[f"{stage}_backtracks"] for r in results], marker="o", label=label)
    accuracy.set_xlabel("backtracks per SFT trace (k)")
    accuracy.set_ylabel("test accuracy")
    accuracy.set_ylim(0, 1)
    accuracy.legend(fontsize=8)
    backtracks.set_xlabel("backtracks per SFT trace (k)")
    backtracks.set_ylabel("backtracks per model output")
    backtracks.legend(fontsize=8)
    figure.suptitle(sweep.name)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
