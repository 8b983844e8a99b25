"""One pass from staging to shards: each staged file is read once, its selected rows go
into per-shard parts, and each shard is written from its parts alone. Every file goes
through `pipelines.storage`, so the parts and shards may live on an object store.

Reading every staged file once per shard costs shards x files reads, which grows with the
square of the row count (1,812 reads at 50,000 rows). Here a staged file's selected rows,
their drop levels applied, are sorted by (split, shard, id) into one Arrow IPC file with
one record batch per shard; a shard's writer memory-maps the files that hold its rows and
reads only its own batch of each, so every row is read and written a fixed number of
times whatever the size of the build.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from searchtrace.pipelines.selection import run_starts, runs
from searchtrace.pipelines.storage import (
    Location,
    location,
    read_ipc_batch,
    read_table,
    write_atomically,
)
from searchtrace.pipelines.writer import apply_drops, shard_of, write_shard

ShardKey = tuple[str, int]  # (split, shard index)
Part = tuple[str, int]  # (parts file, record batch index)


def split_staged(staged: str | Location, selected: pa.Table, parts: str | Location,
                 shards: dict[str, int]) -> list[tuple[ShardKey, Part]]:
    """Write the rows of `staged` whose candidate's key is in `selected` (columns `_key`
    and `drop`) to the IPC file `parts`, one record batch per shard, with their drop
    levels applied; returns each shard's part. Nothing is written when no row is."""
    table = read_table(location(staged))
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
    return _write_parts(table, location(parts))


def _write_parts(table: pa.Table, path: Location) -> list[tuple[ShardKey, Part]]:
    """Write rows sorted by (split, shard) to the IPC file `path` atomically, one record
    batch per shard (LZ4: a reader decompresses only its own batch)."""
    written: list[tuple[ShardKey, Part]] = []
    options = pa.ipc.IpcWriteOptions(compression="lz4")

    def write(where: str | object) -> None:
        with pa.ipc.new_file(where, table.schema, options=options) as writer:
            for batch, (start, length) in enumerate(runs(run_starts(table, ["split", "_shard"]))):
                rows = table.slice(start, length).combine_chunks()
                writer.write_batch(rows.to_batches()[0])
                first = rows.slice(0, 1).select(["split", "_shard"]).to_pylist()[0]
                written.append(((first["split"], first["_shard"]), (str(path), batch)))

    write_atomically(path, write)
    return written


def read_part(part: Part) -> pa.Table:
    """One shard's rows from one parts file."""
    path, batch = part
    return read_ipc_batch(location(path), batch)


def write_shard_from_parts(parts: list[Part], path: Location) -> int:
    """Write the shard `path` from its `parts` (sorted by id, the row schema, atomically:
    the same rows give the same bytes however they were staged); returns its rows."""
    return write_shard([read_part(part) for part in sorted(parts)], path)
