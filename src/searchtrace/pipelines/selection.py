"""Which verified rows a build keeps: one row per problem, then each bucket's first rows.

Shared by the Beam pipeline (which writes what these rules keep) and the driver (which
counts what they keep to decide whether another round is needed), so both always agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from searchtrace.pipelines.plan import candidate_key


class StagedRef(NamedTuple):
    """Where a verified row waits in staging: its candidate (split, bucket, index), its
    difficulty level, problem and staged file, and once selected the drop level it is
    written with ("" without drops). Only these small records pass through the runner,
    never the rows themselves."""

    split: str
    bucket: int
    index: int
    level: int
    problem_id: str
    path: str
    drop: str = ""

    @property
    def key(self) -> str:
        """Its candidate's key, which names the row in its staged file."""
        return candidate_key(self.split, self.bucket, self.index)


def priority(ref: StagedRef) -> tuple[int, int, int]:
    """Among rows of the same problem the test split wins (so train never shares a problem
    with test), then the lower bucket, then the lower candidate index."""
    return (0 if ref.split == "test" else 1, ref.bucket, ref.index)


def first_per_problem(refs: Iterable[StagedRef]) -> tuple[StagedRef, list[StagedRef]]:
    """The row a problem keeps, and the rows it drops."""
    ranked = sorted(refs, key=priority)
    return ranked[0], ranked[1:]


def first_by_index(refs: Iterable[StagedRef], wanted: int) -> list[StagedRef]:
    """The rows a (bucket, level) keeps: its first `wanted` by candidate index, whatever
    order they arrive in (all of them when there are fewer)."""
    return sorted(refs, key=lambda ref: ref.index)[:wanted]


def duplicate_reason(kept: StagedRef, dropped: StagedRef) -> str:
    return "dedup:overlaps_other_split" if kept.split != dropped.split else "dedup:duplicate"


Cell = tuple[str, int, int]  # (split, bucket ordinal, difficulty level)


def kept_indexes(refs: Iterable[StagedRef]) -> tuple[dict[Cell, list[int]],
                                                     list[tuple[StagedRef, str]]]:
    """Per (split, bucket, level): sorted indexes of rows that survive deduplication; and
    every dropped row with its reason."""
    by_problem: dict[str, list[StagedRef]] = defaultdict(list)
    for ref in refs:
        by_problem[ref.problem_id].append(ref)
    kept: dict[Cell, list[int]] = defaultdict(list)
    dropped: list[tuple[StagedRef, str]] = []
    for group in by_problem.values():
        winner, losers = first_per_problem(group)
        kept[(winner.split, winner.bucket, winner.level)].append(winner.index)
        dropped += [(loser, duplicate_reason(winner, loser)) for loser in losers]
    return {key: sorted(value) for key, value in kept.items()}, dropped
