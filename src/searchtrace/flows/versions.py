"""Where a build lands and whether it is already there.

A plain build is the dataset folder OUT. A versioned build (every scheduled run) is
OUT/v-<build key>/, an immutable folder, and OUT/latest is a symlink moved to it only
after the gate passed; `datasets.load_dataset("OUT/latest")` always reads a whole,
checked version. A folder is a cache hit when its manifest carries the build key and
every listed shard is there with its sha256.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from searchtrace.pipelines.outputs import sha256_of

LATEST = "latest"
VERSION_PREFIX = "v-"


def version_folder(root: Path, key: str) -> Path:
    return root / f"{VERSION_PREFIX}{key[:12]}"


def latest_version(root: Path) -> Path | None:
    """The version OUT/latest points to, if any."""
    link = root / LATEST
    return (root / os.readlink(link)) if link.is_symlink() else None


def point_latest(root: Path, version: Path) -> None:
    """Move OUT/latest to `version` atomically (a relative link, so OUT can move)."""
    temporary = root / f".{LATEST}.{uuid.uuid4().hex[:8]}"
    temporary.symlink_to(version.name, target_is_directory=True)
    os.replace(temporary, root / LATEST)


def is_cached(folder: Path, key: str) -> bool:
    """`folder` holds the finished dataset for `key`, every shard intact."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
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
