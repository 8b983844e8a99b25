"""The engines `--workers N` could run on, compared on the same build, interleaved.

Each setting is a whole build in a fresh process (`throughput.CHILD`), and the settings
alternate within each repeat, so a drift in a shared machine's speed hits them alike.
Each setting's CPU seconds are printed too, which a busy machine distorts far less than
wall clocks: the driver's main thread (the serial part), the driver's other threads (a
local Dask scheduler and its nannies) and the worker processes together:

    1          one worker: the in-process FnApiRunner (this tree)
    dask-N     `--workers N`: a local Dask cluster of N forked processes (this tree)
    beam-mp-N  Beam's own multi-processing FnApiRunner, N workers
               (`--direct_num_workers=N --direct_running_mode=multi_processing`)
    pool-1, pool-N   with `--baseline-src DIR`: `--workers 1` and `--workers N` of another
               source tree (e.g. a checkout from before this engine, with its solver pool)
    cluster-N  with `--cluster`: an existing Dask cluster, started here as a user would
               (`dask scheduler` and N `dask worker --nthreads 1` on 127.0.0.1) before
               the first repeat, through Beam's DaskRunner (its workers' CPU is not counted)

    python bench/engines.py configs/countdown.yaml --train 9000 --test 1000 --repeat 3
    python bench/engines.py configs/countdown.yaml --train 9000 --test 1000 --repeat 3 \\
        --workers 2 --baseline-src /path/to/old/checkout/src
    python bench/engines.py configs/countdown.yaml --train 9000 --test 1000 --cluster
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from throughput import add_config_arguments, measure, sized_config

DASK_RUNNER = "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"
SOURCE = Path(__file__).resolve().parents[1] / "src"


@contextlib.contextmanager
def dask_cluster(workers: int) -> Iterator[str]:
    """A Dask scheduler and `workers` single-threaded workers on 127.0.0.1, importing this
    tree's searchtrace; its address, until they are stopped on leaving."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
             "env": {**os.environ, "PYTHONPATH": str(SOURCE)}}
    started = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                 "--host", "127.0.0.1", "--port", str(port),
                                 "--no-dashboard"], **quiet)]
    try:
        started += [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                                      address, "--nthreads", "1", "--no-dashboard",
                                      "--host", "127.0.0.1"], **quiet)
                    for _ in range(workers)]
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=30)


def settings(workers: int, baseline: Path | None,
             cluster: str | None = None) -> dict[str, dict]:
    """Each setting's `measure` arguments, by name."""
    named = {
        "1": {"workers": 1},
        f"dask-{workers}": {"workers": workers},
        f"beam-mp-{workers}": {"workers": 1, "beam_args": [
            "--runner=FnApiRunner", f"--direct_num_workers={workers}",
            "--direct_running_mode=multi_processing"]},
    }
    if cluster is not None:
        named[f"cluster-{workers}"] = {"workers": 1, "beam_args": [
            DASK_RUNNER, f"--dask_client_address={cluster}"]}
    if baseline is not None:
        named["pool-1"] = {"workers": 1, "src": baseline}
        named[f"pool-{workers}"] = {"workers": workers, "src": baseline}
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--workers", type=int, default=2, help="N of the parallel settings")
    parser.add_argument("--cores", type=int, help="pin to this many cores (taskset)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-src", type=Path,
                        help="another tree's src folder, measured as pool-1 and pool-N")
    parser.add_argument("--only", nargs="+", help="run only these settings")
    parser.add_argument("--cluster", action="store_true",
                        help="also time cluster-N: N `dask worker`s started here")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)
    with (dask_cluster(args.workers) if args.cluster else contextlib.nullcontext()) as address:
        compare(args, sized_config(args), settings(args.workers, args.baseline_src, address))


def compare(args: argparse.Namespace, raw: dict, named: dict[str, dict]) -> None:
    """Run every setting `args.repeat` times, interleaved, and print each build's time
    and CPU seconds, then each setting's best, median and ratio over one worker."""
    if args.only:
        named = {name: named[name] for name in args.only}
    runs: dict[str, list[float]] = {name: [] for name in named}
    cpu: dict[str, list[dict[str, float]]] = {name: [] for name in named}
    for repeat in range(args.repeat):
        for name, setting in named.items():
            result = measure(raw, cores=args.cores, **setting)
            runs[name].append(result["seconds"])
            cpu[name].append(result["cpu_seconds"])
            used = result["cpu_seconds"]
            print(f"repeat {repeat + 1}: {name:<12} {result['seconds']:>7.2f} s   CPU s: "
                  f"driver main {used['driver_main']:.2f}, driver other threads "
                  f"{used['driver'] - used['driver_main']:.2f}, workers {used['workers']:.2f}",
                  flush=True)
    base = runs.get("1")
    print(f"{'setting':<12} {'best s':>7} {'median s':>9} {'x over 1 (per repeat)':>24}")
    for name, seconds in runs.items():
        ratios = ", ".join(f"{b / s:.2f}" for b, s in zip(base, seconds, strict=True)) \
            if base else ""
        print(f"{name:<12} {min(seconds):>7.2f} {statistics.median(seconds):>9.2f} {ratios:>24}")
    print(json.dumps({"config": str(args.config), "rows": sum(raw["splits"].values()),
                      "runs": runs, "cpu_seconds": cpu,
                      "started": time.strftime("%Y-%m-%dT%H:%M:%S")}))


if __name__ == "__main__":
    main()
