"""Bootstrap intervals over (seed, problem) pairs: hand-computable cases, a constant's
interval, narrowing with more problems, the paired difference and its test."""

from __future__ import annotations

import pytest

from searchtrace.trainer.intervals import Interval, bootstrap_difference, bootstrap_mean


def test_two_pairs_zero_and_one_give_the_whole_unit_interval() -> None:
    # Two pairs resampled: the mean is 0, 1/2 or 1 with probabilities 1/4, 1/2, 1/4, so
    # both 2.5% tails sit on the end points.
    assert bootstrap_mean([[0.0, 1.0]]) == Interval(mean=0.5, low=0.0, high=1.0)


def test_one_success_in_four_pairs_has_a_hand_computed_interval() -> None:
    # Four draws of [0, 0, 0, 1]: P(mean = 1) = 1/256 < 2.5% < P(mean >= 3/4) = 13/256,
    # and P(mean = 0) = 81/256 > 2.5%, so the 95% interval is [0, 0.75].
    assert bootstrap_mean([[0.0, 0.0], [0.0, 1.0]]) == Interval(mean=0.25, low=0.0, high=0.75)


@pytest.mark.parametrize("value", [0.0, 0.37, 3.0])
def test_the_interval_of_a_constant_is_that_constant(value: float) -> None:
    assert bootstrap_mean([[value] * 7] * 3) == Interval(value, value, value)


def test_the_interval_narrows_with_more_problems() -> None:
    few = [[0.0, 1.0, 1.0, 0.0, 1.0] * 2] * 2
    many = [row * 10 for row in few]
    narrow, wide = bootstrap_mean(many), bootstrap_mean(few)
    assert narrow.mean == wide.mean == 0.6
    assert narrow.high - narrow.low < 0.5 * (wide.high - wide.low)
    assert narrow.low <= 0.6 <= narrow.high


def test_the_resampling_is_seeded() -> None:
    values = [[0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0]] * 2
    assert bootstrap_mean(values, seed=3) == bootstrap_mean(values, seed=3)
    assert bootstrap_mean(values, resamples=50, seed=3) != bootstrap_mean(values, resamples=50,
                                                                          seed=4)


def test_the_paired_difference_and_whether_it_excludes_zero() -> None:
    # Differences per pair [1, 0]: like the two-pair case above, [0, 1] contains 0.
    tied = bootstrap_difference([[1.0, 1.0]], [[0.0, 1.0]])
    assert tied == Interval(0.5, 0.0, 1.0) and not tied.excludes_zero()
    # A constant difference of 1 has the interval [1, 1].
    apart = bootstrap_difference([[1.0] * 4], [[0.0] * 4])
    assert apart == Interval(1.0, 1.0, 1.0) and apart.excludes_zero()
    assert bootstrap_difference([[0.0] * 4], [[1.0] * 4]).excludes_zero()
    # Pairing: the same problems shifted by a small constant are apart, though each arm's
    # own interval overlaps the other's.
    base = [[0.0, 1.0] * 10, [1.0, 0.0] * 10]
    shifted = [[v + 0.1 for v in row] for row in base]
    assert bootstrap_difference(shifted, base) == Interval(pytest.approx(0.1),
                                                           pytest.approx(0.1),
                                                           pytest.approx(0.1))
    assert bootstrap_mean(shifted).low < bootstrap_mean(base).high


def test_unequal_or_empty_arms_are_refused() -> None:
    with pytest.raises(ValueError, match="same seeds and problems"):
        bootstrap_difference([[0.0, 1.0]], [[0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="one non-empty row"):
        bootstrap_mean([])
