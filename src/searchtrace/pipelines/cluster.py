"""Runner flags: the in-process FnApiRunner by default, a local Dask cluster for
`--workers N`, and Dask partitioning that spreads each run's work over the workers.

`--workers N` runs the same pipeline as a cluster build: Beam's DaskRunner on a Dask
cluster of N worker processes (one thread each) that this process starts for the build and
stops after it. The worker processes are forked from the driver, so they start with every
module already imported (the cluster is up in under a second, where spawned workers would
each import Beam and the tasks again, about 2 s); where fork is unavailable they are
spawned. The objects the driver holds when it forks are frozen out of the garbage collector
first, so a worker's collections neither scan them nor copy the pages they sit on.

The cluster's own upkeep is cut to what a short local build needs (`QUIET_CLUSTER`): no
statistical profiler (it samples the solvers' deep stacks every 10 ms), no memory
monitoring, spilling or work stealing, and the event-loop health tick and system monitor
every few seconds instead of every 20 and 500 ms. Each of these wakes a worker's event
loop, which takes the GIL from the solving thread. Together they cost the two workers of a
10,000-row Countdown build about 0.4 CPU-s, measured with psutil on a busy machine.
"""

from __future__ import annotations

import gc
import logging
import math
import multiprocessing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from searchtrace.errors import UserError

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
_PARTITION_FLAGS = ("--dask_npartitions", "--dask_partition_size")
QUIET_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": False,
    "distributed.scheduler.work-stealing": False,
    "distributed.admin.tick.interval": "2s",
    "distributed.admin.tick.limit": "60s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.disk": False,
    # what Dask chooses anyway for a bag on a cluster, named so that choosing it does
    # not import dask.dataframe (and pandas) into the driver, 0.3-0.6 s
    "dataframe.shuffle.method": "tasks",
}


def names_runner(beam_args: Sequence[str]) -> bool:
    return any(flag.startswith("--runner") for flag in beam_args)


def runs_on_dask(beam_args: Sequence[str]) -> bool:
    return any(flag.startswith("--runner") and flag.endswith("DaskRunner")
               for flag in beam_args)


def round_flags(beam_args: Sequence[str], partitions: int) -> list[str]:
    """The Beam flags of one run (a round, the writing, the replay): the FnApiRunner
    unless a runner is named; on Dask, `partitions` (a round: one per wave) unless the
    caller chose the partitioning (Beam's DaskRunner puts up to 128 elements in a
    partition by default, so a round's waves would all run in one task on one worker)."""
    flags = list(beam_args)
    if not names_runner(flags):
        flags.append("--runner=FnApiRunner")
    if runs_on_dask(flags) and not any(f.startswith(_PARTITION_FLAGS) for f in flags):
        flags.append(f"--dask_npartitions={max(1, partitions)}")
    return flags


def write_partitions(files: int) -> int:
    """The Dask partitions of the writing's staged files: about the square root of their
    number. Beam's DaskRunner groups rows by shard with a task shuffle whose task count
    grows with the square of the partitions: one partition for each of a 10,000-row
    build's 16 staged files made its writing some 550 tasks, each a round trip through
    the scheduler; four partitions make about 90."""
    return max(1, math.isqrt(files))


def require_cluster_extra(workers: int) -> None:
    """Fail early, as a user error, when the local Dask cluster cannot be started."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UserError(f"--workers {workers}: builds with more than one worker run on a "
                        "local Dask cluster; install the cluster extra (pip install "
                        "'searchtrace[cluster]')") from None


@contextmanager
def local_dask_cluster(workers: int) -> Iterator[list[str]]:
    """The Beam flags that run a build on a local Dask cluster of `workers` processes,
    for as long as the context lasts."""
    import dask
    from distributed import LocalCluster

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    chatter = logging.getLogger("distributed")
    level = chatter.level
    chatter.setLevel(logging.ERROR)  # a line per worker and connection otherwise
    try:
        with dask.config.set({**QUIET_CLUSTER,
                              "distributed.worker.multiprocessing-method": method}):
            gc.freeze()
            try:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       dashboard_address=None,
                                       # its health and metrics server, on a free port
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                       silence_logs=False)
            finally:
                gc.unfreeze()
            try:
                yield [f"--runner={DASK_RUNNER}",
                       f"--dask_client_address={cluster.scheduler_address}"]
            finally:
                cluster.close()
    finally:
        chatter.setLevel(level)
