"""Rules of real generated problems for the solver tests: medium Countdown, 6x6 Sudoku and
medium mazes, each by seed."""

from __future__ import annotations

from typing import Any

import numpy as np

from searchtrace.tasks import get_task
from searchtrace.tasks.base import GenerationSkipped

COUNTDOWN = get_task("countdown")
SUDOKU = get_task("sudoku")
MAZE = get_task("maze")


def countdown_rules(seed: int) -> Any:
    config = COUNTDOWN.make_config("medium", {})
    return COUNTDOWN.rules(COUNTDOWN.generate(config, np.random.default_rng(seed), "train").data)


def sudoku_rules(seed: int) -> Any:
    config = SUDOKU.make_config("easy", {"size": 6, "givens": 16})
    for index in range(50):
        try:
            problem = SUDOKU.generate(config, np.random.default_rng([seed, index]), "train")
        except Exception:
            continue
        return SUDOKU.rules(problem.data)
    raise AssertionError("no 6x6 puzzle")


def maze_problems(count: int) -> list[Any]:
    """Up to `count` medium mazes from seeds 0..count-1 (a seed may make none)."""
    config = MAZE.make_config("medium", {})
    found = []
    for seed in range(count):
        try:
            found.append(MAZE.generate(config, np.random.default_rng(seed), "train"))
        except GenerationSkipped:
            continue
    return found
