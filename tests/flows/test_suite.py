"""The suite flow on a real local Prefect server: its builds run concurrently, one that
fails is named, a bad suite is refused before anything runs, and the suite's Beam
arguments reach every build (here, Beam's portable job service stands for a cluster)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from datasets import load_dataset
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName

from searchtrace.errors import BuildError, UserError
from searchtrace.flows.gate import run_gate
from searchtrace.flows.suite import SuiteConfig, load_suite, run_suite
from tests.conftest import SMALL_COUNTDOWN
from tests.flows.conftest import free_port

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


DASK = "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"


@pytest.mark.parametrize("beam_args, message", [
    (["runner=FlinkRunner"], "beam_args: 'runner=FlinkRunner' is not a Beam option; write "
                             "each as --name=value"),
    (["--runner=NoSuchRunner"], "beam_args: --runner=NoSuchRunner: Unexpected pipeline "
                                "runner: NoSuchRunner. Valid values are"),
    (["--runner=searchtrace.NoRunner"], "beam_args: --runner=searchtrace.NoRunner: module "
                                        "'searchtrace' has no attribute 'NoRunner'"),
    ([DASK, "--dask_client_address=tcp://127.0.0.1:8786", "--dask_connection_limit=many"],
     "beam_args: argument --dask_connection_limit: invalid int value: 'many'"),
    ([DASK], "beam_args: the DaskRunner needs --dask_client_address=tcp://HOST:PORT"),
    ("--runner=FlinkRunner", "beam_args: Input should be a valid list"),
])
def test_bad_beam_args_are_refused_before_anything_runs(tmp_path: Path, beam_args: object,
                                                        message: str) -> None:
    write_config(tmp_path, SMALL_COUNTDOWN, "countdown.yaml")
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"beam_args": beam_args,
                                     "builds": [{"config": "countdown.yaml"}]}))
    with pytest.raises(UserError) as refused:
        run_suite(suite, tmp_path / "out")
    assert str(refused.value).startswith(f"invalid suite {suite}: {message}")
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("beam_args, concurrency, limit", [
    ([], None, 2),                                                  # this machine's cores
    (["--direct_num_workers=2"], None, 2),                          # no runner: here
    (["--runner=direct"], None, 2),                                 # Beam's in-process runners
    (["--runner=apache_beam.runners.direct.DirectRunner"], None, 2),
    ([DASK, "--dask_client_address=tcp://10.0.0.5:8786"], None, 5),  # a cluster: every build
    ([DASK, "--dask_client_address=tcp://10.0.0.5:8786"], 3, 3),     # unless told fewer
    (["--runner=FlinkRunner", "--flink_master=10.0.0.5:8081"], None, 5),
])
def test_builds_on_a_cluster_are_not_limited_by_local_cores(
    tmp_path: Path, beam_args: list[str], concurrency: int | None, limit: int,
) -> None:
    write_config(tmp_path, SMALL_COUNTDOWN, "countdown.yaml")
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({
        "beam_args": beam_args, "concurrency": concurrency,
        "builds": [{"name": f"b{i}", "config": "countdown.yaml"} for i in range(5)]}))
    config, _ = load_suite(suite)
    assert isinstance(config, SuiteConfig) and config.beam_args == beam_args
    assert config.concurrency_limit(cores=2) == limit


@pytest.fixture
def job_service(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Beam's portable job service (the protocol Flink, Spark and Dataflow speak) as a
    stand-in cluster: its endpoint, and its log, which records every job it ran."""
    port = free_port()
    log = tmp_path / "job-service.log"
    with log.open("w") as sink:
        service = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
             "--port", str(port)], stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert service.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield f"localhost:{port}", log
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_every_build_of_a_suite_runs_with_its_beam_args(job_service: tuple[str, Path],
                                                        tmp_path: Path) -> None:
    endpoint, log = job_service
    write_config(tmp_path, SMALL_COUNTDOWN, "countdown.yaml")
    beam_args = ["--runner=PortableRunner", f"--job_endpoint={endpoint}",
                 "--environment_type=LOOPBACK"]
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"beam_args": beam_args, "builds": [
        {"name": "seed-11", "config": "countdown.yaml"},
        {"name": "seed-12", "config": "countdown.yaml", "set": {"seed": 12}},
        {"name": "seed-13", "config": "countdown.yaml", "set": {"seed": 13}}]}))
    started = time.time()
    manifests = run_suite(suite, tmp_path / "out")
    assert sorted(manifests) == ["seed-11", "seed-12", "seed-13"]
    assert all(run_gate(tmp_path / "out" / name).ok for name in manifests)
    with get_client(sync_client=True) as client:
        runs = [run for run in client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["searchtrace-build"])))
            if run.start_time and run.start_time.timestamp() >= started - 1]
    assert sorted(run.parameters["out"] for run in runs) == sorted(
        str(tmp_path / "out" / name) for name in manifests)
    assert all(run.parameters["beam_args"] == beam_args for run in runs)
    # each build ran its Beam jobs on the job service, not in this process
    assert log.read_text().count("with state DONE") >= len(manifests)
