"""The plan of rows per bucket: a build can ask for a measured-difficulty mix as well as a
k-mix and meets both exactly, or fails naming the (k, difficulty) bucket that ran short."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from searchtrace.config import parse_config
from searchtrace.errors import BuildError, UserError
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.plan import controlled_rounding, largest_remainder, plan_buckets

MIXED = {
    "name": "countdown-difficulty",
    "task": {"name": "countdown", "preset": "medium"},
    "traces": {"k_mix": {0: 0.5, 3: 0.5}},
    "difficulty_mix": {"metric": "nodes_expanded", "buckets": {
        "direct": {"range": [0, 4], "share": 0.4},
        "searching": {"range": [4, None], "share": 0.6}}},
    "splits": {"train": 50, "test": 15},
    "seed": 4,
}


@given(total=st.integers(min_value=1, max_value=5000),
       k_shares=st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=6),
       d_shares=st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=5))
def test_controlled_rounding_meets_both_margins_exactly(total: int, k_shares: list[int],
                                                       d_shares: list[int]) -> None:
    rows = list(largest_remainder(total, {i: s / sum(k_shares)
                                          for i, s in enumerate(k_shares)}).values())
    shares = [s / sum(d_shares) for s in d_shares]
    columns = list(largest_remainder(total, dict(enumerate(shares))).values())
    table = controlled_rounding(rows, columns, shares)
    assert [sum(line) for line in table] == rows
    assert [sum(line[j] for line in table) for j in range(len(columns))] == columns
    for r, line in zip(rows, table, strict=True):
        for share, cell in zip(shares, line, strict=True):
            assert abs(cell - r * share) < 1 + 1e-9 and cell >= 0


def test_plan_splits_each_k_bucket_across_difficulty_levels() -> None:
    buckets = plan_buckets(parse_config(MIXED))
    train = [b for b in buckets if b.split == "train"]
    assert [b.requested for b in train] == [25, 25]
    assert [sum(b.levels[0] for b in train), sum(b.levels[1] for b in train)] == [20, 30]


@pytest.mark.parametrize(("buckets", "message"), [
    ({"a": {"range": [0, 5], "share": 0.5}, "b": {"range": [4, None], "share": 0.5}},
     "ranges of a and b overlap"),
    ({"a": {"range": [0, 5], "share": 0.5}, "b": {"range": [5, None], "share": 0.4}},
     "shares must sum to 1"),
    ({"a": {"range": [5, 5], "share": 1.0}}, "low < high"),
])
def test_bad_difficulty_buckets_are_one_line_errors(buckets: dict, message: str) -> None:
    raw = {**MIXED, "difficulty_mix": {"metric": "guesses", "buckets": buckets}}
    with pytest.raises(UserError, match=message) as caught:
        parse_config(raw)
    assert "difficulty_mix.buckets" in str(caught.value) and "\n" not in str(caught.value)


def test_a_build_meets_the_k_mix_and_the_difficulty_mix_exactly(tmp_path: Path) -> None:
    out = tmp_path / "mixed"
    run_build(parse_config(MIXED), out)
    rows = [r for p in sorted((out / "data").glob("*.parquet"))
            for r in pq.read_table(p, columns=["split", "num_backtracks", "difficulty"])
            .to_pylist()]
    train = [r for r in rows if r["split"] == "train"]
    assert Counter(r["num_backtracks"] for r in train) == {0: 25, 3: 25}
    level = Counter("direct" if r["difficulty"]["nodes_expanded"] < 4 else "searching"
                    for r in train)
    assert level == {"direct": 20, "searching": 30}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["splits"]["test"]["achieved_difficulty"] == {"direct": 6, "searching": 9}
    assert "| train | searching | [4, ∞) | 30 | 30 |" in (out / "README.md").read_text()


def test_a_difficulty_bucket_that_cannot_fill_fails_naming_it(tmp_path: Path) -> None:
    raw = {**MIXED, "difficulty_mix": {"metric": "nodes_expanded", "buckets": {
        "normal": {"range": [0, 500], "share": 0.5},
        "huge": {"range": [500, None], "share": 0.5}}}}
    expected = r"bucket train k=0 difficulty=huge has 0 of 12 rows .*fell in other buckets"
    with pytest.raises(BuildError, match=expected):
        run_build(parse_config(raw), tmp_path / "never")
    assert list(tmp_path.iterdir()) == []
