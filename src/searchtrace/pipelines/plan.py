"""What a build must produce, planned once from the validated config: exact row counts per
split and k, the shards, the build key, and the candidates to try.

`BuildPlan.of(config)` is the one place a build resolves its config, plans its buckets
and computes its key; the driver, the Beam transforms, the outputs and the gate are handed
the plan. Each (split, k) bucket draws candidates from its own seed stream, so which
candidates succeed never depends on how work was spread over workers, and a bucket can be
topped up without changing any other bucket.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from searchtrace.config import SPLITS, BuildConfig
from searchtrace.pipelines.storage import Location
from searchtrace.solvers.registry import get_solver
from searchtrace.tasks.base import TaskConfig
from searchtrace.traces.drops import DROP_LEVELS
from searchtrace.version import build_key

NATURAL = -1  # the `k` of the single bucket of a natural-mode build
BATCH_SIZE = 32  # candidates per pipeline element
PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class Bucket:
    """Rows of one split with one number of backtracks (`k == NATURAL`: solver's own).

    `levels[d]` is how many of its rows must fall in difficulty bucket d (one level, all
    the rows, when the build asks for no difficulty mix). A build with `traces.corrupt`
    has two levels per difficulty bucket, clean then corrupted (`cell_level`).
    """

    split: str
    k: int
    ordinal: int
    levels: tuple[int, ...]

    @property
    def requested(self) -> int:
        return sum(self.levels)

    @property
    def label(self) -> str:
        """How a bucket is named in statistics and messages: `train k=3`, `test k=natural`."""
        return f"{self.split} k={'natural' if self.k == NATURAL else self.k}"


def candidate_key(split: str, bucket: int, index: int) -> str:
    """The one string that names a candidate wherever one is recorded: a batch (by its
    first candidate), a staged row, a row selected for a shard."""
    return f"{split}|{bucket}|{index}"


@dataclass(frozen=True)
class Candidate:
    """The `index`-th attempt at a row for a bucket; its seed depends on nothing else.

    A candidate is identified by (split, bucket, index), named by `key`; `k` is its
    bucket's, carried for the work on it."""

    split: str
    k: int
    bucket: int
    index: int

    @property
    def key(self) -> str:
        return candidate_key(self.split, self.bucket, self.index)

    @property
    def spawn_key(self) -> tuple[int, int, int]:
        return (SPLITS.index(self.split), self.bucket, self.index)

    def seed(self, base_seed: int) -> int:
        sequence = np.random.SeedSequence(base_seed, spawn_key=self.spawn_key)
        return int(sequence.generate_state(1, dtype=np.uint64)[0])


@dataclass(frozen=True)
class CandidateRange:
    """Candidates `start` to `stop - 1` of one bucket: a batch, what a pipeline element
    carries. The same plan always makes the same batches, and they never overlap, so a
    batch is named by its first candidate's key."""

    split: str
    k: int
    bucket: int
    start: int
    stop: int

    @property
    def key(self) -> str:
        return candidate_key(self.split, self.bucket, self.start)

    def candidates(self) -> list[Candidate]:
        return [Candidate(self.split, self.k, self.bucket, i) for i in range(self.start, self.stop)]


@dataclass(frozen=True, order=True)
class BucketReason:
    """A bucket (split, bucket ordinal) and why some of its candidates did not become
    rows: what rejection counts are keyed by (a `Counter[BucketReason]`)."""

    split: str
    bucket: int
    reason: str


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


def controlled_rounding(rows: list[int], columns: list[int],
                        shares: list[float]) -> list[list[int]]:
    """An integer table with exactly these row and column sums, close to rows x shares.

    Floors first; the leftover units (each row and column has fewer than the number of
    columns and rows) are placed greedily, largest row residual into the columns with the
    most left, which always succeeds for the residuals of a rounded product table.
    """
    table = [[math.floor(r * s) for s in shares] for r in rows]
    row_left = [r - sum(line) for r, line in zip(rows, table, strict=True)]
    column_left = [c - sum(line[j] for line in table) for j, c in enumerate(columns)]
    for i in sorted(range(len(rows)), key=lambda i: (-row_left[i], i)):
        order = sorted(range(len(columns)), key=lambda j: (-column_left[j], j))
        for j in order[: row_left[i]]:
            table[i][j] += 1
            column_left[j] -= 1
        row_left[i] = 0
    if any(column_left):
        raise ValueError(f"cannot round {rows} x {columns} exactly")
    return table


def cell_level(config: BuildConfig, difficulty: int, corrupted: bool) -> int:
    """The level a row counts toward: its difficulty bucket, split into clean (2d) and
    corrupted (2d + 1) when the build asks for corrupted rows."""
    return 2 * difficulty + corrupted if config.traces.corrupt is not None else difficulty


def difficulty_of_level(config: BuildConfig, level: int) -> int:
    """The difficulty bucket of a level (`cell_level` undone)."""
    return level // 2 if config.traces.corrupt is not None else level


def split_corrupted(levels: list[list[int]], total: int, share: float) -> list[list[int]]:
    """Each (k, difficulty) cell's rows split into clean and corrupted, so that the split
    has exactly largest_remainder(total, share) corrupted rows: the split's count is fixed
    first, then spread over the cells by controlled rounding (each cell's two parts sum to
    the cell). Each cell [n] becomes [clean, corrupted], in `cell_level` order."""
    counts = largest_remainder(total, {0: 1 - share, 1: share})
    cells = [n for row in levels for n in row]
    table = iter(controlled_rounding(cells, [counts[0], counts[1]], [1 - share, share]))
    return [[n for _ in row for n in next(table)] for row in levels]


def plan_buckets(config: BuildConfig) -> list[Bucket]:
    """Exact rows per (split, k) bucket and, with a difficulty mix, per difficulty level;
    with `traces.corrupt`, per clean and corrupted level too (`split_corrupted`)."""
    mix = config.traces.k_mix
    difficulty = config.difficulty_mix
    buckets = []
    for split, total in config.splits.items():
        k_counts = ({NATURAL: total} if mix == "natural"
                    else {k: n for k, n in largest_remainder(total, mix).items() if n})
        ordinals = {k: (0 if mix == "natural" else list(mix).index(k)) for k in k_counts}
        if difficulty is None:
            levels = [[n] for n in k_counts.values()]
        else:
            shares = {i: b.share for i, b in enumerate(difficulty.buckets.values())}
            level_totals = list(largest_remainder(total, shares).values())
            scale = sum(shares.values())
            levels = controlled_rounding(list(k_counts.values()), level_totals,
                                         [s / scale for s in shares.values()])
        if config.traces.corrupt is not None:
            levels = split_corrupted(levels, total, config.traces.corrupt.share)
        for (k, _), counts in zip(k_counts.items(), levels, strict=True):
            buckets.append(Bucket(split, k, ordinals[k], tuple(counts)))
    return buckets


def drop_counts(total: int, drops: dict[str, float]) -> dict[str, int]:
    """Rows per drop level of a split of `total` rows, exactly (largest remainder, ties
    to the earlier level in DROP_LEVELS' order)."""
    levels = list(drops)
    counts = largest_remainder(total, {DROP_LEVELS.index(level): drops[level]
                                       for level in levels})
    return {level: counts[DROP_LEVELS.index(level)] for level in levels}


def plan_drops(config: BuildConfig,
               buckets: list[Bucket] | tuple[Bucket, ...]) -> dict[tuple[str, int, int],
                                                                  tuple[str, ...]]:
    """Per (split, bucket ordinal, difficulty level) cell, the drop level of each of its
    rows in candidate-index order: empty without `traces.drops`. Each split's counts per
    level are exact (`drop_counts`), spread over its cells by controlled rounding, and
    ordered within a cell by a shuffle seeded from the build seed and the cell, so the
    same config always gives every row the same level."""
    drops = config.traces.drops
    if drops is None:
        return {}
    assigned: dict[tuple[str, int, int], tuple[str, ...]] = {}
    for split, total in config.splits.items():
        cells = [((b.split, b.ordinal, level), n) for b in buckets if b.split == split
                 for level, n in enumerate(b.levels) if n]
        columns = drop_counts(total, drops)
        table = controlled_rounding([n for _, n in cells], list(columns.values()),
                                    [share / sum(drops.values()) for share in drops.values()])
        for (cell, _), counts in zip(cells, table, strict=True):
            levels = [level for level, n in zip(columns, counts, strict=True)
                      for _ in range(n)]
            seed = hashlib.sha256(json.dumps([config.seed, *cell]).encode()).digest()
            random.Random(int.from_bytes(seed[:8], "big")).shuffle(levels)
            assigned[cell] = tuple(levels)
    return assigned


def shard_count(rows: int, rows_per_shard: int) -> int:
    return max(1, math.ceil(rows / rows_per_shard))


def _batch_size(config: BuildConfig) -> int:
    """Candidates per pipeline element; an llm_mcts batch is searched together, so its
    size bounds the frontier sent to the policy in one call."""
    if get_solver(config.solver.name).batched:
        return config.solver.settings().problems_per_batch
    return BATCH_SIZE


@dataclass(frozen=True)
class BuildPlan:
    """Everything a build derives from its validated config, computed once (`of`) and
    handed to every stage: the driver, the Beam transforms, the outputs and the gate."""

    config: BuildConfig
    resolved: dict[str, Any]  # the config as config.yaml records it, knobs resolved
    task_config: TaskConfig  # the task's validated knobs
    buckets: tuple[Bucket, ...]  # with the rows each must yield, per difficulty level
    shards: dict[str, int]  # shard files per split
    key: str  # the build key: resolved config, code and schema versions
    batch_size: int  # candidates per pipeline element

    @classmethod
    def of(cls, config: BuildConfig) -> BuildPlan:
        resolved = config.resolved()
        shards = {split: shard_count(rows, config.output.rows_per_shard)
                  for split, rows in config.splits.items()}
        return cls(config, resolved, config.task_config(), tuple(plan_buckets(config)),
                   shards, build_key(resolved), _batch_size(config))

    def to_json(self) -> dict[str, Any]:
        """What plan.json records: the plan with the config as config.yaml has it."""
        return {"build_key": self.key, "config": self.resolved,
                "task_config": self.task_config.model_dump(mode="json"),
                "buckets": [asdict(bucket) for bucket in self.buckets],
                "shards": self.shards, "batch_size": self.batch_size}

    def write(self, folder: Location) -> Location:
        """Record the plan in `folder` (a build's staging folder) as plan.json."""
        path = folder / PLAN_FILE
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path
