"""Every coloring preset builds its default dataset (1,000 train + 100 test rows, default
solver, k-mix and gate settings) through the real Beam pipeline and passes the validation
gate: no candidate is lost for want of a coloring, and easy has enough distinct graphs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchtrace.config import parse_config
from searchtrace.flows.gate import run_gate
from searchtrace.flows.steps import run_build


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_preset_builds_its_default_rows_through_the_gate(preset: str, tmp_path: Path) -> None:
    config = parse_config({"task": {"name": "coloring", "preset": preset}})
    assert config.splits == {"train": 1000, "test": 100}
    out = tmp_path / preset
    run_build(config, out)
    report = run_gate(out)  # the default ceiling on rejected candidates, every row replayed
    assert report.ok, report.failures
    assert (report.rows, report.reverified) == (1100, 1100)
    stats = json.loads((out / "stats.json").read_text())
    reasons = {reason for bucket in stats["rejections"].values() for reason in bucket}
    assert not any(reason.startswith("generate:") for reason in reasons), reasons
    tried = sum(bucket["candidates"] for bucket in stats["buckets"])
    rejected = sum(sum(bucket.values()) for bucket in stats["rejections"].values())
    assert rejected <= 0.1 * tried, stats["rejections"]
