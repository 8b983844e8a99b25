"""The build plan: exact row counts per bucket (largest remainder), buckets per config,
and candidate seeds from seed sequences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.config import SPLITS, parse_config
from searchtrace.pipelines.plan import (
    NATURAL,
    Bucket,
    Candidate,
    CandidateRange,
    largest_remainder,
    plan_buckets,
)

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
