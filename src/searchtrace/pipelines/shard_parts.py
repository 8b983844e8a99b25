"""One pass from staging to shards: each staged file is read once, its selected rows go
into per-shard parts, and each shard is written from its parts alone.

Reading every staged file once per shard costs shards x files reads, which grows with the
square of the row count (1,812 reads at 50,000 rows). Here a staged file's selected rows,
their drop levels applied, are sorted by (split, shard, id) into one Arrow IPC file with
one record batch per shard; a shard's writer memory-maps the files that hold its rows and
reads only its own batch of each, so every row is read and written a fixed number of
times whatever the size of the build.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from searchtrace.pipelines.selection import run_starts, runs
from searchtrace.pipelines.writer import apply_drops, shard_of, write_shard

ShardKey = tuple[str, int]  # (split, shard index)
Part = tuple[str, int]  # (parts file, record batch index)


def split_staged(staged: str | Path, selected: pa.Table, parts: str | Path,
                 shards: dict[str, int]) -> list[tuple[ShardKey, Part]]:
    """Write the rows of `staged` whose candidate's key is in `selected` (columns `_key`
    and `drop`) to the IPC file `parts`, one record batch per shard, with their drop
    levels applied; returns each shard's part. Nothing is written when no row is."""
    table = pq.read_table(staged)
    table = table.filter(pc.is_in(table["_key"], value_set=selected["_key"]))
    if table.num_rows == 0:
        return []
    drops = {key: drop for key, drop in zip(selected["_key"].to_pylist(),
                                            selected["drop"].to_pylist(), strict=True) if drop}
    table = apply_drops(table, drops)
    numbers = [shard_of(problem, shards[split]) for split, problem in
               zip(table["split"].to_pylist(), table["problem_id"].to_pylist(), strict=True)]
    table = table.append_column("_shard", pa.array(numbers, pa.int32())).sort_by(
        [("split", "ascending"), ("_shard", "ascending"), ("id", "ascending")])
    return _write_parts(table, Path(parts))


def _write_parts(table: pa.Table, path: Path) -> list[tuple[ShardKey, Part]]:
    """Write rows sorted by (split, shard) to the IPC file `path` atomically, one record
    batch per shard (LZ4: a reader decompresses only its own batch)."""
    written = []
    temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    try:
        with pa.OSFile(str(temporary), "wb") as sink, \
                pa.ipc.new_file(sink, table.schema, options=options) as writer:
            for batch, (start, length) in enumerate(runs(run_starts(table, ["split", "_shard"]))):
                rows = table.slice(start, length).combine_chunks()
                writer.write_batch(rows.to_batches()[0])
                first = rows.slice(0, 1).select(["split", "_shard"]).to_pylist()[0]
                written.append(((first["split"], first["_shard"]), (str(path), batch)))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return written


def read_part(part: Part) -> pa.Table:
    """One shard's rows from one parts file."""
    path, batch = part
    with pa.memory_map(path) as source:
        return pa.Table.from_batches([pa.ipc.open_file(source).get_batch(batch)])


def write_shard_from_parts(parts: list[Part], path: Path) -> int:
    """Write the shard `path` from its `parts` (sorted by id, the row schema, atomically:
    the same rows give the same bytes however they were staged); returns its rows."""
    return write_shard([read_part(part) for part in sorted(parts)], path)
