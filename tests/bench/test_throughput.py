"""bench/throughput.py times a real build in a fresh process and splits its CPU seconds
between the driver's main thread, the driver process and the worker processes."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import SMALL_COUNTDOWN

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def throughput() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("throughput")
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.slow  # a build in a fresh process on a local Dask cluster: 31 s on a busy machine
def test_a_two_worker_build_counts_its_workers_cpu_apart_from_the_driver(
        throughput: ModuleType) -> None:
    raw = json.loads(json.dumps(SMALL_COUNTDOWN))
    result = throughput.measure(raw, workers=2, cores=None,
                                src=Path(__file__).resolve().parents[2] / "src")
    used = result["cpu_seconds"]
    assert result["rows"] == 55 and result["seconds"] > 0
    assert 0 < used["driver_main"] <= used["driver"]
    assert used["workers"] > 0  # the local Dask cluster's processes, reaped at its close
