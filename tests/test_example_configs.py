"""Every shipped config builds at full size with its exact mix (slow: ~1.5 minutes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from searchtrace.config import load_config
from searchtrace.pipelines.build import run_build
from searchtrace.pipelines.plan import largest_remainder

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
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
