"""Search figures: A* against BFS on the same medium mazes (nodes expanded, solution
length), and the share of medium N-Queens and Countdown-4 problems that MCTS solves with
200 simulations (UCT and PUCT, rollout values).

    python bench/search.py --problems 200
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics

import numpy as np

from searchtrace.solvers.mcts import MctsSettings
from searchtrace.solvers.registry import get_solver
from searchtrace.tasks import TASK_NAMES, get_task
from searchtrace.tasks.base import GenerationSkipped


def problems(name: str, count: int) -> list:
    task = get_task(name)
    config = task.make_config("medium", {})
    found, seed = [], 0
    while len(found) < count:
        with contextlib.suppress(GenerationSkipped):
            found.append(task.generate(config, np.random.default_rng(seed), "test"))
        seed += 1
    return found


def astar_against_bfs(count: int) -> dict:
    task = get_task("maze")
    rows = []
    for problem in problems("maze", count):
        rules = task.rules(problem.data)
        astar = get_solver("astar").solve(rules, 1_000_000, MctsSettings(), 0)
        bfs = get_solver("bfs").solve(rules, 1_000_000, MctsSettings(), 0)
        rows.append((astar.nodes_expanded, bfs.nodes_expanded,
                     len(astar.solution_path()), len(bfs.solution_path())))
    return {
        "mazes": count,
        "astar_nodes_expanded_mean": round(statistics.fmean(r[0] for r in rows), 1),
        "bfs_nodes_expanded_mean": round(statistics.fmean(r[1] for r in rows), 1),
        "astar_expanded_more_than_bfs": sum(r[0] > r[1] for r in rows),
        "astar_longer_than_bfs": sum(r[2] > r[3] for r in rows),
    }


def mcts_solve_rate(name: str, count: int, variant: str) -> float:
    task = get_task(name)
    settings = MctsSettings(simulations=200, variant=variant)
    solved = sum(get_solver("mcts").solve(task.rules(p.data), 1_000_000, settings, seed).solution
                 is not None for seed, p in enumerate(problems(name, count)))
    return solved / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200)
    args = parser.parse_args()
    report: dict = {}
    if "maze" in TASK_NAMES:
        report["astar_vs_bfs_on_medium_mazes"] = astar_against_bfs(args.problems)
    for name in ("nqueens", "countdown"):
        for variant in ("uct", "puct"):
            rate = mcts_solve_rate(name, args.problems, variant)
            report[f"mcts_{variant}_200_sims_{name}_medium_solved"] = round(rate, 4)
    for key, value in report.items():
        print(f"{key}: {value}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
