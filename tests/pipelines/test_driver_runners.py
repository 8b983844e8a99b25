"""Beam flags pass through: the build runs on Beam's portable job service (the protocol
Flink, Spark and Dataflow speak) and writes the same bytes as the in-process runner."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from tests.conftest import SMALL_COUNTDOWN


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
