"""The files beside the shards: stats.json, manifest.json, config.yaml, the dataset card,
and build.json, the record of the run that made them.

Stats are read back from the written shards, so they describe what landed, beside what the
plan requested; whether the two are exactly equal is the validation gate's to judge
(`flows.gate`), before anything is published. Everything but build.json depends only on
the config and the code, so a rebuild or a resumed build gives the same bytes; build.json
holds what varies from run to run (time, workers, what was resumed).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from searchtrace.pipelines.plan import BuildPlan, difficulty_of_level, drop_counts
from searchtrace.pipelines.plots import write_mix_plot
from searchtrace.pipelines.storage import (
    Location,
    iter_batches,
    parquet_rows,
    read_table,
    sha256_of,
)
from searchtrace.schemas.rows import ROW_SCHEMA, SCHEMA_VERSION
from searchtrace.solvers.registry import get_solver
from searchtrace.traces.parse import split_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.styles.base import Style
from searchtrace.version import code_version

RUN_RECORD = "build.json"
# manifest.json's `format`: what marks a folder as a searchtrace dataset, which a later
# build may replace (see pipelines.outdir)
DATASET_FORMAT = "searchtrace-dataset"


def write_outputs(
    plan: BuildPlan, dataset: Location, buckets: list[dict[str, Any]],
    rejections: dict[str, dict[str, int]], *, rounds: int,
) -> dict[str, Any]:
    stats, difficulties = _stats(plan, dataset, buckets, rejections, rounds)
    (dataset / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    plot = write_mix_plot(dataset, stats, difficulties)
    recorded = {**plan.resolved, "versions": _versions(plan)}
    (dataset / "config.yaml").write_text(yaml.safe_dump(recorded, sort_keys=False))
    (dataset / "manifest.json").write_text(
        json.dumps(_manifest(plan, dataset), indent=2) + "\n")
    (dataset / "README.md").write_text(dataset_card(plan, stats, plot))
    return stats


def _versions(plan: BuildPlan) -> dict[str, str]:
    return {"code": code_version(), "schema": SCHEMA_VERSION, "build_key": plan.key}


def write_run_record(
    dataset: Location, plan: BuildPlan, *, seconds: float, workers: int, resumed_batches: int,
    already_finished: bool = False, extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """build.json: when and how fast this run built the dataset, and what it resumed."""
    rows = sum(plan.config.splits.values())
    record = {
        "build_key": plan.key,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "rows": rows,
        "rows_per_second": round(rows / seconds, 1) if seconds and not already_finished
        else None,
        "workers": workers,
        "resumed_batches": resumed_batches,
        "resumed_finished_dataset": already_finished,
        **(extra or {}),
    }
    (dataset / RUN_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return record


def _manifest(plan: BuildPlan, dataset: Location) -> dict[str, Any]:
    files = []
    for path in _shard_files(dataset):
        files.append({"path": f"data/{path.name}", "split": path.name.split("-", 1)[0],
                      "rows": parquet_rows(path), "sha256": sha256_of(path)})
    return {"format": DATASET_FORMAT, "build_key": plan.key, "code_version": code_version(),
            "schema_version": SCHEMA_VERSION, "shards_per_split": plan.shards, "files": files}


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"mean": round(statistics.fmean(values), 2), "median": statistics.median(values),
            "min": min(values), "max": max(values)}


DIFFICULTY_KEYS = ("nodes_expanded", "guesses", "branching", "solution_length", "tree_nodes")


class SplitTally:
    """One split's rows added up shard by shard, so the stats never hold the rows: rows
    per k, drop level, difficulty level; corrupted rows and their kinds; and the
    difficulty measures and completion lengths as compact Arrow columns for the
    summaries (some 50 bytes a row), turned into Python values one measure at a time."""

    def __init__(self, plan: BuildPlan) -> None:
        self.plan = plan
        self.rows = 0
        self.k: Counter[int] = Counter()
        self.drops: Counter[str] = Counter()
        self.levels: Counter[int | None] = Counter()
        self.corrupted = 0
        self.kinds: Counter[str] = Counter()
        self.measures: dict[str, list[pa.Array]] = {key: [] for key in DIFFICULTY_KEYS}
        self.chars: list[pa.Array] = []

    def add(self, table: pa.Table) -> None:
        """Count one shard's rows of this split (columns as `_stats` reads them)."""
        config = self.plan.config
        self.rows += table.num_rows
        self.k.update(table["num_backtracks"].to_pylist())
        self.drops.update(table["drop"].to_pylist())
        for key in DIFFICULTY_KEYS:
            self.measures[key] += pc.struct_field(table["difficulty"], key).chunks
        self.chars += pc.utf8_length(table["completion"]).chunks
        if config.difficulty_mix is not None:
            self.levels.update(config.difficulty_mix.level_of(d)
                               for d in table["difficulty"].to_pylist())
        if config.traces.corrupt is not None:
            for row in table["corruptions"].to_pylist():
                self.corrupted += bool(row)
                self.kinds.update(c["kind"] for c in row)

    def values(self, key: str) -> list[Any]:
        """One difficulty measure of every row, in shard order."""
        return pa.chunked_array(self.measures[key], _MEASURE_TYPES[key]).to_pylist()

    def completion_chars(self) -> list[int]:
        return pa.chunked_array(self.chars, pa.int32()).to_pylist()


_MEASURE_TYPES = {field.name: field.type for field in ROW_SCHEMA.field("difficulty").type}


def _stats(
    plan: BuildPlan, dataset: Location, buckets: list[dict[str, Any]],
    rejections: dict[str, dict[str, int]], rounds: int,
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """The stats, and each split's nodes-expanded values for the plot; the shards are
    read one at a time."""
    config = plan.config
    columns = ["split", "num_backtracks", "difficulty", "completion", "drop",
               *(["corruptions"] if config.traces.corrupt is not None else [])]
    per_split: dict[str, SplitTally] = {}
    for path in _shard_files(dataset):
        table = read_table(path, columns=columns)
        for split in pc.unique(table["split"]).to_pylist():
            per_split.setdefault(split, SplitTally(plan)).add(
                table.filter(pc.equal(table["split"], split)))
    mix = config.traces.k_mix
    splits: dict[str, Any] = {}
    for split in config.splits:
        bag = per_split.get(split, SplitTally(plan))
        achieved = dict(sorted(bag.k.items()))
        entry: dict[str, Any] = {"rows": bag.rows, "achieved_k": achieved}
        if mix != "natural":
            entry["requested_k"] = {b.k: b.requested for b in plan.buckets if b.split == split}
        if config.difficulty_mix is not None:
            entry.update(_difficulty_mix(plan, split, bag.levels))
        if config.traces.drops is not None:
            entry["requested_drop"] = drop_counts(config.splits[split], config.traces.drops)
            entry["achieved_drop"] = {level: bag.drops[level] for level in config.traces.drops}
        if config.traces.corrupt is not None:
            entry["corrupted"] = corrupted_counts(plan, split, bag.corrupted, bag.kinds)
        entry["difficulty"] = {key: _summary(bag.values(key)) for key in DIFFICULTY_KEYS}
        entry["completion_chars"] = _summary(bag.completion_chars())
        splits[split] = entry
    total_rows = sum(config.splits.values())
    difficulties = {split: bag.values("nodes_expanded") for split, bag in per_split.items()}
    stats = {
        "name": config.name,
        "task": config.task.name,
        "k_mode": "natural" if mix == "natural" else "exact",
        "splits": splits,
        "buckets": buckets,
        "rejections": rejections,
        "rows": total_rows,
        "line_templates": line_template_counts(get_style(config.traces.style),
                                               _completions(dataset)),
        "rounds": rounds,
        "versions": _versions(plan),
    }
    if config.policy is not None:
        stats["policy"] = _policy_stats(dataset)
    if config.traces.length_match is not None:
        stats["length_match"] = length_match_stats(dataset, config.traces.length_match)
    return stats, difficulties


def _shard_files(dataset: Location) -> list[Location]:
    return sorted((dataset / "data").glob("*.parquet"))


def _completions(dataset: Location) -> Iterator[str]:
    """Every row's completion, read a shard at a time."""
    for path in _shard_files(dataset):
        for batch in iter_batches(path, ["completion"]):
            yield from batch.column(0).to_pylist()


LENGTH_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def _quantiles(values: list[int]) -> dict[str, float]:
    """The LENGTH_QUANTILES of `values` (linear interpolation), keyed "q10", "q25", ..."""
    ordered = sorted(values)
    if not ordered:
        return {}
    out = {}
    for q in LENGTH_QUANTILES:
        at = q * (len(ordered) - 1)
        low = int(at)
        high = min(low + 1, len(ordered) - 1)
        out[f"q{round(q * 100)}"] = round(ordered[low] + (at - low) * (ordered[high] -
                                                                      ordered[low]), 1)
    return out


def length_match_stats(dataset: Location, k: int) -> dict[str, Any]:
    """The achieved length match of every split together: the think-body characters of
    the padded k = 0 rows and of the k rows, as quantiles, with the largest gap between
    matching quantiles relative to the k rows' (`max_relative_gap`), and the check lines
    the k = 0 rows carry."""
    lengths: dict[int, list[int]] = {0: [], k: []}
    padding: list[int] = []
    for path in _shard_files(dataset):
        table = read_table(path, columns=["num_backtracks", "completion",
                                          "padding_lines"]).to_pydict()
        for backtracks, completion, pad in zip(table["num_backtracks"], table["completion"],
                                               table["padding_lines"], strict=True):
            if backtracks in lengths:
                parts = split_completion(completion)
                lengths[backtracks].append(len(parts[0]) if parts else 0)
            if backtracks == 0:
                padding.append(pad)
    padded, matched = _quantiles(lengths[0]), _quantiles(lengths[k])
    gaps = [abs(padded[q] - matched[q]) / max(matched[q], 1) for q in matched if q in padded]
    return {"k": k, "measure": "think_chars", "k0": padded, f"k{k}": matched,
            "max_relative_gap": round(max(gaps), 4) if gaps else None,
            "k0_padding_lines": _summary(padding)}


def _length_match_lines(stats: dict[str, Any]) -> list[str]:
    """For a length-matched build: the k = 0 rows' padding and the match it achieved."""
    match = stats.get("length_match")
    if match is None:
        return []
    k = match["k"]
    gap = match["max_relative_gap"]
    quantiles = "; ".join(f"{q} {match['k0'][q]:g} vs {match[f'k{k}'][q]:g}"
                          for q in match[f"k{k}"] if q in match["k0"])
    return [f"- length-matched control: every k = 0 row is padded with check lines (each "
            "restates the current state, verified, changes nothing; counted in "
            f"`padding_lines`) up to the think length in characters of its problem's own "
            f"k = {k} trace. Think characters, k = 0 vs k = {k}: {quantiles} (largest gap "
            f"{'n/a' if gap is None else f'{gap:.1%}'} of the k = {k} quantile)"]


def line_template_counts(style: Style, completions: Iterable[str]) -> dict[str, Any]:
    """How varied a build's wording is: each think line's template (the line with the
    phrases its style cuts out blanked to `{}`, so "Let me try 5+3=8. That leaves 2, 8."
    counts as "Let me try {}. {}."), counted over `completions`; `distinct` is how many
    templates were used, `counts` template → lines, most used first (ties by template).
    Lines the style cannot read, which a gated build has none of, are counted apart."""
    counts: Counter[str] = Counter()
    unread = 0
    for completion in completions:
        parts = split_completion(completion)
        lines = parts[0].split("\n") if parts is not None and parts[0] else []
        for line in lines:
            template = style.line_template(line)
            if template is None:
                unread += 1
            else:
                counts[template] += 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {"distinct": len(counts), "counts": dict(ordered), "unread_lines": unread}


def _policy_stats(dataset: Location) -> dict[str, Any]:
    """What the language-model policy did for the written rows: the model, the frontier
    batch sizes its calls reached, and its proposals that broke a rule, by rule."""
    models: set[str] = set()
    batch_max: list[int] = []
    batch_mean: list[float] = []
    proposals = rejected = 0
    by_rule: Counter[str] = Counter()
    for path in _shard_files(dataset):
        table = read_table(path, columns=["policy", "search_tree"]).to_pydict()
        for policy, tree_json in zip(table["policy"], table["search_tree"], strict=True):
            models.add(json.loads(policy)["model"])
            tree = json.loads(tree_json)
            batch_max.append(tree["stats"]["frontier_batch_max"])
            batch_mean.append(tree["stats"]["frontier_batch_mean"])
            proposals += tree["stats"]["proposals"]
            rejected += tree["stats"]["rejected_proposals"]
            by_rule.update(n["reason"][0] for n in tree["nodes"]
                           if "proposal" in n and n["move"] is None and n["reason"])
    return {"models": sorted(models), "frontier_batch_max": max(batch_max, default=0),
            "frontier_batch_mean": _summary(batch_mean),
            "proposals": proposals, "rejected_proposals": rejected,
            "distinct_rejected_by_rule": dict(by_rule.most_common())}


def corrupted_counts(plan: BuildPlan, split: str, achieved: int,
                     kinds: Counter[str]) -> dict[str, Any]:
    """A corrupted-content build's requested and `achieved` corrupted rows of a split
    (the odd levels, `plan.cell_level`), and its corrupted lines by kind."""
    requested = sum(n for b in plan.buckets if b.split == split for n in b.levels[1::2])
    return {"requested": requested, "achieved": achieved,
            "kinds": {kind: kinds[kind] for kind in sorted(kinds)}}


def _corrupt_lines(plan: BuildPlan, stats: dict[str, Any]) -> list[str]:
    """For a corrupted-content build: what was made wrong, how many rows, of which kinds."""
    corrupt = plan.config.traces.corrupt
    if corrupt is None:
        return []
    lines = ["", "## Corrupted-content control", "",
             f"**Not every row is correct.** In a share {corrupt.share:g} of each split's rows "
             f"(an exact count) one step was made wrong, of the kinds "
             f"{', '.join(f'`{k}`' for k in corrupt.kinds)}, while the trace's structure "
             "(k, placement, dead-end lengths, the lines' kinds and count) stayed. Column "
             "`corruptions` lists each row's wrong lines (0-based lines of the think body) "
             "and their kind; `[]` for a clean row. Every corrupted row was replayed: each "
             "listed line fails as its kind says, every other line is right.", "",
             "| split | corrupted rows (requested / achieved) | by kind |", "|---|---|---|"]
    for split, entry in stats["splits"].items():
        done = entry["corrupted"]
        kinds = ", ".join(f"{k}: {n}" for k, n in done["kinds"].items()) or "-"
        lines.append(f"| {split} | {done['requested']} / {done['achieved']} | {kinds} |")
    return lines


def _difficulty_mix(plan: BuildPlan, split: str, levels: Counter[int | None]) -> dict[str, Any]:
    """Requested vs achieved rows per difficulty bucket (`levels`: rows per level)."""
    mix = plan.config.difficulty_mix
    names = list(mix.buckets)
    requested: Counter[str] = Counter()
    for bucket in plan.buckets:
        if bucket.split == split:
            for level, n in enumerate(bucket.levels):
                requested[names[difficulty_of_level(plan.config, level)]] += n
    return {"difficulty_metric": mix.metric,
            "requested_difficulty": {name: requested[name] for name in names},
            "achieved_difficulty": {name: levels[i] for i, name in enumerate(names)}}


def _policy_lines(plan: BuildPlan, stats: dict[str, Any]) -> list[str]:
    """For an llm_mcts build: which model proposed the moves, sampled how, and how often
    its proposals broke a rule."""
    policy = plan.config.policy
    if policy is None:
        return []
    used = stats["policy"]
    models = ", ".join(f"`{m}`" for m in used["models"])
    return [f"- policy: {models} ({policy.backend}), {policy.samples} samples per expansion "
            f"at temperature {policy.temperature:g}, top_p {policy.top_p:g}; "
            f"{used['rejected_proposals']} of {used['proposals']} proposals broke a rule "
            "(kept in `search_tree`, not in the traces); no solution was used unless the "
            "rules confirmed it"]


def dataset_card(plan: BuildPlan, stats: dict[str, Any], plot: str) -> str:
    """The dataset's README.md: `configs:` for `datasets`, then what, how, mix and limits."""
    config = plan.config
    # The config is named by the build key: `datasets` caches a local folder under its
    # base name and config name, so a plain "default" would serve one build's cached rows
    # for another folder of the same name (or a rebuilt one).
    header = {
        "configs": [{
            "config_name": f"build-{plan.key[:12]}",
            "default": True,
            "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in config.splits],
        }],
        "tags": ["searchtrace", "search-traces", "backtracking", config.task.name],
    }
    lines = ["---", yaml.safe_dump(header, sort_keys=False).strip(), "---", "",
             f"# {config.name}", "",
             f"Search traces for the **{config.task.name}** task, built by searchtrace "
             f"{code_version()} (schema {SCHEMA_VERSION}). Each row is a problem, a reasoning "
             "trace in `<think>` with an exactly known number of backtracks, and the answer "
             "in `<answer>`. Every row was replayed through the task's rules before it was "
             "written: every move legal, every stated state true, every dead-end claim true, "
             "every backtrack to a state on the current path, the backtrack count as "
             "recorded, and the answer correct and the one the trace's solution path spells. "
             "**Sound backtracks:** every state a backtrack abandons (each state of a "
             "dead-end branch, the dead end included) has no solution under the task's rules "
             "and the problem's limits, decided by an exact solvability check of the rules, "
             "so no trace gives up a state from which the goal is still reachable; no "
             "dead-end branch is said twice"
             + (f"; `{config.solver.name}` promises a shortest solution, and every row's "
                "solution was proved shortest" if get_solver(config.solver.name).shortest else "")
             + "."
             + (" **Except** the lines that column `corruptions` lists, made wrong on purpose "
                "(see *Corrupted-content control*)." if config.traces.corrupt else ""), "",
             "## How it was built", "",
             f"- solver: `{config.solver.name}` (node budget {config.solver.node_budget})",
             *_policy_lines(plan, stats),
             *(["- `step_values`: one value per move step; 0 for a step into a state with "
                "no solution (every dead-end step), otherwise the search's mean value of the "
                "node the step enters"] if get_solver(config.solver.name).node_values else []),
             f"- traces: style `{config.traces.style}`, placement `{config.traces.placement}`, "
             f"dead ends at most {config.traces.max_dead_end_length} moves",
             *_length_match_lines(stats),
             f"- task knobs: `{json.dumps(plan.resolved['task']['knobs'])}` "
             f"(preset `{config.task.preset}`)",
             f"- seed {config.seed}; `config.yaml` holds the resolved config. Rebuilding it with "
             "the same code version gives byte-identical shards (`manifest.json` lists their "
             "sha256).", "",
             f"![backtracks per row and measured difficulty]({plot})", "",
             "## Backtracks per row (requested vs achieved)", "",
             "| split | k | requested | achieved |", "|---|---|---|---|"]
    for split, entry in stats["splits"].items():
        requested = entry.get("requested_k", {})
        for k in sorted(set(requested) | set(entry["achieved_k"])):
            lines.append(f"| {split} | {k} | {requested.get(k, '-')} | "
                         f"{entry['achieved_k'].get(k, 0)} |")
    if config.traces.drops is not None:
        lines += ["", "## Dropped trace parts (requested vs achieved)", "",
                  "Dualformer's drops: `close` rows lack the dead-end lines, `costs` rows the "
                  "g/h costs, `create` rows the create lines, `all` rows the whole trace "
                  "(the answer only); the verifier checked what each row keeps.", "",
                  "| split | drop | requested | achieved |", "|---|---|---|---|"]
        for split, entry in stats["splits"].items():
            for level, requested in entry["requested_drop"].items():
                lines.append(f"| {split} | {level} | {requested} | "
                             f"{entry['achieved_drop'][level]} |")
    if config.difficulty_mix is not None:
        mix = config.difficulty_mix
        lines += ["", f"## Measured difficulty mix ({mix.metric})", "",
                  "| split | bucket | range | requested | achieved |", "|---|---|---|---|---|"]
        for split, entry in stats["splits"].items():
            for name, bucket in mix.buckets.items():
                low, high = bucket.range
                span = f"[{low:g}, {'∞' if high is None else f'{high:g}'})"
                lines.append(f"| {split} | {name} | {span} | "
                             f"{entry['requested_difficulty'][name]} | "
                             f"{entry['achieved_difficulty'][name]} |")
    lines += _corrupt_lines(plan, stats)
    lines += ["", "## Rejected candidates", "",
              "Candidates that did not become rows, by bucket and reason (surplus verified "
              "rows beyond a bucket's count are not listed).", "",
              "| bucket | reason | count |", "|---|---|---|"]
    for bucket, reasons in stats["rejections"].items():
        for reason, count in reasons.items():
            lines.append(f"| {bucket} | {reason} | {count} |")
    if not stats["rejections"]:
        lines.append("| - | none | 0 |")
    lines += ["", "## Measured difficulty", "",
              "Measured by the reference solver (depth-first search with the task's move "
              "order), whatever solver made the rows.", "",
              "| split | nodes expanded (mean / max) | guesses (mean) | branching (mean) "
              "| solution length (mean) | completion chars (mean) |",
              "|---|---|---|---|---|---|"]
    for split, entry in stats["splits"].items():
        d = entry["difficulty"]
        lines.append(f"| {split} | {d['nodes_expanded'].get('mean')} / "
                     f"{d['nodes_expanded'].get('max')} | {d['guesses'].get('mean')} | "
                     f"{d['branching'].get('mean')} | {d['solution_length'].get('mean')} | "
                     f"{entry['completion_chars'].get('mean')} |")
    lines += ["", "## Throughput", "",
              f"The rows came from {sum(b['candidates'] for b in stats['buckets'])} candidates "
              f"in {stats['rounds']} round(s). `build.json` records the run that built this "
              "folder: its wall-clock time, rows per second, workers and anything it resumed.",
              "",
              "## Limits", "",
              "- Dead-end branches are linear: each leaves the solution path at one branch "
              "point, runs to a state the rules confirm is a failure, and returns there.",
              "- Problems are deduplicated by a canonical key; train and test share none.",
              "- Difficulty is measured by the reference depth-first solver with the task's "
              "move ordering; other solvers would expand different numbers of nodes.", ""]
    return "\n".join(lines)
