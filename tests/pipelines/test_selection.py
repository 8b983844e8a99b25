"""Which staged rows are kept, in columns: one per problem (test split first, then bucket,
then index), duplicates dropped with their reasons, then each cell's first requested rows
by index, with the cell's drop levels in that order."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.config import SPLITS
from searchtrace.pipelines.plan import BucketReason, candidate_key
from searchtrace.pipelines.selection import REF_SCHEMA, first_per_problem, select

Ref = tuple[str, int, int, str]  # (split, bucket, index, problem); level 0


def refs(rows: list[Ref], levels: list[int] | None = None) -> pa.Table:
    levels = levels or [0] * len(rows)
    return pa.Table.from_pylist(
        [{"split": split, "_bucket": bucket, "_index": index, "_level": level,
          "problem_id": problem, "file": index % 3}
         for (split, bucket, index, problem), level in zip(rows, levels, strict=True)],
        schema=REF_SCHEMA)


def kept_rows(table: pa.Table) -> set[Ref]:
    return {(r["split"], r["_bucket"], r["_index"], r["problem_id"])
            for r in table.to_pylist()}


def test_first_per_problem_prefers_test_then_bucket_then_index() -> None:
    rows = [("train", 0, 0, "p"), ("test", 3, 9, "p"), ("test", 1, 7, "p"),
            ("test", 1, 2, "p"), ("train", 0, 1, "p")]
    for order in (rows, rows[::-1], rows[2:] + rows[:2]):
        kept = first_per_problem(refs(order))
        assert kept_rows(kept.refs) == {("test", 1, 2, "p")}
        assert kept.dropped == Counter({BucketReason("train", 0, "dedup:overlaps_other_split"): 2,
                                        BucketReason("test", 3, "dedup:duplicate"): 1,
                                        BucketReason("test", 1, "dedup:duplicate"): 1})
    kept = first_per_problem(refs([("train", 2, 0, "p"), ("train", 1, 5, "p")]))
    assert kept_rows(kept.refs) == {("train", 1, 5, "p")}
    assert first_per_problem(refs([])).refs.num_rows == 0


def test_kept_counts_are_per_split_bucket_and_level() -> None:
    kept = first_per_problem(refs([("train", 0, 4, "a"), ("train", 0, 1, "b"),
                                   ("test", 2, 0, "a"), ("train", 0, 2, "c")],
                                  levels=[0, 1, 0, 1]))
    assert kept.counts() == {("train", 0, 1): 2, ("test", 2, 0): 1}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SPLITS), st.integers(0, 3), st.integers(0, 50),
                          st.sampled_from("abcdef")), unique_by=lambda t: t[:3], max_size=30))
def test_first_per_problem_keeps_one_row_per_problem(rows: list[Ref]) -> None:
    kept = first_per_problem(refs(rows))
    survivors = kept_rows(kept.refs)
    assert sorted(r[3] for r in survivors) == sorted({r[3] for r in rows})
    assert sum(kept.dropped.values()) == len(rows) - len(survivors)
    expected: Counter[BucketReason] = Counter()
    for loser in set(rows) - survivors:
        winner = next(r for r in survivors if r[3] == loser[3])
        assert (winner[0] != "test", winner[1], winner[2]) < (loser[0] != "test", loser[1],
                                                               loser[2])
        expected[BucketReason(loser[0], loser[1], "dedup:overlaps_other_split"
                              if winner[0] != loser[0] else "dedup:duplicate")] += 1
    assert kept.dropped == expected


def test_select_keeps_each_cells_first_requested_rows_with_their_drop_levels() -> None:
    rows = [("train", 0, i, f"p{i}") for i in (17, 3, 9, 40, 1, 22)]
    rows += [("test", 0, i, f"q{i}") for i in (5, 2)]
    rows += [("train", 1, 0, "r")]  # a cell nothing is requested from
    kept = first_per_problem(refs(rows)).refs
    requested = {("train", 0, 0): 4, ("test", 0, 0): 5}
    drops = {("train", 0, 0): ("close", "", "all", "costs")}
    selected = select(kept, requested, drops).to_pylist()
    assert sorted((r["_key"], r["drop"]) for r in selected) == sorted([
        (candidate_key("train", 0, 1), "close"), (candidate_key("train", 0, 3), ""),
        (candidate_key("train", 0, 9), "all"), (candidate_key("train", 0, 17), "costs"),
        (candidate_key("test", 0, 2), ""), (candidate_key("test", 0, 5), "")])
    assert {r["_key"]: r["file"] for r in selected}[candidate_key("train", 0, 17)] == 17 % 3
    assert select(kept.slice(0, 0), requested, drops).num_rows == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 200), unique=True, max_size=40), st.integers(0, 45))
def test_select_takes_the_wanted_smallest_indexes(indexes: list[int], wanted: int) -> None:
    kept = refs([("train", 0, i, f"p{i}") for i in indexes])
    selected = select(kept, {("train", 0, 0): wanted}, {})
    assert sorted(selected["_key"].to_pylist()) == sorted(
        candidate_key("train", 0, i) for i in sorted(indexes)[:wanted])
