"""Prefect process work pools for scheduled builds. A deployment on a work pool lives on
the Prefect server: its cron schedule creates flow runs there, and any `prefect worker
start --pool NAME` (on a machine where searchtrace is installed) picks them up and runs
each in its own process, so nothing has to stay in the foreground between runs."""

from __future__ import annotations

import re
import shlex

from searchtrace.errors import UserError

POOL_TYPE = "process"
# Prefect forbids / % & > < and reserves names starting with "prefect"; a narrower rule
# keeps the name safe in the worker command this prints.
POOL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_pool_name(name: str) -> None:
    """A one-line UserError unless `name` is a name a process work pool can have."""
    if not POOL_NAME.match(name) or name.lower().startswith("prefect"):
        raise UserError(f"--work-pool: not a work pool name: {name!r} (1 to 100 letters, "
                        "digits, '.', '_' or '-', starting with a letter or digit; names "
                        "starting with 'prefect' are reserved)")


def ensure_process_pool(name: str) -> bool:
    """Create the process work pool `name` on the current Prefect server unless it is
    there; True when it was created. A pool of another type under that name is refused:
    its workers would not run the build in a local process."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=name, type=POOL_TYPE,
                base_job_template=ProcessWorker.get_default_base_job_template(),
                description="searchtrace scheduled builds"))
            return True
    if pool.type != POOL_TYPE:
        raise UserError(f"--work-pool: the pool {name!r} is a {pool.type!r} pool; scheduled "
                        f"builds need a {POOL_TYPE!r} pool: give another name")
    return False


def worker_command(name: str, api_url: str) -> str:
    """The shell command that starts a worker serving the pool `name` of the server at
    `api_url`."""
    return (f"PREFECT_API_URL={shlex.quote(api_url)} prefect worker start "
            f"--pool {shlex.quote(name)}")
