"""Install the carried wheels a Python lacks, without pip or a network.

The GPU machine has torch, transformers and accelerate but not trl, datasets or pydantic;
bench/gpu/prepare.sh downloads those wheels into `.whl/`. A carried wheel is installed
(unpacked into a target folder that goes first on PYTHONPATH) only when its distribution
is missing here or its installed version fails what another carried wheel requires of it
(e.g. pydantic-core's typing-extensions floor), so nothing the machine already has in a
fitting version is shadowed, and torch and transformers are never carried at all.
Requirements of carried wheels that an installed, uncarried distribution does not meet
(say datasets' ceiling on fsspec) are printed as warnings: the run goes on, and its log
says what may have gone wrong.

    python3 bench/gpu/wheels.py .whl /tmp/site     # prints what it installed
"""

from __future__ import annotations

import sys
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version


@dataclass(frozen=True)
class Wheel:
    """A carried wheel: its file, distribution name (canonical), version and the
    requirements that apply here (no extras; markers evaluated for this Python)."""

    path: Path
    name: str
    version: Version
    requires: tuple[Requirement, ...]


def read_wheel(path: Path) -> Wheel:
    name, version, _, _ = parse_wheel_filename(path.name)
    with zipfile.ZipFile(path) as archive:
        meta = next(n for n in archive.namelist()
                    if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        headers = Parser().parsestr(archive.read(meta).decode("utf-8"))
    requires = [Requirement(text) for text in headers.get_all("Requires-Dist") or []]
    applies = tuple(r for r in requires
                    if r.marker is None or r.marker.evaluate({"extra": ""}))
    return Wheel(path, canonicalize_name(name), version, applies)


def installed_version(name: str) -> Version | None:
    try:
        return Version(metadata.version(name))
    except metadata.PackageNotFoundError:
        return None


def fits(version: Version, requirement: Requirement) -> bool:
    return requirement.specifier.contains(version, prereleases=True)


def needed(wheels: list[Wheel]) -> tuple[list[Wheel], list[str]]:
    """The wheels to install, and warnings about unmet requirements on uncarried
    distributions."""
    carried = {w.name for w in wheels}
    wanted: dict[str, list[tuple[Wheel, Requirement]]] = {}
    for wheel in wheels:
        for requirement in wheel.requires:
            wanted.setdefault(canonicalize_name(requirement.name), []).append(
                (wheel, requirement))
    install = []
    for wheel in wheels:
        have = installed_version(wheel.name)
        if have is None or not all(fits(have, r) for _, r in wanted.get(wheel.name, [])):
            install.append(wheel)
    warnings = []
    for name, asks in sorted(wanted.items()):
        if name in carried:
            continue
        have = installed_version(name)
        for wheel, requirement in asks:
            if have is None or not fits(have, requirement):
                warnings.append(f"warning: {wheel.name} {wheel.version} wants {requirement}; "
                                f"found {have or 'nothing'}")
    return install, warnings


def unpack(wheel: Wheel, target: Path) -> None:
    """Install a wheel by unpacking it: its packages and dist-info go to `target`, files
    under `*.data/purelib|platlib` too; scripts and headers are left out."""
    with zipfile.ZipFile(wheel.path) as archive:
        for member in archive.infolist():
            parts = member.filename.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in {"purelib", "platlib"}:
                    continue
                parts = parts[2:]
            if member.is_dir() or not parts[-1]:
                continue
            destination = target.joinpath(*parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.read(member))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: wheels.py WHEEL_FOLDER TARGET_FOLDER", file=sys.stderr)
        return 2
    folder, target = Path(argv[0]), Path(argv[1])
    if not folder.is_dir():
        print(f"wheels: no wheel folder {folder}; run bench/gpu/prepare.sh first",
              file=sys.stderr)
        return 2
    install, warnings = needed([read_wheel(p) for p in sorted(folder.glob("*.whl"))])
    for line in warnings:
        print(line, file=sys.stderr)
    for wheel in install:
        unpack(wheel, target)
    print("installed: " + (", ".join(f"{w.name} {w.version}" for w in install) or "nothing"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
