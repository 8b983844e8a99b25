"""Which staged rows are kept: one per problem (test split first, then bucket, then
index), duplicates dropped with their reasons, and each bucket's first rows by index."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.config import SPLITS
from searchtrace.pipelines.selection import (
    StagedRef,
    first_by_index,
    first_per_problem,
    kept_indexes,
)


def ref(split: str, bucket: int, index: int, problem: str) -> StagedRef:
    return StagedRef(split, bucket, index, 0, problem, f"stage/{split}/{bucket}/{index}")


def test_first_per_problem_prefers_test_then_bucket_then_index() -> None:
    refs = [ref("train", 0, 0, "p"), ref("test", 3, 9, "p"), ref("test", 1, 7, "p"),
            ref("test", 1, 2, "p"), ref("train", 0, 1, "p")]
    for order in (refs, refs[::-1], refs[2:] + refs[:2]):
        kept, dropped = first_per_problem(order)
        assert kept == ref("test", 1, 2, "p")
        assert sorted(dropped) == sorted(r for r in refs if r != kept)
    kept, dropped = first_per_problem([ref("train", 2, 0, "p"), ref("train", 1, 5, "p")])
    assert kept == ref("train", 1, 5, "p") and dropped == [ref("train", 2, 0, "p")]
    assert first_per_problem([ref("train", 0, 3, "p")]) == (ref("train", 0, 3, "p"), [])


def test_kept_indexes_drops_duplicates_with_reasons() -> None:
    refs = [
        ref("train", 0, 4, "a"), ref("train", 0, 1, "b"), ref("test", 2, 0, "a"),
        ref("train", 1, 3, "b"), ref("train", 0, 2, "c"), ref("train", 0, 0, "b"),
        ref("test", 0, 5, "d"), ref("test", 0, 6, "d"),
    ]
    kept, dropped = kept_indexes(refs)
    assert kept == {("test", 2, 0): [0], ("train", 0, 0): [0, 2], ("test", 0, 0): [5]}
    assert sorted(dropped) == sorted([
        (ref("train", 0, 4, "a"), "dedup:overlaps_other_split"),
        (ref("train", 0, 1, "b"), "dedup:duplicate"),
        (ref("train", 1, 3, "b"), "dedup:duplicate"),
        (ref("test", 0, 6, "d"), "dedup:duplicate"),
    ])
    assert sum(len(v) for v in kept.values()) + len(dropped) == len(refs)
    assert kept_indexes([]) == ({}, [])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SPLITS), st.integers(0, 3), st.integers(0, 50),
                          st.sampled_from("abcdef")), unique_by=lambda t: t[:3], max_size=30))
def test_kept_indexes_keeps_one_row_per_problem(rows: list[tuple]) -> None:
    refs = [ref(*row) for row in rows]
    kept, dropped = kept_indexes(refs)
    lost = {loser for loser, _ in dropped}
    survivors = [r for r in refs if r not in lost]
    assert sorted(r.problem_id for r in survivors) == sorted({r.problem_id for r in refs})
    assert sum(len(v) for v in kept.values()) == len(survivors)
    assert all(r.index in kept[(r.split, r.bucket, r.level)] for r in survivors)
    assert all(v == sorted(v) for v in kept.values())
    for loser, reason in dropped:
        winner = next(r for r in survivors if r.problem_id == loser.problem_id)
        assert (winner.split != "test", winner.bucket, winner.index) < (
            loser.split != "test", loser.bucket, loser.index)
        assert reason == ("dedup:overlaps_other_split" if winner.split != loser.split
                          else "dedup:duplicate")


def test_first_by_index_keeps_the_wanted_smallest_indexes_in_any_order() -> None:
    refs = [ref("train", 0, i, f"p{i}") for i in (17, 3, 9, 40, 1, 22)]
    for order in (refs, refs[::-1], refs[3:] + refs[:3]):
        assert [r.index for r in first_by_index(order, 4)] == [1, 3, 9, 17]
    assert [r.index for r in first_by_index(iter(refs), 100)] == [1, 3, 9, 17, 22, 40]
    assert first_by_index(refs, 0) == []
