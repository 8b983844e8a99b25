"""A build killed with SIGKILL (mid-solve, mid-write) and started again finishes with output
byte-identical to an uninterrupted build; nothing is visible at the output path in between,
and the candidate batches staged before the kill are not solved again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.writer import read_staged_batches
from tests.support import folder_digest

pytestmark = pytest.mark.usefixtures("prefect_api")

RESUMABLE = {
    "name": "countdown-resume",
    "task": {"name": "countdown", "preset": "medium"},
    "traces": {"k_mix": {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}, "max_dead_end_length": 4},
    "splits": {"train": 3000, "test": 300},
    "seed": 5,
    "output": {"rows_per_shard": 300},
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("reference") / "out"
    run_build(parse_config(RESUMABLE), out, workers=2)
    return folder_digest(out)


def start_build(config: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "searchtrace.cli", "build", str(config), "--out", str(out),
         "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], limit: float = 240) -> None:
    """SIGKILL the build and its solver processes as soon as `ready()` holds."""
    deadline = time.monotonic() + limit
    while not ready():
        assert process.poll() is None, f"the build ended before the kill: {process.stderr.read()}"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def staged_parts(parent: Path) -> list[Path]:
    return sorted(parent.glob(".out.staging-*/staged/round-*-part-*.parquet"))


def shards_or_finished(parent: Path) -> bool:
    return bool(list(parent.glob(".out.staging-*/round-*/dataset/data/*.parquet"))
                or list(parent.glob(".out.staging-*/dataset")))


@pytest.mark.parametrize("kill_point", ["mid-solve", "mid-write"])
def test_a_killed_build_resumes_to_the_same_bytes(
    kill_point: str, reference: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(RESUMABLE))
    out = tmp_path / "out"
    ready = ((lambda: bool(staged_parts(tmp_path))) if kill_point == "mid-solve"
             else (lambda: shards_or_finished(tmp_path)))
    kill_when(start_build(config, out), ready)

    assert not out.exists()  # nothing partial is ever visible at the output path
    done_before = sum(len(read_staged_batches(p).batches) for p in staged_parts(tmp_path))
    assert done_before > 0

    again = start_build(config, out)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert folder_digest(out) == reference
    record = json.loads((out / "build.json").read_text())
    assert record["resumed_batches"] == done_before or record["resumed_finished_dataset"]
    assert not list(tmp_path.glob(".out.staging-*"))
