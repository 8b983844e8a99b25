"""What identifies the code and the request behind a dataset.

The code version is the release plus a digest of the package's source, so a changed
solver or verifier never passes for the old one; the build key hashes the resolved config
with the code and schema versions, and names a build for caching, resuming and versioned
output folders.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from searchtrace import __version__
from searchtrace.schemas.rows import SCHEMA_VERSION

PACKAGE_ROOT = Path(__file__).parent


@cache
def code_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"{__version__}+{digest.hexdigest()[:12]}"


def build_key(resolved: dict[str, Any], code: str | None = None,
              schema: str = SCHEMA_VERSION) -> str:
    """Same resolved config (`BuildConfig.resolved()`), code and schema ⇒ same key ⇒
    byte-identical dataset. `code` and `schema` default to this code's; the gate passes
    those a dataset records."""
    payload = {"config": resolved, "code": code or code_version(), "schema": schema}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
