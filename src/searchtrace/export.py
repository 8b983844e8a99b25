"""`searchtrace export`: a published dataset in the layouts other trainers read, one file per
split, rows in the manifest's shard order.

- `verl`: `<split>.parquet` in veRL's RL layout, as its `examples/data_preprocess/gsm8k.py`
  writes it and its docs ("Prepare Data for Post-Training") describe: `data_source`,
  `prompt` (chat messages), `ability`, `reward_model` `{style: "rule", ground_truth}` and
  `extra_info`. `extra_info` holds what `searchtrace.rewards` needs to replay a response
  (`task`, `problem`, `style`) besides `split` and `index`, and the row's `id` and
  `num_backtracks`; `ground_truth` is the canonical answer.
- `openrlhf`: `<split>.jsonl` for OpenRLHF's prompt dataset (`openrlhf/datasets/
  prompts_dataset.py`): `input` is the prompt text (with `--apply_chat_template` OpenRLHF
  wraps a string as one user message; without it the text is used as it is), `label` is
  what `searchtrace.rewards.reward_func` reads (`--label_key label`), `datasource` names
  the task; `output` is the reference completion, for its SFT trainer
  (`--input_key input --output_key output`).
- `jsonl`: `<split>.jsonl`, every column of every row, as JSON.

Beside the files, `export.json` names the format, the source dataset (its build key and
code and schema versions) and the rows per split. The export is written to a hidden
folder beside OUT and renamed into place; an existing OUT is replaced only with
`--overwrite`, and only if it is empty or an export.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from searchtrace.errors import UserError
from searchtrace.pipelines.outdir import check_out_path, is_dataset, occupied, output_lock
from searchtrace.pipelines.storage import Location, is_committed, is_remote, location, read_table
from searchtrace.rewards import Reference

EXPORT_FORMAT = "searchtrace-export"
VERL_ABILITY = "search"


def _verl_schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("data_source", pa.string()),
        ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", pa.struct([("split", pa.string()), ("index", pa.int64()),
                                  ("id", pa.string()), ("task", pa.string()),
                                  ("problem", pa.string()), ("style", pa.string()),
                                  ("num_backtracks", pa.int32())])),
    ])


def data_source(task: str) -> str:
    return f"searchtrace/{task}"


def verl_record(row: dict[str, Any], index: int) -> dict[str, Any]:
    """One veRL RL row of a dataset row; `index` is its place in its split."""
    return {
        "data_source": data_source(row["task"]),
        "prompt": [{"role": "user", "content": row["prompt"]}],
        "ability": VERL_ABILITY,
        "reward_model": {"style": "rule", "ground_truth": row["answer"]},
        "extra_info": {"split": row["split"], "index": index, "id": row["id"],
                       "task": row["task"], "problem": row["problem"], "style": row["style"],
                       "num_backtracks": row["num_backtracks"]},
    }


def openrlhf_record(row: dict[str, Any]) -> dict[str, Any]:
    """One OpenRLHF prompt row of a dataset row."""
    return {"input": row["prompt"], "output": row["completion"],
            "label": Reference(row["task"], row["problem"], row["style"]).label(),
            "datasource": data_source(row["task"])}


def _write_verl(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [verl_record(row, index) for index, row in enumerate(rows)]
    pq.write_table(pa.Table.from_pylist(records, schema=_verl_schema()), path)


def _write_jsonl(records: Iterator[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as file:
        for record in records:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_openrlhf(rows: list[dict[str, Any]], path: Path) -> None:
    _write_jsonl((openrlhf_record(row) for row in rows), path)


def _write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    _write_jsonl(iter(rows), path)


# format name: (file suffix, writer of one split's rows)
FORMATS: dict[str, tuple[str, Callable[[list[dict[str, Any]], Path], None]]] = {
    "jsonl": (".jsonl", _write_rows),
    "openrlhf": (".jsonl", _write_openrlhf),
    "verl": (".parquet", _write_verl),
}


def read_manifest(dataset: Location) -> dict[str, Any]:
    """The manifest of a published (on an object store, committed) dataset folder; a
    UserError for anything else."""
    if not dataset.is_dir() or not is_dataset(dataset) or not is_committed(dataset):
        raise UserError(f"DIR: not a published searchtrace dataset folder (no manifest.json "
                        f"marks it one, or on an object store no commit marker): {dataset}")
    return json.loads((dataset / "manifest.json").read_text())


def split_rows(dataset: Location,
               manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every split's rows, in the manifest's shard order; a UserError for a missing shard."""
    splits: dict[str, list[dict[str, Any]]] = {}
    for entry in manifest["files"]:
        shard = dataset / entry["path"]
        if not shard.is_file():
            raise UserError(f"DIR: {dataset} lacks the shard its manifest lists: "
                            f"{entry['path']}; `searchtrace validate` checks the folder")
        splits.setdefault(entry["split"], []).extend(read_table(shard).to_pylist())
    return splits


def export(dataset: str | Path, out: str | Path, fmt: str, *,
           overwrite: bool = False) -> dict[str, int]:
    """Write `dataset` (a local folder, s3:// or gs://) in format `fmt` to the local
    folder `out`; the rows written per split."""
    dataset, out = location(dataset), Path(out)
    if fmt not in FORMATS:
        raise UserError(f"--format: unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    manifest = read_manifest(dataset)
    if is_remote(dataset):
        check_out_path(out)
    else:
        check_out_path(out, inputs=[dataset / "manifest.json"])
    if not is_remote(dataset) and out.resolve().is_relative_to(dataset.resolve()):
        raise UserError(f"--out {out}: inside the dataset {dataset}; give a folder outside it")
    with output_lock(out):
        _check_replaceable(out, overwrite)
        staging = out.parent / f".{out.name}.export-{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir(parents=True)
            counts = _write(dataset, manifest, staging, fmt)
            _move_into_place(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return counts


def _write(dataset: Location, manifest: dict[str, Any], folder: Path, fmt: str) -> dict[str, int]:
    suffix, write = FORMATS[fmt]
    counts = {}
    for split, rows in split_rows(dataset, manifest).items():
        write(rows, folder / f"{split}{suffix}")
        counts[split] = len(rows)
    record = {"format": EXPORT_FORMAT, "layout": fmt, "source": str(dataset.resolve()),
              "build_key": manifest.get("build_key"),
              "code_version": manifest.get("code_version"),
              "schema_version": manifest.get("schema_version"), "rows": counts}
    (folder / "export.json").write_text(json.dumps(record, indent=2) + "\n")
    return counts


def _is_export(folder: Path) -> bool:
    try:
        return json.loads((folder / "export.json").read_text()).get("format") == EXPORT_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _check_replaceable(out: Path, overwrite: bool) -> None:
    """Refuse an occupied OUT without `--overwrite`, and with it anything but an export."""
    if not occupied(out):
        return
    if not overwrite:
        raise UserError(f"output folder exists: {out}; pass --overwrite to replace it")
    if out.is_symlink() or not out.is_dir() or not _is_export(out):
        raise UserError(f"refusing to replace {out}: it is not a searchtrace export (no "
                        "export.json marks it one); --overwrite replaces only an export or an "
                        "empty folder")


def _move_into_place(staging: Path, out: Path) -> None:
    """Rename the finished export to `out`; a replaced one is removed only afterwards."""
    previous = None
    if out.exists():
        previous = out.parent / f".{out.name}.replaced-{uuid.uuid4().hex[:8]}"
        out.rename(previous)
    staging.rename(out)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
