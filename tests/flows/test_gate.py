"""The validation gate: a clean build passes, and each rule fails on a build corrupted in
the way that rule exists to catch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.flows.gate import default_sample_rate, run_gate
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.outputs import sha256_of
from searchtrace.pipelines.plan import BuildPlan, largest_remainder
from searchtrace.pipelines.process import UNSOLVED_BY_POLICY
from searchtrace.pipelines.reverify import replay_path, replay_shard, write_replay
from searchtrace.tasks.base import Verdict
from searchtrace.version import build_key
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


def test_a_build_is_held_to_its_own_plan(clean: Path) -> None:
    """The gate of a build checks the dataset against the plan it was handed: its buckets
    (a (k, difficulty) count off by one fails the mix) and its build key."""
    plan = BuildPlan.of(parse_config(SMALL_COUNTDOWN))
    assert run_gate(clean, plan=plan).ok
    first, second, *others = plan.buckets
    moved = (replace(first, levels=(first.levels[0] - 1,)),
             replace(second, levels=(second.levels[0] + 1,)), *others)
    failures = run_gate(clean, plan=replace(plan, buckets=moved)).failures
    assert [f.rule for f in failures] == ["mix"]
    assert failures[0].message.startswith("split train: achieved (k, difficulty) counts")
    failures = run_gate(clean, plan=replace(plan, key="0" * 64)).failures
    assert [f.rule for f in failures] == ["build_key"]
    assert "this build's plan 000000000000" in failures[0].message


def test_a_problem_shared_by_train_and_test_is_caught(copy: Path) -> None:
    train_path, test_path = shard(copy, "train"), shard(copy, "test")
    test = pq.read_table(test_path)
    moved = pq.read_table(train_path).slice(0, 1)
    moved = moved.set_column(moved.schema.get_field_index("split"), "split",
                             pa.array(["test"]))
    rewrite(test_path, pa.concat_tables([test.slice(1), moved]))
    failed = run_gate(copy).failures
    assert any(f.rule == "overlap" and "share 1 problem" in f.message for f in failed)


def test_a_problem_repeated_in_another_shard_of_its_split_is_caught(copy: Path) -> None:
    """The rules over rows add the shards up one at a time: a repeat across two shards
    is seen as well as one within a shard."""
    train_path = shard(copy, "train")
    rewrite(train_path.with_name("train-00009-of-00009.parquet"),
            pq.read_table(train_path).slice(3, 1))
    report = run_gate(copy)
    assert report.rows == 56
    assert any(f.rule == "duplicates" and f.message == "split train repeats 1 problem(s)"
               for f in report.failures)
    assert any(f.rule == "manifest" and "train-00009-of-00009" in f.message
               for f in report.failures)


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


def test_a_recorded_replay_counts_only_for_the_bytes_and_rate_it_was_made_of(
        copy: Path, tmp_path: Path) -> None:
    """The shard writers' replays (`pipelines.reverify`) stand in for the gate's own only
    where the shard's sha256 and the sample rate match: a shard changed after it was
    replayed is replayed again, and its broken row is caught."""
    replays = tmp_path / "replayed"
    replays.mkdir()
    for path in sorted((copy / "data").glob("*.parquet")):
        write_replay(replay_shard(path, 1.0), replay_path(replays, path.name))
    assert run_gate(copy, replayed=replays).reverified == 55
    # a recorded verdict is taken as it is for the very bytes it was made of
    path = shard(copy, "test")
    forged = replace(replay_shard(path, 1.0),
                     failed=(("row-x", Verdict.fail("wrong_state", "recorded")),))
    write_replay(forged, replay_path(replays, path.name))
    failed = run_gate(copy, replayed=replays).failures
    assert [f.message for f in failed] == [f"data/{path.name} row row-x: wrong_state: recorded"]
    # at another rate, or once the bytes change, the gate replays the shard itself
    assert run_gate(copy, replayed=replays, sample_rate=0.5).ok
    write_replay(replay_shard(path, 1.0), replay_path(replays, path.name))
    table = pq.read_table(path)
    completions = table.column("completion").to_pylist()
    completions[0] = completions[0].replace("That leaves", "That leaves 1,", 1)
    rewrite(path, table.set_column(table.schema.get_field_index("completion"), "completion",
                                   pa.array(completions)))
    failed = run_gate(copy, replayed=replays).failures
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


# ---- one build: config.yaml, the manifest and the rows agree ----------------------------


def read_yaml_file(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def relist(dataset: Path) -> None:
    """Rewrite the manifest's files (rows, sha256) to match the shards now there, as
    someone covering up an edit would."""
    manifest = json.loads((dataset / "manifest.json").read_text())
    manifest["files"] = [{"path": f"data/{p.name}", "split": p.name.split("-", 1)[0],
                          "rows": pq.ParquetFile(p).metadata.num_rows, "sha256": sha256_of(p)}
                         for p in sorted((dataset / "data").glob("*.parquet"))]
    (dataset / "manifest.json").write_text(json.dumps(manifest))


def test_dropped_rows_with_a_config_and_manifest_edited_to_match_break_the_build_key(
        copy: Path) -> None:
    """Drop train rows so the k-mix of a smaller split is exact, then edit config.yaml's
    splits and the manifest to match: every other rule passes, the build key does not."""
    raw = read_yaml_file(copy / "config.yaml")
    wanted = largest_remainder(34, {int(k): v for k, v in raw["traces"]["k_mix"].items()})
    paths = sorted((copy / "data").glob("train-*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in paths])
    kept, seen = [], Counter()
    for index, k in enumerate(table.column("num_backtracks").to_pylist()):
        if seen[k] < wanted.get(k, 0):
            kept.append(index)
            seen[k] += 1
    for path in paths[1:]:
        path.unlink()
    rewrite(paths[0], table.take(kept))
    raw["splits"]["train"] = 34
    (copy / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    relist(copy)
    report = run_gate(copy)
    assert report.rules_failed() == {"build_key"}, report.failures
    assert "config.yaml records build key" in report.failures[0].message
    assert report.rows == 47


def test_rows_of_another_seed_fail_even_under_a_recomputed_key(copy: Path) -> None:
    """A config.yaml whose key was recomputed for another seed still does not describe
    the rows: their seeds derive from the seed they were built with."""
    raw = read_yaml_file(copy / "config.yaml")
    versions = raw.pop("versions")
    raw["seed"] = 12
    versions["build_key"] = build_key(parse_config(raw).resolved(), versions["code"],
                                      versions["schema"])
    (copy / "config.yaml").write_text(yaml.safe_dump({**raw, "versions": versions}))
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest,
                                                    "build_key": versions["build_key"]}))
    report = run_gate(copy)
    assert report.rules_failed() == {"build_key"}, report.failures
    assert "does not follow from the config's seed 12" in report.failures[0].message


def test_rows_of_another_code_version_break_the_build_key(copy: Path) -> None:
    path = shard(copy, "test")
    table = pq.read_table(path)
    index = table.schema.get_field_index("code_version")
    rewrite(path, table.set_column(index, "code_version", pa.array(["0.0.1+other"] *
                                                                   table.num_rows)))
    relist(copy)
    failures = run_gate(copy).failures
    assert [f.rule for f in failures] == ["build_key"]
    assert "rows have code_version '0.0.1+other'" in failures[0].message


def test_the_manifest_rows_per_split_must_be_the_config_splits(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    train = next(f for f in manifest["files"] if f["split"] == "train")
    train["split"] = "test"  # a train shard counted as test
    (copy / "manifest.json").write_text(json.dumps(manifest))
    failures = run_gate(copy).failures
    assert [f.rule for f in failures] == ["split_counts"]
    assert "config.yaml asks for {'train': 42, 'test': 13}" in failures[0].message


def test_a_config_yaml_without_splits_fails_the_gate(copy: Path) -> None:
    """`splits: {}` published an empty dataset that passed the gate."""
    for path in (copy / "data").glob("*.parquet"):
        path.unlink()
    raw = read_yaml_file(copy / "config.yaml")
    raw["splits"] = {}
    (copy / "config.yaml").write_text(yaml.safe_dump(raw))
    relist(copy)
    failures = run_gate(copy).failures
    assert [f.rule for f in failures] == ["config"]
    assert failures[0].message.startswith("config.yaml: invalid config: splits: must name at "
                                          "least one split")


def test_a_truncated_shard_is_one_failure_naming_it(copy: Path) -> None:
    path = shard(copy, "train")
    path.write_bytes(path.read_bytes()[:500])
    failures = run_gate(copy).failures
    assert len(failures) == 1 and failures[0].rule == "shard", failures
    assert failures[0].message.startswith(f"data/{path.name} is not a readable Parquet file")


def test_a_drops_build_passes_the_gate_which_catches_a_wrong_share_or_a_bad_row(
        tmp_path: Path) -> None:
    raw = {"name": "drops-maze", "task": {"name": "maze", "preset": "easy"},
           "traces": {"k_mix": {0: 0.5, 1: 0.5}, "style": "tokens",
                      "drops": {"none": 0.2, "close": 0.2, "costs": 0.2, "create": 0.2,
                                "all": 0.2}},
           "splits": {"train": 10, "test": 5}, "seed": 4}
    out = tmp_path / "out"
    result = run_build(parse_config(raw), out)
    assert result.record["gate"] == {"rows": 15, "reverified": 15}
    stats = json.loads((out / "stats.json").read_text())
    levels = raw["traces"]["drops"]
    assert stats["splits"]["train"]["achieved_drop"] == dict.fromkeys(levels, 2)
    assert stats["splits"]["test"]["requested_drop"] == dict.fromkeys(levels, 1)
    assert "## Dropped trace parts" in (out / "README.md").read_text()
    shard = sorted((out / "data").glob("train-*.parquet"))[0]
    table = pq.read_table(shard)
    rows = table.to_pylist()
    assert {r["drop"] for r in rows} <= set(levels)
    at = next(i for i, r in enumerate(rows) if r["drop"] == "costs")
    full = next(i for i, r in enumerate(rows) if r["drop"] == "none")
    # a costs row said to be whole: its create lines lack the costs, and the shares are
    # off by one row
    rows[at]["drop"] = "none"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    report = run_gate(out)
    assert {"drops", "reverify"} <= report.rules_failed()
    assert any("missing_cost" in f.message for f in report.failures)
    rows[full]["drop"] = "costs"  # the shares restored; the whole trace still has costs
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    report = run_gate(out)
    assert "drops" not in report.rules_failed()
    assert any("dropped_part_present" in f.message for f in report.failures)


CORRUPT_SHARE = 0.4


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small countdown build with 40% of each split's rows corrupted."""
    raw = json.loads(json.dumps(SMALL_COUNTDOWN))
    raw["name"] = "countdown-corrupt-test"
    raw["traces"]["corrupt"] = {"share": CORRUPT_SHARE,
                                "kinds": ["wrong_arithmetic", "false_dead_end", "wrong_state"]}
    out = tmp_path_factory.mktemp("gate") / "corrupted"
    run_build(parse_config(raw), out)
    return out


def rows_of(dataset: Path) -> list[dict]:
    return [row for path in sorted((dataset / "data").glob("*.parquet"))
            for row in pq.read_table(path).to_pylist()]


def test_a_corrupted_build_has_exact_counts_and_passes_the_gate(corrupted: Path) -> None:
    report = run_gate(corrupted)
    assert report.ok, report.failures
    assert report.rows == report.reverified == 55
    rows = rows_of(corrupted)
    stats = json.loads((corrupted / "stats.json").read_text())
    for split, total in SMALL_COUNTDOWN["splits"].items():
        wanted = largest_remainder(total, {0: 1 - CORRUPT_SHARE, 1: CORRUPT_SHARE})[1]
        ours = [r for r in rows if r["split"] == split and r["corruptions"]]
        assert len(ours) == wanted == stats["splits"][split]["corrupted"]["requested"]
        assert stats["splits"][split]["corrupted"]["achieved"] == wanted
        assert all(len(r["corruptions"]) == 1 for r in ours)
    kinds = Counter(c["kind"] for r in rows for c in r["corruptions"])
    assert sum(kinds.values()) == 5 + 17  # 40% of 13 and of 42
    assert set(kinds) <= {"wrong_arithmetic", "false_dead_end", "wrong_state"}
    assert len(kinds) >= 2
    assert all(r["corruptions"] == [] or r["corruptions"][0]["line"] >= 0 for r in rows)


def test_a_corrupted_build_keeps_the_structure(corrupted: Path) -> None:
    """A corrupted row's think body has as many lines as its trace has steps."""
    for row in rows_of(corrupted):
        think = row["completion"].split("<think>")[1].split("</think>")[0].strip("\n")
        assert len(think.split("\n")) == len(json.loads(row["trace_steps"]))


def test_the_card_and_inspect_say_how_many_rows_are_corrupted(corrupted: Path) -> None:
    card = (corrupted / "README.md").read_text()
    assert "## Corrupted-content control" in card and "**Except**" in card
    assert "| train | 17 / 17 |" in card and "| test | 5 / 5 |" in card
    shown = subprocess.run([sys.executable, "-m", "searchtrace.cli", "inspect", str(corrupted)],
                           capture_output=True, text=True, check=True).stdout
    assert "corrupted train: 17 of 42 rows (requested 17; kinds:" in shown
    assert "corrupted test: 5 of 13 rows (requested 5; kinds:" in shown


def _set_column(path: Path, name: str, values: list) -> None:
    table = pq.read_table(path)
    index = table.schema.get_field_index(name)
    rewrite(path, table.set_column(index, table.schema.field(index),
                                   pa.array(values, table.schema.field(index).type)))


def test_a_corrupted_row_passed_off_as_clean_fails(corrupted: Path, tmp_path: Path) -> None:
    copy_ = tmp_path / "c"
    shutil.copytree(corrupted, copy_)
    path = next(p for p in sorted((copy_ / "data").glob("*.parquet"))
                if any(pq.read_table(p).column("corruptions").to_pylist()))
    listed = pq.read_table(path).column("corruptions").to_pylist()
    _set_column(path, "corruptions", [[] for _ in listed])
    rules = {f.rule for f in run_gate(copy_).failures}
    assert {"corrupted", "reverify"} <= rules


def test_a_clean_row_listed_as_corrupted_fails(corrupted: Path, tmp_path: Path) -> None:
    copy_ = tmp_path / "c"
    shutil.copytree(corrupted, copy_)
    path = next(p for p in sorted((copy_ / "data").glob("*.parquet"))
                if not all(pq.read_table(p).column("corruptions").to_pylist()))
    listed = pq.read_table(path).column("corruptions").to_pylist()
    at = listed.index([])
    listed[at] = [{"line": 0, "kind": "wrong_state"}]
    _set_column(path, "corruptions", listed)
    failed = run_gate(copy_).failures
    assert any(f.rule == "reverify" and "corruption_not_wrong" in f.message for f in failed)
    assert any(f.rule == "corrupted" for f in failed)
