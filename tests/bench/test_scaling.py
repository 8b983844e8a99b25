"""bench/scaling.py sizes a config to each row count with the config's own split shares."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def scaling() -> Iterator[ModuleType]:
    """The bench script as a module (it imports bench/throughput.py beside it)."""
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("scaling")
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("rows", [10_000, 100_000, 1_000_000, 7])
def test_with_rows_keeps_the_split_shares_and_the_total(scaling: ModuleType,
                                                         rows: int) -> None:
    raw = {"name": "x", "splits": {"train": 5000, "test": 500}, "seed": 1}
    sized = scaling.with_rows(raw, rows)
    assert sum(sized["splits"].values()) == rows
    assert abs(sized["splits"]["test"] - rows / 11) < 1
    assert raw["splits"] == {"train": 5000, "test": 500} and sized["seed"] == 1
