"""Real Prefect processes for the flow tests: one `prefect server start` shared by the
tests of this folder that need a server outliving them (schedules, work pools), and the
helpers to start and stop such processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quiet_env(home: Path) -> dict[str, str]:
    """This process's environment with its own Prefect home, no telemetry and no server
    URL (each command is told which server to use)."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return {**env, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def stop(process: subprocess.Popen) -> None:
    """End a process started with `start_new_session=True` and everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="package")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect server process with its own SQLite database, as a user starts it;
    its scheduler looks for runs to schedule every 2 s."""
    port = free_port()
    env = {**quiet_env(tmp_path_factory.mktemp("server-home")),
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, "prefect server start exited"
            assert time.monotonic() < deadline, "the Prefect server did not come up"
            time.sleep(0.5)
        yield url
    finally:
        stop(server)
