"""Shared fixtures: small real configs, one Prefect test server for the session, and no
network for Hugging Face libraries or Prefect telemetry."""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="searchtrace-tests-prefect-"))

SMALL_COUNTDOWN: dict[str, Any] = {
    "name": "countdown-test",
    "task": {"name": "countdown", "preset": "medium",
             "knobs": {"test_targets": [17, 29, 43, 58, 71, 89]}},
    "solver": {"name": "dfs", "node_budget": 20000},
    "traces": {"k_mix": {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}, "placement": "uniform",
               "max_dead_end_length": 4, "style": "natural"},
    "splits": {"train": 42, "test": 13},
    "seed": 11,
    "output": {"rows_per_shard": 15},
}


@pytest.fixture
def countdown_config() -> dict[str, Any]:
    """A fresh copy of a small Countdown build config (tests may edit it)."""
    return copy.deepcopy(SMALL_COUNTDOWN)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real local Prefect server (SQLite) for the whole session; its URL is exported so
    `searchtrace` processes started by tests use it too instead of starting their own."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        url = PREFECT_API_URL.value()
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            del os.environ["PREFECT_API_URL"]
