"""Rows of a small build of every task, every style and every solver are the same as the
rows stored from a build made before the layout refactor (issue 13): every column equal
except `code_version` (and `schema_version`, which a new column moves on); a column added
since holds its neutral value. Refresh the stored rows only for a change meant to alter rows:
`python tests/test_golden_rows.py --store`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build

STORED = Path(__file__).parent / "data" / "golden"
TASKS = ("countdown", "sudoku", "nqueens", "coloring", "maze", "zebra", "sokoban", "equations")
IGNORED = ("code_version", "schema_version")
# Columns added after the rows were stored, with the value every one of these builds must
# hold in them (none of them asks for what the column records).
ADDED_COLUMNS: dict[str, object] = {"padding_lines": 0, "drop": "", "corruptions": []}


def _config(task: str, *, style: str = "natural", solver: str = "dfs",
            k_mix: Any = None, preset: str = "easy") -> dict[str, Any]:
    return {
        "name": f"golden-{task}-{style}-{solver}",
        "task": {"name": task, "preset": preset},
        "solver": {"name": solver, "node_budget": 20000},
        "traces": {"k_mix": k_mix or {0: 0.5, 1: 0.25, 2: 0.25}, "style": style,
                   "max_dead_end_length": 3},
        "splits": {"train": 8, "test": 4},
        "seed": 11,
    }


BUILDS: dict[str, dict[str, Any]] = {
    **{f"{task}-natural": _config(task) for task in TASKS},
    **{f"{task}-compact": _config(task, style="compact") for task in TASKS},
    **{f"countdown-{solver}": _config("countdown", solver=solver)
       for solver in ("bfs", "astar", "best_first", "iddfs", "mcts")},
    "countdown-natural-order": _config("countdown", k_mix="natural"),
    "maze-astar-compact": _config("maze", style="compact", solver="astar"),
}


def _rows(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Every split's rows in shard order, without the ignored columns."""
    splits: dict[str, list[dict[str, Any]]] = {}
    for shard in sorted((folder / "data").glob("*.parquet")):
        table = pq.read_table(shard)
        table = table.drop_columns([c for c in IGNORED if c in table.column_names])
        splits.setdefault(shard.name.split("-")[0], []).extend(table.to_pylist())
    return splits


def _stored(name: str) -> dict[str, list[dict[str, Any]]]:
    return _rows(STORED / name)


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_rows_equal_the_rows_stored_before_the_refactor(name: str, tmp_path: Path) -> None:
    out = tmp_path / name
    run_build(parse_config(BUILDS[name]), out)
    built, stored = _rows(out), _stored(name)
    assert sorted(built) == sorted(stored)
    for split, rows in stored.items():
        assert len(built[split]) == len(rows), split
        for index, (new, old) in enumerate(zip(built[split], rows, strict=True)):
            differing = sorted(c for c in old if new.get(c) != old[c])
            assert not differing, f"{name} {split} row {index}: {differing}"
            assert sorted(new) == sorted([*old, *ADDED_COLUMNS])
            assert {c: new[c] for c in ADDED_COLUMNS} == ADDED_COLUMNS


def _store() -> None:
    """Write the rows of every build under tests/data/golden (data/ shards only)."""
    import shutil
    import tempfile

    for name, raw in sorted(BUILDS.items()):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / name
            run_build(parse_config(raw), out)
            target = STORED / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(out / "data", target / "data")
        print("stored", name)


if __name__ == "__main__":
    if sys.argv[1:] != ["--store"]:
        sys.exit("usage: python tests/test_golden_rows.py --store")
    _store()
