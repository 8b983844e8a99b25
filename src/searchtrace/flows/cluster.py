"""Beam arguments written in a file (a suite's `beam_args:`): checked before any build
starts, each problem one line, and told apart by where they run the builds: on this
machine (Beam's in-process runners, or no `--runner`) or on a cluster (Dask, Flink, Spark,
a portable job service, Dataflow), whose workers, not this machine's cores, do the work.

They are the flags `searchtrace build` passes through after the config, so a runner that
works for one build works for a suite; flags Beam does not know here pass through as they
do there (a portable runner forwards them to its job service)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from contextlib import redirect_stderr

from searchtrace.errors import UserError

FLAG = re.compile(r"^--[A-Za-z][A-Za-z0-9_]*(=.*)?$", re.DOTALL)
# runners that run the pipeline in this process or on this machine
LOCAL_RUNNERS = frozenset({"directrunner", "fnapirunner", "bundlebaseddirectrunner",
                           "switchingdirectrunner", "testdirectrunner", "prismrunner",
                           "interactiverunner"})
DASK_RUNNER = "daskrunner"
DASK_CLUSTER_FLAGS = ("--dask_client_address", "--dask_scheduler_file")


def runner_name(beam_args: Sequence[str]) -> str | None:
    """The runner the arguments name (the last `--runner=` wins, as in Beam), if any."""
    named = [a.split("=", 1)[1] for a in beam_args if a.startswith("--runner=")]
    return named[-1] if named else None


def runs_on_cluster(beam_args: Sequence[str]) -> bool:
    """True when the arguments send the pipeline to a runner off this machine."""
    name = runner_name(beam_args)
    return name is not None and _short(name) not in LOCAL_RUNNERS


def check_beam_args(beam_args: Sequence[str]) -> None:
    """A one-line UserError unless every argument is a `--name=value` (or `--flag`)
    argument, the runner is one Beam can load, the options Beam knows have valid values,
    and a Dask runner is told which cluster to use."""
    for argument in beam_args:
        if not FLAG.match(argument):
            raise UserError(f"beam_args: {argument!r} is not a Beam option; write each as "
                            "--name=value (e.g. --runner=FlinkRunner)")
    if any(a == "--runner" for a in beam_args):
        raise UserError("beam_args: --runner needs a value: --runner=NAME")
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.runner import create_runner

    name = runner_name(beam_args)
    if name is not None:
        try:
            create_runner(name)  # also registers the options of a runner's own module
        except (ValueError, ImportError, AttributeError, TypeError) as error:
            raise UserError(f"beam_args: --runner={name}: {_one_line(error)}") from None
    usage = io.StringIO()
    try:
        with redirect_stderr(usage):  # argparse prints its whole usage before exiting
            PipelineOptions(flags=list(beam_args)).get_all_options()
    except SystemExit:
        said = [line for line in usage.getvalue().splitlines() if "error:" in line]
        reason = said[-1].split("error:", 1)[1].strip() if said else "not valid"
        raise UserError(f"beam_args: {reason}") from None
    if name is not None and _short(name) == DASK_RUNNER and not any(
            a.startswith(f"{flag}=") for a in beam_args for flag in DASK_CLUSTER_FLAGS):
        raise UserError("beam_args: the DaskRunner needs --dask_client_address=tcp://HOST:PORT "
                        "(or --dask_scheduler_file=PATH); without it each build would start "
                        "its own local Dask cluster")


def _short(runner: str) -> str:
    """A runner's class name in lower case, as Beam matches it ("direct" is DirectRunner)."""
    short = runner.rsplit(".", 1)[-1].lower()
    return short if short.endswith("runner") else f"{short}runner"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
