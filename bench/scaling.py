"""Scaling in rows: one config built at several sizes with the library path (`run_build`),
each size in a fresh process so its peak memory is its own; prints rows, seconds, rows/s
and peak RSS, and each size's rate and peak beside the smallest's.

A 100,000-row build should keep its rows/s within 15% of a 10,000-row build's and its
peak memory within 10%. `--million` adds the 1,000,000-row build of
bench/countdown-1m.yaml with `--workers 2` (Countdown over a larger number range, so that a
million distinct problems exist; about 25 minutes on two quiet cores).

    python bench/scaling.py configs/countdown.yaml --cores 1
    python bench/scaling.py configs/countdown.yaml --sizes 10000 50000 100000
    python bench/scaling.py configs/countdown.yaml --million
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from throughput import measure

MILLION_CONFIG = Path(__file__).with_name("countdown-1m.yaml")


def with_rows(raw: dict, rows: int) -> dict:
    """The config with `rows` rows, split as its own splits are."""
    splits = raw["splits"]
    total = sum(splits.values())
    sized = {split: rows * count // total for split, count in splits.items()}
    first = next(iter(sized))
    sized[first] += rows - sum(sized.values())
    return {**raw, "splits": sized}


def main() -> None:
    import yaml

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                        help="rows per build, smallest first")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cores", type=int, help="pin to this many cores (taskset)")
    parser.add_argument("--million", action="store_true",
                        help="also build bench/countdown-1m.yaml (1,000,000 rows) with "
                             "--workers 2")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)
    raw = yaml.safe_load(args.config.read_text())
    runs = [(with_rows(raw, rows), args.workers) for rows in args.sizes]
    if args.million:
        runs.append((yaml.safe_load(MILLION_CONFIG.read_text()), 2))
    results = [measure(config, workers, args.cores) for config, workers in runs]
    base = results[0]
    print(f"{'rows':>9} {'workers':>7} {'seconds':>9} {'rows/s':>8} {'peak MiB':>9} "
          f"{'rate vs first':>13} {'peak vs first':>13}")
    for r in results:
        rate = r["rows_per_second"] / base["rows_per_second"] - 1
        peak = r["peak_rss_mib"] / base["peak_rss_mib"] - 1
        print(f"{r['rows']:>9} {r['workers']:>7} {r['seconds']:>9} {r['rows_per_second']:>8} "
              f"{r['peak_rss_mib']:>9} {rate:>+13.1%} {peak:>+13.1%}")
    print(json.dumps({"config": str(args.config), "results": results,
                      "started": time.strftime("%Y-%m-%dT%H:%M:%S")}))


if __name__ == "__main__":
    main()
