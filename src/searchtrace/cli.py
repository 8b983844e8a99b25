"""The `searchtrace` command: build, inspect and verify search-trace datasets."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from pathlib import Path

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
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Show Beam's and other libraries' log messages."),
) -> None:
    """Libraries log only errors by default, so errors stay one line (Beam, for one,
    warns on import about optional Google Cloud clients)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")


def _fail(message: str, code: int) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def build(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="YAML build config."),
    out: Path = typer.Option(..., "--out", help="Output dataset folder."),
    workers: int = typer.Option(1, "--workers",
                                help="Solver processes on the local runner (another "
                                     "--runner brings its own parallelism)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing folder."),
) -> None:
    """Build a dataset. Extra `--flag=value` arguments go to Beam (e.g. `--runner=...`)."""
    from searchtrace.config import load_config
    from searchtrace.pipelines.build import run_build

    beam_args = list(ctx.args)
    bad = [a for a in beam_args if not a.startswith("--")]
    try:
        if bad:
            raise UserError(f"unexpected argument {bad[0]!r}; Beam options must look like "
                            "--name=value")
        cfg = load_config(config)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            tasks: dict[str, int] = {}

            def report(label: str, done: int, total: int) -> None:
                if label not in tasks:
                    tasks[label] = bar.add_task(f"{cfg.name}: {label}", total=total)
                bar.update(tasks[label], completed=min(done, total))

            result = run_build(cfg, out, workers=workers, beam_args=beam_args,
                               overwrite=overwrite, progress=report)
    except UserError as error:
        _fail(str(error), 2)
    except BuildError as error:
        _fail(str(error), 1)
    rate = result.stats["throughput"]["rows_per_second"]
    rows = ", ".join(f"{s}: {n}" for s, n in result.rows.items())
    console.print(f"built {result.out} ({rows}) in {result.seconds:.1f} s, {rate} rows/s")


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
    t = stats["throughput"]
    out.print(f"built in {t['seconds']} s ({t['rows_per_second']} rows/s, {t['workers']} workers)")
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
    sample_rate: float = typer.Option(None, "--sample-rate",
                                      help="Share of rows to re-verify (default: all rows "
                                           "under 100k rows, else 0.1)."),
    max_rejection_rate: float = typer.Option(0.5, "--max-rejection-rate",
                                             help="Ceiling on the share of rejected "
                                                  "candidates."),
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
