"""The validation gate: a clean build passes, and each rule fails on a build corrupted in
the way that rule exists to catch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.flows.gate import default_sample_rate, run_gate
from searchtrace.pipelines.build import run_build
from searchtrace.pipelines.process import UNSOLVED_BY_POLICY
from tests.conftest import SMALL_COUNTDOWN


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gate") / "clean"
    run_build(parse_config(SMALL_COUNTDOWN), out)
    return out


@pytest.fixture
def copy(clean: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(clean, target)
    return target


def shard(dataset: Path, split: str) -> Path:
    return sorted((dataset / "data").glob(f"{split}-*.parquet"))[0]


def rewrite(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, compression="zstd")


def test_a_clean_build_passes_every_rule(clean: Path) -> None:
    report = run_gate(clean)
    assert report.ok, report.failures
    assert report.rows == report.reverified == 55


def test_a_changed_shard_breaks_the_manifest(copy: Path) -> None:
    path = shard(copy, "train")
    table = pq.read_table(path)
    rewrite(path, table.slice(0, table.num_rows))  # same rows, other bytes
    (copy / "data" / "train-99999-of-99999.parquet").write_bytes(path.read_bytes())
    failed = run_gate(copy).failures
    messages = [f.message for f in failed if f.rule == "manifest"]
    assert any("sha256 differs" in m for m in messages)
    assert any("not in the manifest" in m for m in messages)


def test_an_extra_column_breaks_the_schema(copy: Path) -> None:
    path = shard(copy, "test")
    table = pq.read_table(path)
    rewrite(path, table.append_column("extra", pa.array([1] * table.num_rows)))
    assert "schema" in run_gate(copy).rules_failed()


def test_an_emptied_split_is_caught(copy: Path) -> None:
    path = shard(copy, "test")
    rewrite(path, pq.read_table(path).slice(0, 0))
    assert {"empty_split", "mix"} <= run_gate(copy).rules_failed()


def test_a_dropped_row_breaks_the_exact_mix(copy: Path) -> None:
    path = shard(copy, "train")
    table = pq.read_table(path)
    rewrite(path, table.slice(1))
    failed = run_gate(copy).failures
    assert any(f.rule == "mix" and "split train" in f.message for f in failed)


def test_a_problem_shared_by_train_and_test_is_caught(copy: Path) -> None:
    train_path, test_path = shard(copy, "train"), shard(copy, "test")
    test = pq.read_table(test_path)
    moved = pq.read_table(train_path).slice(0, 1)
    moved = moved.set_column(moved.schema.get_field_index("split"), "split",
                             pa.array(["test"]))
    rewrite(test_path, pa.concat_tables([test.slice(1), moved]))
    failed = run_gate(copy).failures
    assert any(f.rule == "overlap" and "share 1 problem" in f.message for f in failed)


def test_a_high_rejection_rate_fails_under_a_low_ceiling(clean: Path) -> None:
    stats = json.loads((clean / "stats.json").read_text())
    assert sum(sum(r.values()) for r in stats["rejections"].values()) > 0
    assert "rejection_rate" in run_gate(clean, max_rejection_rate=0.0).rules_failed()


def test_problems_a_policy_did_not_solve_are_left_out_of_the_rejection_rate(
        copy: Path) -> None:
    stats = json.loads((copy / "stats.json").read_text())
    label = next(iter(stats["rejections"]))
    stats["buckets"][0]["candidates"] += 1000
    stats["rejections"][label][UNSOLVED_BY_POLICY] = 1000
    (copy / "stats.json").write_text(json.dumps(stats))
    assert "rejection_rate" not in run_gate(copy).rules_failed()
    del stats["rejections"][label][UNSOLVED_BY_POLICY]
    stats["rejections"][label]["verify:wrong_state"] = 1000  # a rejection that does count
    (copy / "stats.json").write_text(json.dumps(stats))
    assert "rejection_rate" in run_gate(copy).rules_failed()


def test_a_corrupted_completion_fails_reverification(copy: Path) -> None:
    path = shard(copy, "test")
    table = pq.read_table(path)
    completions = table.column("completion").to_pylist()
    completions[0] = completions[0].replace("That leaves", "That leaves 1,", 1)
    rewrite(path, table.set_column(table.schema.get_field_index("completion"), "completion",
                                   pa.array(completions)))
    failed = run_gate(copy).failures
    assert any(f.rule == "reverify" and "wrong_state" in f.message for f in failed)


def test_sampling_checks_a_deterministic_share(clean: Path) -> None:
    half = run_gate(clean, sample_rate=0.5)
    assert half.ok and 0 < half.reverified < 55
    assert run_gate(clean, sample_rate=0.5).reverified == half.reverified
    assert default_sample_rate(99_999) == 1.0 and default_sample_rate(100_000) == 0.1


def test_bad_gate_arguments_are_user_errors(clean: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="sample-rate"):
        run_gate(clean, sample_rate=0)
    with pytest.raises(UserError, match="not a searchtrace dataset"):
        run_gate(tmp_path)


def test_the_validate_command_exits_1_and_names_the_rule(copy: Path) -> None:
    command = [sys.executable, "-m", "searchtrace.cli", "validate", str(copy)]
    passed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert passed.returncode == 0 and "gate passed: 55 rows, 55 re-verified" in passed.stdout
    path = shard(copy, "train")
    rewrite(path, pq.read_table(path).slice(1))
    failed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1
    assert "FAIL mix: split train" in failed.stderr
