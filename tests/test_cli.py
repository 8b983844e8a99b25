"""The `searchtrace` command as a user runs it: exit codes, one-line errors, progress-free
output on success, inspect and verify on a real build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from searchtrace.tasks import task_names
from tests.conftest import SMALL_COUNTDOWN

pytestmark = pytest.mark.usefixtures("prefect_api")  # `build` runs as a Prefect flow


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "searchtrace.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env)


def error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(SMALL_COUNTDOWN))
    result = run_cli("build", str(config), "--out", str(folder / "out"),
                     "--runner=FnApiRunner")
    assert result.returncode == 0, result.stderr
    assert "built in" in result.stdout and "rows/s" in result.stdout
    return folder / "out"


def write_config(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_inspect_shows_the_mix_and_a_rendered_row(dataset: Path) -> None:
    result = run_cli("inspect", str(dataset))
    assert result.returncode == 0, result.stderr
    assert "countdown-test" in result.stdout
    assert "<think>" in result.stdout and "<answer>" in result.stdout
    assert "requested" in result.stdout and "achieved" in result.stdout


def test_verify_passes_on_a_build_and_fails_on_a_corrupted_row(dataset: Path,
                                                              tmp_path: Path) -> None:
    result = run_cli("verify", str(dataset))
    assert result.returncode == 0, result.stderr
    assert "verified 55 rows: 55 ok, 0 failed" in result.stdout

    corrupted = tmp_path / "corrupted"
    (corrupted / "data").mkdir(parents=True)
    (corrupted / "stats.json").write_text((dataset / "stats.json").read_text())
    shard = dataset / "data" / "test-00000-of-00001.parquet"
    table = pq.read_table(shard)
    completions = table.column("completion").to_pylist()
    completions[0] = completions[0].replace("That leaves", "That leaves 1,", 1)
    table = table.set_column(table.schema.get_field_index("completion"), "completion",
                             pa.array(completions))
    pq.write_table(table, corrupted / "data" / shard.name)
    result = run_cli("verify", str(corrupted))
    assert result.returncode == 1
    assert "12 ok, 1 failed" in result.stdout
    assert "wrong_state" in result.stderr


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda c: c["task"].update(name="chess"),
     f"task: unknown task 'chess'; allowed: {', '.join(sorted(task_names()))}"),
    (lambda c: c["task"]["knobs"].update(count=9),
     "task.knobs.count: must be between 3 and 8, got 9"),
    (lambda c: c["traces"].update(k_mix={0: 0.5, 1: 0.2}), "traces.k_mix: shares must sum to 1"),
    (lambda c: c["splits"].update(valid=10), "split names must be among train, test"),
    (lambda c: c.update(colour="blue"), "colour: Extra inputs are not permitted"),
])
def test_a_bad_config_is_one_line_and_exit_code_2(tmp_path: Path, mutate, expected: str) -> None:
    import copy

    config = copy.deepcopy(SMALL_COUNTDOWN)
    mutate(config)
    out = tmp_path / "out"
    result = run_cli("build", str(write_config(tmp_path, config)), "--out", str(out))
    assert result.returncode == 2
    assert expected in error_line(result)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_missing_config_and_another_build_in_the_output_are_refused(
    dataset: Path, tmp_path: Path
) -> None:
    result = run_cli("build", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "config file not found" in error_line(result)
    other = write_config(tmp_path, {**SMALL_COUNTDOWN, "seed": 99})
    result = run_cli("build", str(other), "--out", str(dataset))
    assert result.returncode == 2 and "pass --overwrite" in error_line(result)


def test_the_same_build_again_is_a_cache_hit(dataset: Path, tmp_path: Path) -> None:
    shards = {p: p.stat().st_mtime_ns for p in (dataset / "data").iterdir()}
    result = run_cli("build", str(write_config(tmp_path, SMALL_COUNTDOWN)), "--out",
                     str(dataset))
    assert result.returncode == 0, result.stderr
    assert "cache hit" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in (dataset / "data").iterdir()} == shards


def test_a_stray_argument_and_a_non_dataset_are_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, SMALL_COUNTDOWN)
    result = run_cli("build", str(config), "--out", str(tmp_path / "o"), "stray")
    assert result.returncode == 2 and "unexpected argument 'stray'" in error_line(result)
    result = run_cli("verify", str(tmp_path))
    assert result.returncode == 2 and "not a searchtrace dataset" in error_line(result)


def test_an_unmeetable_mix_exits_1_naming_the_bucket(tmp_path: Path) -> None:
    import copy

    config = copy.deepcopy(SMALL_COUNTDOWN)
    config["task"] = {"name": "countdown", "preset": "easy"}
    config["traces"].update({"k_mix": {40: 1.0}, "max_dead_end_length": 1})
    result = run_cli("build", str(write_config(tmp_path, config)), "--out", str(tmp_path / "o"))
    assert result.returncode == 1
    assert "bucket train k=40 has 0 of 42 rows" in error_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_progress_lines_show_only_long_rounds_every_interval_and_once_done() -> None:
    from searchtrace.cli import progress_lines

    now = [0.0]
    lines: list[str] = []
    report = progress_lines(lines.append, clock=lambda: now[0], every=30)
    train, test = "train round 1", "test round 1"
    calls = [(0, train, 0, 1000), (10, train, 100, 1000), (29, train, 290, 1000),
             (31, train, 310, 1000), (45, train, 450, 1000), (5, test, 0, 10), (6, test, 10, 10),
             (62, train, 620, 1000), (70, train, 1000, 1000), (71, train, 1000, 1000)]
    for t, label, done, total in calls:
        now[0] = t
        report(label, done, total)
    assert lines == ["train round 1: 310/1,000 candidates (31%) after 31 s",
                     "train round 1: 620/1,000 candidates (62%) after 62 s",
                     "train round 1: 1,000/1,000 candidates (100%) after 70 s"]
