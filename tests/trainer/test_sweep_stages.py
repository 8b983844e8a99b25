"""The backtrack sweep with `stages: [sft]` (no RL run, evaluation or column anywhere in
its results) and chance in its report (the random-legal-move policy's exact accuracy on the
same test problems as the models, cached like the evaluations); one-line errors for a bad
`stages` or an `rl:` section the sweep would not run. Tiny sizes: the numbers are not meant
to show an effect, only to be what the files behind them say."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from searchtrace.errors import UserError
from searchtrace.trainer.chance import chance_accuracy
from searchtrace.trainer.data import RowFilter, load_split
from searchtrace.trainer.experiment import load_sweep
from searchtrace.trainer.intervals import bootstrap_mean
from tests.trainer.support import sweep_cli

ROOT = Path(__file__).resolve().parents[2]
SFT_ONLY: dict[str, Any] = {
    "name": "sweep-sft-only",
    "dataset": str(ROOT / "configs" / "countdown-3.yaml"),
    "k_values": [0, 1],
    "seeds": [0, 1],
    "stages": ["sft"],
    "dataset_overrides": {"splits": {"train": 24, "test": 6}},
    "sft": {"epochs": 1, "max_length": 128, "batch_size": 8},
    "eval": {"max_problems": 4, "max_new_tokens": 16},
    "compute_matched": {"samples": 2, "budgets": [4]},
}


def _sweep(config: Path, out: Path) -> dict[str, Any]:
    result = subprocess.run(sweep_cli(config, out), capture_output=True, text=True,
                            timeout=900, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


@pytest.mark.usefixtures("prefect_api")
def test_an_sft_only_sweep_has_no_rl_anywhere_and_reports_chance(tmp_path: Path) -> None:
    config = tmp_path / "sweep.yaml"
    config.write_text(yaml.safe_dump(SFT_ONLY))
    out = tmp_path / "out"
    results = _sweep(config, out)

    # Only SFT runs and SFT evaluations were made.
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        f"sft-k{k}-s{seed}" for k in (0, 1) for seed in (0, 1)]
    evaluations = sorted(p.name for p in (out / "eval").iterdir() if p.is_dir())
    assert evaluations == [f"sft-k{k}-s{seed}" for k in (0, 1) for seed in (0, 1)]

    # Every table holds the SFT stage alone, its numbers what the eval files say.
    assert results["stages"] == ["sft"]
    assert [r["k"] for r in results["arms"]] == [0, 1]
    for row in results["arms"]:
        assert not [key for key in row if key.startswith("rl_")]
        judged = [json.loads((out / "eval" / f"sft-k{row['k']}-s{seed}" / "eval.json")
                             .read_text())["completions"] for seed in (0, 1)]
        accuracy = bootstrap_mean([[float(c["correct"]) for c in j] for j in judged])
        assert row["sft_accuracy"] == pytest.approx(accuracy.mean, abs=1e-4)
        assert row["sft_accuracy_low"] == pytest.approx(accuracy.low, abs=1e-4)
    for seeds in results["per_seed"].values():
        assert all(not [key for key in s if key.startswith("rl_")] for s in seeds)
    assert [(d["stage"], d["k"], d["minus_k"]) for d in results["differences"]] == [
        ("sft", 1, 0)]
    assert [(e["k"], e["stage"], e["budget"])
            for e in results["compute_matched"]["results"]] == [(0, "sft", 4), (1, "sft", 4)]
    with (out / "results.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header[:4] == ["k", "seeds", "sft_rows", "sft_accuracy"]
    assert not [name for name in header if name.startswith("rl_")]
    table = (out / "results.md").read_text()
    assert "# sweep-sft-only: accuracy after SFT (no RL stage) against k" in table
    assert "RL" not in table.replace("(no RL stage)", "")
    assert "| k | seed | SFT accuracy | SFT backtracks |" in table
    for name in ("results.png", "results-budget.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")

    # Chance: the exact random-legal-move accuracy of the very rows the models saw.
    rows = load_split(out / "data" / "k0", "test",
                      RowFilter(limit=SFT_ONLY["eval"]["max_problems"]))
    assert list(rows["prompt"]) == [c["prompt"] for c in judged[0]]
    expected = chance_accuracy(rows)
    assert expected.unsettled == 0 and expected.accuracy is not None
    assert results["chance"] == {"accuracy": round(expected.accuracy, 4),
                                 "problems": len(rows), "unsettled": 0}
    assert (f"chance (random legal moves) on these {len(rows)} problems: "
            f"{expected.accuracy:.3f}") in table

    # A rerun on the same folder reuses the cached chance and every evaluation.
    cached = [out / "eval" / "chance.json",
              *(out / "eval").rglob("eval.json")]
    written = {path: path.stat().st_mtime_ns for path in cached}
    assert _sweep(config, out) == results
    assert {path: path.stat().st_mtime_ns for path in written} == written


def test_bad_stages_and_an_unrun_rl_section_are_refused_in_one_line(tmp_path: Path) -> None:
    allowed = "stages: Value error, must be [sft] or [sft, rl], got "
    cases = [({"stages": "sft"}, allowed + "'sft'"),
             ({"stages": ["rl"]}, allowed + "['rl']"),
             ({"stages": ["rl", "sft"]}, allowed + "['rl', 'sft']"),
             ({"stages": []}, allowed + "[]"),
             ({"rl": {"steps": 2}}, "rl: settings for RL, which `stages: [sft]` does not run")]
    path = tmp_path / "sweep.yaml"
    for change, message in cases:
        path.write_text(yaml.safe_dump({**SFT_ONLY, **change}))
        with pytest.raises(UserError, match=re.escape(message)) as raised:
            load_sweep(path)
        assert "\n" not in str(raised.value)
    result = subprocess.run(sweep_cli(path, tmp_path / "out"), capture_output=True, text=True,
                            timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "rl: settings for RL" in lines[0]
    assert not (tmp_path / "out").exists()  # nothing half-written
    # Without `stages`, a sweep runs SFT then RL, as before the setting existed.
    path.write_text(yaml.safe_dump({k: v for k, v in SFT_ONLY.items() if k != "stages"}))
    assert load_sweep(path)[0].stages == ["sft", "rl"]
