"""The one filesystem layer of a build: local paths, `s3://` and `gs://` outputs.

Every read and write of a build (staging, staged files, shards, manifest, stats, card,
plot, resume markers, progress heartbeats, the cache check, `latest`) takes a `Location`:
a `pathlib.Path` for a local folder, an `ObjectPath` for an object store. `ObjectPath`
has the methods of `Path` a build uses (join, name, parent, exists, read and write,
glob, iterdir, unlink) over fsspec (s3fs, gcsfs), so a module handles both kinds alike;
what differs between a POSIX folder and an object store is a function here:

- `write_atomically`: a local file is written to a temporary name and renamed into
  place; an object appears whole when its upload completes (a single PUT, or the last
  step of a multipart or resumable upload), so it is written in place.
- `commit_folder`: a local folder is renamed into place, which no reader can see half
  done; an object store has no rename, so the folder's objects are copied, then a commit
  marker (`COMMIT_MARKER`) is written, then the source goes. `is_committed` is what every
  reader asks first: a local folder is whole once it exists, an object-store folder once
  it has its marker. `remove_tree` deletes the marker before anything else, so a folder
  being removed stops counting as a dataset at once; `replace_folder` publishes over an
  older folder.
- `point_to`: `latest` is a relative symlink locally, an object holding the name on an
  object store (which has no links).
- `lock_file`: where a build's `flock` lives (beside a local output; in this machine's
  temporary folder for a URL).
- `read_table` and friends: Parquet read through a local path as before, or through an
  fsspec file on an object store.

fsspec rather than Beam's FileSystems: `datasets` loads through fsspec and pyarrow reads
its file objects, so the build, the gate and `load_dataset` share one filesystem stack and
one way to set credentials and endpoints (Beam's S3 and GCS filesystems take theirs from
pipeline options, and would be a second stack beside the one `datasets` uses). Listings
are never cached: another process (a Dask worker, a killed earlier attempt) may have
written since.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from searchtrace.errors import BuildError, UserError

# The object-store protocols a build writes to, and the package each needs (the `cloud`
# extra installs both).
PROTOCOLS = {"s3": "s3fs", "gs": "gcsfs", "gcs": "gcsfs"}
ALLOWED = "a local folder, s3://BUCKET/PREFIX or gs://BUCKET/PREFIX"
COMMIT_MARKER = ".searchtrace-committed"


def filesystem(protocol: str) -> Any:
    """The fsspec filesystem of `protocol`, listings uncached (a UserError naming the
    extra to install when its package is missing). One per process: an async filesystem
    inherited through a fork (a local Dask worker) refuses to run in the child."""
    return _filesystem(protocol, os.getpid())


@cache
def _filesystem(protocol: str, pid: int) -> Any:
    import fsspec

    _require(protocol)
    return fsspec.filesystem(protocol, use_listings_cache=False)


def _require(protocol: str) -> None:
    """A UserError naming the extra to install unless the package of `protocol` imports
    (imported only: making a filesystem may look for credentials, which can take long)."""
    try:
        importlib.import_module(PROTOCOLS[protocol])
    except ImportError:
        raise UserError(f"{protocol}:// outputs need {PROTOCOLS[protocol]}: pip install "
                        "'searchtrace[cloud]' (or pip install -e '.[cloud]')") from None


def forget_filesystems() -> None:
    """Drop this process's filesystem objects, so the next use reads the credentials and
    endpoint (AWS_ENDPOINT_URL, ...) from the environment again."""
    import fsspec

    _filesystem.cache_clear()
    for protocol in PROTOCOLS:
        try:
            fsspec.get_filesystem_class(protocol).clear_instance_cache()
        except ImportError:
            continue  # its package is not installed: nothing of it is cached


@dataclass(frozen=True, order=True)
class ObjectPath:
    """`protocol://path` on an object store, with the methods of `pathlib.Path` a build
    uses. `path` is bucket/key, no trailing slash; a "folder" is a key prefix."""

    protocol: str
    path: str

    def __str__(self) -> str:
        return f"{self.protocol}://{self.path}"

    def __truediv__(self, name: str) -> ObjectPath:
        return ObjectPath(self.protocol, posixpath.join(self.path, name))

    @property
    def fs(self) -> Any:
        return filesystem(self.protocol)

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def stem(self) -> str:
        return posixpath.splitext(self.name)[0]

    @property
    def parent(self) -> ObjectPath:
        parent = posixpath.dirname(self.path)
        return ObjectPath(self.protocol, parent or self.path)

    @property
    def bucket(self) -> str:
        return self.path.split("/", 1)[0]

    def with_name(self, name: str) -> ObjectPath:
        return self.parent / name

    def resolve(self) -> ObjectPath:
        return self

    def exists(self) -> bool:
        return self.fs.exists(self.path)

    def is_dir(self) -> bool:
        return self.fs.isdir(self.path)

    def is_file(self) -> bool:
        return self.fs.isfile(self.path)

    def is_symlink(self) -> bool:
        return False

    def open(self, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
        if "b" in mode:
            return self.fs.open(self.path, mode)
        return self.fs.open(self.path, mode, encoding=encoding or "utf-8")

    def read_bytes(self) -> bytes:
        return self.fs.cat_file(self.path)

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> int:
        self.fs.pipe_file(self.path, data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to make: a prefix exists once an object is under it."""

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.fs.rm_file(self.path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def iterdir(self) -> Iterator[ObjectPath]:
        if not self.is_dir():
            return iter(())
        children = self.fs.ls(self.path, detail=False)
        return iter(sorted(ObjectPath(self.protocol, c.rstrip("/")) for c in children
                           if c.rstrip("/") != self.path))

    def glob(self, pattern: str) -> Iterator[ObjectPath]:
        found = self.fs.glob(posixpath.join(self.path, pattern))
        return iter(sorted(ObjectPath(self.protocol, p.rstrip("/")) for p in found))


Location = Path | ObjectPath


def location(where: str | Path | ObjectPath) -> Location:
    """The `Location` a user's `--out` (or a dataset argument) names: a local path as
    given, `s3://` or `gs://` as an object path; another scheme is a UserError."""
    if isinstance(where, Path | ObjectPath):
        return where
    text = str(where)
    if text.startswith("file://"):
        return Path(text.removeprefix("file://"))
    scheme, sep, rest = text.partition("://")
    if not sep:
        return Path(text)
    if scheme not in PROTOCOLS:
        raise UserError(f"{text}: unknown scheme {scheme}://; give {ALLOWED}")
    path = rest.strip("/")
    if not path:
        raise UserError(f"{text}: no bucket named; give {ALLOWED}")
    _require(scheme)  # a missing package is said now, not at the first write
    return ObjectPath(scheme, path)


def check_reachable(where: Location) -> None:
    """On an object store, that the bucket of `where` is there and can be listed: a
    missing bucket is a UserError, a store that cannot be reached a BuildError (both one
    line). Local paths are checked where they are written."""
    if not isinstance(where, ObjectPath):
        return
    try:
        where.fs.ls(where.bucket, detail=False)
    except FileNotFoundError:
        raise UserError(f"{where}: bucket {where.bucket!r} does not exist; create it first "
                        "or name another") from None
    except PermissionError as error:
        raise UserError(f"{where}: no permission to list bucket {where.bucket!r} "
                        f"({_first_line(error)}); check the credentials") from None
    except Exception as error:  # botocore's and aiohttp's connection errors share no base
        raise BuildError(f"{where}: cannot reach the object store ({_first_line(error)}); "
                         "check the endpoint (AWS_ENDPOINT_URL for S3-compatible servers) "
                         "and the network") from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def is_remote(where: Location) -> bool:
    return isinstance(where, ObjectPath)


def write_atomically(target: Location, write: Callable[[Any], None]) -> None:
    """Have `write(where)` write the file `target` so that no reader sees it half written:
    locally `where` is a temporary path beside it, renamed into place; on an object store
    `where` is the upload's file object (the object appears once the upload completes)."""
    if isinstance(target, ObjectPath):
        with target.open("wb") as handle:
            write(handle)
        return
    temporary = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex}")
    try:
        write(str(temporary))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def is_committed(folder: Location) -> bool:
    """`folder` holds a whole, committed folder: locally, it is a folder (it was renamed
    into place whole); on an object store, its commit marker is there."""
    if isinstance(folder, ObjectPath):
        return (folder / COMMIT_MARKER).is_file()
    return folder.is_dir()


def commit_folder(source: Location, target: Location) -> None:
    """Make the finished folder `source` the folder `target`, all at once for a reader:
    locally a rename; on an object store, the objects are copied (anything an interrupted
    commit left at `target` goes first), the commit marker written, `source` removed."""
    if isinstance(source, ObjectPath) and isinstance(target, ObjectPath):
        remove_tree(target)
        files = [ObjectPath(source.protocol, p) for p in source.fs.find(source.path)]
        for file in files:
            if file.name != COMMIT_MARKER:
                relative = posixpath.relpath(file.path, source.path)
                source.fs.copy(file.path, (target / relative).path)
        (target / COMMIT_MARKER).write_text(str(source) + "\n")
        remove_tree(source)
        return
    if isinstance(source, ObjectPath) or isinstance(target, ObjectPath):
        raise ValueError(f"cannot commit {source} to {target}: one filesystem only")
    source.rename(target)


def replace_folder(source: Location, target: Location) -> None:
    """Put the finished folder `source` at `target`, replacing what is there, so that a
    reader sees the old folder or the new one: locally the old one is renamed aside, the
    new one renamed in, and the old one removed only then; on an object store a commit
    (`commit_folder`: the old one's marker goes first, so between the two a reader sees
    no folder at all)."""
    if isinstance(target, ObjectPath):
        commit_folder(source, target)
        return
    previous = None
    if target.exists():
        previous = target.parent / f".{target.name}.replaced-{uuid.uuid4().hex[:8]}"
        target.rename(previous)
    target.parent.mkdir(parents=True, exist_ok=True)
    commit_folder(source, target)
    if previous is not None:
        remove_tree(previous)


def point_to(link: Location, name: str) -> None:
    """Make `link` name the sibling `name`, atomically: locally a relative symlink
    swapped into place; on an object store (no links) an object holding `name`."""
    if isinstance(link, ObjectPath):
        link.write_text(name + "\n")
        return
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    temporary.symlink_to(name, target_is_directory=True)
    os.replace(temporary, link)


def pointed_to(link: Location) -> str | None:
    """The name `link` (made by `point_to`) names, if it is there."""
    if isinstance(link, ObjectPath):
        return link.read_text().strip() if link.is_file() else None
    return os.readlink(link) if link.is_symlink() else None


def remove_tree(folder: Location) -> None:
    """Remove `folder` and everything in it, if there (its commit marker first)."""
    if isinstance(folder, ObjectPath):
        (folder / COMMIT_MARKER).unlink(missing_ok=True)
        with contextlib.suppress(FileNotFoundError):
            folder.fs.rm(folder.path, recursive=True)
        return
    shutil.rmtree(folder, ignore_errors=True)


def lock_file(out: Location) -> Path:
    """The local file a build locks for `out`: beside a local output; for an object-store
    output, in this machine's temporary folder, named by the URL (it keeps two builds on
    one machine apart, not builds on two machines)."""
    if isinstance(out, ObjectPath):
        digest = hashlib.sha256(str(out).encode()).hexdigest()[:24]
        return Path(tempfile.gettempdir()) / "searchtrace-locks" / f"{digest}.lock"
    return out.parent / f".{out.name}.lock"


def read_table(path: Location, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file's `columns` (all by default)."""
    if isinstance(path, Path):
        return pq.read_table(path, columns=columns)
    with path.open("rb") as handle:
        return pq.read_table(handle, columns=columns)


def read_schema(path: Location) -> pa.Schema:
    if isinstance(path, Path):
        return pq.read_schema(path)
    with path.open("rb") as handle:
        return pq.read_schema(handle)


def parquet_rows(path: Location) -> int:
    """The rows a Parquet file's footer declares."""
    if isinstance(path, Path):
        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        return pq.ParquetFile(handle).metadata.num_rows


def iter_batches(path: Location, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """A Parquet file's `columns`, a record batch at a time."""
    if isinstance(path, Path):
        yield from pq.ParquetFile(path).iter_batches(columns=columns)
        return
    with path.open("rb") as handle:
        yield from pq.ParquetFile(handle).iter_batches(columns=columns)


def read_ipc_batch(path: Location, batch: int) -> pa.Table:
    """Record batch `batch` of an Arrow IPC file (memory-mapped when local)."""
    if isinstance(path, Path):
        with pa.memory_map(str(path)) as source:
            return pa.Table.from_batches([pa.ipc.open_file(source).get_batch(batch)])
    with path.open("rb") as handle:
        return pa.Table.from_batches([pa.ipc.open_file(handle).get_batch(batch)])


def write_parquet(table: pa.Table, path: Location, **options: Any) -> None:
    """Write `table` to `path` atomically (`write_atomically`)."""
    write_atomically(path, lambda where: pq.write_table(table, where, **options))


def sha256_of(path: Location) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
