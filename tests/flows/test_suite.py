"""The suite flow on a real local Prefect server: its builds run concurrently, one that
fails is named, and a bad suite is refused before anything runs."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from datasets import load_dataset
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName

from searchtrace.errors import BuildError, UserError
from searchtrace.flows.gate import run_gate
from searchtrace.flows.suite import run_suite
from tests.conftest import SMALL_COUNTDOWN

pytestmark = pytest.mark.usefixtures("prefect_api")


def write_config(folder: Path, config: dict[str, Any], name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_suite_runs_builds_concurrently_and_names_the_one_that_failed(tmp_path: Path) -> None:
    # Builds of a few seconds each, so that they overlap despite Prefect's subflow start-up
    # latency (up to about 2 s each).
    write_config(tmp_path, {**SMALL_COUNTDOWN, "splits": {"train": 1500, "test": 150},
                            "output": {"rows_per_shard": 500}}, "countdown.yaml")
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"builds": [
        {"name": "k-mix", "config": "countdown.yaml"},
        {"name": "k1", "config": "countdown.yaml",
         "set": {"traces": {"k_mix": {1: 1.0}}, "seed": 21}},
        {"name": "impossible", "config": "countdown.yaml",
         "set": {"task": {"preset": "easy", "knobs": {"test_targets": [17, 29, 43]}},
                 "traces": {"k_mix": {40: 1.0}}}},
    ]}))
    started = time.time()
    with pytest.raises(BuildError, match=r"1 of 3 builds failed: impossible \(the requested"):
        run_suite(suite, tmp_path / "out")
    built = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert built == ["k-mix", "k1"]
    assert all(run_gate(tmp_path / "out" / name).ok for name in built)
    k1 = load_dataset(str(tmp_path / "out" / "k1"))
    assert set(k1["train"]["num_backtracks"]) == {1}
    with get_client(sync_client=True) as client:
        runs = [run for run in client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["searchtrace-build"])))
            if run.start_time and run.start_time.timestamp() >= started - 1]
    assert len(runs) == 3
    events = sorted([(run.start_time, 1) for run in runs] + [(run.end_time, -1) for run in runs])
    running = [sum(change for _, change in events[: i + 1]) for i in range(len(events))]
    assert max(running) == min(os.cpu_count() or 1, 3)  # as many at once as cores allow


def test_a_bad_suite_is_refused_before_anything_runs(tmp_path: Path) -> None:
    write_config(tmp_path, SMALL_COUNTDOWN, "countdown.yaml")
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"builds": [
        {"config": "countdown.yaml", "set": {"splits": {"train": -1}}}]}))
    with pytest.raises(UserError, match=r"suite build 0 \(countdown.yaml\): invalid config: "
                                        r"splits: row counts must be between"):
        run_suite(suite, tmp_path / "out")
    suite.write_text(yaml.safe_dump({"builds": [{"config": "countdown.yaml"},
                                                {"config": "countdown.yaml"}]}))
    with pytest.raises(UserError, match="share the output name 'countdown-test'"):
        run_suite(suite, tmp_path / "out")
    assert not (tmp_path / "out").exists()
