"""Every registered task at its medium preset: verified rows per second on one core and the
mean completion length, from whole builds (k-mix {0,1,3,5}, natural style).

    python bench/tasks.py            # 400 rows per task
    python bench/tasks.py --rows 1000 --tasks countdown sudoku
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import measure

from searchtrace.tasks import TASK_NAMES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--tasks", nargs="+", default=list(TASK_NAMES))
    args = parser.parse_args()
    results = []
    print(f"{'task':<12} {'rows':>6} {'seconds':>8} {'rows/s/core':>12} {'mean chars':>11}")
    for name in args.tasks:
        raw = {"name": f"bench-{name}", "task": {"name": name, "preset": "medium"},
               "traces": {"k_mix": {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}},
               "splits": {"train": args.rows}, "seed": 1}
        try:
            result = {"task": name, **measure(raw, workers=1, cores=1)}
        except SystemExit as failed:  # the build could not meet the mix: say so, go on
            print(f"{name:<12} failed: {str(failed).splitlines()[-1][:200]}", flush=True)
            continue
        results.append(result)
        print(f"{name:<12} {result['rows']:>6} {result['seconds']:>8} "
              f"{result['rows_per_second']:>12} {result['completion_chars']:>11}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
