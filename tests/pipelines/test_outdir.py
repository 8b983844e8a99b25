"""Output-folder safety, as users hit it: `--overwrite`/`--force` replace only a dataset
(or an empty folder) and never the current, config, root or home folder; two builds never
share an output (an OS lock, released when a build dies); a staging folder two builds
wrote resumes cleanly; an unwritable `--out` is one line and exit 2 at once; and a build
that starts its own Prefect server does so on a busy machine."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.flows.build import build_flow
from searchtrace.flows.destination import publish, staging_folder
from searchtrace.flows.gate import run_gate
from searchtrace.flows.steps import run_build
from searchtrace.flows.suite import run_suite
from searchtrace.pipelines.driver import build_staged
from searchtrace.pipelines.outdir import is_dataset, lock_path, output_lock
from searchtrace.pipelines.plan import BuildPlan
from tests.conftest import SMALL_COUNTDOWN
from tests.support import folder_digest

pytestmark = pytest.mark.usefixtures("prefect_api")  # `build` runs as a Prefect flow

# Long enough (about 15 s of Beam work) that builds started next to it find it running.
LONG_COUNTDOWN = {**SMALL_COUNTDOWN, "name": "countdown-long",
                  "splits": {"train": 3000, "test": 300}, "output": {"rows_per_shard": 1000}}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "searchtrace.cli", *args]


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cli(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**(env or os.environ), "COLUMNS": "300"})


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "COLUMNS": "300"},
                            start_new_session=True)


def error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def write_config(folder: Path, config: dict, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(config))
    return path


def wait_for(ready: Callable[[], bool], process: subprocess.Popen, limit: float = 240) -> None:
    """Poll until `ready()` while the build `process` runs."""
    deadline = time.monotonic() + limit
    while not ready():
        assert process.poll() is None, f"the build ended early: {process.communicate()}"
        assert time.monotonic() < deadline, "the build never got there"
        time.sleep(0.02)


def user_folder(folder: Path) -> dict[str, str]:
    """A folder of the user's: notes and a subfolder, as the issue reports losing them."""
    (folder / "drafts").mkdir(parents=True)
    (folder / "notes.md").write_text("my notes\n")
    (folder / "drafts" / "idea.txt").write_text("an idea\n")
    return snapshot(folder)


def snapshot(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): path.read_text()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("safety") / "built"
    run_build(parse_config(SMALL_COUNTDOWN), out)
    return out


# 1. --overwrite and --force replace only a dataset or an empty folder


@pytest.mark.parametrize("flag", ["--overwrite", "--force"])
def test_overwrite_and_force_refuse_a_folder_that_is_not_a_dataset(tmp_path: Path,
                                                                  flag: str) -> None:
    config = write_config(tmp_path, SMALL_COUNTDOWN)
    mine = tmp_path / "mine"
    before = user_folder(mine)
    result = run_cli("build", str(config), "--out", str(mine), flag)
    assert result.returncode == 2, result.stderr
    line = error_line(result)
    assert f"refusing to replace {mine}: it is not a searchtrace dataset" in line
    assert snapshot(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "mine"]


@pytest.mark.parametrize(("out", "cwd", "what"), [
    (".", "project", "the current folder"),
    ("", "project", "the current folder"),
    ("project", None, "the folder of"),
    ("/", None, "the root folder"),
    ("~", None, "the home folder"),
    ("..", "project/sub", "a folder holding the current folder"),
])
def test_the_current_config_root_and_home_folders_are_refused_outright(
    tmp_path: Path, out: str, cwd: str | None, what: str
) -> None:
    project = tmp_path / "project"
    user_folder(project)
    config = write_config(project, SMALL_COUNTDOWN)
    (project / "sub").mkdir()
    before = snapshot(project)
    targets = {"~": os.path.expanduser("~"), "project": str(project)}
    result = run_cli("build", str(config), "--out", targets.get(out, out), "--overwrite",
                     cwd=tmp_path / cwd if cwd else tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"refusing to build into {what}" in error_line(result)
    assert snapshot(project) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_every_entry_point_refuses_the_current_folder(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The library build, the flow (plain and versioned) and a suite, not only the CLI."""
    user_folder(tmp_path)
    config = write_config(tmp_path / "drafts", SMALL_COUNTDOWN)
    suite = tmp_path / "drafts" / "suite.yaml"
    suite.write_text(yaml.safe_dump({"builds": [{"config": "config.yaml"}]}))
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    message = "refusing to build into the current folder"
    for out in (".", ""):
        with pytest.raises(UserError, match=message):
            run_build(parse_config(SMALL_COUNTDOWN), out, overwrite=True)
        for versioned in (False, True):
            with pytest.raises(UserError, match=message):
                build_flow(config=str(config), out=out, overwrite=True, versioned=versioned)
        with pytest.raises(UserError, match=message):
            run_suite(suite, out, overwrite=True)
    with pytest.raises(UserError, match="refusing to build into the folder of"):
        build_flow(config=str(config), out=str(tmp_path / "drafts"), force=True)
    assert snapshot(tmp_path) == before


def test_a_dataset_holding_a_users_file_is_not_replaced(dataset: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    (copy / "notes.md").write_text("my notes\n")
    before = folder_digest(copy)
    other = parse_config({**SMALL_COUNTDOWN, "seed": 3})
    with pytest.raises(UserError, match=r"refusing to replace .*copy: it holds notes\.md, "
                                        r"which no build writes"):
        run_build(other, copy, overwrite=True)
    assert folder_digest(copy) == before


def test_a_dataset_an_empty_folder_and_an_old_unmarked_dataset_are_replaced(
    dataset: Path, tmp_path: Path
) -> None:
    assert json.loads((dataset / "manifest.json").read_text())["format"] == \
        "searchtrace-dataset"
    old = tmp_path / "old"
    shutil.copytree(dataset, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["format"]  # written before the marker
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert is_dataset(old)
    other = parse_config({**SMALL_COUNTDOWN, "seed": 3})
    run_build(other, old, overwrite=True)
    assert json.loads((old / "manifest.json").read_text())["build_key"] == \
        BuildPlan.of(other).key
    empty = tmp_path / "empty"
    empty.mkdir()
    run_build(other, empty)  # an empty folder holds nothing to lose: no --overwrite needed
    assert run_gate(empty).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "old"]


def test_publish_never_replaces_what_the_plan_did_not_see(dataset: Path, tmp_path: Path) -> None:
    staged = tmp_path / ".out.staging-x" / "dataset"
    shutil.copytree(dataset, staged)
    out = tmp_path / "out"
    before = user_folder(out)  # appeared while the build ran
    with pytest.raises(UserError, match=r"out appeared while the build ran; nothing was "
                                        r"replaced. The finished dataset waits in"):
        publish(staged, out, replace=False)
    with pytest.raises(UserError, match="it is not a searchtrace dataset"):
        publish(staged, out, replace=True)  # the plan saw a dataset; the user put notes there
    assert snapshot(out) == before and staged.is_dir()


def test_a_folder_created_during_a_cli_build_is_not_replaced(tmp_path: Path) -> None:
    config = write_config(tmp_path, SMALL_COUNTDOWN)
    out = tmp_path / "out"
    build = start_cli("build", str(config), "--out", str(out))
    wait_for(lambda: any(tmp_path.glob(".out.staging-*")), build)  # planned: out was absent
    before = user_folder(out)
    _, stderr = build.communicate(timeout=300)
    assert build.returncode == 2, stderr
    assert "appeared while the build ran; nothing was replaced" in stderr
    assert snapshot(out) == before


# 2. one build per output at a time; a staging folder two builds wrote resumes cleanly


def test_builds_into_an_output_another_build_holds_exit_2_at_once(tmp_path: Path) -> None:
    """Two real concurrent CLI builds: the same config, and another config without
    --overwrite, started while a first build of the same output runs."""
    long = write_config(tmp_path, LONG_COUNTDOWN, "long.yaml")
    other = write_config(tmp_path, {**LONG_COUNTDOWN, "seed": 4}, "other.yaml")
    out = tmp_path / "out"
    first = start_cli("build", str(long), "--out", str(out))
    wait_for(lock_path(out).exists, first)
    seconds = time.monotonic()
    second, third = (start_cli("build", str(path), "--out", str(out)) for path in (long, other))
    for process in (second, third):
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 2, stderr
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert lines == [f"error: another build holds {out} (pid {first.pid}); wait for it to "
                         "finish or choose another --out"]
    assert first.poll() is None, "the first build must still be running"
    assert time.monotonic() - seconds < 60
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    report = run_gate(out)
    assert report.ok, report.failures
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["build_key"] == BuildPlan.of(parse_config(LONG_COUNTDOWN)).key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml", "other.yaml", "out"]


@pytest.fixture
def lock_holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path]]:
    """Another process holding the lock on tmp_path/out (a build, as far as locks go)."""
    out = tmp_path / "out"
    code = ("import sys, time\nfrom pathlib import Path\n"
            "from searchtrace.pipelines.outdir import output_lock\n"
            "with output_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True)\n    time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield holder, out
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_builds_lock_does_not_block_the_next_build(
    lock_holder: tuple[subprocess.Popen, Path]
) -> None:
    holder, out = lock_holder
    with pytest.raises(UserError, match=rf"another build holds .*out \(pid {holder.pid}\)"), \
            output_lock(out):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock_path(out).exists()  # left behind, but no longer held
    with output_lock(out):
        assert lock_path(out).read_text() == f"{os.getpid()}\n"
    assert not lock_path(out).exists()


def test_a_staging_folder_two_builds_wrote_resumes_to_the_bytes_of_a_clean_build(
    tmp_path: Path
) -> None:
    config = parse_config(SMALL_COUNTDOWN)
    plan = BuildPlan.of(config)
    out = tmp_path / "out"
    staging = staging_folder(out, plan.key)
    staged = build_staged(plan, staging)
    reference = folder_digest(staged.dataset)
    shutil.rmtree(staged.dataset)
    # what two builds sharing the folder left: every batch staged twice
    for path in sorted((staging / "staged").glob("round-*-part-*.parquet")):
        round_number = path.name.split("-")[1]
        shutil.copy(path, path.with_name(f"round-{round_number}-part-{uuid.uuid4().hex}.parquet"))
    run_build(config, out)
    assert folder_digest(out) == reference
    assert run_gate(out).ok
    assert not staging.exists()


# 3. an output that cannot be written is the user's error, said at once


def test_an_unwritable_out_is_one_line_and_exit_2_without_retries(tmp_path: Path) -> None:
    config = write_config(tmp_path, SMALL_COUNTDOWN)
    started = time.monotonic()
    result = run_cli("build", str(config), "--out", "/proc/searchtrace-out")
    assert result.returncode == 2, result.stderr
    assert error_line(result) == ("error: --out /proc/searchtrace-out: cannot write there (No "
                                  "such file or directory); choose a folder you can write to")
    assert time.monotonic() - started < 40  # the flow's retries took 45 s and more
    with pytest.raises(UserError, match="cannot write there"):
        run_build(parse_config(SMALL_COUNTDOWN), tmp_path / "config.yaml" / "out")


# 4. a build that starts its own Prefect server, on a machine two other processes keep busy


@pytest.mark.slow  # about 110 s here with two burners on two cores (20 s unloaded)
def test_a_cli_build_starts_its_own_prefect_server_under_load(tmp_path: Path) -> None:
    """Prefect's default 20 s for its ephemeral server to start was not enough: with two
    burners its first start (a fresh database) failed after about 60 s."""
    config = write_config(tmp_path, SMALL_COUNTDOWN)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PREFECT_API_URL", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(2)]
    try:
        started = time.monotonic()
        result = run_cli("build", str(config), "--out", str(tmp_path / "out"), env=env,
                         timeout=400)
        seconds = time.monotonic() - started
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert result.returncode == 0, result.stderr
    assert "built in" in result.stdout, (result.stdout, seconds)
    assert (tmp_path / "prefect-home").is_dir()
