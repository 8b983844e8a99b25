"""The deterministic sharded writer: rows go to shard hash(problem_id) mod N, sorted by id,
written with the one shared schema to a temporary name and renamed into place.

Beam's own WriteToParquet spreads rows over shards at random; this writer makes the same
config always give byte-identical shards.
"""

from __future__ import annotations

import hashlib
import math
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from searchtrace.schemas.rows import ROW_SCHEMA

STAGE_SCHEMA = ROW_SCHEMA.append(pa.field("_bucket", pa.int32())).append(
    pa.field("_index", pa.int64()))


def shard_of(problem_id: str, num_shards: int) -> int:
    return int(hashlib.sha256(problem_id.encode()).hexdigest()[:16], 16) % num_shards


def shard_count(rows: int, rows_per_shard: int) -> int:
    return max(1, math.ceil(rows / rows_per_shard))


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def _write_atomically(table: pa.Table, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_shard(records: Iterable[dict[str, Any]], path: Path) -> int:
    """Write rows sorted by id; returns the row count. Same rows, same bytes."""
    rows = sorted(records, key=lambda r: r["id"])
    _write_atomically(pa.Table.from_pylist(rows, schema=ROW_SCHEMA), path)
    return len(rows)


def write_staged(records: list[dict[str, Any]], directory: Path) -> Path:
    """Park verified rows of one bundle (with their bucket and index) until selection."""
    path = directory / f"part-{uuid.uuid4().hex}.parquet"
    _write_atomically(pa.Table.from_pylist(records, schema=STAGE_SCHEMA), path)
    return path
