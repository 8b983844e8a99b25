"""What a build must produce: exact row counts per split and k, and the candidates to try.

Each (split, k) bucket draws candidates from its own seed stream, so which candidates
succeed never depends on how work was spread over workers, and a bucket can be topped
up without changing any other bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from searchtrace.config import SPLITS, BuildConfig

NATURAL = -1  # the `k` of the single bucket of a natural-mode build


@dataclass(frozen=True)
class Bucket:
    """Rows of one split with one number of backtracks (`k == NATURAL`: solver's own)."""

    split: str
    k: int
    ordinal: int
    requested: int

    @property
    def label(self) -> str:
        return f"{self.split} k={'natural' if self.k == NATURAL else self.k}"


@dataclass(frozen=True)
class Candidate:
    """The `index`-th attempt at a row for a bucket; its seed depends on nothing else."""

    split: str
    k: int
    bucket: int
    index: int

    @property
    def spawn_key(self) -> tuple[int, int, int]:
        return (SPLITS.index(self.split), self.bucket, self.index)

    def seed(self, base_seed: int) -> int:
        sequence = np.random.SeedSequence(base_seed, spawn_key=self.spawn_key)
        return int(sequence.generate_state(1, dtype=np.uint64)[0])


@dataclass(frozen=True)
class CandidateRange:
    """Candidates `start` to `stop - 1` of one bucket: what a pipeline element carries."""

    split: str
    k: int
    bucket: int
    start: int
    stop: int

    def candidates(self) -> list[Candidate]:
        return [Candidate(self.split, self.k, self.bucket, i) for i in range(self.start, self.stop)]


def largest_remainder(total: int, mix: dict[int, float]) -> dict[int, int]:
    """Split `total` rows by `mix` exactly: floors first, then the largest remainders
    (ties to the smaller k), so the counts always sum to `total`. Shares are rescaled to
    sum to 1, since the config accepts sums within 1e-6 of it."""
    scale = sum(mix.values())
    quotas = {k: total * share / scale for k, share in mix.items()}
    counts = {k: math.floor(q) for k, q in quotas.items()}
    left = total - sum(counts.values())
    for k in sorted(mix, key=lambda k: (-(quotas[k] - counts[k]), k))[:left]:
        counts[k] += 1
    return counts


def plan_buckets(config: BuildConfig) -> list[Bucket]:
    mix = config.traces.k_mix
    buckets = []
    for split, total in config.splits.items():
        if mix == "natural":
            buckets.append(Bucket(split, NATURAL, 0, total))
            continue
        for ordinal, (k, count) in enumerate(largest_remainder(total, mix).items()):
            if count:
                buckets.append(Bucket(split, k, ordinal, count))
    return buckets
