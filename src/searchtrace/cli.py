"""The `searchtrace` command: build (as a Prefect flow), run suites, schedule, inspect,
verify and validate search-trace datasets."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from searchtrace.errors import BuildError, UserError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Build search-trace datasets with an exact number of backtracks.")
console = Console(stderr=True)


@app.callback()
def main_options(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Show Beam's and other libraries' log messages."),
) -> None:
    """Libraries log only errors by default, so errors stay one line (Beam, for one,
    warns on import about optional Google Cloud clients); Prefect's run logs show with
    --verbose (and always for `schedule`, a long-running service) and always reach the
    Prefect server. Telemetry is off."""
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    shows_runs = verbose or ctx.invoked_subcommand == "schedule"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if shows_runs else "CRITICAL")


# The validation gate's options, shared by `build` and `validate`.
SAMPLE_RATE = typer.Option(None, "--sample-rate",
                           help="Share of rows the gate re-verifies (default: all rows under "
                                "100k rows, else 0.1).")
MAX_REJECTION_RATE = typer.Option(0.5, "--max-rejection-rate",
                                  help="Gate ceiling on the share of rejected candidates.")


def _fail(message: str, code: int) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """Rich progress bars, one per (build, round) label."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=min(done, total))

        yield report


def _run_flow(run: Callable[[], Any]) -> Any:
    """Run a flow; its errors end the command with one line: 2 for bad input, 1 for a
    build that failed (an unmeetable mix, a failed gate, or retries exhausted)."""
    try:
        return run()
    except UserError as error:
        _fail(str(error), 2)
    except BuildError as error:
        _fail(str(error), 1)
    except KeyboardInterrupt:
        _fail("interrupted; run the same command again to resume where it stopped", 130)
    except Exception as error:  # after the Beam task's retries: report, don't dump
        _fail(f"build failed: {type(error).__name__}: {error}", 1)


def _beam_args(ctx: typer.Context) -> list[str]:
    bad = [a for a in ctx.args if not a.startswith("--")]
    if bad:
        _fail(f"unexpected argument {bad[0]!r}; Beam options must look like --name=value", 2)
    return list(ctx.args)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def build(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="YAML build config."),
    out: Path = typer.Option(..., "--out", help="Output dataset folder."),
    workers: int = typer.Option(1, "--workers",
                                help="Solver processes on the local runner (another "
                                     "--runner brings its own parallelism)."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing folder holding another build."),
    force: bool = typer.Option(False, "--force",
                               help="Rebuild even when the same build is already there."),
    versioned: bool = typer.Option(False, "--versioned",
                                   help="Write OUT/v-<build key>/ and move OUT/latest."),
    sample_rate: float = SAMPLE_RATE,
    max_rejection_rate: float = MAX_REJECTION_RATE,
) -> None:
    """Build a dataset as a Prefect flow: validate, plan, Beam, gate, publish. Extra
    `--flag=value` arguments go to Beam (e.g. `--runner=...`)."""
    from searchtrace.config import load_config

    beam_args = _beam_args(ctx)
    try:
        cfg = load_config(config)  # bad input fails here, before Prefect starts
        if workers < 1:
            raise UserError(f"--workers: must be at least 1, got {workers}")
    except UserError as error:
        _fail(str(error), 2)
    from searchtrace.flows.build import build_flow, reporting_progress

    started = datetime.now(UTC)
    with _progress_bars() as report, reporting_progress(report):
        manifest = _run_flow(lambda: build_flow(
            config=str(config), out=str(out), workers=workers, beam_args=beam_args,
            force=force, overwrite=overwrite, versioned=versioned, sample_rate=sample_rate,
            max_rejection_rate=max_rejection_rate))
    _report_built(out, manifest, cfg.name, versioned, started)


def _report_built(out: Path, manifest: dict[str, Any], name: str, versioned: bool,
                  started: datetime) -> None:
    """One line per dataset: where, rows, and how fast (or that it was already there)."""
    from searchtrace.flows.versions import version_folder

    folder = version_folder(out, manifest["build_key"]) if versioned else out
    record = json.loads((folder / "build.json").read_text())
    rows = Counter({split: 0 for split in manifest["shards_per_split"]})
    for entry in manifest["files"]:
        rows[entry["split"]] += entry["rows"]
    counts = ", ".join(f"{split}: {n}" for split, n in rows.items())
    how = (f"in {record['seconds']:.1f} s, {record['rows_per_second']} rows/s"
           if record["rows_per_second"] else "from an earlier attempt")
    if datetime.fromisoformat(record["finished_at"]) < started.replace(microsecond=0):
        how = f"earlier (cache hit, build key {manifest['build_key'][:12]})"
    Console().print(f"{name}: {folder} ({counts}) built {how}", highlight=False,
                    soft_wrap=True)


@app.command()
def suite(
    suite_file: Path = typer.Argument(..., help="YAML suite: a list of builds."),
    out: Path = typer.Option(..., "--out", help="Folder for the builds (OUT/<name>)."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace existing folders holding other builds."),
    force: bool = typer.Option(False, "--force", help="Rebuild builds already there."),
    versioned: bool = typer.Option(False, "--versioned",
                                   help="Write OUT/<name>/v-<build key>/ and move latest."),
) -> None:
    """Run several builds in one flow, concurrently within the machine's cores; exit 1
    naming the builds that failed (the others are published)."""
    from searchtrace.flows.build import reporting_progress
    from searchtrace.flows.suite import load_suite, run_suite

    try:
        load_suite(suite_file)
    except UserError as error:
        _fail(str(error), 2)
    started = datetime.now(UTC)
    with _progress_bars() as report, reporting_progress(report):
        manifests = _run_flow(lambda: run_suite(suite_file, out, force=force,
                                                overwrite=overwrite, versioned=versioned))
    for name, manifest in manifests.items():
        _report_built(out / name, manifest, name, versioned, started)


@app.command()
def schedule(
    config: Path = typer.Argument(..., help="YAML build config."),
    cron: str = typer.Option(..., "--cron", help="When to build, e.g. '0 3 * * *'."),
    out: Path = typer.Option(..., "--out", help="Folder of versions: OUT/v-<key>/, OUT/latest."),
    workers: int = typer.Option(1, "--workers", help="Solver processes per build."),
    api_url: str = typer.Option(None, "--api-url",
                                help="Prefect server API (default: $PREFECT_API_URL, else "
                                     "http://127.0.0.1:4200/api)."),
) -> None:
    """Serve a cron-scheduled deployment of the build against a running Prefect server
    (`prefect server start`); runs until interrupted."""
    from searchtrace.flows.schedule import DEFAULT_API_URL, serve_schedule

    url = api_url or os.environ.get("PREFECT_API_URL") or DEFAULT_API_URL
    try:
        if workers < 1:
            raise UserError(f"--workers: must be at least 1, got {workers}")
        serve_schedule(config, out, cron=cron, api_url=url, workers=workers)
    except UserError as error:
        _fail(str(error), 2)


def _open_dataset(path: Path) -> tuple[dict, list[Path]]:
    stats_path = path / "stats.json"
    if not stats_path.is_file():
        raise UserError(f"not a searchtrace dataset (no stats.json): {path}")
    files = sorted((path / "data").glob("*.parquet"))
    if not files:
        raise UserError(f"no shards under {path / 'data'}")
    return json.loads(stats_path.read_text()), files


@app.command()
def inspect(dataset: Path = typer.Argument(..., help="Dataset folder.")) -> None:
    """Summary, achieved k-mix and one rendered row."""
    import pyarrow.parquet as pq

    try:
        stats, files = _open_dataset(dataset)
    except UserError as error:
        _fail(str(error), 2)
    out = Console()
    out.print(f"[bold]{stats['name']}[/] task={stats['task']} mode={stats['k_mode']} "
              f"code={stats['versions']['code']} schema={stats['versions']['schema']}")
    table = Table("split", "rows", "k", "requested", "achieved")
    for split, entry in stats["splits"].items():
        requested = entry.get("requested_k", {})
        for k in sorted(set(requested) | set(entry["achieved_k"]), key=int):
            table.add_row(split, str(entry["rows"]), str(k), str(requested.get(k, "-")),
                          str(entry["achieved_k"].get(k, 0)))
    out.print(table)
    rejected = Counter()
    for reasons in stats["rejections"].values():
        rejected.update(reasons)
    out.print("rejected: " + (", ".join(f"{r}={n}" for r, n in rejected.most_common()) or "none"))
    record_path = dataset / "build.json"
    if record_path.is_file():
        t = json.loads(record_path.read_text())
        out.print(f"built in {t['seconds']} s ({t['rows_per_second']} rows/s, "
                  f"{t['workers']} workers)")
    first = pq.read_table(files[0]).slice(0, 1).to_pylist()
    if first:
        row = first[0]
        out.print(f"\n[bold]row {row['id']}[/] split={row['split']} "
                  f"k={row['num_backtracks']} style={row['style']}")
        out.print(f"[bold]prompt:[/] {row['prompt']}", highlight=False)
        out.print("[bold]completion:[/]")
        out.print(row["completion"], highlight=False, markup=False)


@app.command()
def verify(dataset: Path = typer.Argument(..., help="Dataset folder.")) -> None:
    """Re-verify every row from its text; exit 1 if any row fails."""
    from searchtrace.flows.gate import reverify_rows

    try:
        _open_dataset(dataset)
    except UserError as error:
        _fail(str(error), 2)
    checked, failed = reverify_rows(dataset)
    for shard, row_id, verdict in failed[:5]:
        console.print(f"{shard} row {row_id}: {verdict.code} at line {verdict.line}: "
                      f"{verdict.message}", highlight=False, markup=False)
    codes = dict(Counter(verdict.code for _, _, verdict in failed))
    Console().print(f"verified {checked} rows: {checked - len(failed)} ok, {len(failed)} failed"
                    + (f" ({codes})" if failed else ""))
    if failed:
        raise typer.Exit(1)


@app.command()
def validate(
    dataset: Path = typer.Argument(..., help="Dataset folder."),
    sample_rate: float = SAMPLE_RATE,
    max_rejection_rate: float = MAX_REJECTION_RATE,
) -> None:
    """Run the validation gate: manifest, schema, splits, exact mixes, overlap, rejection
    rate and re-verification. Exit 1 if any rule fails."""
    from searchtrace.flows.gate import run_gate

    try:
        report = run_gate(dataset, sample_rate=sample_rate,
                          max_rejection_rate=max_rejection_rate)
    except UserError as error:
        _fail(str(error), 2)
    for failure in report.failures:
        console.print(f"FAIL {failure.rule}: {failure.message}", highlight=False, markup=False)
    verdict = "passed" if report.ok else f"failed {len(report.failures)} check(s)"
    Console().print(f"gate {verdict}: {report.rows} rows, {report.reverified} re-verified")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def tasks() -> None:
    """List the registered tasks and their presets."""
    from searchtrace.registry import all_tasks

    out = Console()
    for task in all_tasks().values():
        out.print(f"[bold]{task.name}[/]: {task.description}")
        for preset, knobs in task.presets.items():
            out.print(f"  {preset}: {json.dumps(knobs)}", highlight=False)


@app.command()
def gallery(out: Path = typer.Option(Path("docs/tasks.md"), "--out",
                                     help="Where to write the gallery.")) -> None:
    """Write the task gallery (rules, knobs, presets, example traces) from the code."""
    from searchtrace.gallery import render_gallery

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_gallery())
    console.print(f"wrote {out}")


def main() -> None:
    app(prog_name="searchtrace")


if __name__ == "__main__":
    sys.exit(main())
