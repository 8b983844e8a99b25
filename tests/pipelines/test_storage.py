"""The filesystem layer without a server: which outputs it accepts and how it names them,
the one-line errors for the rest (an unknown scheme, a bucket's root, a missing gcsfs),
the local lock of an object-store output, and local atomic writes and commits. Builds
against a real S3 server are in tests/flows/test_object_store.py; gs:// is checked here
only up to the filesystem object (no GCS server runs on this machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from searchtrace.errors import UserError
from searchtrace.pipelines.outdir import check_out_path, output_lock
from searchtrace.pipelines.storage import (
    ObjectPath,
    commit_folder,
    is_committed,
    location,
    lock_file,
    write_atomically,
)


def test_locations_by_scheme(tmp_path: Path) -> None:
    assert location(str(tmp_path)) == tmp_path
    assert location(f"file://{tmp_path}") == tmp_path
    assert location("relative/out") == Path("relative/out")
    assert location("s3://bucket/a/b/") == ObjectPath("s3", "bucket/a/b")
    assert location("gs://bucket/a") == ObjectPath("gs", "bucket/a")
    assert location("gcs://bucket/a") == ObjectPath("gcs", "bucket/a")


@pytest.mark.parametrize("url, message", [
    ("ftp://host/out", "unknown scheme ftp://; give a local folder, s3://BUCKET/PREFIX or "
                       "gs://BUCKET/PREFIX"),
    ("hdfs://cluster/out", "unknown scheme hdfs://"),
    ("s3://", "no bucket named"),
])
def test_other_outputs_are_refused(url: str, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        location(url)


def test_an_object_path_names_its_parts_like_a_path() -> None:
    shard = location("gs://bucket/out/data/train-00000-of-00002.parquet")
    assert isinstance(shard, ObjectPath)
    assert str(shard) == "gs://bucket/out/data/train-00000-of-00002.parquet"
    assert shard.name == "train-00000-of-00002.parquet"
    assert shard.stem == "train-00000-of-00002"
    assert shard.parent.parent == location("gs://bucket/out")
    assert shard.with_name("x.parquet") == location("gs://bucket/out/data/x.parquet")
    assert location("gs://bucket/out") / "data" / "a" == location("gs://bucket/out/data/a")
    assert shard.bucket == "bucket"
    assert location("gs://bucket").parent == location("gs://bucket")  # never above it


@pytest.mark.parametrize("url", ["s3://bucket", "gs://bucket/"])
def test_a_bucket_root_is_no_output(url: str) -> None:
    with pytest.raises(UserError, match="refusing to build into a bucket's root; give a "
                                        "prefix inside it"):
        check_out_path(location(url))


def test_a_missing_gcsfs_asks_for_the_cloud_extra(tmp_path: Path) -> None:
    """gcsfs made unimportable in a fresh process (as without the cloud extra): the
    layer and the CLI say what to install, in one line, exit 2."""
    blocked = "import sys; sys.modules['gcsfs'] = None; "
    layer = subprocess.run(
        [sys.executable, "-c", blocked + "from searchtrace.pipelines.storage import location\n"
         "try:\n    location('gs://bucket/out')\nexcept Exception as e:\n    print(e)"],
        capture_output=True, text=True, timeout=120)
    assert layer.stdout.strip() == ("gs:// outputs need gcsfs: pip install "
                                    "'searchtrace[cloud]' (or pip install -e '.[cloud]')")
    config = Path(__file__).parents[2] / "configs" / "quickstart.yaml"
    cli = subprocess.run(
        [sys.executable, "-c", blocked + "from searchtrace.cli import main; sys.argv = "
         f"['searchtrace', 'build', {str(config)!r}, '--out', 'gs://bucket/out']; main()"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    lines = [line for line in cli.stderr.splitlines() if line.strip()]
    assert cli.returncode == 2, cli.stderr
    assert len(lines) == 1 and "pip install 'searchtrace[cloud]'" in lines[0]


def test_an_object_store_output_is_locked_on_this_machine() -> None:
    """Its lock is a local file named by the URL: a second build for the same URL stops,
    one for another URL does not."""
    out = location("gs://bucket/locked-out")
    assert lock_file(out) != lock_file(location("gs://bucket/other"))
    assert lock_file(out).parent == lock_file(location("s3://bucket/x")).parent
    with output_lock(out):
        with pytest.raises(UserError, match="another build holds gs://bucket/locked-out"), \
                output_lock(out):
            pass
        with output_lock(location("gs://bucket/other")):
            pass
    with output_lock(out):  # released when the first build ended
        pass


def test_a_local_atomic_write_leaves_the_file_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    write_atomically(target, lambda where: Path(where).write_bytes(b"whole"))
    assert target.read_bytes() == b"whole"

    def fails(where: str) -> None:
        Path(where).write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, fails)
    assert target.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


def test_a_local_commit_is_a_rename(tmp_path: Path) -> None:
    source, target = tmp_path / "staged", tmp_path / "published"
    (source / "data").mkdir(parents=True)
    (source / "data" / "shard").write_text("rows")
    assert not is_committed(target)
    commit_folder(source, target)
    assert is_committed(target) and not source.exists()
    assert (target / "data" / "shard").read_text() == "rows"
    assert sorted(p.name for p in target.rglob("*")) == ["data", "shard"]  # no marker
