"""The build flow: validate the config → plan → destination → the Beam build → the
validation gate → publish, each step a Prefect task running the step of `flows.steps`
(which `run_build` runs without Prefect), with Prefect artifacts of what was published.

The Beam task retries with exponential backoff on failures that can pass (a crashed worker,
a full disk freed, a lost connection to a remote runner); a bad config or a mix that
cannot be met fails at once. A retry, like a run started again after a crash, resumes in
the build's staging folder. The same build key again returns the existing dataset at
once (`force` rebuilds it). The flow's return value is the published dataset's manifest.
From choosing the destination to the publish the flow holds the lock on its output
folder; it never builds into the current, config, root or home folder and replaces only a
dataset or an empty folder (`pipelines.outdir`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
from searchtrace.flows.destination import Destination, final_folder, locate
from searchtrace.flows.gate import GateReport
from searchtrace.flows.steps import gate_staged, publish_staged
from searchtrace.flows.versions import point_latest
from searchtrace.pipelines.driver import StagedBuild, build_staged
from searchtrace.pipelines.outdir import check_out_path, output_lock
from searchtrace.pipelines.plan import BuildPlan
from searchtrace.pipelines.storage import Location, location

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


@task(name="validate-config", cache_policy=NO_CACHE, persist_result=False)
def validate_config(config: str, overrides: dict[str, Any] | None) -> BuildConfig:
    return load_config(config, overrides)


@task(name="plan", cache_policy=NO_CACHE, persist_result=False)
def plan_build(config: BuildConfig) -> BuildPlan:
    """What the build will make: its plan, computed once for every later step."""
    plan = BuildPlan.of(config)
    logger = get_run_logger()
    for bucket in plan.buckets:
        logger.info("bucket %s: %d rows", bucket.label, bucket.requested)
    return plan


@task(name="destination", cache_policy=NO_CACHE, persist_result=False)
def choose_destination(plan: BuildPlan, out: str, *, versioned: bool, force: bool,
                       overwrite: bool) -> Destination:
    """Where the build goes, and whether it is already there."""
    destination = locate(plan, location(out), versioned=versioned, force=force,
                         overwrite=overwrite)
    get_run_logger().info("build %s: key %s, %s", plan.config.name, plan.key[:12],
                          "cache hit" if destination.cached
                          else f"building into {destination.staging}")
    return destination


def _can_pass(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry unless the failure is the user's input or a mix that cannot be met."""
    return not isinstance(state.data, UserError | BuildError)


@task(name="beam-build", cache_policy=NO_CACHE, persist_result=False,
      retry_condition_fn=_can_pass)
def beam_build(plan: BuildPlan, destination: Destination, workers: int, isolate: bool,
               beam_args: Sequence[str]) -> StagedBuild:
    """Run the Beam pipeline rounds into the staging folder (resuming what is there)."""
    logger = get_run_logger()
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
    report = gate_staged(plan, staged, sample_rate=sample_rate,
                         max_rejection_rate=max_rejection_rate)
    get_run_logger().info("gate passed: %d rows, %d re-verified", report.rows,
                          report.reverified)
    return report


@task(name="publish", cache_policy=NO_CACHE, persist_result=False)
def publish_build(plan: BuildPlan, destination: Destination, staged: StagedBuild,
                  report: GateReport, *, seconds: float, workers: int) -> None:
    """Write the run record, move the dataset into place and (versioned) move `latest`."""
    context = get_run_context()
    flow_run = getattr(context.task_run, "flow_run_id", None)
    publish_staged(plan, destination, staged, report, seconds=seconds, workers=workers,
                   extra={"prefect_flow_run": str(flow_run) if flow_run else None})
    get_run_logger().info("published %s", destination.final)


@flow(name="searchtrace-build", persist_result=False)
def build_flow(
    config: str | BuildConfig,
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
    """Build the dataset of `config` (a YAML config file with `overrides` merged in, or a
    config its caller already validated) into `out` (versioned: into `out/v-<key>/`, then
    `out/latest`), gate it and publish it; returns its manifest."""
    started = time.monotonic()
    if isinstance(config, BuildConfig):
        resolved = config
        check_out_path(location(out))
    else:
        resolved = validate_config(config, overrides)
        check_out_path(location(out), inputs=(Path(config),))
    plan = plan_build(resolved)
    # held from choosing the destination to the publish: no other build sees or changes
    # this output
    with output_lock(final_folder(plan, location(out), versioned=versioned)):
        destination = choose_destination(plan, out, versioned=versioned, force=force,
                                         overwrite=overwrite)
        if destination.cached:
            if destination.root is not None:
                point_latest(destination.root, destination.final)
            publish_artifacts(destination.final, resolved.name, cached=True,
                              gate="passed when built")
            return _manifest(destination.final)
        staged = beam_build.with_options(
            retries=retries, retry_delay_seconds=exponential_backoff(retry_delay_seconds),
        )(plan, destination, workers, isolate, list(beam_args or []))
        report = validation_gate(plan, staged, sample_rate, max_rejection_rate)
        publish_build(plan, destination, staged, report, seconds=time.monotonic() - started,
                      workers=workers)
        publish_artifacts(destination.final, resolved.name, cached=False,
                          gate=f"passed ({report.reverified} of {report.rows} rows "
                               "re-verified)")
        return _manifest(destination.final)


def _manifest(folder: Location) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text())
