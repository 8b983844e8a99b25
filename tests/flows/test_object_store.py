"""Builds on an object store: a real S3-compatible server (moto's standalone server) on
127.0.0.1. A build to s3:// gives the bytes a local build gives, leaves no staging
behind, and validates, verifies and loads from the bucket; a build SIGKILLed mid-way
resumes from what it staged there to the same bytes; a folder without its commit marker
is no dataset to any reader. The builds through the CLI's Prefect flow (SIGKILL and
resume, versioned) take a minute or more here and are marked slow."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from searchtrace.config import parse_config
from searchtrace.export import export
from searchtrace.flows.destination import locate
from searchtrace.flows.steps import run_build
from searchtrace.flows.versions import LATEST, is_cached, latest_version, published_files
from searchtrace.pipelines.plan import BuildPlan
from searchtrace.pipelines.storage import (
    COMMIT_MARKER,
    filesystem,
    forget_filesystems,
    location,
)
from searchtrace.pipelines.writer import read_staged_batches
from tests.conftest import SMALL_COUNTDOWN
from tests.flows.conftest import free_port
from tests.pipelines.test_driver_resume import kill_when
from tests.support import folder_digest

BUCKET = "searchtrace-test"
# Large enough that a round is cut into many waves (each a staged object), so a kill lands
# between the first staged object and the shards; small enough to build in seconds.
RESUMABLE = {
    "name": "countdown-s3-resume",
    "task": {"name": "countdown", "preset": "medium"},
    "traces": {"k_mix": {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}, "max_dead_end_length": 4},
    "splits": {"train": 400, "test": 80},
    "seed": 7,
    "output": {"rows_per_shard": 80},
}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1 with a bucket; the credentials and
    endpoint are exported (AWS_ENDPOINT_URL, as a user of MinIO would) for this process
    and the `searchtrace` processes tests start, and removed afterwards."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    settings = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
    saved = {name: os.environ.get(name) for name in settings}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, "moto's server exited"
                assert time.monotonic() < deadline, "moto's server did not start"
                time.sleep(0.2)
        os.environ.update(settings)
        forget_filesystems()
        filesystem("s3").mkdir(BUCKET)
        yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        forget_filesystems()
        server.terminate()
        server.wait(timeout=30)


def remote_digest(url: str) -> dict[str, str]:
    """`tests.support.folder_digest` of an object-store folder (its commit marker, which
    a local folder does not have, left out)."""
    fs = filesystem("s3")
    root = url.removeprefix("s3://")
    return {path[len(root) + 1:]: hashlib.sha256(fs.cat_file(path)).hexdigest()
            for path in sorted(fs.find(root))
            if path.rsplit("/", 1)[-1] not in ("build.json", COMMIT_MARKER)}


def searchtrace(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "searchtrace.cli", *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200", **env})


def hidden_objects(prefix: str) -> list[str]:
    """Objects under `prefix` in a hidden folder (a staging folder left behind)."""
    return [path for path in filesystem("s3").find(f"{BUCKET}/{prefix}")
            if "/." in path and not path.endswith(COMMIT_MARKER)]


@pytest.fixture(scope="module")
def built(s3_server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The small Countdown build, once to the bucket and once to a local folder."""
    local = tmp_path_factory.mktemp("local") / "out"
    run_build(parse_config(SMALL_COUNTDOWN), local)
    url = f"s3://{BUCKET}/small/out"
    run_build(parse_config(SMALL_COUNTDOWN), url)
    return url, local


def test_a_build_to_s3_has_the_bytes_of_a_local_build(built: tuple[str, Path]) -> None:
    url, local = built
    assert remote_digest(url) == folder_digest(local)
    assert filesystem("s3").isfile(f"{url.removeprefix('s3://')}/{COMMIT_MARKER}")
    assert hidden_objects("small") == []  # the staging prefix is gone


def test_validate_verify_and_inspect_read_from_s3(built: tuple[str, Path]) -> None:
    url, _ = built
    validated = searchtrace("validate", url)
    assert validated.returncode == 0, validated.stderr
    assert "gate passed: 55 rows, 55 re-verified" in validated.stdout
    verified = searchtrace("verify", url)
    assert verified.returncode == 0, verified.stderr
    assert "verified 55 rows: 55 ok, 0 failed" in verified.stdout


def test_export_reads_a_dataset_from_s3(built: tuple[str, Path], tmp_path: Path) -> None:
    url, local = built
    assert export(url, tmp_path / "from-s3", "jsonl") == {"train": 42, "test": 13}
    export(local, tmp_path / "from-local", "jsonl")
    for split in ("train", "test"):
        assert (tmp_path / "from-s3" / f"{split}.jsonl").read_bytes() == \
            (tmp_path / "from-local" / f"{split}.jsonl").read_bytes()


def test_load_dataset_reads_the_published_shards_from_s3(built: tuple[str, Path]) -> None:
    """`datasets.load_dataset` through fsspec, in a process of its own: datasets refuses
    every remote filesystem while HF_HUB_OFFLINE is set, and the tests set it."""
    url, local = built
    files = published_files(location(url))
    assert sorted(files) == ["test", "train"]
    script = ("import json, sys, datasets\n"
              "files = json.loads(sys.argv[1])\n"
              "loaded = datasets.load_dataset('parquet', data_files=files)\n"
              "print(json.dumps({s: sorted(loaded[s]['id']) for s in loaded}))\n")
    result = subprocess.run([sys.executable, "-c", script, json.dumps(files)],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
                                 "HF_DATASETS_CACHE": str(local.parent / "hf-cache")})
    assert result.returncode == 0, result.stderr
    import datasets

    expected = datasets.load_dataset(str(local))
    assert json.loads(result.stdout.splitlines()[-1]) == {
        split: sorted(expected[split]["id"]) for split in expected}


def test_a_folder_without_its_commit_marker_is_no_dataset(
    s3_server: str, built: tuple[str, Path]
) -> None:
    """Copy the published folder, drop the copy's marker (a publish that stopped before
    its last write): every reader refuses it, and a build there rebuilds it."""
    url, _ = built
    fs = filesystem("s3")
    broken = f"s3://{BUCKET}/uncommitted/out"
    fs.copy(url.removeprefix("s3://"), broken.removeprefix("s3://"), recursive=True)
    fs.rm_file(f"{broken.removeprefix('s3://')}/{COMMIT_MARKER}")
    folder = location(broken)
    plan = BuildPlan.of(parse_config(SMALL_COUNTDOWN))
    assert not is_cached(folder, plan.key)
    for command in ("validate", "verify", "inspect"):
        result = searchtrace(command, broken)
        assert result.returncode == 2, (command, result.stderr)
        assert "not a committed searchtrace dataset" in result.stderr
    with pytest.raises(Exception, match="no committed searchtrace dataset"):
        published_files(folder)
    # a plain build finds no finished dataset there; it may replace the copy (a dataset),
    # and does, to a committed dataset with the bytes of the first
    destination = locate(plan, folder, overwrite=True)
    assert not destination.cached and destination.replace
    run_build(parse_config(SMALL_COUNTDOWN), broken, overwrite=True)
    assert is_cached(folder, plan.key)
    assert remote_digest(broken) == remote_digest(url)
    assert hidden_objects("uncommitted") == []


def test_building_again_to_s3_is_a_cache_hit(built: tuple[str, Path], tmp_path: Path) -> None:
    """Answered from the bucket's manifest and shards, without building."""
    url, _ = built
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(SMALL_COUNTDOWN))
    result = searchtrace("build", str(config), "--out", url)
    assert result.returncode == 0, result.stderr
    assert f"countdown-test: {url} (train: 42, test: 13) built earlier (cache hit" in \
        result.stdout


def test_bad_object_store_outputs_are_one_line(tmp_path: Path, s3_server: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(SMALL_COUNTDOWN))
    # (another scheme and a bucket's root: tests/pipelines/test_storage.py)
    cases: list[tuple[list[str], dict[str, str], int, str]] = [
        (["--out", "s3://no-such-bucket/out"], {}, 2, "bucket 'no-such-bucket' does not exist"),
        (["--out", f"s3://{BUCKET}/x"], {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
                                         "AWS_MAX_ATTEMPTS": "1"},
         1, "cannot reach the object store"),
    ]
    for args, env, code, message in cases:
        result = searchtrace("build", str(config), *args, **env)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == code, (args, result.stderr)
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)


@pytest.mark.slow
def test_a_versioned_build_on_s3_names_its_latest_version(s3_server: str, prefect_api: str,
                                                         tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(SMALL_COUNTDOWN))
    root = f"s3://{BUCKET}/versions"
    result = searchtrace("build", str(config), "--out", root, "--versioned")
    assert result.returncode == 0, result.stderr
    key = BuildPlan.of(parse_config(SMALL_COUNTDOWN)).key
    version = latest_version(location(root))
    assert version is not None and str(version) == f"{root}/v-{key[:12]}"
    assert is_cached(version, key)
    assert filesystem("s3").cat_file(f"{BUCKET}/versions/{LATEST}").decode().strip() == \
        version.name
    again = searchtrace("build", str(config), "--out", root, "--versioned")
    assert again.returncode == 0 and "cache hit" in again.stdout, again.stderr


def _staged(prefix: str) -> list[str]:
    return filesystem("s3").glob(f"{BUCKET}/{prefix}/.out.staging-*/staged/round-*-part-*")


def _shards_or_finished(prefix: str) -> bool:
    fs = filesystem("s3")
    return bool(fs.glob(f"{BUCKET}/{prefix}/.out.staging-*/round-*/dataset/data/*.parquet")
                or fs.glob(f"{BUCKET}/{prefix}/.out.staging-*/dataset/*"))


@pytest.fixture(scope="module")
def resumable_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("reference") / "out"
    run_build(parse_config(RESUMABLE), out)
    return folder_digest(out)


@pytest.mark.slow
@pytest.mark.parametrize("workers, kill_point", [
    (1, "mid-solve"),
    (2, "mid-write"),  # two Dask workers write the staged objects and the shards
])
def test_a_build_killed_on_s3_resumes_to_the_same_bytes(
    workers: int, kill_point: str, s3_server: str, prefect_api: str,
    resumable_reference: dict[str, str], tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(RESUMABLE))
    prefix = f"resume-{kill_point}"
    url = f"s3://{BUCKET}/{prefix}/out"
    command = [sys.executable, "-m", "searchtrace.cli", "build", str(config), "--out", url,
               "--workers", str(workers)]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    ready = ((lambda: bool(_staged(prefix))) if kill_point == "mid-solve"
             else (lambda: _shards_or_finished(prefix)))
    kill_when(first, ready)
    assert not filesystem("s3").exists(url.removeprefix("s3://"))  # nothing published
    done_before = sum(len(read_staged_batches(location(f"s3://{path}")).batches)
                      for path in _staged(prefix))
    assert done_before > 0
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert remote_digest(url) == resumable_reference
    record: dict[str, Any] = json.loads((location(url) / "build.json").read_text())
    assert record["resumed_batches"] == done_before or record["resumed_finished_dataset"]
    assert hidden_objects(prefix) == []
