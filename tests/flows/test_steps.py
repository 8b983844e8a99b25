"""`run_build` runs the flow's steps in a row: the plan is computed once and handed to every
stage (and recorded in the staging folder as plan.json), and a dataset that fails the
validation gate is not published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from searchtrace.config import parse_config
from searchtrace.flows import gate as gate_module
from searchtrace.flows import steps as steps_module
from searchtrace.flows.destination import staging_folder
from searchtrace.flows.steps import GateFailed, run_build
from searchtrace.pipelines import driver as driver_module
from searchtrace.pipelines import plan as plan_module
from searchtrace.pipelines.driver import build_staged
from searchtrace.pipelines.plan import PLAN_FILE, BuildPlan
from tests.conftest import SMALL_COUNTDOWN

SMALL = {**SMALL_COUNTDOWN, "splits": {"train": 12, "test": 4}, "output": {"rows_per_shard": 5}}


def spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[tuple]:
    """Record the arguments of every call of `module.name` (which still runs)."""
    calls: list[tuple] = []
    real = getattr(module, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append((*args, *kwargs.values()))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return calls


def test_the_plan_is_computed_once_and_every_stage_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    buckets = spy(monkeypatch, plan_module, "plan_buckets")
    keys = spy(monkeypatch, plan_module, "build_key")

    def never(*args: Any) -> None:
        raise AssertionError("the gate of a build plans nothing: it is handed the plan")

    monkeypatch.setattr(gate_module, "plan_buckets", never)
    staged = spy(monkeypatch, steps_module, "build_staged")
    written = spy(monkeypatch, driver_module, "write_outputs")
    gated = spy(monkeypatch, steps_module, "run_gate")
    recorded = spy(monkeypatch, steps_module, "write_run_record")
    run_build(parse_config(SMALL), tmp_path / "out")
    assert len(buckets) == len(keys) == 1
    plans = [calls[0][index] for calls, index in
             ((staged, 0), (written, 0), (gated, 1), (recorded, 1))]
    assert all(isinstance(plan, BuildPlan) and plan is plans[0] for plan in plans)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["build_key"] == \
        plans[0].key


def test_the_staging_folder_records_the_plan(tmp_path: Path) -> None:
    plan = BuildPlan.of(parse_config(SMALL))
    staging = staging_folder(tmp_path / "out", plan.key)
    build_staged(plan, staging)
    recorded = json.loads((staging / PLAN_FILE).read_text())
    assert recorded == json.loads(json.dumps(plan.to_json()))
    assert recorded["build_key"] == plan.key and recorded["shards"] == {"train": 3, "test": 1}
    assert [b["levels"] for b in recorded["buckets"]] == [[3], [3], [3], [3],
                                                          [1], [1], [1], [1]]


def test_run_build_publishes_nothing_the_gate_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = driver_module.write_outputs

    def losing_a_row(plan: BuildPlan, dataset: Path, *args: Any, **kwargs: Any) -> Any:
        shard = sorted((dataset / "data").glob("train-*.parquet"))[0]
        table = pq.read_table(shard)
        pq.write_table(table.slice(1), shard)  # a writer that lost a row
        return real(plan, dataset, *args, **kwargs)

    monkeypatch.setattr(driver_module, "write_outputs", losing_a_row)
    with pytest.raises(GateFailed, match=r"validation gate failed, nothing was published: "
                                         r"split_counts: .*; mix: split train"):
        run_build(parse_config(SMALL), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    [kept] = tmp_path.glob(".out.staging-*/dataset")
    assert (kept / "manifest.json").is_file()
