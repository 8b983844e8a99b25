"""A round's batches cut into waves: every batch once, in order; at least MIN_WAVES waves
where there are that many equal batches; none much over its share or WAVE_CANDIDATES; and a
wave's key depends on its batches alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from searchtrace.pipelines.plan import CandidateRange
from searchtrace.pipelines.waves import MIN_WAVES, WAVE_CANDIDATES, Wave, into_waves


def batches_of(sizes: list[int]) -> list[CandidateRange]:
    batches, start = [], 0
    for size in sizes:
        batches.append(CandidateRange("train", 0, 0, start, start + size))
        start += size
    return batches


@given(st.lists(st.integers(1, 64), max_size=300))
def test_waves_hold_every_batch_once_in_order(sizes: list[int]) -> None:
    batches = batches_of(sizes)
    waves = into_waves(batches)
    assert [batch for wave in waves for batch in wave.batches] == batches
    assert all(wave.batches for wave in waves)
    # each wave but the last reaches the round's share (a MIN_WAVES-th of the round, at
    # most WAVE_CANDIDATES), and none passes it by more than its last batch
    share = max(1, min(WAVE_CANDIDATES, -(-sum(sizes) // MIN_WAVES)))
    assert all(wave.size >= share for wave in waves[:-1])
    assert all(wave.size - (wave.batches[-1].stop - wave.batches[-1].start) < share
               for wave in waves)
    if len(sizes) >= MIN_WAVES and len(set(sizes)) == 1:
        assert len(waves) >= MIN_WAVES


def test_a_large_round_is_cut_into_waves_of_about_wave_candidates() -> None:
    waves = into_waves(batches_of([32] * 1000))
    assert len(waves) == 32
    assert {wave.size for wave in waves[:-1]} == {1024}


def test_a_small_round_gives_each_batch_its_own_wave() -> None:
    batches = batches_of([32] * 5)
    assert [wave.batches for wave in into_waves(batches)] == [(b,) for b in batches]


def test_a_waves_key_is_its_batches() -> None:
    batches = batches_of([32, 32, 8])
    assert Wave(tuple(batches)).key == Wave(tuple(batches_of([32, 32, 8]))).key
    assert Wave(tuple(batches)).key != Wave(tuple(batches[:2])).key
    assert Wave(tuple(batches)).key != Wave(tuple(batches[::-1])).key
