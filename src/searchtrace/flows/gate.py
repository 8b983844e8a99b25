"""The validation gate: checks a finished dataset folder as a user would want it checked
before trusting it, each rule reported with a clear message.

Rules: the manifest's sha256s and row counts match the files (and no shard is unlisted);
every shard has the declared schema; no split is empty; every split's achieved k-mix (and
difficulty mix) equals the requested one; train and test share no problem and no split
repeats one; the share of rejected candidates is under a ceiling; and every sampled row
re-verifies from its text.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from searchtrace.config import BuildConfig, parse_config
from searchtrace.errors import UserError
from searchtrace.pipelines.outputs import sha256_of
from searchtrace.pipelines.plan import NATURAL, plan_buckets
from searchtrace.pipelines.process import UNSOLVED_BY_POLICY
from searchtrace.registry import get_task
from searchtrace.schemas.rows import ROW_SCHEMA, SCHEMA_VERSION
from searchtrace.verifiers.base import Verdict
from searchtrace.verifiers.replay import verify_completion

FULL_CHECK_BELOW_ROWS = 100_000
SAMPLED_RATE = 0.1


@dataclass(frozen=True)
class GateFailure:
    rule: str
    message: str


@dataclass(frozen=True)
class GateReport:
    rows: int
    reverified: int
    failures: tuple[GateFailure, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failures

    def rules_failed(self) -> set[str]:
        return {f.rule for f in self.failures}


def default_sample_rate(rows: int) -> float:
    """Every row is re-verified for builds under 100k rows, a tenth above that."""
    return 1.0 if rows < FULL_CHECK_BELOW_ROWS else SAMPLED_RATE


def run_gate(dataset: str | Path, *, sample_rate: float | None = None,
             max_rejection_rate: float = 0.5) -> GateReport:
    """Check `dataset`; a rule that fails adds a GateFailure, and every rule always runs."""
    dataset = Path(dataset)
    if not (dataset / "manifest.json").is_file() or not (dataset / "config.yaml").is_file():
        raise UserError(f"not a searchtrace dataset (no manifest.json/config.yaml): {dataset}")
    if sample_rate is not None and not 0 < sample_rate <= 1:
        raise UserError(f"--sample-rate: must be in (0, 1], got {sample_rate}")
    if not 0 <= max_rejection_rate <= 1:
        raise UserError(f"--max-rejection-rate: must be in [0, 1], got {max_rejection_rate}")
    config = _config(dataset)
    manifest = json.loads((dataset / "manifest.json").read_text())
    stats = json.loads((dataset / "stats.json").read_text())
    failures = [*_manifest_matches(dataset, manifest), *_schemas_match(dataset)]
    columns = ["id", "problem_id", "split", "num_backtracks", "difficulty"]
    rows = [row for path in sorted((dataset / "data").glob("*.parquet"))
            for row in pq.read_table(path, columns=columns).to_pylist()]
    failures += _no_empty_split(config, rows)
    failures += _mix_is_exact(config, rows)
    failures += _splits_disjoint(rows)
    failures += _rejection_rate(stats, max_rejection_rate)
    rate = default_sample_rate(len(rows)) if sample_rate is None else sample_rate
    reverified, verify_failures = _reverify(dataset, rate)
    return GateReport(len(rows), reverified, tuple(failures + verify_failures))


def _config(dataset: Path) -> BuildConfig:
    raw = yaml.safe_load((dataset / "config.yaml").read_text())
    raw.pop("versions", None)
    return parse_config(raw)


def _manifest_matches(dataset: Path, manifest: dict) -> list[GateFailure]:
    failures = []
    listed = set()
    for entry in manifest["files"]:
        path = dataset / entry["path"]
        listed.add(path.name)
        if not path.is_file():
            failures.append(GateFailure("manifest", f"{entry['path']} is listed but missing"))
            continue
        if sha256_of(path) != entry["sha256"]:
            failures.append(GateFailure("manifest", f"{entry['path']}: sha256 differs from the "
                                                    "manifest"))
        if pq.ParquetFile(path).metadata.num_rows != entry["rows"]:
            failures.append(GateFailure("manifest", f"{entry['path']}: row count differs from "
                                                    "the manifest"))
    for path in sorted((dataset / "data").glob("*.parquet")):
        if path.name not in listed:
            failures.append(GateFailure("manifest", f"data/{path.name} is not in the manifest"))
    return failures


def _schemas_match(dataset: Path) -> list[GateFailure]:
    return [GateFailure("schema", f"data/{path.name}: schema differs from the declared row "
                                  f"schema (version {SCHEMA_VERSION})")
            for path in sorted((dataset / "data").glob("*.parquet"))
            if pq.read_schema(path).remove_metadata() != ROW_SCHEMA]


def _no_empty_split(config: BuildConfig, rows: list[dict]) -> list[GateFailure]:
    present = Counter(r["split"] for r in rows)
    return [GateFailure("empty_split", f"split {split} has no rows")
            for split in config.splits if not present[split]]


def _mix_is_exact(config: BuildConfig, rows: list[dict]) -> list[GateFailure]:
    """Each split's (k, difficulty level) counts equal the plan's."""
    mix = config.difficulty_mix
    failures = []
    for split in config.splits:
        planned = Counter({(b.k, level): n for b in plan_buckets(config) if b.split == split
                           for level, n in enumerate(b.levels) if n})
        achieved = Counter(
            (NATURAL if config.traces.k_mix == "natural" else r["num_backtracks"],
             0 if mix is None else mix.level_of(r["difficulty"]))
            for r in rows if r["split"] == split)
        if achieved != planned:
            failures.append(GateFailure(
                "mix", f"split {split}: achieved (k, difficulty) counts "
                       f"{dict(sorted(achieved.items()))} differ from requested "
                       f"{dict(sorted(planned.items()))}"))
    return failures


def _splits_disjoint(rows: list[dict]) -> list[GateFailure]:
    by_split: dict[str, list[str]] = {}
    for row in rows:
        by_split.setdefault(row["split"], []).append(row["problem_id"])
    failures = [GateFailure("duplicates", f"split {split} repeats {len(ids) - len(set(ids))} "
                                          "problem(s)")
                for split, ids in sorted(by_split.items()) if len(ids) != len(set(ids))]
    shared = set(by_split.get("train", [])) & set(by_split.get("test", []))
    if shared:
        failures.append(GateFailure("overlap", f"train and test share {len(shared)} "
                                               f"problem(s), e.g. {sorted(shared)[0]}"))
    return failures


def _rejection_rate(stats: dict, ceiling: float) -> list[GateFailure]:
    """The share of candidates rejected. Problems a language-model policy did not solve
    are left out: they measure the model, not the data (an llm_mcts build keeps what its
    model solves, as ReST-MCTS* does), and stats.json counts them under their reason."""
    unsolved = sum(reasons.get(UNSOLVED_BY_POLICY, 0)
                   for reasons in stats["rejections"].values())
    tried = sum(b["candidates"] for b in stats["buckets"]) - unsolved
    rejected = sum(sum(reasons.values()) for reasons in stats["rejections"].values()) - unsolved
    rate = rejected / tried if tried else 0.0
    if rate > ceiling:
        left_out = f" (leaving out {unsolved} the policy did not solve)" if unsolved else ""
        return [GateFailure("rejection_rate", f"{rate:.1%} of {tried} candidates{left_out} "
                                              f"were rejected, above the {ceiling:.1%} "
                                              "ceiling")]
    return []


def _sampled(row_id: str, rate: float) -> bool:
    """A deterministic sample: the same rows are checked every time at the same rate."""
    return rate >= 1 or int(hashlib.sha256(row_id.encode()).hexdigest()[:8], 16) < rate * 2**32


def reverify_rows(dataset: Path, rate: float = 1.0) -> tuple[int, list[tuple[str, str, Verdict]]]:
    """Replay the (sampled) rows through their task's rules: the count checked, and
    (shard name, row id, verdict) for every row that fails."""
    columns = ["id", "task", "problem", "completion", "style", "num_backtracks", "solver"]
    checked = 0
    failed = []
    for path in sorted((dataset / "data").glob("*.parquet")):
        for row in pq.read_table(path, columns=columns).to_pylist():
            if not _sampled(row["id"], rate):
                continue
            checked += 1
            verdict = verify_completion(get_task(row["task"]), json.loads(row["problem"]),
                                        row["completion"], row["style"], row["num_backtracks"],
                                        row["solver"])
            if not verdict.ok:
                failed.append((path.name, row["id"], verdict))
    return checked, failed


def _reverify(dataset: Path, rate: float) -> tuple[int, list[GateFailure]]:
    checked, failed = reverify_rows(dataset, rate)
    return checked, [GateFailure("reverify", f"data/{shard} row {row_id}: {verdict.code} at "
                                             f"line {verdict.line}: {verdict.message}")
                     for shard, row_id, verdict in failed]
