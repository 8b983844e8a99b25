"""Waves: the candidate batches a round solves together and stages in one file.

A wave is what one pipeline element carries. Its staged file is named by its batches, so a
wave that a runner runs twice (a retried bundle, a lost worker's work redone) writes the same
file with the same rows again instead of a second copy. A round is cut into at least
`MIN_WAVES` waves where it has that many batches, so the runner can spread them over its
workers, and no wave holds more than about `WAVE_CANDIDATES` candidates, so staged files stay
a manageable size however large the build.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from searchtrace.pipelines.plan import CandidateRange

MIN_WAVES = 16
WAVE_CANDIDATES = 1000


@dataclass(frozen=True)
class Wave:
    """Consecutive candidate batches of a round, solved and staged together."""

    batches: tuple[CandidateRange, ...]

    @property
    def key(self) -> str:
        """A name for the wave derived from its batches alone (never from a worker, a
        clock or a random draw)."""
        joined = "\n".join(batch.key for batch in self.batches)
        return hashlib.sha256(joined.encode()).hexdigest()[:32]

    @property
    def size(self) -> int:
        return sum(batch.stop - batch.start for batch in self.batches)


def into_waves(batches: list[CandidateRange]) -> list[Wave]:
    """`batches` in order, cut into waves of about the same number of candidates."""
    total = sum(batch.stop - batch.start for batch in batches)
    target = max(1, min(WAVE_CANDIDATES, math.ceil(total / MIN_WAVES)))
    waves: list[Wave] = []
    current: list[CandidateRange] = []
    size = 0
    for batch in batches:
        current.append(batch)
        size += batch.stop - batch.start
        if size >= target:
            waves.append(Wave(tuple(current)))
            current, size = [], 0
    if current:
        waves.append(Wave(tuple(current)))
    return waves
