"""`searchtrace export` on a small real build: each layout loads back with pyarrow and
`datasets` (offline) holding the dataset's rows, the reward functions loaded from their
file as veRL and OpenRLHF load them score the exported rows' reference completions, a wrong
answer and a malformed one as the verifier does, and the output folder is written like a
build's: refused when it exists, replaced only with --overwrite and only if an export."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pyarrow.parquet as pq
import pytest

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.export import export
from searchtrace.flows.steps import run_build
from searchtrace.rewards import Reference

TINY = {
    "name": "countdown-export",
    "task": {"name": "countdown", "preset": "easy",
             "knobs": {"test_targets": [13, 27, 34, 41]}},
    "traces": {"k_mix": {0: 0.5, 1: 0.5}, "style": "natural"},
    "splits": {"train": 8, "test": 4},
    "seed": 4,
}
REWARDS_FILE = Path(__file__).parent.parent / "src" / "searchtrace" / "rewards.py"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "data"
    run_build(parse_config(TINY), out)
    return out


@pytest.fixture(scope="module")
def source(dataset: Path) -> dict[str, list[dict]]:
    """The dataset's rows per split, in the manifest's order, read here with pyarrow."""
    manifest = json.loads((dataset / "manifest.json").read_text())
    rows: dict[str, list[dict]] = {}
    for entry in manifest["files"]:
        rows.setdefault(entry["split"], []).extend(
            pq.read_table(dataset / entry["path"]).to_pylist())
    return rows


def load_as(path: Path, name: str, *, register: bool) -> ModuleType:
    """A module from a file path, as veRL (`custom_module`, put in sys.modules first) and
    OpenRLHF (`reward_func`, not put there) load a custom reward file."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def wrong_answer(row: dict) -> str:
    """The row's completion with an answer that does not reach the target: the same
    expression with its last operation changed, checked here by evaluating it."""
    completion = row["completion"]
    head, answer = completion.rsplit("<answer>", 1)
    expression = answer.removesuffix("</answer>")
    target = json.loads(row["problem"])["target"]
    for old, new in (("*", "+"), ("+", "*"), ("-", "+"), ("/", "*")):
        changed = new.join(expression.rsplit(old, 1))
        if changed != expression and eval(changed, {}) != target:  # test's own check
            return f"{head}<answer>{changed}</answer>"
    raise AssertionError(f"no wrong variant of {expression}")


def malformed(row: dict) -> str:
    return row["completion"].replace("</think>", "")


def test_verl_parquet_loads_and_its_rewards_judge_like_the_verifier(
        dataset: Path, source: dict, tmp_path: Path) -> None:
    from datasets import load_dataset

    out = tmp_path / "verl"
    assert export(dataset, out, "verl") == {split: len(rows) for split, rows in source.items()}
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "test.parquet",
                                                     "train.parquet"]
    table = pq.read_table(out / "train.parquet")
    assert table.schema.names == ["data_source", "prompt", "ability", "reward_model",
                                  "extra_info"]
    loaded = load_dataset("parquet", data_files={s: str(out / f"{s}.parquet") for s in source})
    verl = load_as(REWARDS_FILE, "custom_module", register=True)
    for split, rows in source.items():
        assert loaded[split].num_rows == len(rows)
        for index, (row, exported) in enumerate(zip(rows, loaded[split], strict=True)):
            assert exported["data_source"] == "searchtrace/countdown"
            assert exported["prompt"] == [{"role": "user", "content": row["prompt"]}]
            assert exported["reward_model"] == {"style": "rule", "ground_truth": row["answer"]}
            info = exported["extra_info"]
            assert (info["split"], info["index"], info["id"]) == (split, index, row["id"])
            assert (info["task"], info["problem"], info["style"]) == (
                row["task"], row["problem"], row["style"])

            def score(text: str, name: str = "compute_score", info=info,
                      exported=exported) -> float:  # as veRL's reward manager calls it
                return getattr(verl, name)(
                    data_source=exported["data_source"], solution_str=text,
                    ground_truth=exported["reward_model"]["ground_truth"], extra_info=info)

            assert score(row["completion"]) == 3.0
            assert score(wrong_answer(row), "answer_score") == 0.0
            assert score(wrong_answer(row), "format_score") == 1.0
            assert score(malformed(row), "format_score") == 0.0
            assert score(malformed(row), "step_validity_score") == 0.0


def test_openrlhf_jsonl_loads_and_its_reward_func_judges_like_the_verifier(
        dataset: Path, source: dict, tmp_path: Path) -> None:
    from datasets import load_dataset

    out = tmp_path / "openrlhf"
    export(dataset, out, "openrlhf")
    loaded = load_dataset("json", data_files={s: str(out / f"{s}.jsonl") for s in source})
    openrlhf = load_as(REWARDS_FILE, "reward_func", register=False)
    for split, rows in source.items():
        assert loaded[split].column_names == ["input", "output", "label", "datasource"]
        prompts, labels, responses = [], [], []
        for row, exported in zip(rows, loaded[split], strict=True):
            assert (exported["input"], exported["output"]) == (row["prompt"], row["completion"])
            assert Reference.from_label(exported["label"]) == Reference(
                row["task"], row["problem"], row["style"])
            # OpenRLHF's PromptDataset without --apply_chat_template: the input as it is,
            # and the label of --label_key; a query is the prompt followed by the response.
            for response in (row["completion"], wrong_answer(row), malformed(row)):
                prompts.append(exported["input"])
                labels.append(exported["label"])
                responses.append(response + "</s>")
        queries = [p + r for p, r in zip(prompts, responses, strict=True)]
        result = openrlhf.reward_func(queries, prompts, labels)
        assert result["scores"].tolist() == [1.0, 0.0, 1.0] * len(rows)
        assert result["extra_logs"]["format"].tolist() == [1.0, 1.0, 0.0] * len(rows)
        assert result["rewards"][0::3].tolist() == [3.0] * len(rows)


def test_jsonl_holds_every_column_of_every_row(dataset: Path, source: dict,
                                               tmp_path: Path) -> None:
    from datasets import load_dataset

    out = tmp_path / "jsonl"
    export(dataset, out, "jsonl")
    for split, rows in source.items():
        lines = (out / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line) for line in lines] == rows
        loaded = load_dataset("json", data_files=str(out / f"{split}.jsonl"), split="train")
        assert loaded["id"] == [row["id"] for row in rows]
        assert loaded["completion"] == [row["completion"] for row in rows]
    record = json.loads((out / "export.json").read_text())
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert record["layout"] == "jsonl" and record["build_key"] == manifest["build_key"]


def test_an_existing_output_needs_overwrite_and_must_be_an_export(dataset: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(dataset, out, "jsonl")
    with pytest.raises(UserError, match="pass --overwrite"):
        export(dataset, out, "verl")
    export(dataset, out, "verl", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "test.parquet",
                                                     "train.parquet"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(UserError, match="not a searchtrace export"):
        export(dataset, mine, "verl", overwrite=True)
    assert (mine / "notes.txt").read_text() == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


@pytest.mark.parametrize(("dataset_arg", "out_arg", "fmt", "message"), [
    ("{tmp}", "{tmp}/o", "verl", "DIR: not a published searchtrace dataset folder"),
    ("{data}", "{tmp}/o", "trl", "--format: unknown format 'trl'; allowed: jsonl, openrlhf, "
                                 "verl"),
    ("{data}", "{data}", "verl", "refusing to build into the folder of"),
    ("{data}", "{data}/..", "verl", "refusing to build into a folder holding the folder of"),
    ("{data}", "{data}/data/verl", "verl", "inside the dataset"),
])
def test_bad_input_is_one_line_and_exit_2(dataset: Path, tmp_path: Path, dataset_arg: str,
                                          out_arg: str, fmt: str, message: str) -> None:
    def fill(text: str) -> str:
        return text.format(tmp=tmp_path, data=dataset)

    result = subprocess.run(
        [sys.executable, "-m", "searchtrace.cli", "export", fill(dataset_arg), "--out",
         fill(out_arg), "--format", fmt], capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "o").exists()


def test_the_command_reports_what_it_wrote(dataset: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "searchtrace.cli", "export", str(dataset), "--out",
         str(tmp_path / "v"), "--format", "verl"], capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"exported 12 rows (test 4, train 8) as verl to " \
                                    f"{tmp_path / 'v'}"
