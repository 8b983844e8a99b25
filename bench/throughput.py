"""Build throughput and peak memory of real builds, printed as a table and JSON.

Everything is included (Beam pipeline, generate, solve, linearize, render, verify, write).
`--cores 1` pins this process, and so every in-process worker, to one CPU core.

    python bench/throughput.py configs/countdown.yaml --cores 1
    python bench/throughput.py configs/countdown.yaml --train 9000 --test 1000 --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

CHILD = """
import json, logging, sys, time, resource
logging.getLogger().setLevel(logging.ERROR)
from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
raw, out, workers = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
beam_args = json.loads(sys.argv[4])
def cpu(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime
started, main, own, kids = (time.monotonic(), time.thread_time(), cpu(resource.RUSAGE_SELF),
                            cpu(resource.RUSAGE_CHILDREN))
result = run_build(parse_config(raw), out, workers=workers, beam_args=beam_args)
seconds = time.monotonic() - started
cpu_seconds = {"driver_main": time.thread_time() - main,
               "driver": cpu(resource.RUSAGE_SELF) - own,
               "workers": cpu(resource.RUSAGE_CHILDREN) - kids}
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
stats = json.loads((result.out / "stats.json").read_text())
chars = [s["completion_chars"]["mean"] for s in stats["splits"].values()]
print(json.dumps({"seconds": seconds, "peak_rss_mib": peak / 1024, "cpu": cpu_seconds,
                  "completion_chars": sum(chars) / len(chars)}))
"""


def measure(raw: dict, workers: int, cores: int | None, beam_args: Sequence[str] = (),
            src: Path | None = None) -> dict:
    """One build in a fresh process (so peak memory is this build's alone), with Beam
    flags `beam_args`, importing searchtrace from `src` when given. Its CPU seconds are
    those of the driver's main thread, of the driver process (every thread: Beam's
    in-process runner, the local Dask scheduler) and of its worker processes (the local
    Dask cluster's, counted once they exit)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-c", CHILD, json.dumps(raw), str(Path(folder) / "out"),
                   str(workers), json.dumps(list(beam_args))]
        if cores:
            command = ["taskset", "-c", ",".join(str(c) for c in range(cores)), *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        if done.returncode != 0:
            raise SystemExit(f"build failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    rows = sum(raw["splits"].values())
    return {"rows": rows, "workers": workers, "cores": cores or os.cpu_count(),
            "seconds": round(result["seconds"], 2),
            "rows_per_second": round(rows / result["seconds"], 1),
            "peak_rss_mib": round(result["peak_rss_mib"], 1),
            "cpu_seconds": {who: round(value, 2) for who, value in result["cpu"].items()},
            "completion_chars": round(result["completion_chars"], 1)}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The config to build and its optional row counts (shared by the bench scripts)."""
    parser.add_argument("config", type=Path)
    parser.add_argument("--train", type=int, help="override the train row count")
    parser.add_argument("--test", type=int, help="override the test row count")


def sized_config(args: argparse.Namespace) -> dict:
    """The config file's contents with --train and --test applied."""
    import yaml

    raw = yaml.safe_load(args.config.read_text())
    for split in ("train", "test"):
        if getattr(args, split) is not None:
            raw["splits"][split] = getattr(args, split)
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--cores", type=int, help="pin to this many cores (taskset)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per setting; best is kept")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)
    raw = sized_config(args)
    # Settings alternate within each repeat, so a drift in the machine's speed (a shared
    # VM) hits every setting alike; each repeat's ratio is reported as well as the best run.
    rounds = [[measure(raw, workers, args.cores) for workers in args.workers]
              for _ in range(args.repeat)]
    results = [min((r[i] for r in rounds), key=lambda r: r["seconds"])
               for i in range(len(args.workers))]
    print(f"{'config':<24} {'rows':>6} {'workers':>7} {'cores':>5} {'seconds':>8} "
          f"{'rows/s':>8} {'peak MiB':>9}")
    for r in results:
        print(f"{args.config.name:<24} {r['rows']:>6} {r['workers']:>7} {r['cores']:>5} "
              f"{r['seconds']:>8} {r['rows_per_second']:>8} {r['peak_rss_mib']:>9}")
    if len(results) > 1:
        base = results[0]["seconds"]
        for i, r in enumerate(results[1:], start=1):
            paired = sorted(run[0]["seconds"] / run[i]["seconds"] for run in rounds)
            print(f"speed-up of {r['workers']} workers over {results[0]['workers']}: "
                  f"{base / r['seconds']:.2f}x best against best; per repeat "
                  f"{', '.join(f'{x:.2f}x' for x in paired)} "
                  f"(median {paired[len(paired) // 2]:.2f}x)")
    print(json.dumps({"config": str(args.config), "results": results,
                      "started": time.strftime("%Y-%m-%dT%H:%M:%S")}))


if __name__ == "__main__":
    main()
