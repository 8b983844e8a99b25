"""The GPU run (bench/gpu/) on this CPU: the driver and everything it uses import and run
with Apache Beam, Prefect and matplotlib unimportable (the GPU machine has none), a dry run
of bench/gpu/run.sh at the 1m size writes every stage's numbers (the compute-matched ones
coherent), stages are cut at their
budget, skipped when their input failed and recorded when they raise, and the wheel
installer installs exactly what a Python lacks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build

ROOT = Path(__file__).resolve().parents[2]
# Installed as sitecustomize in the driver's process: the packages the GPU machine lacks
# and the run must not need (or, matplotlib, must do without) raise ImportError, wherever
# they are installed.
BLOCKER = '''
import importlib.abc, sys

ABSENT = {"apache_beam", "prefect", "fastapi", "starlette", "uvicorn", "matplotlib"}


class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ImportError(f"{name} is not installed on the GPU machine")
        return None


sys.meta_path.insert(0, Absent())
'''
TINY_DATA = {
    "name": "gpu-dry-run",
    "task": {"name": "countdown", "preset": "easy",
             "knobs": {"count": 3, "number_range": [1, 20], "target_range": [10, 100],
                       "test_targets": [13, 27, 34, 41, 52]}},
    "traces": {"k_mix": {0: 0.5, 2: 0.5}, "style": "compact", "max_dead_end_length": 3},
    "splits": {"train": 40, "test": 8},
    "seed": 7,
}


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def blocked_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a process in which Beam, Prefect, FastAPI and matplotlib cannot
    be imported."""
    folder = tmp_path / "blocker"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    paths = [str(folder), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def test_the_driver_imports_without_beam_or_prefect(blocked_env: dict[str, str]) -> None:
    code = """
import importlib.util, sys
for absent in ("apache_beam", "prefect", "searchtrace.flows.build", "matplotlib"):
    try:
        __import__(absent)
    except ImportError:
        pass
    else:
        sys.exit(f"the blocker let {absent} import")
spec = importlib.util.spec_from_file_location("gpu_run", "bench/gpu/run.py")
run = sys.modules["gpu_run"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)
run.bench_module()
import searchtrace.config, searchtrace.solvers.llm_mcts, searchtrace.solvers.policy_local
import searchtrace.trainer.evaluate, searchtrace.trainer.models, searchtrace.trainer.rl
import searchtrace.trainer.sft, searchtrace.trainer.compute_matched
from trl import GRPOTrainer, SFTTrainer
print("imported")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=blocked_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "imported"


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gpu") / "data"
    run_build(parse_config(TINY_DATA), out)
    return out


def test_a_dry_run_of_run_sh_writes_every_stage_with_numbers(
        tiny_dataset: Path, blocked_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "results"
    env = {**blocked_env, "PYTHON": sys.executable, "GPU_SITE": str(tmp_path / "site"),
           "OUT": str(out)}
    done = subprocess.run(
        ["bash", "bench/gpu/run.sh", "--dry-run", "--dataset", str(tiny_dataset),
         "--k", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    stages = {s["name"]: s for s in results["stages"]}
    assert list(stages) == ["sft-policy-1m", "frontier", "sft-1m-k2", "eval-sft-1m-k2",
                            "rl-1m-k2", "eval-rl-1m-k2", "cm-rl-1m-k2"]
    assert {s["status"] for s in stages.values()} == {"done"}, stages
    assert results["dry_run"] is True and results["device"] == "cpu"
    assert results["versions"]["trl"] != "absent"
    assert [(row["size"], row["k"]) for row in results["sweep"]] == [("1m", 2)]
    for row in results["sweep"]:
        assert row["sft"]["rows"] == 16 and row["sft"]["steps"] == 2
        assert row["sft"]["tokens_per_s"] > 0
        assert row["sft"]["loss_first"] > 0 and row["sft"]["parameters"] > 500_000
        assert row["rl"]["steps"] == 2 and row["rl"]["completions_per_s"] > 0
        assert "answer_reward" in row["rl"]["mean_rewards"]
        for evaluation in (row["eval_sft"], row["eval_rl"]):
            assert evaluation["problems"] == 4
            assert 0 <= evaluation["accuracy"] <= 1
            assert evaluation["generated_tokens_per_s"] > 0
        assert_compute_matched_coherent(row["cm_rl"], out / "eval" / "cm-rl-1m-k2")
    frontier = results["frontier"]
    assert results["policy_sft"]["rows"] == 16  # rows of every k
    assert frontier["policy"].endswith("policy-1m")
    assert [r["frontier"] for r in frontier["sizes"]] == [1, 4]
    assert all(r["expansions_per_s"] > 0 for r in frontier["sizes"])
    assert frontier["sizes"][0]["speedup_vs_1"] == 1.0
    assert frontier["sizes"][1]["frontier_max"] == 4
    report = (out / "results.md").read_text()
    assert "| 1m | 2 |" in report and "| frontier | done |" in report
    assert "## Compute-matched evaluation after RL (N = 2" in report
    assert "| 1m | 2 | 12 |" in report and "| 1m | 2 | 24 |" in report
    assert report in done.stdout
    assert (out / "eval" / "rl-1m-k2" / "eval.json").is_file()


def assert_compute_matched_coherent(metrics: dict, report: Path) -> None:
    """The dry plan's compute-matched numbers (N = 2, budgets 12 and 24, 4 problems) hold
    what they must: accuracies in [0, 1], a majority no better than pass@N, no mode over
    its budget, pass@N and pass@1 the ends of pass@k, and the report matches."""
    assert metrics["problems"] == 4 and metrics["samples"] == 2
    assert metrics["plot"] is False  # matplotlib is blocked, as on the GPU machine
    assert metrics["generation_s"] > 0 and metrics["generated_tokens_per_s"] > 0
    assert [b["budget"] for b in metrics["budgets"]] == [12, 24]
    for b in metrics["budgets"]:
        assert sum(b["shares"]) == b["budget"] and len(b["shares"]) == 2
        rates = [b["sequential_accuracy"], b["pass_at_n"], b["majority_accuracy"],
                 *b["pass_at_k"]]
        assert all(0 <= r <= 1 for r in rates)
        assert b["majority_accuracy"] <= b["pass_at_n"] == b["pass_at_k"][-1]
        assert b["pass_at_k"][0] <= b["pass_at_k"][1]
        assert 0 < b["sequential_tokens"] <= b["sequential_tokens_max"] <= b["budget"]
        assert 0 < b["parallel_tokens"] <= b["parallel_tokens_max"] <= b["budget"]
    written = json.loads((report / "eval.json").read_text())
    assert [r["budget"] for r in written["results"]] == [12, 24]
    assert len(written["problems"]) == 4 and written["samples"] == 2
    assert not (report / "eval.png").exists()
    assert "No plot: matplotlib is not installed." in (report / "eval.md").read_text()


@pytest.mark.parametrize("bad", ["dataset", "policy"])
def test_the_driver_refuses_a_missing_dataset_or_policy_in_one_line(
        bad: str, tiny_dataset: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "nothing" if bad == "dataset" else tiny_dataset
    done = subprocess.run([sys.executable, "bench/gpu/run.py", "--dry-run", "--dataset",
                           str(dataset), "--policy", str(tmp_path), "--out",
                           str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and f"--{bad}:" in done.stderr
    assert not (tmp_path / "out").exists()


def test_stages_are_cut_at_their_budget_skipped_or_recorded_as_failed() -> None:
    run = load_module("gpu_run", ROOT / "bench" / "gpu" / "run.py")
    runner = run.Runner(budget_s=60, cuda=False)

    def bad() -> dict:
        raise ValueError("no such thing\nsecond line")

    assert runner.run("slow", 0.5, lambda: time.sleep(5) or {}) is None
    assert runner.results[0].seconds < 2  # the timer ended the sleep
    assert runner.run("after-slow", 10, lambda: {"x": 1}, needs="slow") is None
    assert runner.run("bad", 10, bad) is None
    assert runner.run("good", 10, lambda: {"x": 1}) == {"x": 1}
    runner.deadline = time.monotonic() + 1  # less than a stage's minimum left
    assert runner.run("late", 10, lambda: {"x": 1}) is None
    got = {r.name: (r.status, r.note) for r in runner.results}
    assert got == {"slow": ("cut", "stopped at its 0.5 s budget"),
                   "after-slow": ("skipped", "needs slow, which did not finish"),
                   "bad": ("failed", "ValueError: no such thing"),
                   "good": ("done", ""),
                   "late": ("skipped", "the overall budget is spent (1 s left)")}


def test_the_gpu_plans_compute_matched_rows_fit_one_generate_call() -> None:
    from searchtrace.trainer.compute_matched import SamplingSettings

    run = load_module("gpu_run", ROOT / "bench" / "gpu" / "run.py")
    for plan in (run.gpu_plan(), run.dry_plan()):
        SamplingSettings(samples=plan.cm_samples, budgets=plan.cm_budgets)  # valid
        rows = (1 + plan.cm_samples) * len(plan.cm_budgets) * plan.cm_problems
        assert rows <= plan.cm_batch_rows and plan.cm_problems <= plan.eval_problems
        assert plan.stage_budget("cm") > 0


def make_wheel(folder: Path, name: str, version: str, requires: list[str],
               files: dict[str, str]) -> Path:
    """A real wheel file: its files, and a dist-info whose METADATA lists `requires`."""
    path = folder / f"{name}-{version}-py3-none-any.whl"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
        archive.writestr(f"{name}-{version}.dist-info/METADATA", meta)
    return path


def test_the_wheel_installer_installs_only_what_this_python_lacks(tmp_path: Path) -> None:
    wheels = load_module("gpu_wheels", ROOT / "bench" / "gpu" / "wheels.py")
    folder, site = tmp_path / "whl", tmp_path / "site"
    folder.mkdir()
    make_wheel(folder, "st_probe_absent", "1.0",
               ["packaging>=9999", "numpy<1", "st_probe_other; extra == 'x'"],
               {"st_probe_absent/__init__.py": "VALUE = 1\n",
                "st_probe_absent-1.0.data/purelib/st_probe_data.py": "VALUE = 2\n",
                "st_probe_absent-1.0.data/scripts/tool": "#!/bin/sh\n"})
    make_wheel(folder, "packaging", "9999.0", [], {"packaging/__init__.py": ""})
    make_wheel(folder, "pyyaml", "1.0", [], {"yaml/__init__.py": ""})  # installed: kept
    done = subprocess.run([sys.executable, str(ROOT / "bench/gpu/wheels.py"), str(folder),
                           str(site)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "installed: packaging 9999.0, st-probe-absent 1.0"
    assert done.stderr.splitlines() == [
        f"warning: st-probe-absent 1.0 wants numpy<1; found {wheels.installed_version('numpy')}"]
    assert (site / "st_probe_absent" / "__init__.py").read_text() == "VALUE = 1\n"
    assert (site / "st_probe_data.py").read_text() == "VALUE = 2\n"
    assert (site / "st_probe_absent-1.0.dist-info" / "METADATA").is_file()
    assert not (site / "yaml").exists() and not (site / "tool").exists()
    missing = subprocess.run([sys.executable, str(ROOT / "bench/gpu/wheels.py"),
                              str(tmp_path / "none"), str(site)],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
