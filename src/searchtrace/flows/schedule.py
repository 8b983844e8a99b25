"""Scheduled builds: serve the build flow as a deployment with a cron schedule against a
running Prefect server (`prefect server start`). Every scheduled run is a versioned build:
OUT/v-<build key>/, with OUT/latest moved only after the gate passes. The same config
and code give the same key, so a run with nothing changed is a cache hit and leaves
`latest` where it is; a changed config or code makes a new version.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from pydantic import ValidationError

from searchtrace.config import load_config
from searchtrace.errors import UserError
from searchtrace.pipelines.outdir import check_out_path

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


def serve_schedule(config: str | Path, out: str | Path, *, cron: str, api_url: str,
                   workers: int = 1, name: str | None = None) -> None:
    """Register the deployment and serve its runs until interrupted."""
    resolved = load_config(config)
    check_out_path(Path(out), inputs=(Path(config),))
    check_cron(cron)
    check_server(api_url)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from searchtrace.flows.build import build_flow

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        build_flow.serve(
            name=name or resolved.name,
            cron=cron,
            parameters={"config": str(Path(config).resolve()), "out": str(Path(out).resolve()),
                        "versioned": True, "workers": workers},
            description=f"searchtrace build of {resolved.name} into {out}/v-<key>, "
                        "then latest",
            print_starting_message=True,
        )
