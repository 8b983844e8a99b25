"""A length-matched build (`traces.length_match`) through the gate: the k = 0 rows are
padded with check lines, every row re-verifies, and the two think-length distributions
match within a stated tolerance, while a build without the knob pads nothing."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pyarrow.parquet as pq

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from searchtrace.tasks import get_task
from searchtrace.traces.parse import split_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style

# The largest gap allowed between matching quantiles (q10 ... q90) of the padded k = 0
# rows' and the k = 3 rows' think characters, relative to the latter. Each k = 0 row
# misses its target by at most half a check line (about 25 of some 500 characters here),
# and the targets come from other problems than the k = 3 rows, so 10% leaves room for
# 20-row samples, while the unpadded k = 0 rows are less than half as long.
TOLERANCE = 0.10


def _rows(folder: Path) -> list[dict]:
    return [row for shard in sorted((folder / "data").glob("*.parquet"))
            for row in pq.read_table(shard).to_pylist()]


def _think_chars(row: dict) -> int:
    return len(split_completion(row["completion"])[0])


def _build(tmp_path: Path, **traces: object) -> tuple[list[dict], dict]:
    raw = {"name": "length-match", "task": {"name": "countdown", "preset": "easy"},
           "traces": {"k_mix": {0: 0.5, 3: 0.5}, "max_dead_end_length": 3, **traces},
           "splits": {"train": 40}, "seed": 5}
    result = run_build(parse_config(raw), tmp_path / "out")
    assert result.record["gate"] == {"rows": 40, "reverified": 40}
    return _rows(tmp_path / "out"), json.loads((tmp_path / "out" / "stats.json").read_text())


def test_a_length_matched_build_pads_k0_rows_to_the_k3_lengths(tmp_path: Path) -> None:
    rows, stats = _build(tmp_path, length_match=3)
    task, reader = get_task("countdown"), get_style("natural")
    k0 = [row for row in rows if row["num_backtracks"] == 0]
    k3 = [row for row in rows if row["num_backtracks"] == 3]
    assert len(k0) == len(k3) == 20
    for row in rows:  # independent of the gate: replayed again here, and lines counted
        assert verify_completion(task, json.loads(row["problem"]), row["completion"],
                                 "natural", row["num_backtracks"]).ok
        counted = reader.count_kinds(split_completion(row["completion"])[0])["check"]
        assert row["padding_lines"] == counted
        assert (counted > 0) == (row["num_backtracks"] == 0)
    padded = sorted(_think_chars(row) for row in k0)
    matched = sorted(_think_chars(row) for row in k3)
    for q in (2, 5, 10, 15, 18):  # q10 ... q90 of 20 rows
        assert abs(padded[q] - matched[q]) <= TOLERANCE * matched[q], (q, padded, matched)
    report = stats["length_match"]
    assert report["k"] == 3 and report["measure"] == "think_chars"
    assert report["k0"]["q50"] == statistics.median(padded)
    assert report["k3"]["q50"] == statistics.median(matched)
    assert report["max_relative_gap"] <= TOLERANCE
    card = (tmp_path / "out" / "README.md").read_text()
    assert "length-matched control" in card and "q50" in card


def test_without_length_match_nothing_is_padded(tmp_path: Path) -> None:
    rows, stats = _build(tmp_path)
    assert {row["padding_lines"] for row in rows} == {0}
    assert "length_match" not in stats
    k0 = [_think_chars(row) for row in rows if row["num_backtracks"] == 0]
    k3 = [_think_chars(row) for row in rows if row["num_backtracks"] == 3]
    assert statistics.median(k0) < 0.5 * statistics.median(k3)  # the confound itself
