"""The sweep's evaluations of one trained model on one test set, each cached in its folder:
the greedy evaluation (eval.json and eval.md, as `searchtrace eval` writes them) and the
compute-matched one (compute-matched/eval.json, .md and .png); and each test set's chance,
the random-legal-move policy's exact accuracy (chance.json). A written evaluation is
reused when it was made from the same run record, the same test problems and the same
settings, so a resumed sweep does not redo it; the per-problem values are always read back
from the written file, so a fresh and a resumed sweep compute the same numbers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from searchtrace.trainer.chance import Chance, chance_accuracy
from searchtrace.trainer.compute_matched import (
    SamplingSettings,
    evaluate_compute_matched,
    sample_requests,
    write_compute_matched_report,
)
from searchtrace.trainer.evaluate import evaluate_rows, write_report
from searchtrace.trainer.runs import RUN_RECORD

Loader = Callable[[], tuple[Any, Any]]  # the model and tokenizer, loaded on first call

# Each compute-matched number's per-problem value at one budget, read from an outcome as
# `compute_matched.BudgetOutcome` writes it.
BUDGET_QUANTITIES: dict[str, Callable[[dict[str, Any]], float]] = {
    "sequential": lambda o: float(o["sequential"]["correct"]),
    "parallel_pass": lambda o: float(any(j["correct"] for j in o["parallel"])),
    "parallel_majority": lambda o: float(o["vote_correct"]),
    "sequential_tokens": lambda o: float(o["sequential"]["tokens"]),
    "parallel_tokens": lambda o: float(sum(j["tokens"] for j in o["parallel"]))}


@dataclass(frozen=True)
class TestSet:
    """The test problems every model is evaluated on: one set, or one per difficulty
    bucket (`bucket` its name), the test split of that bucket's first real arm."""

    bucket: str | None
    data: Path
    rows: Any  # a datasets.Dataset

    def about(self) -> dict[str, Any]:
        prompts = hashlib.sha256("\0".join(self.rows["prompt"]).encode()).hexdigest()
        # not `problems`: the compute-matched record holds its problems under that key
        return {"data": str(self.data), "split": "test", "problem_count": len(self.rows),
                "prompts_sha256": prompts}


def greedy_eval(folder: Path, run_dir: Path, test: TestSet, max_new_tokens: int,
                load: Loader) -> dict[str, Any]:
    """The greedy evaluation's record (`summary`, `completions`: each judged completion),
    written to `folder` unless it is there already."""
    about = _json({"model": str(run_dir), "run_sha256": _digest(run_dir / RUN_RECORD),
                   **test.about(), "max_new_tokens": max_new_tokens})
    record = _cached(folder / "eval.json", about)
    if record is None:
        model, tokenizer = load()
        summary, judged = evaluate_rows(model, tokenizer, test.rows,
                                        max_new_tokens=max_new_tokens)
        write_report(folder, summary, judged, about)
        record = json.loads((folder / "eval.json").read_text())
    return record


def compute_matched_eval(folder: Path, run_dir: Path, test: TestSet,
                         settings: SamplingSettings, load: Loader) -> list[dict[str, Any]]:
    """The compute-matched evaluation's problems (each with its outcome per budget),
    written to `folder` unless it is there already."""
    about = _json({"model": str(run_dir), "run_sha256": _digest(run_dir / RUN_RECORD),
                   **test.about(), **asdict(settings)})
    record = _cached(folder / "eval.json", about)
    if record is None:
        model, tokenizer = load()
        results, problems = evaluate_compute_matched(
            test.rows, settings, partial(sample_requests, model, tokenizer))
        write_compute_matched_report(folder, results, problems, about)
        record = json.loads((folder / "eval.json").read_text())
    return record["problems"]


def chance_eval(path: Path, test: TestSet) -> Chance:
    """The test set's chance (`chance.chance_accuracy` of its rows), written to `path`
    unless it is there already for the same problems: the exact recursion can take a
    while on larger problems, and a resumed sweep does not redo it."""
    about = _json(test.about())
    record = _cached(path, about)
    if record is None:
        chance = chance_accuracy(test.rows)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial_path = path.with_suffix(".part")
        partial_path.write_text(json.dumps({**about, **asdict(chance)}, indent=2) + "\n")
        partial_path.replace(path)
        record = json.loads(path.read_text())
    return Chance(accuracy=record["accuracy"], problems=record["problems"],
                  unsettled=record["unsettled"])


def budget_values(problems: list[dict[str, Any]]) -> dict[int, dict[str, list[float]]]:
    """values[budget][quantity][problem index] from a compute-matched evaluation."""
    values: dict[int, dict[str, list[float]]] = {}
    for problem in problems:
        for outcome in problem["budgets"]:
            at = values.setdefault(outcome["budget"], {q: [] for q in BUDGET_QUANTITIES})
            for quantity, value in BUDGET_QUANTITIES.items():
                at[quantity].append(value(outcome))
    return values


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _json(about: dict[str, Any]) -> dict[str, Any]:
    """`about` as it reads back from JSON (tuples become lists), to compare with a file."""
    return json.loads(json.dumps(about))


def _cached(path: Path, about: dict[str, Any]) -> dict[str, Any] | None:
    """The evaluation record at `path` when it was made with `about`; None when it is
    missing, cut short (a killed write) or made otherwise."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if all(record.get(key) == value for key, value in about.items()) else None
