"""The build flow on a real local Prefect server: its gate, cache, retries, versioned
publishing and artifacts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from datasets import load_dataset
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)

from searchtrace.errors import BuildError, UserError
from searchtrace.flows import build as build_module
from searchtrace.flows.artifacts import artifact_key
from searchtrace.flows.build import build_flow
from searchtrace.flows.gate import run_gate
from searchtrace.flows.steps import GateFailed
from searchtrace.flows.versions import LATEST, latest_version, version_folder
from tests.conftest import SMALL_COUNTDOWN
from tests.support import folder_digest

pytestmark = pytest.mark.usefixtures("prefect_api")


def write_config(folder: Path, config: dict[str, Any], name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(config))
    return path


def task_runs(flow_run_id: UUID) -> dict[str, int]:
    """Task name -> run count, for one flow run."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name.rsplit("-", 1)[0]: run.run_count for run in runs}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> tuple[Path, dict, Path]:
    folder = tmp_path_factory.mktemp("flow")
    config = write_config(folder, {**SMALL_COUNTDOWN, "name": "countdown-flow"})
    manifest = build_flow(config=str(config), out=str(folder / "out"))
    return folder / "out", manifest, config


def test_the_build_flow_publishes_a_gated_dataset_and_returns_its_manifest(built) -> None:
    out, manifest, _ = built
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert run_gate(out).ok
    record = json.loads((out / "build.json").read_text())
    assert record["gate"] == {"rows": 55, "reverified": 55}
    assert UUID(record["prefect_flow_run"])
    assert not list(out.parent.glob(".out.staging-*"))


def test_every_build_publishes_a_summary_a_shard_table_and_a_plot(built) -> None:
    out, manifest, _ = built
    key = artifact_key("countdown-flow")
    with get_client(sync_client=True) as client:
        found = {a.key: a for a in client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(
                any_=[key, f"{key}-shards", f"{key}-plot"])))}
    summary = found[key].data
    assert str(out.resolve()) in summary and "| train | 5 | 10 | 10 |" in summary
    assert "gate: passed (55 of 55 rows re-verified)" in summary
    assert "rows/s" in summary and "## Rejected candidates" in summary
    table = found[f"{key}-shards"].data
    table = json.loads(table) if isinstance(table, str) else table
    assert [row["sha256"] for row in table] == [f["sha256"] for f in manifest["files"]]
    assert found[f"{key}-plot"].data.startswith("data:image/png;base64,iVBORw0KGgo")


def test_the_same_build_key_is_a_cache_hit_and_force_rebuilds(built) -> None:
    out, manifest, config = built
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()}
    digest = folder_digest(out)
    state = build_flow(config=str(config), out=str(out), return_state=True)
    assert state.result() == manifest
    assert "beam-build" not in task_runs(state.state_details.flow_run_id)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()} == mtimes
    build_flow(config=str(config), out=str(out), force=True)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()} != mtimes
    assert folder_digest(out) == digest


def test_another_build_over_a_folder_needs_overwrite(built, tmp_path: Path) -> None:
    out, _, _ = built
    other = write_config(tmp_path, {**SMALL_COUNTDOWN, "name": "countdown-flow", "seed": 5})
    with pytest.raises(UserError, match="pass --overwrite"):
        build_flow(config=str(other), out=str(out))


def test_latest_moves_only_after_the_gate_passes(tmp_path: Path) -> None:
    first = write_config(tmp_path, SMALL_COUNTDOWN, "first.yaml")
    root = tmp_path / "versions"
    manifest = build_flow(config=str(first), out=str(root), versioned=True)
    v1 = version_folder(root, manifest["build_key"])
    assert latest_version(root) == v1
    second = write_config(tmp_path, {**SMALL_COUNTDOWN, "seed": 8}, "second.yaml")
    with pytest.raises(GateFailed, match=r"rejection_rate: .* above the 0\.0% ceiling"):
        build_flow(config=str(second), out=str(root), versioned=True, max_rejection_rate=0.0)
    assert latest_version(root) == v1
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == [
        LATEST, v1.name]
    assert {s: len(d) for s, d in load_dataset(str(root / LATEST)).items()} == {
        "train": 42, "test": 13}
    third = write_config(tmp_path, {**SMALL_COUNTDOWN, "splits": {"train": 30, "test": 10}},
                         "third.yaml")
    manifest = build_flow(config=str(third), out=str(root), versioned=True)
    v2 = version_folder(root, manifest["build_key"])
    assert latest_version(root) == v2 and v1.is_dir()
    loaded = load_dataset(str(root / LATEST))  # the new version, not a cached old one
    assert {s: len(d) for s, d in loaded.items()} == {"train": 30, "test": 10}


def test_a_failure_that_can_pass_is_retried_and_the_build_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = build_module.build_staged
    calls = []

    def flaky(*args: Any, **kwargs: Any):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "build_staged", flaky)
    config = write_config(tmp_path, SMALL_COUNTDOWN)
    state = build_flow(config=str(config), out=str(tmp_path / "out"), retry_delay_seconds=0.01,
                       return_state=True)
    assert state.is_completed()
    assert task_runs(state.state_details.flow_run_id)["beam-build"] == 2
    assert run_gate(tmp_path / "out").ok


def test_an_unmeetable_mix_fails_at_once_without_retries(tmp_path: Path) -> None:
    config = copy.deepcopy(SMALL_COUNTDOWN)
    config["task"] = {"name": "countdown", "preset": "easy"}
    config["traces"].update({"k_mix": {40: 1.0}, "max_dead_end_length": 1})
    path = write_config(tmp_path, config)
    state = build_flow(config=str(path), out=str(tmp_path / "out"), retry_delay_seconds=0.01,
                       return_state=True)
    assert state.is_failed()
    with pytest.raises(BuildError, match="bucket train k=40 has 0 of 42 rows"):
        state.result()
    assert task_runs(state.state_details.flow_run_id)["beam-build"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]
