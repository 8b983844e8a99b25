"""`searchtrace schedule` against a real `prefect server start` process: a cron schedule
fires within the test, and its run publishes a gated version and moves `latest` to it."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml
from datasets import load_dataset

from searchtrace.flows.gate import run_gate
from searchtrace.flows.versions import LATEST, latest_version
from tests.conftest import SMALL_COUNTDOWN
from tests.flows.conftest import BIN, free_port, quiet_env, stop


def test_a_cron_schedule_fires_and_publishes_a_gated_version(prefect_server: str,
                                                            tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(SMALL_COUNTDOWN))
    out = tmp_path / "scheduled"
    env = {**quiet_env(tmp_path / "client-home"), "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    serving = subprocess.Popen(
        [str(BIN / "searchtrace"), "schedule", str(config), "--cron", "* * * * *", "--out",
         str(out), "--api-url", prefect_server], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180  # the next minute, plus a build
        while latest_version(out) is None:
            assert serving.poll() is None, serving.stdout.read()
            assert time.monotonic() < deadline, "the schedule did not fire in time"
            time.sleep(1)
    finally:
        stop(serving)
    version = latest_version(out)
    assert version.name.startswith("v-") and (out / LATEST).is_symlink()
    assert run_gate(version).ok
    record = json.loads((version / "build.json").read_text())
    with urllib.request.urlopen(f"{prefect_server}/flow_runs/{record['prefect_flow_run']}",
                                timeout=10) as response:
        run = json.loads(response.read())
    assert run["deployment_id"] is not None  # made by the schedule, not by hand
    loaded = load_dataset(str(out / LATEST))
    assert {split: len(rows) for split, rows in loaded.items()} == SMALL_COUNTDOWN["splits"]


def test_scheduling_without_a_server_with_a_bad_cron_or_pool_is_one_line_exit_2(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(SMALL_COUNTDOWN))
    env = quiet_env(tmp_path / "home")
    base = [str(BIN / "searchtrace"), "schedule", str(config), "--out", str(tmp_path / "o")]
    dead = f"http://127.0.0.1:{free_port()}/api"
    for extra, message in [(["--cron", "0 3 * * *", "--api-url", dead],
                            f"no Prefect server answers at {dead}"),
                           (["--cron", "every day", "--api-url", dead],
                            "--cron: not a valid cron expression: 'every day'"),
                           (["--cron", "0 3 * * *", "--work-pool", "night/ly"],
                            "--work-pool: not a work pool name: 'night/ly'")]:
        result = subprocess.run(base + extra, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 2
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "o").exists()
