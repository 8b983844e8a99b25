"""A build's steps as plain functions: plan → stage → gate → publish.

The Prefect flow (`flows.build`) runs each step as a task, with retries, logs and
artifacts; `run_build`, the library entry point, runs the same steps in a row. Either
way nothing is published that did not pass the validation gate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchtrace.config import BuildConfig
from searchtrace.errors import BuildError
from searchtrace.flows.destination import Destination, locate, publish
from searchtrace.flows.gate import GateReport, run_gate
from searchtrace.flows.versions import point_latest
from searchtrace.pipelines.driver import StagedBuild, build_staged
from searchtrace.pipelines.outdir import check_out_path, output_lock
from searchtrace.pipelines.outputs import write_run_record
from searchtrace.pipelines.plan import BuildPlan
from searchtrace.pipelines.progress import ProgressCallback
from searchtrace.pipelines.storage import Location, location, remove_tree


class GateFailed(BuildError):
    """The validation gate rejected a finished dataset: it is not published."""


@dataclass(frozen=True)
class BuildResult:
    out: Location
    rows: dict[str, int]
    seconds: float
    record: dict[str, Any]


def gate_staged(plan: BuildPlan, staged: StagedBuild, *, sample_rate: float | None = None,
                max_rejection_rate: float = 0.5) -> GateReport:
    """Hold the staged dataset to the gate's rules and to its plan; GateFailed if it
    fails (the dataset is kept in staging for inspection)."""
    report = run_gate(staged.dataset, plan=plan, sample_rate=sample_rate,
                      max_rejection_rate=max_rejection_rate, replayed=staged.replayed)
    if not report.ok:
        shown = "; ".join(f"{f.rule}: {f.message}" for f in report.failures[:3])
        more = f" (and {len(report.failures) - 3} more)" if len(report.failures) > 3 else ""
        raise GateFailed(f"validation gate failed, nothing was published: {shown}{more}; "
                         f"the dataset is kept for inspection in {staged.dataset}")
    return report


def publish_staged(plan: BuildPlan, destination: Destination, staged: StagedBuild,
                   report: GateReport, *, seconds: float, workers: int,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the run record (build.json), move the gated dataset into place, (versioned)
    move `latest` to it, and remove the staging folder; returns the run record."""
    record = write_run_record(staged.dataset, plan, seconds=seconds, workers=workers,
                              resumed_batches=staged.resumed_batches,
                              already_finished=staged.already_finished,
                              extra={**(extra or {}),
                                     "gate": {"rows": report.rows,
                                              "reverified": report.reverified}})
    publish(staged.dataset, destination.final, replace=destination.replace)
    if destination.root is not None:
        point_latest(destination.root, destination.final)
    remove_tree(destination.staging)
    return record


def run_build(
    config: BuildConfig,
    out: str | Path,
    *,
    workers: int = 1,
    beam_args: Sequence[str] = (),
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> BuildResult:
    """Build `config` into the dataset folder `out` (resuming an interrupted attempt), gate
    it and publish it: the flow's steps without orchestration (no cache, no retries).

    Every rule of the gate applies but the ceiling on rejected candidates, a cost limit
    the flow takes as an option (`--max-rejection-rate`); the library sets none."""
    out = location(out)
    check_out_path(out)
    started = time.monotonic()
    plan = BuildPlan.of(config)
    with output_lock(out):
        destination = locate(plan, out, overwrite=overwrite, reuse=False)
        staged = build_staged(plan, destination.staging, workers=workers, beam_args=beam_args,
                              progress=progress)
        report = gate_staged(plan, staged, max_rejection_rate=1.0)
        seconds = time.monotonic() - started
        record = publish_staged(plan, destination, staged, report, seconds=seconds,
                                workers=workers)
    return BuildResult(out, dict(config.splits), seconds, record)
