"""Training data from a searchtrace dataset folder: one split, filtered by k, task and
measured difficulty, as prompt/completion rows with what the verifiers need (task, problem,
style)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchtrace.errors import UserError

KEEP_COLUMNS = ("prompt", "completion", "task", "problem", "style", "num_backtracks")


@dataclass(frozen=True)
class RowFilter:
    """Which rows to train or evaluate on (None: all)."""

    k: tuple[int, ...] | None = None
    task: str | None = None
    max_nodes_expanded: int | None = None
    limit: int | None = None

    def keeps(self, row: dict[str, Any]) -> bool:
        return ((self.k is None or row["num_backtracks"] in self.k)
                and (self.task is None or row["task"] == self.task)
                and (self.max_nodes_expanded is None
                     or row["difficulty"]["nodes_expanded"] <= self.max_nodes_expanded))


def load_split(data: str | Path, split: str, row_filter: RowFilter = RowFilter()) -> Any:
    """The split's rows that pass `row_filter`, in the manifest's shard order; a UserError
    when the folder is not a dataset, the split is missing or nothing is left.

    The shards the manifest lists are read into memory, not through `load_dataset`'s cache,
    which is keyed by path and could serve an earlier dataset built at the same path.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset

    data = Path(data)
    if not (data / "manifest.json").is_file():
        raise UserError(f"--data: not a searchtrace dataset folder (no manifest.json): {data}")
    manifest = json.loads((data / "manifest.json").read_text())
    shards = [data / f["path"] for f in manifest["files"] if f["split"] == split]
    if not shards:
        splits = sorted({f["split"] for f in manifest["files"]})
        raise UserError(f"--split: {data} has no split {split!r}; it has {', '.join(splits)}")
    table = pa.concat_tables([pq.read_table(path) for path in shards])
    facts = table.select(["num_backtracks", "task", "difficulty"]).to_pylist()
    kept = [i for i, row in enumerate(facts) if row_filter.keeps(row)][: row_filter.limit]
    if not kept:
        raise UserError(f"no {split} rows of {data} pass the filter {_describe(row_filter)}")
    return Dataset(table.take(kept).select(list(KEEP_COLUMNS)))


def _describe(row_filter: RowFilter) -> str:
    parts = [f"{name}={value}" for name, value in vars(row_filter).items() if value is not None]
    return ", ".join(parts) or "(none)"


def parse_k(values: Sequence[int] | None) -> tuple[int, ...] | None:
    return tuple(sorted(set(values))) if values else None
