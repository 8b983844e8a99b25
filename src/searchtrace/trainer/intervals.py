"""Bootstrap intervals over (seed, problem) pairs, for the sweep's numbers.

A sweep arm's number (accuracy, backtracks per output, ...) is a mean over training seeds
and test problems: one value per (seed, problem) pair. Its interval is the percentile
bootstrap: resample the pairs with replacement (as many as there are), take the mean,
repeat, and read the (1 - confidence)/2 and (1 + confidence)/2 quantiles of those means.
Both sources of noise (which problems were drawn, which seed trained the model) are in
the resampled unit, so a number from one seed and few problems gets a wide interval.

Two arms are compared by a paired bootstrap: every arm is evaluated on the same problems
with the same seed list, so one resampling of (seed index, problem index) pairs is applied
to both, and the interval of the difference of means is read the same way. A difference
counts as outside the noise when that interval excludes 0.

The resampling is seeded (numpy's PCG64), so the same values give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean and its bootstrap interval [low, high]."""

    mean: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def text(self, digits: int = 3) -> str:
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def _matrix(values: Sequence[Sequence[float]]) -> np.ndarray:
    """values[seed][problem] as a 2-D array; every seed must cover the same problems."""
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim != 2 or matrix.size == 0:
        raise ValueError("values must be one non-empty row of problem values per seed, "
                         "all rows the same length")
    return matrix


def _draws(shape: tuple[int, ...], resamples: int, seed: int) -> np.ndarray:
    """`resamples` draws with replacement of as many flat (seed, problem) indices as there
    are pairs."""
    pairs = int(np.prod(shape))
    return np.random.default_rng(seed).integers(0, pairs, size=(resamples, pairs))


def _interval(mean: float, resampled: np.ndarray, confidence: float) -> Interval:
    tail = (1 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return Interval(mean=float(mean), low=float(low), high=float(high))


def bootstrap_mean(values: Sequence[Sequence[float]], *, resamples: int = RESAMPLES,
                   confidence: float = CONFIDENCE, seed: int = 0) -> Interval:
    """The mean of values[seed][problem] and its percentile-bootstrap interval over
    (seed, problem) pairs."""
    flat = _matrix(values).ravel()
    resampled = flat[_draws(flat.shape, resamples, seed)].mean(axis=1)
    return _interval(flat.mean(), resampled, confidence)


def bootstrap_difference(first: Sequence[Sequence[float]], second: Sequence[Sequence[float]],
                         *, resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
                         seed: int = 0) -> Interval:
    """mean(first) - mean(second) and its paired percentile-bootstrap interval: the same
    resampled (seed index, problem index) pairs for both arms."""
    a, b = _matrix(first).ravel(), _matrix(second).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired arms need the same seeds and problems, got {a.size} and "
                         f"{b.size} pairs")
    difference = a - b
    resampled = difference[_draws(difference.shape, resamples, seed)].mean(axis=1)
    return _interval(difference.mean(), resampled, confidence)
