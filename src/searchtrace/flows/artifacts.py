"""Prefect artifacts of a build: a markdown summary (what, rows, achieved vs requested mix,
rejections, throughput, where), a table of shards, and the mix/difficulty plot, so a user
can trust what landed without opening it."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from typing import Any

from prefect.artifacts import (
    create_image_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

from searchtrace.pipelines.outputs import RUN_RECORD
from searchtrace.pipelines.plots import PLOT_PATH
from searchtrace.pipelines.storage import Location


def artifact_key(name: str) -> str:
    """Prefect's artifact keys allow lowercase letters, digits and dashes."""
    return "searchtrace-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "dataset")


def summary_markdown(dataset: Location, *, cached: bool, gate: str) -> str:
    stats = json.loads((dataset / "stats.json").read_text())
    record = json.loads((dataset / RUN_RECORD).read_text())
    lines = [f"# {stats['name']}", "",
             f"- where: `{dataset.resolve()}`",
             f"- task: `{stats['task']}`, k mode `{stats['k_mode']}`, "
             f"code `{stats['versions']['code']}`, schema {stats['versions']['schema']}",
             f"- build key: `{stats['versions']['build_key']}`"
             + (" (cache hit: the existing dataset was returned)" if cached else ""),
             f"- gate: {gate}",
             "- rows: " + ", ".join(f"{s} {e['rows']}" for s, e in stats["splits"].items()),
             f"- throughput: {record['rows']} rows in {record['seconds']} s "
             f"({record['rows_per_second']} rows/s, {record['workers']} worker(s), "
             f"{stats['rounds']} round(s), {record['resumed_batches']} batch(es) resumed)",
             "", "## Backtracks per row", "", "| split | k | requested | achieved |",
             "|---|---|---|---|"]
    for split, entry in stats["splits"].items():
        requested = entry.get("requested_k", {})
        for k in sorted(set(requested) | set(entry["achieved_k"]), key=int):
            lines.append(f"| {split} | {k} | {requested.get(k, '-')} | "
                         f"{entry['achieved_k'].get(k, 0)} |")
    rejected: Counter[str] = Counter()
    for reasons in stats["rejections"].values():
        rejected.update(reasons)
    lines += ["", "## Rejected candidates", "", "| reason | count |", "|---|---|"]
    lines += [f"| {reason} | {count} |" for reason, count in rejected.most_common()]
    if not rejected:
        lines.append("| none | 0 |")
    return "\n".join(lines) + "\n"


def shard_rows(dataset: Location) -> list[dict[str, Any]]:
    manifest = json.loads((dataset / "manifest.json").read_text())
    return [{"path": f["path"], "split": f["split"], "rows": f["rows"],
             "sha256": f["sha256"]} for f in manifest["files"]]


def publish_artifacts(dataset: Location, name: str, *, cached: bool, gate: str) -> None:
    key = artifact_key(name)
    create_markdown_artifact(summary_markdown(dataset, cached=cached, gate=gate), key=key,
                             description=f"searchtrace build summary: {name}")
    create_table_artifact(shard_rows(dataset), key=f"{key}-shards",
                          description=f"shards of {name} with rows and sha256")
    png = base64.b64encode((dataset / PLOT_PATH).read_bytes()).decode()
    create_image_artifact(f"data:image/png;base64,{png}", key=f"{key}-plot",
                          description=f"backtracks per row and measured difficulty: {name}")
