"""Replaying written rows through their task's rules: the validation gate's
re-verification, which a build also runs on the runner's workers, one shard per element
(`graph.ReplayShards`), as soon as its shards are written.

A gate that replayed every row after the build, in the driver, one shard at a time, was
the longest serial step of a build with several workers (about 2 s of a 10,000-row
Countdown build's 14). So the workers replay each shard's sampled rows from the file's
bytes, while the driver writes the stats and the card, and record the result with the
file's sha256 and the sample rate (`ShardReplay`). The build's gate takes a recorded
replay only for a shard whose bytes still have that sha256 and only at the rate it would
use itself; any other shard it replays itself. Either way the verdict is about the exact
file that is published, made by the same code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from searchtrace.errors import UserError
from searchtrace.pipelines.storage import Location, write_atomically
from searchtrace.solvers.registry import solver_of_tree
from searchtrace.tasks import get_task
from searchtrace.tasks.base import Verdict
from searchtrace.traces.replay import verify_completion, verify_corrupted

FULL_CHECK_BELOW_ROWS = 100_000
SAMPLED_RATE = 0.1
# What replaying a row reads of it.
VERIFY_COLUMNS = ["id", "task", "problem", "completion", "style", "num_backtracks", "solver",
                  "drop", "corruptions"]


def default_sample_rate(rows: int) -> float:
    """Every row is re-verified for builds under 100k rows, a tenth above that."""
    return 1.0 if rows < FULL_CHECK_BELOW_ROWS else SAMPLED_RATE


def sampled(row_id: str, rate: float) -> bool:
    """A deterministic sample: the same rows are checked every time at the same rate."""
    return rate >= 1 or int(hashlib.sha256(row_id.encode()).hexdigest()[:8], 16) < rate * 2**32


def table_rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    """The rows of `table` as dicts, a batch at a time."""
    for batch in table.to_batches(max_chunksize=1024):
        yield from batch.to_pylist()


def replay_table(table: pa.Table, rate: float) -> tuple[int, tuple[tuple[str, Verdict], ...]]:
    """Replay the sampled rows of `table` (with VERIFY_COLUMNS): how many were replayed,
    and (row id, verdict) of each that failed."""
    checked = 0
    failed = []
    for row in table_rows(table.select(VERIFY_COLUMNS)):
        if not sampled(row["id"], rate):
            continue
        checked += 1
        verdict = verify_row(row)
        if not verdict.ok:
            failed.append((row["id"], verdict))
    return checked, tuple(failed)


def verify_row(row: dict[str, Any]) -> Verdict:
    """Replay one stored row's completion (a corrupted row: its listed lines wrong as
    listed, the rest right); a row whose task or problem cannot be read fails as
    `malformed_row`."""
    try:
        task = get_task(row["task"])
        problem = json.loads(row["problem"])
    except (UserError, ValueError) as error:
        return Verdict.fail("malformed_row", _first_line(error))
    if not isinstance(problem, dict):
        return Verdict.fail("malformed_row", "problem is not a JSON object")
    solver = solver_of_tree(row["solver"])
    shortest = solver is not None and solver.shortest
    if row["corruptions"]:
        listed = {c["line"]: c["kind"] for c in row["corruptions"]}
        if len(listed) != len(row["corruptions"]):
            return Verdict.fail("malformed_row", "corruptions lists a line twice")
        return verify_corrupted(task, problem, row["completion"], row["style"],
                                row["num_backtracks"], listed, shortest)
    return verify_completion(task, problem, row["completion"], row["style"],
                             row["num_backtracks"], shortest, row["drop"])


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@dataclass(frozen=True)
class ShardReplay:
    """A shard's sampled rows replayed: the file's sha256 when it was read, the sample
    rate, the rows replayed, and (row id, verdict) of each that failed."""

    sha256: str
    rate: float
    checked: int
    failed: tuple[tuple[str, Verdict], ...]


def replay_shard(path: Location, rate: float) -> ShardReplay:
    """Replay the sampled rows of the shard file `path`, from its bytes."""
    data = path.read_bytes()
    table = pq.read_table(pa.BufferReader(data), columns=VERIFY_COLUMNS)
    checked, failed = replay_table(table, rate)
    return ShardReplay(hashlib.sha256(data).hexdigest(), rate, checked, failed)


def write_replay(replay: ShardReplay, path: Location) -> None:
    """Record `replay` in `path` (JSON; no reader sees it half written)."""
    record = {"sha256": replay.sha256, "rate": replay.rate, "checked": replay.checked,
              "failed": [[row_id, v.code, v.message, v.line] for row_id, v in replay.failed]}
    text = json.dumps(record)

    def write(where: Any) -> None:
        if isinstance(where, str):
            Path(where).write_text(text)
        else:
            where.write(text.encode())

    write_atomically(path, write)


def read_replay(path: Location) -> ShardReplay | None:
    """The replay recorded in `path`; None when there is none or it cannot be read (the
    gate then replays the shard itself)."""
    try:
        record = json.loads(path.read_text())
        failed = tuple((row_id, Verdict.fail(code, message, line))
                       for row_id, code, message, line in record["failed"])
        return ShardReplay(record["sha256"], float(record["rate"]), int(record["checked"]),
                           failed)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def replay_path(directory: Location, shard: str) -> Location:
    """Where the replay of the shard file named `shard` is recorded."""
    return directory / f"{shard}.replay.json"
