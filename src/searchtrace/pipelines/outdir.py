"""Output-folder safety: where a build may write, what it may replace, and the lock it
holds on its output for its whole run.

A build never deletes what is not its own. `--out` may not be the current folder, the
root or home folder, the folder of the config, or any folder holding one of those;
`--overwrite` and `--force` replace only a searchtrace dataset (its manifest says so)
or an empty folder. Two builds never share an output: each holds an exclusive OS file
lock (`flock`) on `.<name>.lock` beside the output, so a second build for the same path
stops at once, and the kernel releases the lock of a build that dies, so a killed build
never blocks its own resume.

An object-store output (`s3://`, `gs://`) has no current or home folder to guard, but it
must name a prefix inside its bucket, never the bucket itself; its lock is a local file
named by its URL (`storage.lock_file`): it keeps two builds on one machine apart, not
builds on two machines.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from searchtrace.errors import UserError
from searchtrace.pipelines.outputs import DATASET_FORMAT
from searchtrace.pipelines.storage import (
    COMMIT_MARKER,
    Location,
    ObjectPath,
    check_reachable,
    is_remote,
    lock_file,
)

# What a build writes at the top of a dataset folder; a folder holding anything else
# holds something of the user's and is never replaced.
DATASET_ENTRIES = frozenset({"README.md", "build.json", "config.yaml", "data", "manifest.json",
                             "plots", "stats.json", COMMIT_MARKER})
# Manifests written before the `format` marker carry exactly these keys.
LEGACY_MANIFEST_KEYS = frozenset({"build_key", "code_version", "schema_version",
                                  "shards_per_split", "files"})


def check_out_path(out: Location, *, inputs: Sequence[Path] = ()) -> None:
    """Refuse an output path a build must never replace or fill: the current folder (`.`,
    `""`), the root or home folder, a folder holding any of them, or a folder holding one of
    `inputs` (the config or suite file); on an object store, a bucket's root, a bucket
    that does not exist (UserError) or a store that cannot be reached (BuildError)."""
    if isinstance(out, ObjectPath):
        if "/" not in out.path:
            raise UserError(f"--out {out}: refusing to build into a bucket's root; give a "
                            f"prefix inside it, e.g. {out}/my-dataset")
        check_reachable(out)
        return
    target = Path(out).resolve()
    cwd = Path.cwd().resolve()
    guarded = [("the current folder", cwd), ("the home folder", Path.home().resolve()),
               *((f"the folder of {path}", Path(path).resolve().parent)
                 for path in inputs)]
    if target == Path(target.anchor):
        raise UserError(f"--out {out}: refusing to build into the root folder; give a new "
                        "folder or a dataset folder of its own")
    for name, folder in guarded:
        if folder.is_relative_to(target):
            held = "" if folder == target else "a folder holding "
            raise UserError(f"--out {out}: refusing to build into {held}{name} ({target}); "
                            "give a new folder or a dataset folder of its own")


def is_dataset(folder: Location) -> bool:
    """`folder` has a manifest that marks it a searchtrace dataset (or one written before
    the marker, with exactly the keys such manifests had)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(manifest, dict):
        return False
    return manifest.get("format") == DATASET_FORMAT or set(manifest) == LEGACY_MANIFEST_KEYS


def occupied(path: Location) -> bool:
    """Something is at `path` that a build would replace: anything but an empty folder
    (on an object store, any object at or under it)."""
    if is_remote(path):
        return path.exists()
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        return True
    return path.is_dir() and any(path.iterdir())


def check_replaceable(folder: Location) -> None:
    """Refuse to replace `folder` unless it is absent, empty, or a searchtrace dataset
    holding nothing but what a build writes."""
    if not occupied(folder):
        return
    if not folder.is_dir() or folder.is_symlink():
        raise UserError(f"output path is not a folder: {folder}")
    entries = sorted(path.name for path in folder.iterdir())
    allowed = "--overwrite and --force replace only a searchtrace dataset or an empty folder"
    if not is_dataset(folder):
        raise UserError(f"refusing to replace {folder}: it is not a searchtrace dataset (no "
                        f"manifest.json marks it one); {allowed}")
    foreign = [name for name in entries if name not in DATASET_ENTRIES]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3
                                           else "")
        raise UserError(f"refusing to replace {folder}: it holds {shown}, which no build "
                        f"writes; move them out first ({allowed})")


def lock_path(out: Location) -> Path:
    return lock_file(out)


@contextmanager
def output_lock(out: Location) -> Iterator[None]:
    """Hold the exclusive lock on `out` (and so on its staging folders) until the block
    ends; another build holding it, or a place that cannot be written, is a UserError."""
    path = lock_path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = _acquire(path, out)
    except OSError as error:
        raise UserError(f"--out {out}: cannot write there ({error.strerror or error}); "
                        "choose a folder you can write to") from None
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        # Removed while still held, so a build that opened this file meanwhile sees it
        # gone and locks a fresh one instead of sharing a lock nobody else can see.
        path.unlink(missing_ok=True)
        os.close(descriptor)


def _acquire(path: Path, out: Location) -> int:
    """Lock `path`, creating it; retried when the holder removed the file as we opened it."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode(errors="replace").strip()
            os.close(descriptor)
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise UserError(f"another build holds {out}{pid}; wait for it to finish or "
                            "choose another --out") from None
        except BaseException:
            os.close(descriptor)
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return descriptor
        os.close(descriptor)
