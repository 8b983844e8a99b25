"""No traceback from any command, for any input: the real CLI (typer's runner in this
process, a few real subprocesses) over hostile inputs. Bad input exits 2 and a bad dataset
exits 1, each with exactly one line on stderr; names, paths and messages holding Rich
markup are printed as they are."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner, Result

from searchtrace.cli import app
from searchtrace.pipelines.outputs import sha256_of
from tests.conftest import SMALL_COUNTDOWN

TINY: dict[str, Any] = {**copy.deepcopy(SMALL_COUNTDOWN), "name": "odd [/x] [bold]name",
                        "splits": {"train": 8, "test": 4}, "output": {"rows_per_shard": 5}}


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def one_error_line(result: Result, code: int) -> str:
    """The command exited `code` with one line on stderr and no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr,
                                      result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Path:
    """A real build (a Prefect flow on the session's test server), published to a path
    and under a name that hold Rich markup."""
    folder = tmp_path_factory.mktemp("robust")
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(TINY))
    out = folder / "out [/b] [red]"
    result = invoke("build", config, "--out", out)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert f"odd [/x] [bold]name: {out} (train: 8, test: 4) built in" in result.stdout
    return out


# ---- bad input: exit 2, one line, user text as written ----------------------------------


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "build.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("task: {name: '[/x]'}\n", "task: unknown task '[/x]'; allowed: "),
        ("task: {name: '[bold]chess'}\n", "task: unknown task '[bold]chess'"),
        ("task: {name: countdown}\ndifficulty_mix:\n  buckets:\n    a: {range: [5, 3], "
         "share: 1}\n", "range must be [low, high) with low < high, got [5, 3]"),
        ("task: " + "[" * 5000 + "]" * 5000 + "\n", "collections nested more than 32 deep"),
        ("task: {name: countdown}\nseed: true\n", "seed: Input should be a valid integer, got "
                                                 "true"),
        ("task: {name: countdown}\nname: !!binary eA==\n", "name: YAML value of type bytes"),
        ("task: {name: countdown}\ndifficulty_mix:\n  buckets:\n    a: {range: [.nan, 3], "
         "share: 1}\n", "must be a finite number, got nan"),
        ("task: {name: countdown}\nsplits: {}\n", "splits: must name at least one split"),
        ("- task\n- countdown\n", "the top level must be a mapping"),
    ],
)
def test_a_bad_config_is_one_line_exit_2(tmp_path: Path, text: str, says: str) -> None:
    out = tmp_path / "out"
    line = one_error_line(invoke("build", written(tmp_path, text), "--out", out), 2)
    assert line.startswith("error: ") and says in line
    assert not out.exists()


def test_paths_with_markup_are_printed_as_written(tmp_path: Path) -> None:
    missing = tmp_path / "no [/b] such [bold].yaml"
    line = one_error_line(invoke("build", missing, "--out", tmp_path / "o"), 2)
    assert line == f"error: config file not found: {missing}"
    folder = tmp_path / "not [/i] a dataset"  # "[/i]" spans two folders
    folder.mkdir(parents=True)
    for command in ("validate", "verify", "inspect"):
        assert str(folder) in one_error_line(invoke(command, folder), 2)


def test_a_deep_suite_file_is_one_line_exit_2(tmp_path: Path) -> None:
    """A real process: what a user sees, library warnings at import included."""
    suite = tmp_path / "suite [bold].yaml"
    suite.write_text("builds: " + "[" * 3000 + "]" * 3000 + "\n")
    result = subprocess.run([sys.executable, "-m", "searchtrace.cli", "suite", str(suite),
                             "--out", str(tmp_path / "o")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"error: suite {suite} is not valid YAML: collections "
                                     "nested more than 32 deep (line 1)")


def test_a_pickled_checkpoint_is_refused_in_one_line(dataset: Path, tmp_path: Path) -> None:
    """A pytorch_model.bin pickle holding more than tensors is not loaded (torch's
    weights-only unpickler refuses it): one line, not a 78-line traceback."""
    import torch
    from transformers import LlamaConfig

    from searchtrace.trainer.models import train_tokenizer

    folder = tmp_path / "model"
    train_tokenizer(["some text"], 300).save_pretrained(folder)
    LlamaConfig(vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                num_attention_heads=2).save_pretrained(folder)
    torch.save({"weights": Path("not a tensor")}, folder / "pytorch_model.bin")
    line = one_error_line(invoke("eval", "--model", folder, "--data", dataset), 2)
    assert "its weights are a pickle holding more than tensors" in line


# ---- a malformed dataset: exit 1, one line naming the file ------------------------------


def shard_of(dataset: Path) -> Path:
    return sorted((dataset / "data").glob("train-*.parquet"))[0]


def with_table(change: Callable[[pa.Table], pa.Table]) -> Callable[[Path], str]:
    def corrupt(dataset: Path) -> str:
        path = shard_of(dataset)
        pq.write_table(change(pq.read_table(path)), path)
        return f"data/{path.name}"
    return corrupt


def with_column(name: str, values: Callable[[list], list]) -> Callable[[Path], str]:
    def change(table: pa.Table) -> pa.Table:
        index = table.schema.get_field_index(name)
        column = values(table.column(name).to_pylist())
        return table.set_column(index, table.schema.field(index),
                                pa.array(column, table.schema.field(index).type))
    return with_table(change)


def write(name: str, content: bytes | str | None) -> Callable[[Path], str]:
    """Replace a file with `content` (None: delete it)."""
    def corrupt(dataset: Path) -> str:
        path = dataset / name
        path.unlink()
        if content is not None:
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        return name
    return corrupt


def edit_json(name: str, change: Callable[[Any], Any]) -> Callable[[Path], str]:
    def corrupt(dataset: Path) -> str:
        path = dataset / name
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
        return name
    return corrupt


def edit_yaml(change: Callable[[dict], Any]) -> Callable[[Path], str]:
    def corrupt(dataset: Path) -> str:
        path = dataset / "config.yaml"
        path.write_text(yaml.safe_dump(change(yaml.safe_load(path.read_text()))))
        return "config.yaml"
    return corrupt


def truncated(dataset: Path) -> str:
    path = shard_of(dataset)
    path.write_bytes(path.read_bytes()[:300])
    return f"data/{path.name}"


def shard_folder(dataset: Path) -> str:
    path = shard_of(dataset)
    path.unlink()
    path.mkdir()
    return f"data/{path.name}"


def garbage_shard(dataset: Path) -> str:
    path = shard_of(dataset)
    path.write_bytes(b"PAR1" + os.urandom(2000) + b"PAR1")
    return f"data/{path.name}"


def no_data_folder(dataset: Path) -> str:
    shutil.rmtree(dataset / "data")
    return "data/"


def without(key: str) -> Callable[[dict], dict]:
    return lambda mapping: {k: v for k, v in mapping.items() if k != key}


SHARD_CORRUPTIONS: dict[str, Callable[[Path], str]] = {
    "truncated shard": truncated,
    "garbage shard": garbage_shard,
    "empty shard": lambda d: write(f"data/{shard_of(d).name}", b"")(d),
    "shard is a folder": shard_folder,
    "dropped column": with_table(lambda t: t.drop_columns(["completion"])),
    "column of another type": with_table(
        lambda t: t.set_column(t.schema.get_field_index("seed"), "seed",
                               pa.array([str(s) for s in t.column("seed").to_pylist()]))),
    "null id": with_column("id", lambda ids: [None, *ids[1:]]),
    "no data folder": no_data_folder,
}
FILE_CORRUPTIONS: dict[str, Callable[[Path], str]] = {
    "missing manifest": write("manifest.json", None),
    "garbage manifest": write("manifest.json", b"\xff\xfe\x00garbage"),
    "broken manifest JSON": write("manifest.json", '{"files": ['),
    "manifest without files": edit_json("manifest.json", without("files")),
    "manifest that is a list": edit_json("manifest.json", lambda m: [m]),
    "manifest entry outside data/": edit_json(
        "manifest.json", lambda m: {**m, "files": [{**m["files"][0], "path": "../x.parquet"},
                                                   *m["files"][1:]]}),
    "manifest rows as text": edit_json(
        "manifest.json", lambda m: {**m, "files": [{**m["files"][0], "rows": "5"},
                                                   *m["files"][1:]]}),
    "manifest is a folder": lambda d: (write("manifest.json", None)(d),
                                       (d / "manifest.json").mkdir(), "manifest.json")[2],
    "missing stats": write("stats.json", None),
    "broken stats JSON": write("stats.json", "{"),
    "stats without rejections": edit_json("stats.json", without("rejections")),
    "stats that is a list": edit_json("stats.json", lambda s: [s]),
    "missing config": write("config.yaml", None),
    "config that is a list": edit_yaml(lambda c: [c]),
    "broken config YAML": write("config.yaml", "task: [unclosed\n"),
    "deep config YAML": write("config.yaml", "task: " + "[" * 5000 + "]" * 5000),
    "binary config": write("config.yaml", b"PAR1\xff\xfe\x00"),
    "config without versions": edit_yaml(without("versions")),
    "config with NaN": edit_yaml(lambda c: {**c, "difficulty_mix": {
        "buckets": {"a": {"range": [float("nan"), 3], "share": 1.0}}}}),
    "config with empty splits": edit_yaml(lambda c: {**c, "splits": {}}),
}
def relisted(corrupt: Callable[[Path], str]) -> Callable[[Path], str]:
    """`corrupt`, with the manifest's sha256 of the changed shard rewritten to match."""
    def corrupt_and_relist(dataset: Path) -> str:
        name = corrupt(dataset)
        manifest = json.loads((dataset / "manifest.json").read_text())
        for entry in manifest["files"]:
            if entry["path"] == name:
                entry["sha256"] = sha256_of(dataset / name)
        (dataset / "manifest.json").write_text(json.dumps(manifest))
        return name
    return corrupt_and_relist


ROW_CORRUPTIONS: dict[str, Callable[[Path], str]] = {
    "broken problem JSON": relisted(with_column("problem", lambda p: ["{not json", *p[1:]])),
    "problem that is a list": relisted(with_column("problem", lambda p: ["[1, 2]", *p[1:]])),
}


def corrupted_copy(dataset: Path, tmp_path: Path, corrupt: Callable[[Path], str]) -> tuple[
        Path, str]:
    copy_ = tmp_path / "copy [/b]"
    shutil.copytree(dataset, copy_)
    return copy_, corrupt(copy_)


@pytest.mark.parametrize("case", [*SHARD_CORRUPTIONS, *FILE_CORRUPTIONS, *ROW_CORRUPTIONS])
def test_validate_names_the_malformed_file_in_one_line(dataset: Path, tmp_path: Path,
                                                       case: str) -> None:
    corrupt = {**SHARD_CORRUPTIONS, **FILE_CORRUPTIONS, **ROW_CORRUPTIONS}[case]
    folder, name = corrupted_copy(dataset, tmp_path, corrupt)
    result = invoke("validate", folder)
    line = one_error_line(result, 1)
    assert line.startswith("FAIL ") and name in line, line
    assert result.stdout.startswith("gate failed 1 check(s): ")


@pytest.mark.parametrize("case", [*SHARD_CORRUPTIONS, *ROW_CORRUPTIONS])
def test_verify_names_the_malformed_file_or_row_in_one_line(dataset: Path, tmp_path: Path,
                                                            case: str) -> None:
    corrupt = {**SHARD_CORRUPTIONS, **ROW_CORRUPTIONS}[case]
    folder, name = corrupted_copy(dataset, tmp_path, corrupt)
    line = one_error_line(invoke("verify", folder), 1)
    assert name.removeprefix("data/") in line or "malformed_row" in line, line


def test_inspect_prints_markup_literally_and_a_broken_stats_in_one_line(
        dataset: Path, tmp_path: Path) -> None:
    result = invoke("inspect", dataset)
    assert result.exit_code == 0, result.stderr
    assert "odd [/x] [bold]name task=countdown" in result.stdout
    folder, _ = corrupted_copy(dataset, tmp_path, write("stats.json", "{"))
    line = one_error_line(invoke("inspect", folder), 1)
    assert line.startswith(f"error: {folder} cannot be shown (JSONDecodeError: ")


# ---- real processes: Prefect on a full disk -----------------------------------------------


def build_with_prefect_home_on_tmpfs(tmp_path: Path, size: str, *,
                                     fill: bool) -> subprocess.CompletedProcess:
    """`searchtrace build` with PREFECT_HOME on a tmpfs of `size` (filled up first with
    `fill`), mounted in a private mount namespace: no root is needed where user
    namespaces are allowed, and nothing outlives the command."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(TINY))
    home = tmp_path / "prefect home"
    home.mkdir()
    script = ('mount -t tmpfs -o size="$5" tmpfs "$1" || exit 9; '
              'if [ "$6" = fill ]; then cat /dev/zero > "$1/fill" 2>/dev/null; fi; '
              'PREFECT_HOME="$1/home" exec "$2" -m searchtrace.cli build "$3" --out "$4"')
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", script, "sh", str(home),
         sys.executable, str(config), str(tmp_path / "out"), size, "fill" if fill else "-"],
        capture_output=True, text=True, timeout=300, env=env)


def assert_one_line_exit_1(result: subprocess.CompletedProcess, says: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], result.stderr[-3000:]
    assert "Traceback" not in result.stderr


def test_a_full_prefect_home_is_one_line_exit_1(tmp_path: Path) -> None:
    """A full disk under PREFECT_HOME printed Prefect's server's tracebacks, hundreds of
    lines, then timed out; it is found before the server starts, in one line."""
    result = build_with_prefect_home_on_tmpfs(tmp_path, "256k", fill=True)
    assert_one_line_exit_1(result, "Prefect cannot write its database under")
    assert "No space left on device" in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.slow  # waits out Prefect's server start-up timeout (20 s)
def test_a_prefect_home_that_fills_up_is_one_line_exit_1(tmp_path: Path) -> None:
    """Room for the 1 MiB check but not Prefect's database: its server's errors ("database
    or disk is full", once per start-up attempt) stay hidden; the command says it did not
    start, in one line."""
    result = build_with_prefect_home_on_tmpfs(tmp_path, "1600k", fill=False)
    assert_one_line_exit_1(result, "Prefect's temporary server did not start")
    assert not (tmp_path / "out").exists()
