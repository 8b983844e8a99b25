"""Measured difficulty of the default settings against the harder ones: per config, the
mean and median of each field of the rows' `difficulty` column (nodes_expanded, guesses,
branching, solution_length: the reference DFS), from a small build through the gate.

Each comparison is a shipped config, optionally with knobs overridden, built as a train
split of `--rows` rows with the config's own k-mix, solver and seed.

    python bench/difficulty.py                 # every comparison, 50 rows each
    python bench/difficulty.py --rows 20 --only sudoku
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from searchtrace.config import merge_sections, parse_config, read_yaml
from searchtrace.flows.steps import run_build

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
METRICS = ("nodes_expanded", "guesses", "branching", "solution_length")


@dataclass(frozen=True)
class Setting:
    """One row of the table: a shipped config and the knobs it is built with instead."""

    group: str
    label: str
    config: str
    knobs: dict[str, Any] = field(default_factory=dict)


SETTINGS = (
    Setting("sudoku", "sudoku.yaml (36 givens)", "sudoku.yaml"),
    Setting("sudoku", "26 givens, require_search off", "sudoku-search.yaml",
            {"require_search": False}),
    Setting("sudoku", "sudoku-search.yaml", "sudoku-search.yaml"),
    Setting("countdown", "countdown.yaml (4 numbers)", "countdown.yaml"),
    Setting("countdown", "countdown-5.yaml", "countdown-5.yaml"),
    Setting("countdown", "countdown-6.yaml", "countdown-6.yaml"),
    Setting("equations", "quadratics, no extra shapes", "equations-quadratic-shapes.yaml",
            {"extra_shapes": []}),
    Setting("equations", "equations-quadratic-shapes.yaml", "equations-quadratic-shapes.yaml"),
)


def measure(setting: Setting, rows: int) -> dict[str, Any]:
    """Build `rows` train rows of the setting; the difficulty fields' mean and median."""
    raw = read_yaml(CONFIGS / setting.config, "config")
    raw = merge_sections(raw, {"task": {"knobs": setting.knobs}})
    raw["splits"] = {"train": rows}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        result = run_build(parse_config(raw), Path(folder) / "out")
        table = pq.read_table(result.out / "data", columns=["difficulty"])
        values = table.column("difficulty").to_pylist()
    seconds = time.monotonic() - started
    summary: dict[str, Any] = {"group": setting.group, "setting": setting.label,
                               "rows": len(values), "seconds": round(seconds, 1)}
    for metric in METRICS:
        column = [row[metric] for row in values]
        summary[metric] = {"mean": round(statistics.fmean(column), 2),
                           "median": round(statistics.median(column), 2)}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--only", nargs="+", choices=sorted({s.group for s in SETTINGS}),
                        help="only these task groups")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)
    chosen = [s for s in SETTINGS if not args.only or s.group in args.only]
    header = " | ".join(f"{m} mean / median" for m in METRICS)
    print(f"| setting | rows | {header} |")
    print("|---|---:|" + "---:|" * len(METRICS))
    results = []
    for setting in chosen:
        summary = measure(setting, args.rows)
        results.append(summary)
        cells = " | ".join(f"{summary[m]['mean']:g} / {summary[m]['median']:g}"
                           for m in METRICS)
        print(f"| {setting.label} | {summary['rows']} | {cells} |", flush=True)
    print(json.dumps(results), file=sys.stderr)


if __name__ == "__main__":
    main()
