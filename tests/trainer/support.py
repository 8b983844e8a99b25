"""Helpers shared by the sweep tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def sweep_cli(config: Path, out: Path) -> list[str]:
    """The command line that runs the backtrack sweep `config` into `out`."""
    return [sys.executable, "-m", "searchtrace.cli", "experiment", "backtrack-sweep",
            str(config), "--out", str(out)]


def kill_after_first_run(command: list[str], first_run: Path) -> str:
    """Start a sweep `command`, SIGKILL its process group as soon as `first_run` (a run
    record) is written, and return that record's text, for the resumed sweep to reuse."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    while not first_run.is_file() and process.poll() is None:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert first_run.is_file(), f"the sweep stopped before writing {first_run}"
    return first_run.read_text()
