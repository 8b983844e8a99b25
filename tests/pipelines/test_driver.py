"""End-to-end builds through the real Beam pipeline: layout, exactness, determinism,
verification of every written row, and failures that leave nothing behind."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from searchtrace.config import parse_config
from searchtrace.errors import BuildError, UserError
from searchtrace.flows.steps import gate_staged, run_build
from searchtrace.pipelines import driver, sizing
from searchtrace.pipelines.outputs import sha256_of
from searchtrace.pipelines.plan import BuildPlan, largest_remainder
from searchtrace.pipelines.reverify import read_replay, replay_path
from searchtrace.schemas.rows import ROW_SCHEMA
from searchtrace.tasks import get_task
from searchtrace.traces.replay import verify_completion
from tests.conftest import SMALL_COUNTDOWN
from tests.support import folder_digest


def rows_of(out: Path) -> list[dict]:
    return [row for path in sorted((out / "data").glob("*.parquet"))
            for row in pq.read_table(path).to_pylist()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "countdown"
    run_build(parse_config(SMALL_COUNTDOWN), out)
    return out


def test_output_is_a_dataset_folder_with_card_stats_config_and_manifest(built: Path) -> None:
    assert sorted(p.name for p in built.iterdir()) == [
        "README.md", "build.json", "config.yaml", "data", "manifest.json", "plots", "stats.json"]
    plot = built / "plots" / "mix.png"
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and plot.stat().st_size > 5000
    names = sorted(p.name for p in (built / "data").iterdir())
    assert names == ["test-00000-of-00001.parquet", "train-00000-of-00003.parquet",
                     "train-00001-of-00003.parquet", "train-00002-of-00003.parquet"]
    manifest = json.loads((built / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == [f"data/{n}" for n in names]
    for entry in manifest["files"]:
        path = built / entry["path"]
        assert entry["sha256"] == sha256_of(path)
        assert entry["rows"] == pq.ParquetFile(path).metadata.num_rows
        assert pq.read_schema(path).remove_metadata() == ROW_SCHEMA
    card = (built / "README.md").read_text()
    assert card.startswith("---\nconfigs:")
    assert "](plots/mix.png)" in card
    assert "| train | 5 | 10 | 10 |" in card  # 42 rows: 11/11/10/10 by largest remainder


def test_every_split_meets_the_requested_k_mix_exactly(built: Path) -> None:
    rows = rows_of(built)
    for split, total in SMALL_COUNTDOWN["splits"].items():
        achieved = Counter(r["num_backtracks"] for r in rows if r["split"] == split)
        assert dict(achieved) == largest_remainder(total, SMALL_COUNTDOWN["traces"]["k_mix"])
    stats = json.loads((built / "stats.json").read_text())
    assert stats["splits"]["train"]["achieved_k"] == {"0": 11, "1": 11, "3": 10, "5": 10}
    assert stats["splits"]["train"]["requested_k"] == stats["splits"]["train"]["achieved_k"]


def test_every_written_row_verifies_and_carries_its_facts(built: Path) -> None:
    task = get_task("countdown")
    for row in rows_of(built):
        data = json.loads(row["problem"])
        verdict = verify_completion(task, data, row["completion"], row["style"],
                                    row["num_backtracks"])
        assert verdict.ok, (row["id"], verdict)
        assert len(row["backtrack_positions"]) == row["num_backtracks"]
        assert len(row["dead_end_lengths"]) == row["num_backtracks"]
        assert row["messages"] == [{"role": "user", "content": row["prompt"]},
                                   {"role": "assistant", "content": row["completion"]}]
        assert row["completion"].endswith(f"<answer>{row['answer']}</answer>")
        tree = json.loads(row["search_tree"])
        assert tree["solver"] == row["solver"] == "dfs"
        assert row["difficulty"]["nodes_expanded"] == tree["nodes_expanded"] > 0


def test_splits_share_no_problem_and_no_problem_repeats(built: Path) -> None:
    rows = rows_of(built)
    train = [r["problem_id"] for r in rows if r["split"] == "train"]
    test = [r["problem_id"] for r in rows if r["split"] == "test"]
    assert len(set(train)) == len(train) and len(set(test)) == len(test)
    assert not set(train) & set(test)
    held_out = set(SMALL_COUNTDOWN["task"]["knobs"]["test_targets"])
    assert all(json.loads(r["problem"])["target"] in held_out
               for r in rows if r["split"] == "test")


def test_rows_land_in_the_shard_their_problem_hashes_to_sorted_by_id(built: Path) -> None:
    from searchtrace.pipelines.writer import shard_of

    for path in (built / "data").glob("train-*.parquet"):
        index = int(path.name.split("-")[1])
        rows = pq.read_table(path, columns=["id", "problem_id"]).to_pylist()
        assert all(shard_of(r["problem_id"], 3) == index for r in rows)
        assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


def test_load_dataset_reads_the_folder_offline(built: Path) -> None:
    dataset = load_dataset(str(built))
    assert {s: len(d) for s, d in dataset.items()} == SMALL_COUNTDOWN["splits"]
    assert dataset["train"][0]["completion"].startswith("<think>\n")


def test_another_build_in_a_folder_of_the_same_name_loads_its_own_rows(
    built: Path, tmp_path: Path, countdown_config: dict
) -> None:
    # `datasets` caches a local folder by its name and config name; the card names the
    # config by build key, so the first folder's cached rows are never served for this one.
    load_dataset(str(built))
    countdown_config["splits"] = {"train": 20, "test": 6}
    other = tmp_path / built.name
    run_build(parse_config(countdown_config), other)
    assert {s: len(d) for s, d in load_dataset(str(other)).items()} == {"train": 20, "test": 6}


def test_the_same_config_builds_a_byte_identical_folder(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run_build(parse_config(SMALL_COUNTDOWN), again)
    assert folder_digest(again) == folder_digest(built)
    assert json.loads((again / "build.json").read_text())["resumed_batches"] == 0


def test_two_worker_processes_build_the_same_bytes(built: Path, tmp_path: Path) -> None:
    parallel = tmp_path / "parallel"
    run_build(parse_config(SMALL_COUNTDOWN), parallel, workers=2)
    assert folder_digest(parallel) == folder_digest(built)
    assert json.loads((parallel / "build.json").read_text())["workers"] == 2


def test_a_staged_build_records_each_shards_replay_of_its_own_bytes(tmp_path: Path) -> None:
    """The shards' rows are replayed by the runner (`pipelines.reverify`) and recorded
    with each file's sha256, which the gate then takes instead of replaying again."""
    plan = BuildPlan.of(parse_config(SMALL_COUNTDOWN))
    staged = driver.build_staged(plan, tmp_path / "staging")
    assert staged.replayed is not None
    shards = sorted((staged.dataset / "data").glob("*.parquet"))
    for path in shards:
        replay = read_replay(replay_path(staged.replayed, path.name))
        assert replay is not None and replay.sha256 == sha256_of(path)
        assert (replay.rate, replay.checked, replay.failed) == (
            1.0, pq.ParquetFile(path).metadata.num_rows, ())
    report = gate_staged(plan, staged)
    assert report.ok and report.reverified == sum(plan.config.splits.values())


def test_a_build_that_takes_more_rounds_writes_the_same_shards_once(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first round sized for half the rows (a pilot promising every candidate
    verifies, no margin) leaves every bucket short: more rounds follow, and the shards,
    written once after the last, hold the same rows as the one-round build's."""
    monkeypatch.setattr(driver, "pilot_success_rates", lambda plan, states: {
        s.bucket: dict.fromkeys(range(len(s.bucket.levels)), 1.0) for s in states})
    monkeypatch.setattr(sizing, "FIRST_ROUND_MARGIN", 0.5)
    out = tmp_path / "rounds"
    run_build(parse_config(SMALL_COUNTDOWN), out)
    assert json.loads((out / "stats.json").read_text())["rounds"] > 1
    shards = {name: digest for name, digest in folder_digest(out).items()
              if name.startswith("data/") or name == "manifest.json"}
    assert shards == {name: digest for name, digest in folder_digest(built).items()
                      if name.startswith("data/") or name == "manifest.json"}


def test_a_different_seed_builds_different_problems(built: Path, tmp_path: Path,
                                                    countdown_config: dict) -> None:
    countdown_config["seed"] = 12
    other = tmp_path / "other"
    run_build(parse_config(countdown_config), other)
    assert not {r["problem_id"] for r in rows_of(other)} & {r["problem_id"] for r in rows_of(built)}


def test_natural_mode_keeps_the_solvers_own_backtracks(tmp_path: Path,
                                                       countdown_config: dict) -> None:
    countdown_config["traces"]["k_mix"] = "natural"
    countdown_config["traces"]["style"] = "compact"
    out = tmp_path / "natural"
    run_build(parse_config(countdown_config), out)
    rows = rows_of(out)
    assert len(rows) == 55
    assert all(r["k_mode"] == "natural" for r in rows)
    task = get_task("countdown")
    for row in rows:
        dead_ends = row["completion"].count("\ndead: ")
        assert row["num_backtracks"] == dead_ends
        assert verify_completion(task, json.loads(row["problem"]), row["completion"],
                                 "compact", row["num_backtracks"]).ok


def test_countdown_with_fractions_builds_rows_with_fraction_steps(tmp_path: Path) -> None:
    config = parse_config({
        "task": {"name": "countdown", "preset": "easy",
                 "knobs": {"allow_fractions": True, "count": 4, "number_range": [1, 9],
                           "target_range": [10, 60]}},
        "traces": {"k_mix": {0: 0.5, 2: 0.5}, "style": "compact"},
        "splits": {"train": 60}, "seed": 5,
    })
    out = tmp_path / "fractions"
    run_build(config, out)
    rows = rows_of(out)
    task = get_task("countdown")
    assert all(verify_completion(task, json.loads(r["problem"]), r["completion"], "compact",
                                 r["num_backtracks"]).ok for r in rows)
    think = [r["completion"].split("</think>")[0] for r in rows]
    assert any("/" in t and "(" in t for t in think)  # some step produced a fraction like (7/3)


def test_sudoku_builds_with_unique_puzzles_and_verified_rows(tmp_path: Path) -> None:
    config = parse_config({
        "name": "sudoku-test", "task": {"name": "sudoku", "preset": "easy",
                                        "knobs": {"size": 6, "givens": 18}},
        "traces": {"k_mix": {0: 0.5, 2: 0.5}, "style": "compact", "placement": "late"},
        "splits": {"train": 10, "test": 4}, "seed": 3,
    })
    out = tmp_path / "sudoku"
    run_build(config, out)
    rows = rows_of(out)
    assert Counter(r["num_backtracks"] for r in rows) == {0: 7, 2: 7}
    from searchtrace.tasks.sudoku.generate import count_solutions

    task = get_task("sudoku")
    for row in rows:
        data = json.loads(row["problem"])
        cells = [v for line in data["grid"] for v in line]
        assert count_solutions(6, cells, 2) == 1
        assert verify_completion(task, data, row["completion"], "compact",
                                 row["num_backtracks"]).ok


def test_an_existing_output_is_refused_unless_overwrite(built: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--overwrite"):
        run_build(parse_config(SMALL_COUNTDOWN), built)
    target = tmp_path / "replace"
    shutil.copytree(built, target)  # a dataset (a user's folder is never replaced)
    (target / "data" / "stale.parquet").write_text("old")
    run_build(parse_config(SMALL_COUNTDOWN), target, overwrite=True)
    assert not (target / "data" / "stale.parquet").exists()
    assert (target / "manifest.json").exists()


def test_an_unmeetable_mix_fails_loudly_and_leaves_nothing(tmp_path: Path,
                                                           countdown_config: dict) -> None:
    countdown_config["task"] = {"name": "countdown", "preset": "easy"}
    countdown_config["traces"].update({"k_mix": {0: 0.5, 30: 0.5}, "max_dead_end_length": 1})
    out = tmp_path / "impossible"
    expected = r"bucket train k=30 has 0 of 21 rows.*not_enough_dead_ends"
    with pytest.raises(BuildError, match=expected):
        run_build(parse_config(countdown_config), out)
    assert list(tmp_path.iterdir()) == []
