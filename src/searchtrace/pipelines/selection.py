"""Which verified rows a build keeps: one row per problem, then each bucket's first rows.

The driver decides it, in columns (pyarrow) over the refs of every staged row: a few small
columns, some 50 bytes a row, never a Python object per row. It counts what is kept to
decide whether another round is needed and, once every bucket is full, selects the rows
the shards are written from, so the count and the shards always agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from searchtrace.pipelines.plan import BucketReason

Cell = tuple[str, int, int]  # (split, bucket ordinal, difficulty level)

# A ref: where a verified row waits in staging (its candidate, level, problem and the
# position of its staged file in the list the refs were read from).
REF_SCHEMA = pa.schema([pa.field("split", pa.string()), pa.field("_bucket", pa.int32()),
                        pa.field("_index", pa.int64()), pa.field("_level", pa.int32()),
                        pa.field("problem_id", pa.string()), pa.field("file", pa.int32())])
# What a shard writer needs of each selected row: its staged file, its candidate's key
# (which names it there) and the drop level it is written with ("" without drops).
SELECTED_SCHEMA = pa.schema([pa.field("file", pa.int32()), pa.field("_key", pa.string()),
                             pa.field("drop", pa.string())])


@dataclass(frozen=True)
class Kept:
    """The refs deduplication keeps, and the rows it dropped by bucket and reason."""

    refs: pa.Table
    dropped: Counter[BucketReason]

    def counts(self) -> dict[Cell, int]:
        """Kept rows per (split, bucket, level)."""
        grouped = self.refs.group_by(["split", "_bucket", "_level"]).aggregate(
            [("_index", "count")]).to_pydict()
        return {(split, bucket, level): count for split, bucket, level, count in zip(
            grouped["split"], grouped["_bucket"], grouped["_level"], grouped["_index_count"],
            strict=True)}


def first_per_problem(refs: pa.Table) -> Kept:
    """One row per problem id: the test split wins (so train never shares a problem with
    test), then the lower bucket, then the lower candidate index; the others are dropped
    as `dedup:overlaps_other_split` when the winner is of another split, else
    `dedup:duplicate`."""
    if refs.num_rows == 0:
        return Kept(refs, Counter())
    ranked = refs.append_column("_rank", pc.if_else(pc.equal(refs["split"], "test"), 0, 1))
    ordered = ranked.sort_by([("problem_id", "ascending"), ("_rank", "ascending"),
                              ("_bucket", "ascending"), ("_index", "ascending"),
                              ("split", "ascending")])
    first = run_starts(ordered, ["problem_id"])
    winner = np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))
    splits = pc.dictionary_encode(ordered["split"]).combine_chunks().indices.to_numpy()
    losers = ordered.filter(pa.array(~first)).select(["split", "_bucket"]).append_column(
        "_other", pa.array((splits[winner] != splits)[~first]))
    grouped = losers.group_by(["split", "_bucket", "_other"]).aggregate(
        [([], "count_all")]).to_pydict()
    dropped = Counter({
        BucketReason(split, bucket, "dedup:overlaps_other_split" if other else
                     "dedup:duplicate"): count
        for split, bucket, other, count in zip(grouped["split"], grouped["_bucket"],
                                               grouped["_other"], grouped["count_all"],
                                               strict=True)})
    return Kept(ordered.filter(pa.array(first)).drop_columns(["_rank"]), dropped)


def select(kept: pa.Table, requested: dict[Cell, int],
           drops: dict[Cell, tuple[str, ...]]) -> pa.Table:
    """The rows written (SELECTED_SCHEMA): each cell's first `requested` kept rows by
    candidate index, whatever order the workers finished in; with drops the i-th of a
    cell takes the cell's i-th drop level (`plan.plan_drops`)."""
    ordered = kept.sort_by([("split", "ascending"), ("_bucket", "ascending"),
                            ("_level", "ascending"), ("_index", "ascending")])
    parts = []
    for start, length in runs(run_starts(ordered, ["split", "_bucket", "_level"])):
        first = ordered.slice(start, 1).to_pylist()[0]
        cell = (first["split"], first["_bucket"], first["_level"])
        taken = ordered.slice(start, min(requested.get(cell, 0), length))
        levels = list(drops.get(cell, ()))[: taken.num_rows]
        levels += [""] * (taken.num_rows - len(levels))
        key = pc.binary_join_element_wise(taken["split"], pc.cast(taken["_bucket"], pa.string()),
                                          pc.cast(taken["_index"], pa.string()), "|")
        parts.append(pa.table([taken["file"], key, pa.array(levels, pa.string())],
                              schema=SELECTED_SCHEMA))
    return pa.concat_tables(parts) if parts else SELECTED_SCHEMA.empty_table()


def runs(first: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of a sorted table, given whether each row starts one
    (`run_starts`)."""
    positions = [int(p) for p in np.flatnonzero(first)]
    return [(start, end - start) for start, end in zip(positions, [*positions[1:], len(first)],
                                                       strict=False)]


def run_starts(table: pa.Table, columns: list[str]) -> np.ndarray:
    """Whether each row of a sorted table starts a new run of equal `columns`."""
    first = np.zeros(table.num_rows, dtype=bool)
    if table.num_rows:
        first[0] = True
    for column in columns:
        values = table[column].combine_chunks()
        first[1:] |= pc.not_equal(values[1:], values[:-1]).to_numpy(zero_copy_only=False)
    return first
