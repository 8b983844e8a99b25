"""The validation gate: checks a finished dataset folder as a user would want it checked
before trusting it, each rule reported with a clear message.

Rules: every file is readable and well formed (config.yaml, manifest.json, stats.json,
each shard); the manifest's sha256s and row counts match the files (and no shard is
unlisted); every shard has the declared schema; config.yaml, the manifest and the rows
belong to one build (the key recomputed from config.yaml equals the one it records and the
manifest's; their code and schema versions equal the rows'; each row's task, style and
seed follow from the config); the manifest's rows per split equal the config's; no split
is empty; every split's achieved k-mix (and difficulty mix, and drop shares) equals the
requested one, and so does its count of corrupted rows (`traces.corrupt`; none without
it, of the config's kinds with it);
train and test share no problem and no split repeats one; the share of rejected
candidates is under a ceiling; and every sampled row re-verifies from its text (a
corrupted row with `verify_corrupted`: its listed lines wrong as listed, the rest right).

A malformed file is one failure naming the file and what is wrong, and the rules that
would need it are skipped: the rules over rows run only when every shard reads with the
declared schema, so one broken file is one line, not a cascade.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from searchtrace.config import SPLITS, BuildConfig, parse_config, parse_yaml
from searchtrace.errors import UserError
from searchtrace.pipelines.outputs import DATASET_FORMAT
from searchtrace.pipelines.plan import (
    NATURAL,
    Bucket,
    BuildPlan,
    Candidate,
    cell_level,
    drop_counts,
    plan_buckets,
)
from searchtrace.pipelines.process import UNSOLVED_BY_POLICY
from searchtrace.pipelines.reverify import (
    VERIFY_COLUMNS,
    ShardReplay,
    default_sample_rate,
    read_replay,
    replay_path,
    replay_table,
    table_rows,
)
from searchtrace.pipelines.storage import (
    Location,
    is_committed,
    is_remote,
    location,
    parquet_rows,
    read_schema,
    read_table,
    sha256_of,
)
from searchtrace.schemas.rows import ROW_SCHEMA, SCHEMA_VERSION
from searchtrace.tasks.base import Verdict
from searchtrace.version import build_key

# What the gate reads of each row for its rules other than re-verification.
ROW_COLUMNS = ["id", "problem_id", "task", "split", "style", "num_backtracks", "difficulty",
               "seed", "spawn_key", "code_version", "schema_version", "drop",
               "corruptions"]
GATE_COLUMNS = list(dict.fromkeys(ROW_COLUMNS + VERIFY_COLUMNS))


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


class RecordedVersions(BaseModel):
    """The versions config.yaml records beside the resolved config."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    code: str
    schema_: str = Field(alias="schema")
    build_key: str


class ManifestEntry(BaseModel):
    """One shard the manifest lists: a file directly under data/, its split, rows, sha256."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    path: str = Field(pattern=r"^data/[^/\\]+\.parquet$")
    split: str
    rows: int = Field(ge=0)
    sha256: str


class Manifest(BaseModel):
    """manifest.json: the build it belongs to and every shard."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    format: Literal[DATASET_FORMAT]
    build_key: str
    code_version: str
    schema_version: str
    shards_per_split: dict[str, int]
    files: list[ManifestEntry]


class BucketCount(BaseModel):
    """A bucket of stats.json: how many candidates it tried."""

    model_config = ConfigDict(frozen=True, strict=True)

    candidates: int = Field(ge=0)


class StatsCounts(BaseModel):
    """What the gate reads of stats.json: candidates per bucket and rejections by reason."""

    model_config = ConfigDict(frozen=True, strict=True)

    buckets: list[BucketCount]
    rejections: dict[str, dict[str, int]]


@dataclass(frozen=True)
class _Recorded:
    """config.yaml: the config it resolves to and the versions it records."""

    config: BuildConfig
    versions: RecordedVersions


def looks_like_dataset(dataset: Location) -> bool:
    """A folder holding any of a dataset's parts; anything else is not one at all (bad
    input), while a folder with broken or missing parts is a dataset that fails."""
    return any((dataset / name).exists() for name in ("manifest.json", "stats.json", "data"))


def check_dataset(dataset: Location) -> None:
    """A UserError unless `dataset` looks like a dataset (`looks_like_dataset`) and, on an
    object store, is committed: a prefix without its commit marker is a publish under way
    or interrupted, which no reader takes for a dataset."""
    if not looks_like_dataset(dataset):
        raise UserError(f"not a searchtrace dataset (no manifest.json, stats.json or data/): "
                        f"{dataset}")
    if is_remote(dataset) and not is_committed(dataset):
        raise UserError(f"not a committed searchtrace dataset (no commit marker: a build is "
                        f"publishing it or was interrupted; build again to finish it): "
                        f"{dataset}")


def run_gate(dataset: str | Location, *, plan: BuildPlan | None = None,
             sample_rate: float | None = None, max_rejection_rate: float = 0.5,
             replayed: Location | None = None) -> GateReport:
    """Check `dataset`; a rule that fails adds a GateFailure. Every rule runs whose inputs
    could be read; a folder that is no dataset at all, or bad arguments, raise UserError.

    A build gating what it made passes its `plan`: the dataset must then be that plan's
    (config.yaml records its build key) and meet its buckets. Without one, the buckets
    are planned from the dataset's config.yaml. It may also pass the folder where it
    recorded its shards' replays (`pipelines.reverify`): a shard whose bytes and sample
    rate match its recorded replay is not replayed again."""
    dataset = location(dataset)
    if sample_rate is not None and not 0 < sample_rate <= 1:
        raise UserError(f"--sample-rate: must be in (0, 1], got {sample_rate}")
    if not 0 <= max_rejection_rate <= 1:
        raise UserError(f"--max-rejection-rate: must be in [0, 1], got {max_rejection_rate}")
    check_dataset(dataset)
    failures: list[GateFailure] = []
    recorded = _read(failures, "config", dataset / "config.yaml", _config)
    manifest = _read(failures, "manifest", dataset / "manifest.json",
                     lambda path: Manifest.model_validate(_json(path)))
    stats = _read(failures, "stats", dataset / "stats.json",
                  lambda path: StatsCounts.model_validate(_json(path)))
    # one pass over the shards, one at a time, serves every rule, re-verification included
    scan = scan_shards(dataset, recorded, sample_rate, replayed)
    failures += scan.unreadable
    if manifest is not None and (dataset / "data").is_dir():
        unreadable = {f"data/{p.name}" for p in _shard_paths(dataset)} - {
            f"data/{name}" for name in scan.readable}
        failures += _manifest_matches(dataset, manifest, unreadable)
    if recorded is not None:
        failures += _one_build(recorded, manifest)
        if not scan.unreadable:
            failures += scan.mismatches
        if plan is not None and recorded.versions.build_key != plan.key:
            failures.append(GateFailure("build_key", f"config.yaml records build key "
                                                     f"{recorded.versions.build_key[:12]}, "
                                                     f"this build's plan {plan.key[:12]}"))
        if manifest is not None:
            failures += _split_counts(recorded.config, manifest)
    if stats is not None:
        failures += _rejection_rate(stats, max_rejection_rate)
    if scan.unreadable:
        return GateReport(0, 0, tuple(failures))
    tally = scan.tally
    if recorded is not None:
        failures += _no_empty_split(recorded.config, tally)
        buckets = plan.buckets if plan is not None else tuple(plan_buckets(recorded.config))
        failures += _mix_is_exact(recorded.config, buckets, tally)
        failures += _drops_are_exact(recorded.config, tally)
        failures += _corrupted_as_requested(recorded.config, buckets, tally)
    failures += _splits_disjoint(tally)
    failures += [GateFailure("reverify", f"data/{shard} row {row_id}: {verdict.code}"
                             + ("" if verdict.line is None else f" at line {verdict.line}")
                             + f": {verdict.message}")
                 for shard, row_id, verdict in scan.replayed.failed]
    return GateReport(tally.rows, scan.replayed.checked, tuple(failures))


def _read(failures: list[GateFailure], rule: str, path: Location, reader: Any) -> Any:
    """`reader(path)`, or None with one failure naming the file and what is wrong."""
    name = path.name
    if not path.exists():
        failures.append(GateFailure(rule, f"{name} is missing"))
        return None
    if not path.is_file():
        failures.append(GateFailure(rule, f"{name} is not a file"))
        return None
    try:
        return reader(path)
    except UnicodeDecodeError:
        failures.append(GateFailure(rule, f"{name} is not UTF-8 text"))
    except json.JSONDecodeError as error:
        failures.append(GateFailure(rule, f"{name} is not valid JSON: {error}"))
    except yaml.YAMLError as error:
        failures.append(GateFailure(rule, f"{name} is not valid YAML: {_first_line(error)}"))
    except ValidationError as error:
        failures.append(GateFailure(rule, f"{name}: {_first_error(error)}"))
    except UserError as error:
        failures.append(GateFailure(rule, f"{name}: {error}"))
    except OSError as error:
        failures.append(GateFailure(rule, f"{name} cannot be read: {error.strerror}"))
    return None


def _first_error(error: ValidationError) -> str:
    item = error.errors()[0]
    where = ".".join(str(p) for p in item["loc"]) or "the top level"
    return f"{where}: {item['msg']}" + (f" ({len(error.errors())} problems)"
                                        if error.error_count() > 1 else "")


def _json(path: Location) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _config(path: Location) -> _Recorded:
    raw = parse_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise UserError("the top level must be a mapping of sections")
    try:
        versions = RecordedVersions.model_validate(raw.pop("versions", None))
    except ValidationError as error:
        raise UserError(f"versions (the code version, schema version and build key it "
                        f"records): {_first_error(error)}") from None
    return _Recorded(parse_config(raw), versions)


class RowTally:
    """What the rules over rows need, added up shard by shard so no rule holds the rows:
    rows per split; per split the (k, level) counts (with a config), the rows per drop
    level, the corrupted rows and their kinds; and each split's problem ids, as compact
    Arrow strings (some 30 bytes a row) for the duplicate and overlap checks."""

    def __init__(self, config: BuildConfig | None) -> None:
        self.config = config
        self.rows = 0
        self.present: Counter[str] = Counter()
        self.mix: dict[str, Counter[tuple[Any, int | None]]] = defaultdict(Counter)
        self.drops: dict[str, Counter[str]] = defaultdict(Counter)
        self.corrupted: Counter[str] = Counter()
        self.kinds: dict[str, set[str]] = defaultdict(set)
        self.problem_ids: dict[str, list[pa.Array]] = defaultdict(list)

    def add(self, table: pa.Table) -> None:
        """Count the rows of one shard (ROW_COLUMNS)."""
        self.rows += table.num_rows
        for split in pc.unique(table["split"]).to_pylist():
            mine = table.filter(pc.equal(table["split"], split))
            self.problem_ids[split].append(mine["problem_id"].combine_chunks())
        for row in table_rows(table.select(["split", "num_backtracks", "difficulty", "drop",
                                            "corruptions"])):
            split = row["split"]
            self.present[split] += 1
            self.drops[split][row["drop"]] += 1
            if row["corruptions"]:
                self.corrupted[split] += 1
                self.kinds[split].update(c["kind"] for c in row["corruptions"])
            if self.config is not None:
                k = NATURAL if self.config.traces.k_mix == "natural" else row["num_backtracks"]
                self.mix[split][(k, _level(self.config, row))] += 1

    def splits(self) -> set[str]:
        return set(self.present)

    def ids(self, split: str) -> pa.ChunkedArray:
        return pa.chunked_array(self.problem_ids.get(split, []), pa.string())


@dataclass(frozen=True)
class ShardScan:
    """One pass over the shards: the readable ones by name, a failure per shard that is
    not, each readable shard's first difference from config.yaml's build, the rows
    tallied and the sampled rows replayed (both meaningful only when every shard read)."""

    readable: tuple[str, ...]
    unreadable: tuple[GateFailure, ...]
    mismatches: tuple[GateFailure, ...]
    tally: RowTally
    replayed: Reverification


def scan_shards(dataset: Location, recorded: _Recorded | None, sample_rate: float | None,
                replayed: Location | None = None) -> ShardScan:
    """Read each shard once, one at a time: check its rows against config.yaml's build
    (`recorded`, when it could be read), tally them and replay the sampled ones (at
    `sample_rate`, by default `default_sample_rate` of every shard's rows), or take the
    replay recorded in `replayed` of a shard with the same bytes at the same rate. Once a
    shard cannot be read the rest are only checked for readability: the rules over rows
    will not run."""
    tally = RowTally(recorded.config if recorded is not None else None)
    readable, unreadable, mismatches = [], [], []
    rate = (default_sample_rate(_declared_rows(dataset)) if sample_rate is None
            else sample_rate)
    checked, failed = 0, []
    for name, shard in iter_shards(dataset, GATE_COLUMNS):
        if isinstance(shard, GateFailure):
            unreadable.append(shard)
            continue
        readable.append(name)
        if unreadable:
            continue
        if recorded is not None:
            problem = _row_mismatch(shard, recorded)
            if problem:
                mismatches.append(GateFailure("build_key", f"data/{name}: {problem}"))
        tally.add(shard.select(ROW_COLUMNS))
        replay = _recorded_replay(dataset / "data" / name, replayed, rate)
        shard_checked, shard_failed = ((replay.checked, replay.failed) if replay is not None
                                       else replay_table(shard, rate))
        checked += shard_checked
        failed += [(name, row_id, verdict) for row_id, verdict in shard_failed]
    replayed = Reverification(checked, tuple(failed), tuple(unreadable))
    return ShardScan(tuple(readable), tuple(unreadable), tuple(mismatches), tally, replayed)


def _recorded_replay(shard: Location, replayed: Location | None,
                     rate: float) -> ShardReplay | None:
    """The replay recorded for `shard` in `replayed`, if one was made of these very bytes
    at this rate."""
    if replayed is None:
        return None
    replay = read_replay(replay_path(replayed, shard.name))
    if replay is None or replay.rate != rate or replay.sha256 != sha256_of(shard):
        return None
    return replay


def _declared_rows(dataset: Location) -> int:
    """The rows the shards' footers declare (shards that cannot be read count none)."""
    total = 0
    for path in _shard_paths(dataset):
        try:
            total += parquet_rows(path)
        except (pa.ArrowException, OSError, ValueError):
            continue
    return total


def iter_shards(dataset: Location, columns: list[str]) -> Iterator[tuple[str, pa.Table |
                                                                     GateFailure]]:
    """Each shard under data/ by file name, one at a time: its `columns`, or a failure if
    it is not a readable Parquet file with the declared row schema and no nulls."""
    if not (dataset / "data").is_dir():
        yield "", GateFailure("shard", "data/, the folder of shards, is missing")
    for path in _shard_paths(dataset):
        yield path.name, _read_shard(path, columns)


def _read_shard(path: Location, columns: list[str]) -> pa.Table | GateFailure:
    name = f"data/{path.name}"
    if not path.is_file():
        return GateFailure("shard", f"{name} is not a file")
    try:
        schema = read_schema(path).remove_metadata()
        if schema != ROW_SCHEMA:
            return GateFailure("schema", f"{name}: {_schema_difference(schema)}; not the "
                                         f"declared row schema (version {SCHEMA_VERSION})")
        table = read_table(path, columns=columns)
    except (pa.ArrowException, OSError, ValueError) as error:
        return GateFailure("shard", f"{name} is not a readable Parquet file: "
                                    f"{_first_line(error)}")
    flat = table.flatten()
    nulls = [c for c in flat.column_names if flat[c].null_count]
    if nulls:
        return GateFailure("shard", f"{name}: null values in {', '.join(nulls)}")
    return table


def _shard_paths(dataset: Location) -> list[Location]:
    data = dataset / "data"
    return sorted(data.glob("*.parquet")) if data.is_dir() else []


def _schema_difference(schema: pa.Schema) -> str:
    """The first column that differs from ROW_SCHEMA, said plainly."""
    missing = [f.name for f in ROW_SCHEMA if f.name not in schema.names]
    extra = [n for n in schema.names if n not in ROW_SCHEMA.names]
    if missing:
        return f"column {missing[0]} is missing"
    if extra:
        return f"column {extra[0]} is not in the schema"
    for wanted in ROW_SCHEMA:
        got = schema.field(wanted.name)
        if got.type != wanted.type:
            return f"column {wanted.name} is {got.type}, not {wanted.type}"
    return "columns are in another order"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _manifest_matches(dataset: Location, manifest: Manifest,
                      unreadable: set[str]) -> list[GateFailure]:
    """Listed shards exist with their sha256 and row count, and none is unlisted; a shard
    that cannot be read is left out (its own failure says so)."""
    failures = []
    listed = set()
    for entry in manifest.files:
        path = dataset / entry.path
        listed.add(path.name)
        if entry.path in unreadable:
            continue
        if not path.is_file():
            failures.append(GateFailure("manifest", f"{entry.path} is listed but missing"))
            continue
        if sha256_of(path) != entry.sha256:
            failures.append(GateFailure("manifest", f"{entry.path}: sha256 differs from the "
                                                    "manifest"))
        if parquet_rows(path) != entry.rows:
            failures.append(GateFailure("manifest", f"{entry.path}: row count differs from "
                                                    "the manifest"))
    for path in _shard_paths(dataset):
        if path.name not in listed:
            failures.append(GateFailure("manifest", f"data/{path.name} is not in the manifest"))
    return failures


def _one_build(recorded: _Recorded, manifest: Manifest | None) -> list[GateFailure]:
    """config.yaml and the manifest belong to one build: the key recomputed from
    config.yaml's content (with the versions it records) is the key it records and the
    manifest's, and the manifest's code and schema versions are config.yaml's. (That the
    rows' versions are too, and each row's task, style and seed follow from the config,
    is `_row_mismatch`'s, shard by shard.)"""
    versions, config = recorded.versions, recorded.config
    key = build_key(config.resolved(), versions.code, versions.schema_)
    failures = []
    if key != versions.build_key:
        failures.append(GateFailure("build_key", f"config.yaml records build key "
                                                 f"{versions.build_key[:12]} but its content "
                                                 f"has key {key[:12]}"))
    if manifest is not None:
        for what, theirs, ours in (("build key", manifest.build_key, versions.build_key),
                                   ("code version", manifest.code_version, versions.code),
                                   ("schema version", manifest.schema_version,
                                    versions.schema_)):
            if theirs != ours:
                failures.append(GateFailure("build_key", f"manifest.json has {what} "
                                                         f"{theirs[:24]}, config.yaml "
                                                         f"{ours[:24]}"))
    return failures


def _row_mismatch(table: pa.Table, recorded: _Recorded) -> str | None:
    """The first way a shard's rows differ from the build config.yaml describes."""
    config = recorded.config
    expected = {"code_version": recorded.versions.code,
                "schema_version": recorded.versions.schema_,
                "task": config.task.name, "style": config.traces.style}
    for column, value in expected.items():
        found = set(table.column(column).to_pylist()) - {value}
        if found:
            return f"rows have {column} {sorted(found)[0]!r}, config.yaml {value!r}"
    for row in table.select(["id", "split", "seed", "spawn_key"]).to_pylist():
        if not _seed_follows(row, config.seed):
            return (f"row {row['id']}: seed {row['seed']} does not follow from the config's "
                    f"seed {config.seed} and spawn key {row['spawn_key']}")
    return None


def _seed_follows(row: dict[str, Any], base_seed: int) -> bool:
    spawn_key = row["spawn_key"]
    if (len(spawn_key) != 3 or not 0 <= spawn_key[0] < len(SPLITS)
            or SPLITS[spawn_key[0]] != row["split"] or min(spawn_key) < 0):
        return False
    return Candidate(row["split"], 0, spawn_key[1], spawn_key[2]).seed(base_seed) == row["seed"]


def _split_counts(config: BuildConfig, manifest: Manifest) -> list[GateFailure]:
    """The manifest's rows per split are the config's splits, split for split."""
    listed: Counter[str] = Counter()
    for entry in manifest.files:
        listed[entry.split] += entry.rows
    if dict(listed) == config.splits:
        return []
    return [GateFailure("split_counts", f"manifest.json lists rows per split "
                                        f"{dict(sorted(listed.items()))}, config.yaml asks for "
                                        f"{config.splits}")]


def _no_empty_split(config: BuildConfig, tally: RowTally) -> list[GateFailure]:
    return [GateFailure("empty_split", f"split {split} has no rows")
            for split in config.splits if not tally.present[split]]


def _mix_is_exact(config: BuildConfig, buckets: tuple[Bucket, ...],
                  tally: RowTally) -> list[GateFailure]:
    """Each split's (k, level) counts equal the plan's `buckets` (`_level`)."""
    failures = []
    for split in sorted(set(config.splits) | tally.splits()):
        planned = Counter({(b.k, level): n for b in buckets if b.split == split
                           for level, n in enumerate(b.levels) if n})
        achieved = tally.mix[split]
        if achieved != planned:
            failures.append(GateFailure(
                "mix", f"split {split}: achieved (k, difficulty) counts "
                       f"{_counts(achieved)} differ from requested {_counts(planned)}"))
    return failures


def _drops_are_exact(config: BuildConfig, tally: RowTally) -> list[GateFailure]:
    """Each split's rows per drop level equal `drop_counts` of its size; without drops
    every row's `drop` is ""."""
    drops = config.traces.drops
    if drops is None:
        dropped = sum(n for counts in tally.drops.values() for level, n in counts.items()
                      if level != "")
        return [GateFailure("drops", f"{dropped} row(s) state a drop level; config.yaml asks "
                                     "for no drops")] if dropped else []
    failures = []
    for split in sorted(set(config.splits) | tally.splits()):
        achieved = tally.drops[split]
        planned = Counter(drop_counts(config.splits.get(split, 0), drops))
        if +achieved != +planned:
            failures.append(GateFailure(
                "drops", f"split {split}: achieved rows per drop level "
                         f"{dict(sorted(achieved.items()))} differ from requested "
                         f"{dict(sorted((+planned).items()))}"))
    return failures


def _level(config: BuildConfig, row: dict[str, Any]) -> int | None:
    """The row's level in the plan (`plan.cell_level`): difficulty, clean or corrupted."""
    mix = config.difficulty_mix
    difficulty = 0 if mix is None else mix.level_of(row["difficulty"])
    return None if difficulty is None else cell_level(config, difficulty,
                                                      bool(row["corruptions"]))


def _corrupted_as_requested(config: BuildConfig, buckets: tuple[Bucket, ...],
                            tally: RowTally) -> list[GateFailure]:
    """Each split has exactly its planned count of corrupted rows (none without
    `traces.corrupt`), each corruption of a kind the config asks for."""
    corrupt = config.traces.corrupt
    kinds = set(corrupt.kinds) if corrupt is not None else set()
    failures = []
    for split in sorted(set(config.splits) | tally.splits()):
        planned = sum(n for b in buckets if b.split == split
                      for n in (b.levels[1::2] if corrupt is not None else ()))
        if tally.corrupted[split] != planned:
            failures.append(GateFailure(
                "corrupted", f"split {split}: {tally.corrupted[split]} corrupted rows, "
                             f"requested {planned}"
                             + ("" if corrupt else " (the config asks for none)")))
        unasked = sorted(tally.kinds[split] - kinds)
        if unasked:
            failures.append(GateFailure(
                "corrupted", f"split {split}: corruptions of kinds {unasked} the config "
                             f"does not ask for (asks for {sorted(kinds) or 'none'})"))
    return failures


def _counts(counts: Counter) -> dict:
    """Counts keyed by (k, level), in order (a level may be None: outside every bucket)."""
    return dict(sorted(counts.items(), key=lambda item: (item[0][0], item[0][1] is None,
                                                         item[0][1] or 0)))


def _splits_disjoint(tally: RowTally) -> list[GateFailure]:
    failures = []
    for split in sorted(tally.splits()):
        ids = tally.ids(split)
        repeated = len(ids) - pc.count_distinct(ids).as_py()
        if repeated:
            failures.append(GateFailure("duplicates", f"split {split} repeats {repeated} "
                                                      "problem(s)"))
    train, test = tally.ids("train"), tally.ids("test")
    shared = sorted(pc.unique(test.filter(pc.is_in(test, value_set=pc.unique(train))))
                    .to_pylist()) if len(train) and len(test) else []
    if shared:
        failures.append(GateFailure("overlap", f"train and test share {len(shared)} "
                                               f"problem(s), e.g. {shared[0]}"))
    return failures


def _rejection_rate(stats: StatsCounts, ceiling: float) -> list[GateFailure]:
    """The share of candidates rejected. Problems a language-model policy did not solve
    are left out: they measure the model, not the data (an llm_mcts build keeps what its
    model solves, as ReST-MCTS* does), and stats.json counts them under their reason."""
    unsolved = sum(reasons.get(UNSOLVED_BY_POLICY, 0) for reasons in stats.rejections.values())
    tried = sum(b.candidates for b in stats.buckets) - unsolved
    rejected = sum(sum(reasons.values()) for reasons in stats.rejections.values()) - unsolved
    rate = rejected / tried if tried > 0 else 0.0
    if rate > ceiling:
        left_out = f" (leaving out {unsolved} the policy did not solve)" if unsolved else ""
        return [GateFailure("rejection_rate", f"{rate:.1%} of {tried} candidates{left_out} "
                                              f"were rejected, above the {ceiling:.1%} "
                                              "ceiling")]
    return []


@dataclass(frozen=True)
class Reverification:
    """Rows replayed: how many, (shard name, row id, verdict) of each that failed, and a
    failure per shard that could not be read at all."""

    checked: int
    failed: tuple[tuple[str, str, Verdict], ...]
    unreadable: tuple[GateFailure, ...]


def reverify_rows(dataset: Location, rate: float = 1.0) -> Reverification:
    """Replay the (sampled) rows of the readable shards through their task's rules (a
    row whose task or problem cannot be read fails as `malformed_row`)."""
    checked, failed, unreadable = 0, [], []
    for name, shard in iter_shards(dataset, VERIFY_COLUMNS):
        if isinstance(shard, GateFailure):
            unreadable.append(shard)
            continue
        shard_checked, shard_failed = replay_table(shard, rate)
        checked += shard_checked
        failed += [(name, row_id, verdict) for row_id, verdict in shard_failed]
    return Reverification(checked, tuple(failed), tuple(unreadable))

