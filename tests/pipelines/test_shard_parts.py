"""The one-pass shard writer: a staged file's selected rows go into per-shard parts, and a
shard written from its parts has the same bytes as one written straight from the staged
files (the writer before it read every staged file once per shard)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from searchtrace.config import parse_config
from searchtrace.pipelines.plan import BuildPlan, CandidateRange
from searchtrace.pipelines.shard_parts import read_part, split_staged, write_shard_from_parts
from searchtrace.pipelines.solve import solve_batch
from searchtrace.pipelines.writer import (
    StagedBatches,
    apply_drops,
    shard_of,
    write_shard,
    write_staged,
)

CONFIG = {"name": "parts-test", "task": {"name": "countdown", "preset": "easy"},
          "traces": {"k_mix": {0: 1.0}, "max_dead_end_length": 1},
          "splits": {"train": 12, "test": 4}, "seed": 8, "output": {"rows_per_shard": 4}}
SHARDS = {"train": 3, "test": 2}


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A hand-made staging folder: three files, each mixing both splits."""
    plan = BuildPlan.of(parse_config(CONFIG))
    folder = tmp_path_factory.mktemp("staged")
    batches = [CandidateRange("train", 0, 0, 0, 14), CandidateRange("test", 0, 0, 0, 6)]
    records = [r for b in batches for r in solve_batch(plan, b, str(folder)).records]
    paths = []
    for part in range(3):
        path = folder / f"round-01-part-{part}.parquet"
        write_staged(records[part::3], path, StagedBatches((f"batch-{part}",), Counter()))
        paths.append(path)
    return paths


def selection(path: Path, every: int) -> pa.Table:
    """Every `every`-th row of a staged file, the first with drop level `all`."""
    keys = pq.read_table(path, columns=["_key"])["_key"].to_pylist()[::every]
    return pa.table({"_key": keys, "drop": ["all", *[""] * (len(keys) - 1)]})


def direct_shard(staged: list[Path], selections: list[pa.Table], split: str, shard: int,
                 out: Path) -> None:
    """The shard as the writer before wrote it: every staged file read for this shard."""
    tables = []
    for path, chosen in zip(staged, selections, strict=True):
        table = pq.read_table(path)
        table = table.filter(pc.is_in(table["_key"], value_set=chosen["_key"]))
        mine = [split == s and shard_of(p, SHARDS[s]) == shard for s, p in
                zip(table["split"].to_pylist(), table["problem_id"].to_pylist(), strict=True)]
        drops = {k: d for k, d in zip(chosen["_key"].to_pylist(), chosen["drop"].to_pylist(),
                                      strict=True) if d}
        tables.append(apply_drops(table.filter(pa.array(mine, pa.bool_())), drops))
    write_shard(tables, out)


def test_shards_from_parts_have_the_bytes_of_shards_read_straight_from_staging(
    staged: list[Path], tmp_path: Path
) -> None:
    selections = [selection(path, every) for path, every in zip(staged, (1, 2, 1), strict=True)]
    parts: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for path, chosen in zip(staged, selections, strict=True):
        for key, part in split_staged(path, chosen, tmp_path / f"{path.stem}.arrow", SHARDS):
            parts.setdefault(key, []).append(part)
    written = 0
    for split, count in SHARDS.items():
        for shard in range(count):
            ours, theirs = tmp_path / f"ours-{split}-{shard}", tmp_path / f"theirs-{split}-{shard}"
            written += write_shard_from_parts(parts.get((split, shard), []), ours)
            direct_shard(staged, selections, split, shard, theirs)
            assert ours.read_bytes() == theirs.read_bytes()
    assert written == sum(t.num_rows for t in selections)
    assert sum(1 for t in selections for d in t["drop"].to_pylist() if d) == 3


def test_a_part_holds_one_shards_rows_sorted_by_id(staged: list[Path], tmp_path: Path) -> None:
    chosen = selection(staged[0], 1)
    for (split, shard), part in split_staged(staged[0], chosen, tmp_path / "p.arrow", SHARDS):
        rows = read_part(part).select(["split", "problem_id", "id"]).to_pylist()
        assert rows and all(r["split"] == split for r in rows)
        assert {shard_of(r["problem_id"], SHARDS[split]) for r in rows} == {shard}
        assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


def test_a_staged_file_with_no_selected_row_writes_no_parts(staged: list[Path],
                                                             tmp_path: Path) -> None:
    nothing = pa.table({"_key": pa.array([], pa.string()), "drop": pa.array([], pa.string())})
    assert split_staged(staged[1], nothing, tmp_path / "none.arrow", SHARDS) == []
    assert not (tmp_path / "none.arrow").exists()
