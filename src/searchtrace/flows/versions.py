"""Where a build lands and whether it is already there.

A plain build is the dataset folder OUT. A versioned build (every scheduled run) is
OUT/v-<build key>/, an immutable folder, and OUT/latest names it only after the gate
passed: locally a symlink, so `datasets.load_dataset("OUT/latest")` always reads a whole,
checked version; on an object store, which has no links, an object holding the version's
name (one PUT: a reader sees the old name or the new one). A folder is a cache hit when
it is committed (`pipelines.storage.is_committed`), its manifest carries the build key and
every listed shard is there with its sha256.
"""

from __future__ import annotations

import json

from searchtrace.errors import UserError
from searchtrace.pipelines.storage import (
    Location,
    is_committed,
    point_to,
    pointed_to,
    sha256_of,
)

LATEST = "latest"
VERSION_PREFIX = "v-"


def version_folder(root: Location, key: str) -> Location:
    return root / f"{VERSION_PREFIX}{key[:12]}"


def has_latest(root: Location) -> bool:
    """`root` is a folder of versions: it has `latest`."""
    return pointed_to(root / LATEST) is not None


def latest_version(root: Location) -> Location | None:
    """The version OUT/latest names, if any."""
    name = pointed_to(root / LATEST)
    return None if name is None else root / name


def point_latest(root: Location, version: Location) -> None:
    """Move OUT/latest to `version` atomically (a relative name, so OUT can move)."""
    point_to(root / LATEST, version.name)


def is_cached(folder: Location, key: str) -> bool:
    """`folder` holds the finished, committed dataset for `key`, every shard intact."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file() or not is_committed(folder):
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError:
        return False
    if manifest.get("build_key") != key:
        return False
    return all((folder / entry["path"]).is_file()
               and sha256_of(folder / entry["path"]) == entry["sha256"]
               for entry in manifest["files"])


def published_files(folder: Location) -> dict[str, list[str]]:
    """The shards of the committed dataset `folder`, by split, as the manifest lists them
    (paths or URLs): `datasets.load_dataset("parquet", data_files=...)` reads exactly
    them, from a local folder or an object store. A folder without its commit marker (a
    publish under way or interrupted) or without a manifest is a UserError."""
    manifest_path = folder / "manifest.json"
    if not is_committed(folder) or not manifest_path.is_file():
        raise UserError(f"{folder}: no committed searchtrace dataset there (a build may be "
                        "publishing it, or was interrupted: build again to finish it)")
    files: dict[str, list[str]] = {}
    for entry in json.loads(manifest_path.read_text())["files"]:
        files.setdefault(entry["split"], []).append(str(folder / entry["path"]))
    return files
