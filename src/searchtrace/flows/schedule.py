"""Scheduled builds: a deployment of the build flow with a cron schedule on a running
Prefect server (`prefect server start`), either served by this process until it is
interrupted (`serve_schedule`) or registered on a process work pool, whose workers run it
(`deploy_schedule`). Every scheduled run is a versioned build:
OUT/v-<build key>/, with OUT/latest moved only after the gate passes. The same config
and code give the same key, so a run with nothing changed is a cache hit and leaves
`latest` where it is; a changed config or code makes a new version.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from searchtrace.config import BuildConfig, load_config
from searchtrace.errors import UserError
from searchtrace.flows.pool import check_pool_name, ensure_process_pool, worker_command
from searchtrace.pipelines.outdir import check_out_path
from searchtrace.pipelines.storage import location

DEFAULT_API_URL = "http://127.0.0.1:4200/api"


def check_server(api_url: str) -> None:
    """A schedule needs a server that outlives this process; fail clearly without one."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=5) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        healthy = False
    if not healthy:
        raise UserError(f"no Prefect server answers at {api_url}; start one with "
                        "`prefect server start` or pass --api-url")


def check_cron(cron: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except (ValidationError, ValueError):
        raise UserError(f"--cron: not a valid cron expression: {cron!r} (five fields, e.g. "
                        "'0 3 * * *' for 03:00 every day)") from None


@dataclass(frozen=True)
class DeployedSchedule:
    """A scheduled deployment registered on a work pool."""

    deployment: str  # "<flow name>/<deployment name>"
    deployment_id: str
    work_pool: str
    created_pool: bool  # the pool did not exist before
    worker_command: str  # starts a worker that runs the scheduled builds


def _checked(config: str | Path, out: str | Path, cron: str, api_url: str) -> BuildConfig:
    """The validated config, once the output folder, the cron and the server are fine."""
    resolved = load_config(config)
    check_out_path(location(out), inputs=(Path(config),))
    check_cron(cron)
    check_server(api_url)
    return resolved


def _deployment_options(config: str | Path, out: str | Path, resolved: BuildConfig,
                        workers: int) -> dict[str, Any]:
    """What every scheduled run does: a versioned build of `config` into `out`."""
    return {
        "parameters": {"config": str(Path(config).resolve()),
                       "out": str(location(out).resolve()),
                       "versioned": True, "workers": workers},
        "description": f"searchtrace build of {resolved.name} into {out}/v-<key>, then latest",
    }


def serve_schedule(config: str | Path, out: str | Path, *, cron: str, api_url: str,
                   workers: int = 1, name: str | None = None) -> None:
    """Register the deployment and serve its runs until interrupted."""
    resolved = _checked(config, out, cron, api_url)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from searchtrace.flows.build import build_flow

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        build_flow.serve(
            name=name or resolved.name,
            cron=cron,
            print_starting_message=True,
            **_deployment_options(config, out, resolved, workers),
        )


def deploy_schedule(config: str | Path, out: str | Path, *, cron: str, api_url: str,
                    work_pool: str, workers: int = 1,
                    name: str | None = None) -> DeployedSchedule:
    """Register the deployment with its cron schedule on the process work pool
    `work_pool` (created if missing) and return at once: the server schedules the runs, a
    worker of the pool runs them. The worker imports the flow by its module path, so it
    needs searchtrace installed, and the config and OUT at the same paths."""
    check_pool_name(work_pool)
    resolved = _checked(config, out, cron, api_url)
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.types.entrypoint import EntrypointType

    from searchtrace.flows.build import build_flow

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        created = ensure_process_pool(work_pool)
        deployment = build_flow.to_deployment(
            name=name or resolved.name, cron=cron, entrypoint_type=EntrypointType.MODULE_PATH,
            **_deployment_options(config, out, resolved, workers))
        deployment_id = deployment.apply(work_pool_name=work_pool)
    return DeployedSchedule(deployment=f"{build_flow.name}/{deployment.name}",
                            deployment_id=str(deployment_id), work_pool=work_pool,
                            created_pool=created,
                            worker_command=worker_command(work_pool, api_url))
