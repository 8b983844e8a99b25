"""The build plan: rows per bucket met exactly for every k-mix (and a measured-difficulty
mix beside it, or a failure naming the bucket that ran short); candidates and their seeds."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.config import SPLITS, parse_config
from searchtrace.errors import BuildError, UserError
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.plan import (
    NATURAL,
    Bucket,
    Candidate,
    CandidateRange,
    controlled_rounding,
    drop_counts,
    largest_remainder,
    plan_buckets,
    plan_drops,
)

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

_mixes = st.dictionaries(st.integers(min_value=0, max_value=64),
                         st.integers(min_value=1, max_value=1000), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(weights=_mixes, total=st.one_of(st.integers(min_value=0, max_value=200),
                                       st.integers(min_value=0, max_value=100_000_000)))
def test_largest_remainder_is_exact(weights: dict[int, int], total: int) -> None:
    mix = {k: w / sum(weights.values()) for k, w in weights.items()}
    counts = largest_remainder(total, mix)
    assert set(counts) == set(mix)
    assert sum(counts.values()) == total
    for k, share in mix.items():
        assert counts[k] >= 0
        assert abs(counts[k] - total * share) < 1 + 1e-6, (k, counts[k], total * share)


@pytest.mark.parametrize(
    ("total", "mix", "expected"),
    [
        (1, {5: 0.5, 2: 0.5}, {5: 0, 2: 1}),
        (3, {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}, {0: 1, 1: 1, 3: 1, 5: 0}),
        (42, {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}, {0: 11, 1: 11, 3: 10, 5: 10}),
        (13, {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}, {0: 4, 1: 3, 3: 3, 5: 3}),
        (10, {0: 0.25, 1: 0.75}, {0: 3, 1: 7}),  # 2.5 vs 7.5: a tie, to the smaller k
        (10, {4: 0.25, 1: 0.75}, {4: 2, 1: 8}),
        (7, {0: 0.1, 3: 0.9}, {0: 1, 3: 6}),  # 0.7 beats 0.3
        (0, {0: 0.5, 1: 0.5}, {0: 0, 1: 0}),
    ],
)
def test_largest_remainder_examples(total: int, mix: dict[int, float],
                                    expected: dict[int, int]) -> None:
    assert largest_remainder(total, mix) == expected


@pytest.mark.parametrize(
    ("mix", "total"),
    [
        ({0: 0.4999995, 1: 0.5}, 10_000_000),
        ({0: 0.5000004, 1: 0.5000004}, 10_000_000),
        ({0: 0.3333333, 1: 0.3333333, 2: 0.3333333}, 100_000_000),
    ],
)
def test_plan_meets_the_split_for_every_mix_the_config_accepts(
    mix: dict[int, float], total: int
) -> None:
    """The config accepts shares that sum to 1 within 1e-6; the plan must still add up."""
    config = parse_config({"task": {"name": "countdown"}, "traces": {"k_mix": mix},
                           "splits": {"train": total}})
    assert sum(b.requested for b in plan_buckets(config)) == total


def test_plan_buckets_for_a_config(countdown_config: dict) -> None:
    config = parse_config(countdown_config)  # train 42, test 13; k 0/1/3/5 at 0.25 each
    assert plan_buckets(config) == [
        Bucket("train", 0, 0, (11,)), Bucket("train", 1, 1, (11,)), Bucket("train", 3, 2, (10,)),
        Bucket("train", 5, 3, (10,)),
        Bucket("test", 0, 0, (4,)), Bucket("test", 1, 1, (3,)), Bucket("test", 3, 2, (3,)),
        Bucket("test", 5, 3, (3,)),
    ]
    assert Bucket("test", 5, 3, (3,)).label == "test k=5"


def test_plan_buckets_skips_empty_buckets_and_keeps_ordinals(countdown_config: dict) -> None:
    countdown_config["splits"] = {"test": 2, "train": 1}
    countdown_config["traces"]["k_mix"] = {5: 0.5, 0: 0.25, 3: 0.25}
    assert plan_buckets(parse_config(countdown_config)) == [
        Bucket("train", 5, 2, (1,)), Bucket("test", 0, 0, (1,)), Bucket("test", 5, 2, (1,))]


def test_plan_buckets_natural(countdown_config: dict) -> None:
    countdown_config["traces"]["k_mix"] = "natural"
    buckets = plan_buckets(parse_config(countdown_config))
    assert buckets == [Bucket("train", NATURAL, 0, (42,)), Bucket("test", NATURAL, 0, (13,))]
    assert buckets[0].label == "train k=natural"


def test_candidate_seeds_come_from_seed_sequences() -> None:
    seeds = {}
    for split in SPLITS:
        for bucket in range(3):
            for index in range(40):
                candidate = Candidate(split, 1, bucket, index)
                key = (SPLITS.index(split), bucket, index)
                assert candidate.spawn_key == key
                seed = candidate.seed(1234)
                expected = np.random.SeedSequence(1234, spawn_key=key).generate_state(
                    1, np.uint64)[0]
                assert seed == int(expected) and isinstance(seed, int)
                assert seed == Candidate(split, 1, bucket, index).seed(1234)
                seeds[key] = seed
    assert len(set(seeds.values())) == len(seeds)
    assert Candidate("train", 1, 0, 0).seed(1234) != Candidate("train", 1, 0, 0).seed(1235)
    assert Candidate("train", 1, 0, 1).seed(0) != Candidate("train", 1, 0, 0).seed(1)
    # k is not part of the key: a bucket's stream depends on its position, not its k
    assert Candidate("train", 1, 0, 5).seed(7) == Candidate("train", 3, 0, 5).seed(7)


def test_candidate_range_lists_its_candidates() -> None:
    assert CandidateRange("test", 3, 2, 5, 8).candidates() == [
        Candidate("test", 3, 2, 5), Candidate("test", 3, 2, 6), Candidate("test", 3, 2, 7)]
    assert CandidateRange("test", 3, 2, 5, 5).candidates() == []


@settings(max_examples=60, deadline=None)
@given(train=st.integers(1, 400), test=st.integers(1, 60),
       shares=st.lists(st.integers(1, 9), min_size=1, max_size=5),
       k_shares=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       seed=st.integers(0, 2**32))
def test_drop_levels_are_exact_per_split_and_reproducible(
        train: int, test: int, shares: list[int], k_shares: list[int], seed: int) -> None:
    levels = ["none", "close", "costs", "create", "all"][: len(shares)]
    drops = {level: s / sum(shares) for level, s in zip(levels, shares, strict=True)}
    k_mix = {k: s / sum(k_shares) for k, s in zip([0, 1, 3, 5], k_shares, strict=False)}
    config = parse_config({"task": {"name": "maze"}, "seed": seed,
                           "traces": {"style": "tokens", "k_mix": k_mix, "drops": drops},
                           "splits": {"train": train, "test": test}})
    buckets = plan_buckets(config)
    assigned = plan_drops(config, buckets)
    assert assigned == plan_drops(config, buckets)
    for split, total in config.splits.items():
        cells = {cell: levels for cell, levels in assigned.items() if cell[0] == split}
        assert {cell: len(v) for cell, v in cells.items()} == {
            (b.split, b.ordinal, 0): b.requested for b in buckets
            if b.split == split and b.requested}
        achieved = Counter(level for v in cells.values() for level in v)
        # exact: each level's count is its share of the split rounded down or up, and
        # the counts add up to the split
        assert sum(achieved.values()) == total
        for level, share in drops.items():
            assert achieved[level] == drop_counts(total, drops)[level]
            assert abs(achieved[level] - total * share) < 1


def test_a_build_without_drops_assigns_none() -> None:
    config = parse_config({"task": {"name": "maze"}})
    assert plan_drops(config, plan_buckets(config)) == {}


@pytest.mark.parametrize(("rows", "share", "corrupted"), [
    (7, 0.5, 3), (10, 0.25, 2), (10, 0.35, 3), (3, 1.0, 3), (1, 0.1, 0), (9, 0.7, 6)])
def test_corrupted_rows_per_split_are_the_largest_remainder_count(
        rows: int, share: float, corrupted: int) -> None:
    raw = {"task": {"name": "countdown"}, "splits": {"train": rows, "test": rows},
           "traces": {"k_mix": {0: 0.4, 1: 0.3, 3: 0.3},
                      "corrupt": {"share": share, "kinds": ["wrong_state"]}}}
    config = parse_config(raw)
    for split in ("train", "test"):
        buckets = [b for b in plan_buckets(config) if b.split == split]
        # independent of split_corrupted: floor, plus one where the remainder is larger
        quota = rows * share
        assert math.floor(quota) + (quota - math.floor(quota) > 0.5) == corrupted
        assert sum(b.levels[1] for b in buckets) == corrupted
        assert sum(b.levels[0] for b in buckets) == rows - corrupted
        assert [b.requested for b in buckets] == [
            n for n in largest_remainder(rows, {0: 0.4, 1: 0.3, 3: 0.3}).values() if n]


def test_corrupted_levels_split_each_difficulty_level() -> None:
    raw = {**MIXED, "traces": {**MIXED["traces"],
                               "corrupt": {"share": 0.5, "kinds": ["wrong_state"]}}}
    plain = plan_buckets(parse_config(MIXED))
    split = plan_buckets(parse_config(raw))
    for before, after in zip(plain, split, strict=True):
        assert len(after.levels) == 2 * len(before.levels)
        assert [after.levels[2 * d] + after.levels[2 * d + 1]
                for d in range(len(before.levels))] == list(before.levels)
    train = [b for b in split if b.split == "train"]
    assert sum(b.levels[1] + b.levels[3] for b in train) == 25
