"""The deterministic sharded writer: rows go to shard hash(problem_id) mod N, sorted by id,
written with the one shared schema to a temporary name and renamed into place.

Beam's own WriteToParquet spreads rows over shards at random; this writer makes the same
config always give byte-identical shards.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from searchtrace.pipelines.plan import BucketReason
from searchtrace.pipelines.selection import REF_SCHEMA
from searchtrace.pipelines.storage import Location, read_schema, read_table, write_parquet
from searchtrace.schemas.rows import ROW_SCHEMA
from searchtrace.traces.drops import drop_completion

# A staged row is the row, its candidate (bucket, index and key) and its difficulty level.
STAGE_SCHEMA = pa.schema([*ROW_SCHEMA, pa.field("_bucket", pa.int32()),
                          pa.field("_index", pa.int64()), pa.field("_key", pa.string()),
                          pa.field("_level", pa.int32())])
STAGED_META = "searchtrace.staged"


def shard_of(problem_id: str, num_shards: int) -> int:
    return int(hashlib.sha256(problem_id.encode()).hexdigest()[:16], 16) % num_shards


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def write_shard(tables: list[pa.Table], path: Location) -> int:
    """Write rows sorted by id with the row schema; returns the row count.

    The same rows give the same bytes however they were split across staged files.
    """
    if tables:
        table = pa.concat_tables(tables).select(ROW_SCHEMA.names).cast(ROW_SCHEMA)
        table = table.sort_by("id").combine_chunks()
    else:
        table = ROW_SCHEMA.empty_table()
    write_parquet(table, path, compression="zstd")
    return table.num_rows


def apply_drops(table: pa.Table, drops: dict[str, str]) -> pa.Table:
    """Staged rows with their drop levels applied: each row whose candidate's key is in
    `drops` gets that level in `drop` and the completion (and the assistant message)
    with that level's parts dropped. Without drops the table is returned as it is."""
    if not drops:
        return table
    records = table.to_pylist()
    for record in records:
        level = drops.get(record["_key"])
        if level is not None:
            completion = drop_completion(record["completion"], level)
            record["drop"] = level
            record["completion"] = completion
            record["messages"] = [{**m, "content": completion} if m["role"] == "assistant"
                                  else m for m in record["messages"]]
    return pa.Table.from_pylist(records, schema=table.schema)


def staged_refs(paths: list[Location]) -> pa.Table:
    """The refs (`selection.REF_SCHEMA`) of every row the staged files `paths` hold, each
    with its file's position in `paths`: a few small columns, read without the rows."""
    columns = [name for name in REF_SCHEMA.names if name != "file"]
    tables = []
    for position, path in enumerate(paths):
        table = read_table(path, columns=columns)
        tables.append(table.append_column(
            "file", pa.array(np.full(table.num_rows, position, dtype=np.int32))))
    return pa.concat_tables(tables).cast(REF_SCHEMA) if tables else REF_SCHEMA.empty_table()


def staged_path(directory: Location, round_number: int, name: str) -> Location:
    """The staged file of round `round_number` named `name` (a wave's key)."""
    return directory / f"round-{round_number:02d}-part-{name}.parquet"


def staged_files(directory: Location, through_round: int) -> list[Location]:
    """The files staged by rounds 1 to `through_round` (a later round's are ignored, so a
    resumed build selects from exactly what the uninterrupted one did)."""
    return sorted(path for path in directory.glob("round-*-part-*.parquet")
                  if int(path.name.split("-")[1]) <= through_round)


@dataclass(frozen=True)
class StagedBatches:
    """What a staged file records besides its rows: the candidate batches it completes
    (all their verified rows are in it), by key, and their rejections."""

    batches: tuple[str, ...]
    rejected: Counter[BucketReason]


def write_staged(records: list[dict[str, Any]], path: Location, done: StagedBatches) -> None:
    """Park the verified rows of whole batches (with their candidate and level) until
    selection; the file appears atomically, so its batches are either all done or not."""
    rejected = [[r.split, r.bucket, r.reason, n] for r, n in sorted(done.rejected.items())]
    meta = {STAGED_META: json.dumps({"batches": done.batches, "rejected": rejected})}
    schema = STAGE_SCHEMA.with_metadata(meta)
    write_parquet(pa.Table.from_pylist(records, schema=schema), path, compression="zstd")


def read_staged_batches(path: Location) -> StagedBatches:
    meta = json.loads(read_schema(path).metadata[STAGED_META.encode()])
    rejected = Counter({BucketReason(split, bucket, reason): count
                        for split, bucket, reason, count in meta["rejected"]})
    return StagedBatches(tuple(meta["batches"]), rejected)
