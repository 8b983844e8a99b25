"""Real problems, trees and rendered traces that the tests of traces/ share."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import Task, get_task
from searchtrace.tasks.base import GenerationSkipped, Problem
from searchtrace.tasks.sudoku.generate import SudokuConfig
from searchtrace.traces.linearize import NotEnoughDeadEnds, linearize_exact
from searchtrace.traces.render import format_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import Trace
from searchtrace.traces.tree import SearchTree

COUNTDOWN = get_task("countdown")
SUDOKU = get_task("sudoku")


def first_problem(task: Task, config: Any, seed: int) -> Problem:
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return task.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {task.name} problem from seed {seed}")


def countdown(seed: int, **knobs: object) -> Problem:
    return first_problem(COUNTDOWN, COUNTDOWN.make_config("medium", knobs), seed)


def sudoku(seed: int) -> Problem:
    return first_problem(SUDOKU, SudokuConfig(size=9, givens=30), seed)


def solve(task: Task, problem: Problem) -> SearchTree:
    """A fresh tree: the linearizer grafts widened nodes onto the tree it is given."""
    tree = solve_dfs(task.rules(problem.data), 100_000)
    assert tree.solution is not None
    return tree


def render(task: Task, problem: Problem, tree: SearchTree, trace: Trace, style: str,
           salt: int = 0) -> tuple[list[str], str]:
    """The think lines of `trace` in the style named `style`, and the whole completion."""
    lines = get_style(style).render(trace, tree, task.phrasing(style, problem.data), salt)
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    return lines, format_completion(lines, task.answer(problem.data, moves))


@cache
def with_one_backtrack(name: str) -> tuple[Task, Problem, SearchTree, Trace]:
    """A real exact trace with one backtrack (so a line of every kind) from the first easy
    problem of task `name` that supports one."""
    task = get_task(name)
    config = task.make_config("easy", {})
    for seed in range(60):
        try:
            problem = task.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            continue
        tree = solve_dfs(task.rules(problem.data), 50_000)
        if tree.solution is None:
            continue
        try:
            trace = linearize_exact(tree, task.rules(problem.data), 1, "uniform", 6)
        except NotEnoughDeadEnds:
            continue
        return task, problem, tree, trace
    raise AssertionError(f"{name}: no easy problem with a backtrack in 60 seeds")
