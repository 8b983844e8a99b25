"""The `searchtrace` command: build (as a Prefect flow), run suites, schedule, inspect,
verify, validate and export search-trace datasets."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from searchtrace.errors import BuildError, UserError
from searchtrace.solvers.policy import PolicyError, ServerLimits

console = Console(stderr=True)
VERBOSE: ContextVar[bool] = ContextVar("verbose", default=False)  # this invocation's --verbose


def _say(text: str | Text, *, error: bool = False) -> None:
    """Print `text` literally on stdout (stderr with `error`): names, paths and messages
    from configs, datasets and servers are never read as Rich markup."""
    (console if error else Console()).print(text, markup=False, highlight=False,
                                            soft_wrap=True)


def _fail(message: str, code: int) -> NoReturn:
    """End the command with `error: MESSAGE` on one line of stderr and exit `code`."""
    one_line = "; ".join(line.strip() for line in message.splitlines() if line.strip())
    _say(Text.assemble(("error:", "bold red"), " ", one_line), error=True)
    raise typer.Exit(code)


class _OneLineErrors(TyperGroup):
    """The last line of defence of every command: an error no command mapped still ends
    as one line (exit 2 for bad input, 1 otherwise), never a traceback; `--verbose`
    shows the traceback of an unexpected one."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except UserError as error:
            _fail(str(error), 2)
        except (BuildError, PolicyError) as error:
            _fail(str(error), 1)
        except OSError as error:
            _fail(_os_error(error), 1)
        except Exception as error:
            if VERBOSE.get():
                raise
            _fail(f"internal error: {type(error).__name__}: {error} (--verbose shows where)",
                  1)


def _os_error(error: OSError) -> str:
    """An operating-system error as a person reads it: what failed, and on which file."""
    where = f": {error.filename}" if error.filename else ""
    return f"{error.strerror or error}{where}"


app = typer.Typer(cls=_OneLineErrors, add_completion=False, no_args_is_help=True,
                  help="Build search-trace datasets with an exact number of backtracks.")


@app.callback()
def main_options(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Show Beam's and other libraries' log messages."),
) -> None:
    """Libraries log only errors by default, so errors stay one line (Beam, for one,
    warns on import about optional Google Cloud clients); Prefect's run logs show with
    --verbose (and always for `schedule`, a long-running service) and always reach the
    Prefect server. Beam's own report of a failed step (a traceback, logged before the
    failure reaches us) shows only with --verbose: the command says what failed in one
    line. Telemetry is off. Prefect's ephemeral server (started by a build without
    $PREFECT_API_URL) gets 120 s to start instead of 20, enough on a busy machine."""
    VERBOSE.set(verbose)
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    shows_runs = verbose or ctx.invoked_subcommand == "schedule"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if shows_runs else "CRITICAL")


PREFECT_HOME_PROBE_BYTES = 1 << 20

# The validation gate's options, shared by `build` and `validate`.
SAMPLE_RATE = typer.Option(None, "--sample-rate",
                           help="Share of rows the gate re-verifies (default: all rows under "
                                "100k rows, else 0.1).")
MAX_REJECTION_RATE = typer.Option(0.5, "--max-rejection-rate",
                                  help="Gate ceiling on the share of rejected candidates.")


PROGRESS_LINE_SECONDS = 30.0  # off a terminal, at most one progress line per label this often


def progress_lines(write: Callable[[str], None], clock: Callable[[], float] = time.monotonic,
                   every: float = PROGRESS_LINE_SECONDS) -> Callable[[str, int, int], None]:
    """A progress reporter for logs (no terminal, so no bars): a (build, round) label that
    runs longer than `every` seconds gets a line every `every` seconds and one when it is
    done, so a long build piped to a file shows that it is alive and how far it got, while
    a short one (or a failure's one-line error) prints nothing more."""
    started: dict[str, float] = {}
    last_line: dict[str, float] = {}
    finished: set[str] = set()

    def line(label: str, done: int, total: int, now: float) -> None:
        share = min(done, total) / total if total else 1.0
        write(f"{label}: {min(done, total):,}/{total:,} candidates ({share:.0%}) "
              f"after {now - started[label]:.0f} s")

    def report(label: str, done: int, total: int) -> None:
        if label in finished:
            return
        now = clock()
        started.setdefault(label, now)
        if done >= total:
            finished.add(label)
            if label in last_line:
                line(label, done, total, now)
        elif now >= last_line.get(label, started[label]) + every:
            last_line[label] = now
            line(label, done, total, now)

    return report


@contextmanager
def _progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """Rich progress bars, one per (build, round) label, on a terminal; off a terminal,
    plain progress lines on stderr (the labels, which hold the config's name, are literal
    text)."""
    if not console.is_terminal:
        yield progress_lines(lambda line: print(line, file=sys.stderr, flush=True))
        return
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=min(done, total))

        yield report


def _start_prefect() -> None:
    """Start Prefect's ephemeral server (unless a server URL is set) before the flow does,
    so that failing to is one line. It keeps its SQLite database under PREFECT_HOME: a
    full or read-only disk there is found by writing 1 MiB first, not after the server's
    start-up timeout. The server is a child process that inherits our stderr, where its
    own errors would print hundreds of lines (a full disk's tracebacks, once per start-up
    attempt): it gets /dev/null instead, unless --verbose."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.api.url or not settings.server.ephemeral.enabled:
        return
    home = Path(settings.home)
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home) as probe:
            probe.write(bytes(PREFECT_HOME_PROBE_BYTES))
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        _fail(f"Prefect cannot write its database under {home} (PREFECT_HOME): "
              f"{error.strerror}; free space there or point PREFECT_HOME at another folder", 1)
    try:
        with _stderr_to(None if VERBOSE.get() else os.devnull):
            SubprocessASGIServer().start()
    except RuntimeError as error:
        _fail(f"Prefect's temporary server did not start ({_first_line(error)}); check that "
              f"{home} (PREFECT_HOME) is writable with free space; --verbose shows its log", 1)


@contextmanager
def _stderr_to(path: str | None) -> Iterator[None]:
    """File descriptor 2, which child processes inherit, pointed at `path` meanwhile
    (None: left as it is)."""
    if path is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    target = os.open(path, os.O_WRONLY)
    try:
        os.dup2(target, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def _at_line(line: int | None) -> str:
    return "" if line is None else f" at line {line}"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _run_flow(run: Callable[[], Any]) -> Any:
    """Run a flow; its errors end the command with one line: 2 for bad input, 1 for a
    build that failed (an unmeetable mix, a failed gate, or retries exhausted) or a
    Prefect that cannot keep its records."""
    _start_prefect()
    try:
        return run()
    except UserError as error:
        _fail(str(error), 2)
    except BuildError as error:
        _fail(str(error), 1)
    except PolicyError as error:
        _fail(f"{error}; nothing was published (run again to resume)", 1)
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
    out: str = typer.Option(..., "--out", help="Output dataset folder: a local path, "
                            "s3://BUCKET/PREFIX or gs://BUCKET/PREFIX (the cloud extra)."),
    workers: int = typer.Option(1, "--workers",
                                help="Worker processes: above 1, a local Dask cluster "
                                     "runs the build (another --runner brings its own "
                                     "parallelism)."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing folder holding another "
                                        "searchtrace dataset (never any other folder)."),
    force: bool = typer.Option(False, "--force",
                               help="Rebuild even when the same build is already there."),
    versioned: bool = typer.Option(False, "--versioned",
                                   help="Write OUT/v-<build key>/ and move OUT/latest."),
    sample_rate: float = SAMPLE_RATE,
    max_rejection_rate: float = MAX_REJECTION_RATE,
    retries: int = typer.Option(2, "--retries",
                                help="Times the Beam task is retried after a failure that "
                                     "can pass (a crashed worker, a policy server down); "
                                     "each retry resumes."),
) -> None:
    """Build a dataset as a Prefect flow: validate, plan, Beam, gate, publish. Extra
    `--flag=value` arguments go to Beam (e.g. `--runner=...`)."""
    from searchtrace.config import load_config
    from searchtrace.pipelines.outdir import check_out_path
    from searchtrace.pipelines.storage import location

    beam_args = _beam_args(ctx)
    try:
        cfg = load_config(config)  # bad input fails here, before Prefect starts
        target = location(out)
        check_out_path(target, inputs=(config,))
        if workers < 1:
            raise UserError(f"--workers: must be at least 1, got {workers}")
        if retries < 0:
            raise UserError(f"--retries: must be 0 or more, got {retries}")
    except UserError as error:
        _fail(str(error), 2)
    except BuildError as error:
        _fail(str(error), 1)
    started = datetime.now(UTC)
    if not (force or versioned) and _is_cached(target, cfg):
        # Answered here, without starting Prefect's ephemeral server (~10 s); the flow gives
        # the same answer when called from Python or a schedule.
        _report_built(target, json.loads((target / "manifest.json").read_text()), cfg.name,
                      False, started)
        return
    from searchtrace.flows.build import build_flow, reporting_progress

    with _progress_bars() as report, reporting_progress(report):
        manifest = _run_flow(lambda: build_flow(
            config=cfg, out=str(target), workers=workers, beam_args=beam_args,
            force=force, overwrite=overwrite, versioned=versioned, sample_rate=sample_rate,
            max_rejection_rate=max_rejection_rate, retries=retries))
    _report_built(target, manifest, cfg.name, versioned, started)


def _is_cached(out: Any, config: Any) -> bool:
    from searchtrace.flows.versions import is_cached
    from searchtrace.pipelines.plan import BuildPlan

    return is_cached(out, BuildPlan.of(config).key)


def _report_built(out: Any, manifest: dict[str, Any], name: str, versioned: bool,
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
    _say(f"{name}: {folder} ({counts}) built {how}")


@app.command()
def suite(
    suite_file: Path = typer.Argument(..., help="YAML suite: a list of builds."),
    out: str = typer.Option(..., "--out", help="Folder for the builds (OUT/<name>): a "
                            "local path, s3://BUCKET/PREFIX or gs://BUCKET/PREFIX."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace existing folders holding other "
                                        "searchtrace datasets (never any other folder)."),
    force: bool = typer.Option(False, "--force", help="Rebuild builds already there."),
    versioned: bool = typer.Option(False, "--versioned",
                                   help="Write OUT/<name>/v-<build key>/ and move latest."),
) -> None:
    """Run several builds in one flow, concurrently within the machine's cores (or all at
    once on the cluster the suite's `beam_args:` name); exit 1 naming the builds that
    failed (the others are published)."""
    from searchtrace.flows.build import reporting_progress
    from searchtrace.flows.suite import load_suite, run_suite
    from searchtrace.pipelines.outdir import check_out_path
    from searchtrace.pipelines.storage import location

    try:
        load_suite(suite_file)
        target = location(out)
        check_out_path(target, inputs=(suite_file,))
    except UserError as error:
        _fail(str(error), 2)
    except BuildError as error:
        _fail(str(error), 1)
    started = datetime.now(UTC)
    with _progress_bars() as report, reporting_progress(report):
        manifests = _run_flow(lambda: run_suite(suite_file, target, force=force,
                                                overwrite=overwrite, versioned=versioned))
    for name, manifest in manifests.items():
        _report_built(target / name, manifest, name, versioned, started)


@app.command()
def schedule(
    config: Path = typer.Argument(..., help="YAML build config."),
    cron: str = typer.Option(..., "--cron", help="When to build, e.g. '0 3 * * *'."),
    out: str = typer.Option(..., "--out", help="Folder of versions: OUT/v-<key>/, OUT/latest "
                            "(a local path, s3:// or gs://)."),
    workers: int = typer.Option(1, "--workers", help="Worker processes per build."),
    api_url: str = typer.Option(None, "--api-url",
                                help="Prefect server API (default: $PREFECT_API_URL, else "
                                     "http://127.0.0.1:4200/api)."),
    work_pool: str = typer.Option(None, "--work-pool",
                                  help="Register the schedule on this Prefect process work "
                                       "pool (created if missing) and return; `prefect "
                                       "worker start --pool NAME` runs the builds."),
) -> None:
    """Schedule builds on a running Prefect server (`prefect server start`): serve the
    cron-scheduled deployment until interrupted, or with --work-pool register it on a work
    pool and return at once."""
    from searchtrace.flows.schedule import DEFAULT_API_URL, deploy_schedule, serve_schedule

    url = api_url or os.environ.get("PREFECT_API_URL") or DEFAULT_API_URL
    try:
        if workers < 1:
            raise UserError(f"--workers: must be at least 1, got {workers}")
        if work_pool is None:
            serve_schedule(config, out, cron=cron, api_url=url, workers=workers)
            return
        deployed = deploy_schedule(config, out, cron=cron, api_url=url, workers=workers,
                                   work_pool=work_pool)
    except UserError as error:
        _fail(str(error), 2)
    pool = "created" if deployed.created_pool else "existing"
    _say(f"scheduled {deployed.deployment} ({cron}) on the {pool} process work pool "
         f"{deployed.work_pool!r} of {url}; start a worker to run its builds:")
    _say(f"  {deployed.worker_command}")


def _open_dataset(path: Any) -> tuple[Any, list[Any]]:
    stats_path = path / "stats.json"
    if not stats_path.is_file():
        raise UserError(f"not a searchtrace dataset (no stats.json): {path}")
    files = sorted((path / "data").glob("*.parquet"))
    if not files:
        raise UserError(f"no shards under {path / 'data'}")
    return stats_path, files


@app.command()
def inspect(dataset: str = typer.Argument(..., help="Dataset folder (a path, s3:// or "
                                                   "gs://).")) -> None:
    """Summary, achieved k-mix and one rendered row."""
    from searchtrace.flows.gate import check_dataset
    from searchtrace.pipelines.storage import is_remote, location, read_table

    try:
        folder = location(dataset)
        if is_remote(folder):
            check_dataset(folder)
        stats_path, files = _open_dataset(folder)
    except UserError as error:
        _fail(str(error), 2)
    try:
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
        table, rejected = _mix_table(stats)
        first = read_table(files[0]).slice(0, 1).to_pylist()
        record_path = folder / "build.json"
        record = json.loads(record_path.read_text()) if record_path.is_file() else None
        versions = stats["versions"]
        _say(Text.assemble((str(stats["name"]), "bold"), f" task={stats['task']} mode="
                           f"{stats['k_mode']} code={versions['code']} "
                           f"schema={versions['schema']}"))
        Console().print(table)
        _say("rejected: " + (", ".join(f"{r}={n}" for r, n in rejected.most_common())
                             or "none"))
        for split, entry in stats["splits"].items():
            if "corrupted" in entry:  # a corrupted-content control
                done = entry["corrupted"]
                kinds = ", ".join(f"{k}={n}" for k, n in done["kinds"].items()) or "none"
                _say(f"corrupted {split}: {done['achieved']} of {entry['rows']} rows "
                     f"(requested {done['requested']}; kinds: {kinds})")
        if record is not None:
            _say(f"built in {record['seconds']} s ({record['rows_per_second']} rows/s, "
                 f"{record['workers']} workers)")
        if first:
            row = first[0]
            _say(Text.assemble("\n", (f"row {row['id']}", "bold"), f" split={row['split']} "
                               f"k={row['num_backtracks']} style={row['style']}"))
            _say(Text.assemble(("prompt:", "bold"), f" {row['prompt']}"))
            _say(Text("completion:", "bold"))
            _say(row["completion"])
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        _fail(f"{dataset} cannot be shown ({type(error).__name__}: {error}); "
              "`searchtrace validate` names what is wrong", 1)


def _mix_table(stats: dict[str, Any]) -> tuple[Table, Counter[str]]:
    """stats.json's requested and achieved k-mix per split (cells are literal text, not
    markup), and the rejections by reason."""
    table = Table("split", "rows", "k", "requested", "achieved")
    for split, entry in stats["splits"].items():
        requested = entry.get("requested_k", {})
        for k in sorted(set(requested) | set(entry["achieved_k"]), key=int):
            table.add_row(*(Text(str(cell)) for cell in (
                split, entry["rows"], k, requested.get(k, "-"), entry["achieved_k"].get(k, 0))))
    rejected: Counter[str] = Counter()
    for reasons in stats["rejections"].values():
        rejected.update(reasons)
    return table, rejected


@app.command()
def verify(dataset: str = typer.Argument(..., help="Dataset folder (a path, s3:// or "
                                                  "gs://).")) -> None:
    """Re-verify every row from its text; exit 1 if any row fails or a shard cannot be
    read (each named on one line)."""
    from searchtrace.flows.gate import check_dataset, reverify_rows
    from searchtrace.pipelines.storage import location

    try:
        folder = location(dataset)
        check_dataset(folder)
    except UserError as error:
        _fail(str(error), 2)
    result = reverify_rows(folder)
    for failure in result.unreadable:
        _say(f"FAIL {failure.rule}: {failure.message}", error=True)
    for shard, row_id, verdict in result.failed[:5]:
        _say(f"{shard} row {row_id}: {verdict.code}{_at_line(verdict.line)}: "
             f"{verdict.message}", error=True)
    if not (result.checked or result.unreadable):
        _fail(f"no rows to verify under {folder / 'data'}", 1)
    failed = len(result.failed)
    codes = dict(Counter(verdict.code for _, _, verdict in result.failed))
    _say(f"verified {result.checked} rows: {result.checked - failed} ok, {failed} failed"
         + (f" ({codes})" if failed else "")
         + (f"; {len(result.unreadable)} shard(s) unreadable" if result.unreadable else ""))
    if failed or result.unreadable:
        raise typer.Exit(1)


@app.command()
def validate(
    dataset: str = typer.Argument(..., help="Dataset folder (a path, s3:// or gs://)."),
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
        _say(f"FAIL {failure.rule}: {failure.message}", error=True)
    verdict = "passed" if report.ok else f"failed {len(report.failures)} check(s)"
    _say(f"gate {verdict}: {report.rows} rows, {report.reverified} re-verified")
    if not report.ok:
        raise typer.Exit(1)


@app.command("export")
def export_command(
    dataset: str = typer.Argument(..., help="Published dataset folder (a path, s3:// or "
                                            "gs://)."),
    out: Path = typer.Option(..., "--out", help="Folder for the exported files."),
    fmt: str = typer.Option(..., "--format", help="verl (RL Parquet), openrlhf (prompt JSONL "
                            "with labels) or jsonl (every column)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier export."),
) -> None:
    """Write a dataset in the layout veRL or OpenRLHF reads, or as plain JSONL; the
    rewards for those trainers are in `searchtrace.rewards`."""
    from searchtrace.export import export

    try:
        counts = export(dataset, out, fmt, overwrite=overwrite)
    except UserError as error:
        _fail(str(error), 2)
    rows = ", ".join(f"{split} {n}" for split, n in counts.items())
    _say(f"exported {sum(counts.values())} rows ({rows}) as {fmt} to {out}")


@app.command()
def tasks() -> None:
    """List the registered tasks and their presets."""
    from searchtrace.tasks import all_tasks

    for task in all_tasks().values():
        _say(Text.assemble((task.name, "bold"), f": {task.description}"))
        for preset, knobs in task.presets.items():
            _say(f"  {preset}: {json.dumps(knobs)}")


@app.command()
def gallery(out: Path = typer.Option(Path("docs/tasks.md"), "--out",
                                     help="Where to write the gallery.")) -> None:
    """Write the task gallery (rules, knobs, presets, example traces) from the code."""
    from searchtrace.gallery import render_gallery

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_gallery())
    _say(f"wrote {out}", error=True)


@app.command("serve-policy")
def serve_policy_command(
    checkpoint: str = typer.Argument(..., help="Local Hugging Face model folder (config.json, "
                                               "weights, tokenizer)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on (0: a free one)."),
    device: str = typer.Option("auto", "--device",
                               help="auto (the GPU if there is one, else the CPU), cpu, "
                                    "cuda, cuda:1, ..."),
    batch_prompts: int = typer.Option(64, "--batch-prompts",
                                      help="Prompts sampled together in one generate call."),
    served_model_name: str = typer.Option(None, "--served-model-name",
                                          help="The model id clients name and /v1/models "
                                               "lists (default: CHECKPOINT as given)."),
    api_key: str = typer.Option(None, "--api-key", envvar="SEARCHTRACE_POLICY_API_KEY",
                                show_default=False,
                                help="Require `Authorization: Bearer KEY` on every request "
                                     "but /health (the environment variable keeps it out "
                                     "of the process list)."),
    allowed_host: list[str] = typer.Option(None, "--allowed-host",
                                           help="Another name clients may give in the Host "
                                                "header (repeatable). localhost, loopback "
                                                "addresses and the bound address always "
                                                "work; any IP address too when bound to "
                                                "0.0.0.0 or ::."),
    max_body_mb: int = typer.Option(ServerLimits.max_body_mb, "--max-body-mb",
                                    help="Largest request body, MiB."),
    max_prompts: int = typer.Option(ServerLimits.max_prompts, "--max-prompts",
                                    help="Most prompts a request."),
    max_prompt_chars: int = typer.Option(ServerLimits.max_prompt_chars, "--max-prompt-chars",
                                         help="Longest prompt, in characters."),
    max_n: int = typer.Option(ServerLimits.max_n, "--max-n", help="Most samples a prompt (`n`)."),
    max_tokens: int = typer.Option(ServerLimits.max_tokens, "--max-tokens",
                                   help="Largest `max_tokens` a request may ask."),
    max_stop_strings: int = typer.Option(ServerLimits.max_stop_strings, "--max-stop-strings",
                                         help="Most stop strings a request."),
    max_stop_chars: int = typer.Option(ServerLimits.max_stop_chars, "--max-stop-chars",
                                       help="Longest stop string, in characters."),
) -> None:
    """Serve a checkpoint as an OpenAI-compatible completions server (/v1/completions,
    /v1/models, /health) for the http policy backend where vLLM cannot run, e.g. on a
    CPU; runs until interrupted. Nothing is downloaded. Requests past the limits, with a
    body that is not JSON, a Host header naming another host, or (with --api-key) without
    the key get a 4xx and the server keeps serving."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from searchtrace.solvers.policy_server import serve_policy

    try:
        limits = ServerLimits(
            max_body_mb=max_body_mb, max_prompts=max_prompts,
            max_prompt_chars=max_prompt_chars, max_n=max_n, max_tokens=max_tokens,
            max_stop_strings=max_stop_strings, max_stop_chars=max_stop_chars)
        serve_policy(checkpoint, host, port, device=device, batch_prompts=batch_prompts,
                     served_model_name=served_model_name, limits=limits, api_key=api_key,
                     allowed_hosts=allowed_host or ())
    except UserError as error:
        _fail(str(error), 2)


train_app = typer.Typer(no_args_is_help=True,
                        help="Train from produced shards: SFT, then RL (needs the train extra).")
experiment_app = typer.Typer(no_args_is_help=True, help="Experiments over built datasets.")
app.add_typer(train_app, name="train")
app.add_typer(experiment_app, name="experiment")

K_FILTER = typer.Option(None, "--k", help="Keep rows with this many backtracks (repeatable).")
TASK_FILTER = typer.Option(None, "--task", help="Keep rows of this task.")
NODES_FILTER = typer.Option(None, "--max-nodes",
                            help="Keep rows whose measured difficulty (nodes expanded) is at "
                                 "most this.")
LIMIT = typer.Option(None, "--limit", help="Use at most this many rows.")
SEED = typer.Option(0, "--seed", help="Seed for initialisation, data order and sampling.")


@contextmanager
def _trainer_errors() -> Iterator[None]:
    """Nothing is downloaded; a missing extra or bad input is one line, exit 2."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    # TRL 1.16 calls transformers APIs that transformers 5 renamed; not the user's concern.
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    try:
        import torch  # noqa: F401
        import trl  # noqa: F401
    except ImportError:
        _fail("the trainer needs the train extra: pip install torch==2.13.0 && "
              "pip install -e '.[train]'", 2)
    try:
        yield
    except UserError as error:
        _fail(str(error), 2)


def _row_filter(k: list[int] | None, task: str | None, max_nodes: int | None,
                limit: int | None) -> Any:
    from searchtrace.trainer.data import RowFilter, parse_k

    return RowFilter(k=parse_k(k), task=task, max_nodes_expanded=max_nodes, limit=limit)


@train_app.command("sft")
def train_sft(
    data: Path = typer.Option(..., "--data", help="Dataset folder (its train split)."),
    model: str = typer.Option("tiny", "--model",
                              help="`tiny` (built from scratch) or a local model folder."),
    out: Path = typer.Option(..., "--out", help="Run folder: checkpoints, then the model."),
    size: str = typer.Option("1m", "--size", help="Size of `tiny`: 1m, 10m or 100m."),
    epochs: float = typer.Option(3.0, "--epochs"),
    learning_rate: float = typer.Option(3e-3, "--learning-rate"),
    batch_size: int = typer.Option(16, "--batch-size"),
    max_length: int = typer.Option(512, "--max-length", help="Longest sequence in tokens."),
    seed: int = SEED,
    k: list[int] = K_FILTER,
    task: str = TASK_FILTER,
    max_nodes: int = NODES_FILTER,
    limit: int = LIMIT,
) -> None:
    """Supervised fine-tuning on prompt/completion rows (loss on the completion only)."""
    with _trainer_errors():
        from searchtrace.trainer.sft import SftSettings, run_sft

        settings = SftSettings(epochs=epochs, learning_rate=learning_rate,
                               batch_size=batch_size, max_length=max_length, size=size,
                               seed=seed)
        record = run_sft(data, model, out, settings, _row_filter(k, task, max_nodes, limit))
    losses = record["losses"]
    _say(f"SFT: {record['rows']} rows, {record['steps']} steps, loss "
         f"{losses[0]:.3f} -> {losses[-1]:.3f}; model in {out}")


@train_app.command("rl")
def train_rl(
    data: Path = typer.Option(..., "--data", help="Dataset folder (its train prompts)."),
    model: str = typer.Option(..., "--model", help="A trained checkpoint (e.g. an SFT run)."),
    out: Path = typer.Option(..., "--out", help="Run folder: checkpoints, then the model."),
    steps: int = typer.Option(30, "--steps"),
    learning_rate: float = typer.Option(5e-5, "--learning-rate"),
    batch_size: int = typer.Option(16, "--batch-size",
                                   help="Completions per step (prompts x generations)."),
    num_generations: int = typer.Option(4, "--num-generations",
                                        help="Completions per prompt (the GRPO group)."),
    max_completion_length: int = typer.Option(256, "--max-completion-length"),
    step_validity: bool = typer.Option(True, "--step-validity/--no-step-validity",
                                       help="Reward the fraction of legal steps too."),
    seed: int = SEED,
    k: list[int] = K_FILTER,
    task: str = TASK_FILTER,
    max_nodes: int = NODES_FILTER,
    limit: int = LIMIT,
) -> None:
    """GRPO with the verifiers as rewards: answer correct, format, step validity."""
    with _trainer_errors():
        from searchtrace.trainer.rl import RlSettings, run_rl

        settings = RlSettings(steps=steps, learning_rate=learning_rate, batch_size=batch_size,
                              num_generations=num_generations,
                              max_completion_length=max_completion_length,
                              step_validity=step_validity, seed=seed)
        record = run_rl(data, model, out, settings, _row_filter(k, task, max_nodes, limit))
    rewards = record["reward"]
    _say(f"RL: {record['steps']} steps, mean reward {rewards[0]:.3f} -> "
         f"{rewards[-1]:.3f}; model in {out}")


@app.command("eval")
def eval_command(
    model: Path = typer.Option(..., "--model", help="A trained model folder."),
    data: Path = typer.Option(..., "--data", help="Dataset folder."),
    split: str = typer.Option("test", "--split"),
    limit: int = typer.Option(200, "--limit", help="Evaluate at most this many problems."),
    max_new_tokens: int = typer.Option(320, "--max-new-tokens",
                                       help="Greedy mode: the longest completion."),
    out: Path = typer.Option(None, "--out", help="Report folder (default: MODEL/eval-SPLIT)."),
    samples: int = typer.Option(None, "--samples",
                                help="Compute-matched mode: parallel samples per budget (N)."),
    budget: list[int] = typer.Option(None, "--budget",
                                     help="Compute-matched mode: a token budget per problem "
                                          "(repeatable); needs --samples."),
    seed: int = typer.Option(0, "--seed", help="Compute-matched mode: sampling seed."),
    temperature: float = typer.Option(1.0, "--temperature",
                                      help="Compute-matched mode: sampling temperature."),
    top_p: float = typer.Option(1.0, "--top-p", help="Compute-matched mode: nucleus mass."),
) -> None:
    """Accuracy on a split by the verifiers, and how the outputs behave (backtracks, legal
    steps, length, parse failures): eval.json and eval.md. With --samples and --budget:
    sequential (one sample of B tokens) against parallel (N samples of B/N) accuracy at
    each budget, with pass@k: eval.json, eval.md and eval.png."""
    if (samples is None) != (not budget):
        raise UserError("--samples and --budget go together: give both for the "
                        "compute-matched evaluation, or neither for greedy accuracy")
    with _trainer_errors():
        from searchtrace.trainer.data import RowFilter, load_split
        from searchtrace.trainer.models import load_model

        folder = out or model / f"eval-{split}"
        about = {"model": str(model), "data": str(data), "split": split}
        if budget:
            _compute_matched(model, data, split, limit, folder, about, samples, budget, seed,
                             temperature, top_p)
            return
        from searchtrace.trainer.evaluate import evaluate_rows, write_report

        rows = load_split(data, split, RowFilter(limit=limit))
        network, tokenizer = load_model(str(model))
        summary, judged = evaluate_rows(network, tokenizer, rows, max_new_tokens=max_new_tokens)
        write_report(folder, summary, judged, about)
    _say(summary.table() + f"\nreport: {folder}/eval.md")


def _compute_matched(model: Path, data: Path, split: str, limit: int, folder: Path,
                     about: dict[str, Any], samples: int, budgets: list[int], seed: int,
                     temperature: float, top_p: float) -> None:
    """`eval --samples N --budget B...`: settings checked before anything is loaded."""
    from searchtrace.trainer.compute_matched import (
        SamplingSettings,
        evaluate_compute_matched,
        report_table,
        sample_requests,
        write_compute_matched_report,
    )
    from searchtrace.trainer.data import RowFilter, load_split
    from searchtrace.trainer.models import load_model

    settings = SamplingSettings(samples=samples, budgets=tuple(sorted(set(budgets))), seed=seed,
                                temperature=temperature, top_p=top_p)
    rows = load_split(data, split, RowFilter(limit=limit))
    network, tokenizer = load_model(str(model))

    def generate(requests: list[Any], **sampling: Any) -> list[list[Any]]:
        return sample_requests(network, tokenizer, requests, **sampling)

    results, problems = evaluate_compute_matched(rows, settings, generate)
    drawn = write_compute_matched_report(folder, results, problems,
                                         {**about, **asdict(settings)})
    plot = f"plot: {folder}/eval.png" if drawn else "no plot (matplotlib is not installed)"
    _say(report_table(results) + f"report: {folder}/eval.md, {plot}")


@experiment_app.command("backtrack-sweep")
def backtrack_sweep_command(
    config: Path = typer.Argument(..., help="YAML sweep config."),
    out: Path = typer.Option(..., "--out", help="Folder for data, runs, evals and results."),
) -> None:
    """Build a dataset per arm (k, and optionally difficulty bucket and control corpus),
    SFT a model on each, evaluate, RL, evaluate again; write results.csv, results.json,
    results.md and results.png (and results-budget.png with compute_matched)."""
    with _trainer_errors():
        from searchtrace.trainer.experiment import backtrack_sweep, load_sweep

        load_sweep(config)
        results = _run_flow(lambda: backtrack_sweep(config, out))
    _say((out / "results.md").read_text())
    _say(f"{len(results)} result rows (one per arm and test set); plot: {out / 'results.png'}"
         + (f", {out / 'results-budget.png'}" if (out / "results-budget.png").is_file() else ""))


def main() -> None:
    app(prog_name="searchtrace")


if __name__ == "__main__":
    sys.exit(main())
