"""Beam flags pass through: the build runs on Beam's portable job service (the protocol
Flink, Spark and Dataflow speak) and on a real Dask cluster (a `dask scheduler` and two
`dask worker` processes, through Beam's DaskRunner), and writes the same bytes as the
in-process runner; the gate passes, every bucket gets exactly its rows, nothing is left
behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

import searchtrace
from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.outputs import sha256_of
from tests.conftest import SMALL_COUNTDOWN
from tests.support import folder_digest

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DASK_RUNNER = "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def job_endpoint() -> Iterator[str]:
    port = free_port()
    service = subprocess.Popen(
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("the Beam job service did not start within 60 s")
        yield f"localhost:{port}"
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_portable_runner_builds_the_same_shards(job_endpoint: str, tmp_path: Path) -> None:
    config = parse_config(SMALL_COUNTDOWN)
    portable, local = tmp_path / "portable", tmp_path / "local"
    run_build(config, portable, beam_args=["--runner=PortableRunner",
                                           f"--job_endpoint={job_endpoint}",
                                           "--environment_type=LOOPBACK"])
    run_build(config, local)
    manifest = json.loads((portable / "manifest.json").read_text())
    assert manifest["files"] == json.loads((local / "manifest.json").read_text())["files"]
    stats = json.loads((portable / "stats.json").read_text())
    assert stats["splits"]["train"]["rows"] == 42


def wait_for_port(port: int, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not listen within 60 s")


def stop(processes: list[subprocess.Popen]) -> None:
    """Terminate the processes and everything they started; kill what does not end."""
    tree: list[psutil.Process] = []
    for process in processes:
        try:
            parent = psutil.Process(process.pid)
            tree += [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    for member in tree:
        try:
            member.terminate()
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(tree, timeout=20)
    for member in alive:
        member.kill()
    psutil.wait_procs(alive, timeout=10)
    for process in processes:
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    """A Dask scheduler and two single-threaded workers on 127.0.0.1, started as a user
    would (`dask scheduler`, `dask worker`) with this interpreter and this source tree
    importable; its address."""
    port = free_port()
    source = str(Path(searchtrace.__file__).resolve().parents[1])
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    started = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--no-dashboard"], **quiet)]
    address = f"tcp://127.0.0.1:{port}"
    try:
        wait_for_port(port, "the Dask scheduler", started[0])
        started += [subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
             "--no-dashboard", "--host", "127.0.0.1"], **quiet) for _ in range(2)]
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        stop(started)


def assert_exact_and_alone(out: Path, config: dict[str, Any]) -> None:
    """The published dataset has every split's requested rows, each k exactly its share,
    a manifest true to its files, and no staging folder is left beside it."""
    stats = json.loads((out / "stats.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    for split, rows in config["splits"].items():
        assert stats["splits"][split]["rows"] == rows
        assert sum(f["rows"] for f in manifest["files"] if f["split"] == split) == rows
        assert stats["splits"][split]["achieved_k"] == stats["splits"][split]["requested_k"]
    for entry in manifest["files"]:
        assert sha256_of(out / entry["path"]) == entry["sha256"]
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def build_on_dask_and_locally(config: dict[str, Any], address: str, tmp_path: Path) -> None:
    on_dask, local = tmp_path / "dask" / "out", tmp_path / "local" / "out"
    run_build(parse_config(config), on_dask,
              beam_args=[DASK_RUNNER, f"--dask_client_address={address}"])
    run_build(parse_config(config), local)
    assert folder_digest(on_dask) == folder_digest(local)
    assert_exact_and_alone(on_dask, config)


def test_a_dask_cluster_builds_the_quickstart_byte_identically(
    dask_cluster: str, tmp_path: Path
) -> None:
    config = yaml.safe_load((CONFIGS / "quickstart.yaml").read_text())
    build_on_dask_and_locally(config, dask_cluster, tmp_path)


@pytest.mark.slow
def test_a_dask_cluster_builds_5000_countdown_rows_byte_identically(
    dask_cluster: str, tmp_path: Path
) -> None:
    config = yaml.safe_load((CONFIGS / "countdown.yaml").read_text())
    config["splits"] = {"train": 4500, "test": 500}
    build_on_dask_and_locally(config, dask_cluster, tmp_path)
