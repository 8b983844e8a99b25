"""Every shipped config builds at full size with its exact mix, and the shipped suite runs
(slow: a few minutes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from searchtrace.config import load_config
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.plan import largest_remainder

ROOT = Path(__file__).resolve().parents[2]


# The llm_mcts configs need a trained policy; tests/solvers/test_llm_mcts.py builds with one.
BUILD_CONFIGS = sorted(p.name for p in (ROOT / "configs").glob("*.yaml")
                       if not p.name.startswith(("suite", "sweep-", "countdown-llm-mcts")))


@pytest.mark.slow
@pytest.mark.parametrize("name", BUILD_CONFIGS)
def test_example_config_builds_exactly_and_every_row_reverifies(name: str,
                                                                tmp_path: Path) -> None:
    config = load_config(ROOT / "configs" / name)
    out = tmp_path / name.removesuffix(".yaml")
    run_build(config, out, workers=2)
    stats = json.loads((out / "stats.json").read_text())
    for split, total in config.splits.items():
        expected = {str(k): n for k, n in largest_remainder(total, config.traces.k_mix).items()}
        assert stats["splits"][split]["achieved_k"] == expected
    result = subprocess.run([sys.executable, "-m", "searchtrace.cli", "verify", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"{sum(config.splits.values())} ok, 0 failed" in result.stdout


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
def test_the_shipped_suite_builds_every_dataset(tmp_path: Path) -> None:
    from searchtrace.flows.gate import run_gate
    from searchtrace.flows.suite import load_suite

    _, builds = load_suite(ROOT / "configs" / "suite.yaml")
    result = subprocess.run([sys.executable, "-m", "searchtrace.cli", "suite",
                             str(ROOT / "configs" / "suite.yaml"), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(builds)
    for name in builds:
        assert run_gate(tmp_path / name).ok
