"""Shared fixtures: small real configs, and no network for Hugging Face libraries."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

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
