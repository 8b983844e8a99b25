"""The build flow: validate the config → plan → the Beam build as a task → the validation
gate → publish, with Prefect artifacts of what was published.

The Beam task retries with exponential backoff on failures that can pass (a crashed worker,
a full disk freed, a lost connection to a remote runner); a bad config or a mix that
cannot be met fails at once. A retry, like a run started again after a crash, resumes in
the build's staging folder. The same build key again returns the existing dataset at
once (`force` rebuilds it). The flow's return value is the published dataset's manifest.
From the plan to the publish the flow holds the lock on its output folder; it never builds
into the current, config, root or home folder and replaces only a dataset or an empty
folder (`pipelines.outdir`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.context import get_run_context
from prefect.tasks import Task, exponential_backoff

from searchtrace.config import BuildConfig, load_config
from searchtrace.errors import BuildError, UserError
from searchtrace.flows.artifacts import publish_artifacts
from searchtrace.flows.gate import GateReport, run_gate
from searchtrace.flows.versions import LATEST, is_cached, point_latest, version_folder
from searchtrace.pipelines.build import StagedBuild, build_staged, publish, staging_folder
from searchtrace.pipelines.outdir import (
    check_out_path,
    check_replaceable,
    occupied,
    output_lock,
)
from searchtrace.pipelines.outputs import write_run_record
from searchtrace.pipelines.plan import BuildPlan

ProgressCallback = Callable[[str, int, int], None]
# Builds in any thread of this process report here; no lock: dict updates are atomic, and a
# Lock would stop Prefect from pickling the flow for its runner's subprocesses.
_progress_callbacks: dict[str, ProgressCallback] = {}


@contextmanager
def reporting_progress(callback: ProgressCallback) -> Iterator[None]:
    """Send the progress of builds run in this process to `callback(label, done, total)`,
    labels prefixed with the config's name (the CLI's progress bars)."""
    token = f"{id(callback)}"
    _progress_callbacks[token] = callback
    try:
        yield
    finally:
        del _progress_callbacks[token]


class GateFailed(BuildError):
    """The validation gate rejected a finished dataset: it is not published."""


@dataclass(frozen=True)
class Destination:
    """Where a planned build goes, and what is there already."""

    plan: BuildPlan
    final: Path  # where the dataset is published
    staging: Path
    root: Path | None  # a versioned build's folder of versions (with `latest`)
    cached: bool
    replace: bool  # `final` holds a folder this build may replace (checked again on publish)


@task(name="validate-config", cache_policy=NO_CACHE, persist_result=False)
def validate_config(config: str, overrides: dict[str, Any] | None) -> BuildConfig:
    return load_config(config, overrides)


@task(name="plan", cache_policy=NO_CACHE, persist_result=False)
def plan_build(plan: BuildPlan, out: str, *, versioned: bool, force: bool,
               overwrite: bool) -> Destination:
    """Where the build goes, whether it is already there, and what it will make."""
    logger = get_run_logger()
    config, key = plan.config, plan.key
    root = Path(out) if versioned else None
    final = final_folder(plan, out, versioned=versioned)
    if final.exists() and not final.is_dir():
        raise UserError(f"output path is not a folder: {final}")
    if root is not None and (root / "manifest.json").exists():
        raise UserError(f"{root} is a dataset folder, not a folder of versions; give "
                        "--versioned builds their own --out")
    if root is None and (final / LATEST).is_symlink():
        raise UserError(f"{final} is a folder of versions (it has `{LATEST}`); build into it "
                        "with --versioned or choose another --out")
    cached = not force and is_cached(final, key)
    replace = occupied(final) and not cached
    if replace:
        check_replaceable(final)
        if root is not None and not force:
            raise BuildError(f"version folder {final} exists but does not match its manifest; "
                             "pass --force to rebuild it")
        if root is None and not (overwrite or force):
            raise UserError(f"output folder exists and holds another build (another config, "
                            f"code or schema version): {final}; pass --overwrite to replace "
                            "it, or build with --versioned to keep both")
    staging = staging_folder(final, key)
    if force:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("build %s: key %s, %s", config.name, key[:12],
                "cache hit" if cached else f"building into {staging}")
    for bucket in plan.buckets:
        logger.info("bucket %s: %d rows", bucket.label, bucket.requested)
    return Destination(plan, final, staging, root, cached, replace)


def final_folder(plan: BuildPlan, out: str, *, versioned: bool) -> Path:
    """Where the dataset is published: `out`, or versioned, `out/v-<key>`."""
    return version_folder(Path(out), plan.key) if versioned else Path(out)


def _can_pass(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry unless the failure is the user's input or a mix that cannot be met."""
    return not isinstance(state.data, UserError | BuildError)


@task(name="beam-build", cache_policy=NO_CACHE, persist_result=False,
      retry_condition_fn=_can_pass)
def beam_build(destination: Destination, workers: int, isolate: bool,
               beam_args: Sequence[str]) -> StagedBuild:
    """Run the Beam pipeline rounds into the staging folder (resuming what is there)."""
    logger = get_run_logger()
    plan = destination.plan
    reported: dict[str, int] = {}

    def progress(label: str, done: int, total: int) -> None:
        for callback in list(_progress_callbacks.values()):
            callback(f"{plan.config.name}: {label}", done, total)
        tenth = 10 * done // max(total, 1)
        if reported.get(label) != tenth:
            reported[label] = tenth
            logger.info("%s: %d of %d candidates", label, done, total)

    staged = build_staged(plan, destination.staging, workers=workers, isolate=isolate,
                          beam_args=beam_args, progress=progress)
    if staged.already_finished:
        logger.info("an earlier attempt had finished the dataset; publishing it")
    elif staged.resumed_batches:
        logger.info("resumed: %d candidate batches were already done", staged.resumed_batches)
    return staged


@task(name="validation-gate", cache_policy=NO_CACHE, persist_result=False)
def validation_gate(plan: BuildPlan, staged: StagedBuild, sample_rate: float | None,
                    max_rejection_rate: float) -> GateReport:
    report = run_gate(staged.dataset, plan=plan, sample_rate=sample_rate,
                      max_rejection_rate=max_rejection_rate)
    if not report.ok:
        shown = "; ".join(f"{f.rule}: {f.message}" for f in report.failures[:3])
        more = f" (and {len(report.failures) - 3} more)" if len(report.failures) > 3 else ""
        raise GateFailed(f"validation gate failed, nothing was published: {shown}{more}; "
                         f"the dataset is kept for inspection in {staged.dataset}")
    get_run_logger().info("gate passed: %d rows, %d re-verified", report.rows,
                          report.reverified)
    return report


@task(name="publish", cache_policy=NO_CACHE, persist_result=False)
def publish_build(destination: Destination, staged: StagedBuild, report: GateReport, *,
                  seconds: float, workers: int) -> None:
    """Write the run record, move the dataset into place and (versioned) move `latest`."""
    context = get_run_context()
    flow_run = getattr(context.task_run, "flow_run_id", None)
    write_run_record(staged.dataset, destination.plan, seconds=seconds, workers=workers,
                     resumed_batches=staged.resumed_batches,
                     already_finished=staged.already_finished,
                     extra={"prefect_flow_run": str(flow_run) if flow_run else None,
                            "gate": {"rows": report.rows, "reverified": report.reverified}})
    publish(staged.dataset, destination.final, replace=destination.replace)
    if destination.root is not None:
        point_latest(destination.root, destination.final)
    shutil.rmtree(destination.staging, ignore_errors=True)
    get_run_logger().info("published %s", destination.final)


@flow(name="searchtrace-build", persist_result=False)
def build_flow(
    config: str,
    out: str,
    overrides: dict[str, Any] | None = None,
    workers: int = 1,
    beam_args: list[str] | None = None,
    force: bool = False,
    overwrite: bool = False,
    versioned: bool = False,
    sample_rate: float | None = None,
    max_rejection_rate: float = 0.5,
    retries: int = 2,
    retry_delay_seconds: float = 10.0,
    isolate: bool = False,
) -> dict[str, Any]:
    """Build the dataset of the YAML config `config` into `out` (versioned: into
    `out/v-<key>/`, then `out/latest`), gate it and publish it; returns its manifest."""
    started = time.monotonic()
    resolved = validate_config(config, overrides)
    check_out_path(Path(out), inputs=(Path(config),))
    plan = BuildPlan.of(resolved)
    # held from the plan to the publish: no other build sees or changes this output
    with output_lock(final_folder(plan, out, versioned=versioned)):
        destination = plan_build(plan, out, versioned=versioned, force=force,
                                 overwrite=overwrite)
        if destination.cached:
            if destination.root is not None:
                point_latest(destination.root, destination.final)
            publish_artifacts(destination.final, resolved.name, cached=True,
                              gate="passed when built")
            return _manifest(destination.final)
        staged = beam_build.with_options(
            retries=retries, retry_delay_seconds=exponential_backoff(retry_delay_seconds),
        )(destination, workers, isolate, list(beam_args or []))
        report = validation_gate(plan, staged, sample_rate, max_rejection_rate)
        publish_build(destination, staged, report, seconds=time.monotonic() - started,
                      workers=workers)
        publish_artifacts(destination.final, resolved.name, cached=False,
                          gate=f"passed ({report.reverified} of {report.rows} rows "
                               "re-verified)")
        return _manifest(destination.final)


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text())
