"""Scheduled builds on a Prefect process work pool, against a real `prefect server start`:
`searchtrace schedule --work-pool` creates the pool, registers the cron deployment on it and
returns; the server schedules its runs; a real worker, started with the command `schedule`
printed, runs a flow run of the deployment, which publishes a gated version and moves
`latest`. In the default run the schedule is nightly and the run is created from the
deployment through the client, so as not to wait for a cron to fire; the slow variant
schedules every minute and the worker runs the run the cron made."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from datasets import load_dataset
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, temporary_settings

from searchtrace.errors import UserError
from searchtrace.flows.gate import run_gate
from searchtrace.flows.schedule import deploy_schedule
from searchtrace.flows.versions import LATEST, latest_version
from tests.conftest import SMALL_COUNTDOWN
from tests.flows.conftest import BIN, free_port, quiet_env, stop

NIGHTLY = "0 3 * * *"  # never fires during a test run, unless it runs at 03:00
EVERY_MINUTE = "* * * * *"


@pytest.fixture
def client(prefect_server: str) -> Iterator[SyncPrefectClient]:
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}), \
            get_client(sync_client=True) as client:
        yield client


def write_config(folder: Path, name: str) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump({**SMALL_COUNTDOWN, "name": name}))
    return path


def wait_for(what: str, seconds: float, check: Callable[[], object]) -> object:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(1)
    return found


@pytest.mark.parametrize("cron", [NIGHTLY, pytest.param(EVERY_MINUTE, marks=pytest.mark.slow)])
def test_a_worker_of_the_pool_runs_the_scheduled_deployment(
    prefect_server: str, client: SyncPrefectClient, tmp_path: Path, cron: str,
) -> None:
    every = "nightly" if cron == NIGHTLY else "minutely"
    name, pool = f"countdown-{every}", f"{every}-builds"  # each its own, on the shared server
    config = write_config(tmp_path, name)
    out = tmp_path / "scheduled"
    result = subprocess.run(
        [str(BIN / "searchtrace"), "schedule", str(config), "--cron", cron, "--out",
         str(out), "--api-url", prefect_server, "--work-pool", pool],
        env=quiet_env(tmp_path / "client-home"), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    command = result.stdout.strip().splitlines()[-1].strip()
    assert command == f"PREFECT_API_URL={prefect_server} prefect worker start --pool {pool}"
    assert not out.exists()  # it registered the schedule and returned; nothing built yet

    assert client.read_work_pool(pool).type == "process"
    deployment = client.read_deployment_by_name(f"searchtrace-build/{name}")
    assert deployment.work_pool_name == pool
    assert [s.schedule.cron for s in deployment.schedules] == [cron]
    assert deployment.parameters == {"config": str(config), "out": str(out),
                                     "versioned": True, "workers": 1}
    this_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
    scheduled = wait_for("the server scheduling the next runs", 60, lambda: (
        client.read_flow_runs(deployment_filter=this_deployment, flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))))))
    if cron == NIGHTLY:
        assert all(run.expected_start_time.hour == 3 for run in scheduled)
        run = client.create_flow_run_from_deployment(deployment.id)  # one run now
    else:  # the run the cron made for the next minute
        run = min(scheduled, key=lambda scheduled_run: scheduled_run.expected_start_time)

    log = tmp_path / "worker.log"
    with log.open("w") as sink:
        worker = subprocess.Popen(
            command, shell=True, start_new_session=True, stdout=sink, stderr=subprocess.STDOUT,
            env={**quiet_env(tmp_path / "worker-home"), "PATH": f"{BIN}:{os.environ['PATH']}",
                 "PREFECT_WORKER_QUERY_SECONDS": "1"})
    try:
        def finished() -> object:
            assert worker.poll() is None, log.read_text()[-3000:]
            state = client.read_flow_run(run.id).state
            return state if state is not None and state.is_final() else None

        state = wait_for("the worker running the flow run", 300, finished)
    finally:
        stop(worker)
    assert state.is_completed(), log.read_text()[-3000:]
    version = latest_version(out)
    assert version is not None and (out / LATEST).is_symlink()
    assert run_gate(version).ok
    record = json.loads((version / "build.json").read_text())
    assert record["prefect_flow_run"] == str(run.id)
    loaded = load_dataset(str(out / LATEST))
    assert {split: len(rows) for split, rows in loaded.items()} == SMALL_COUNTDOWN["splits"]


def test_a_pool_is_reused_and_one_of_another_type_or_no_server_refused(
    prefect_server: str, client: SyncPrefectClient, tmp_path: Path,
) -> None:
    config = write_config(tmp_path, "countdown-reused")
    out = tmp_path / "out"
    first = deploy_schedule(config, out, cron=NIGHTLY, api_url=prefect_server,
                            work_pool="reused-pool")
    again = deploy_schedule(config, out, cron="0 4 * * *", api_url=prefect_server,
                            work_pool="reused-pool")
    assert first.created_pool and not again.created_pool
    assert again.deployment_id == first.deployment_id  # updated, not duplicated
    deployment = client.read_deployment(again.deployment_id)
    assert [s.schedule.cron for s in deployment.schedules] == ["0 4 * * *"]

    client.create_work_pool(WorkPoolCreate(name="a-docker-pool", type="docker"))
    with pytest.raises(UserError, match="the pool 'a-docker-pool' is a 'docker' pool; "
                                        "scheduled builds need a 'process' pool"):
        deploy_schedule(config, out, cron=NIGHTLY, api_url=prefect_server,
                        work_pool="a-docker-pool")
    dead = f"http://127.0.0.1:{free_port()}/api"
    with pytest.raises(UserError, match=f"no Prefect server answers at {dead}"):
        deploy_schedule(config, out, cron=NIGHTLY, api_url=dead, work_pool="reused-pool")
    assert not out.exists()
