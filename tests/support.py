"""Shared test harness: the first problems of a task's preset, fresh search trees, a real
rendered trace kept as think lines (so tests can corrupt lines and re-verify), and a digest
of a dataset folder, to compare builds byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from searchtrace.pipelines.outputs import RUN_RECORD, sha256_of
from searchtrace.solvers.mcts import MctsSettings
from searchtrace.solvers.registry import get_solver
from searchtrace.tasks import Task, get_task
from searchtrace.tasks.base import GenerationSkipped, Problem, Verdict
from searchtrace.traces.linearize import NotEnoughDeadEnds, linearize_exact
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import MOVE, Step, Trace
from searchtrace.traces.tree import Node, SearchTree

SEEDS = 200  # seeds a helper tries before it gives up on a preset
BUDGET = 50_000  # node budget of the helpers' searches


def _generated(task: str, preset: str) -> Iterator[Problem]:
    """The problems of a preset from seeds 0, 1, 2, ... (seeds the generator skips move on)."""
    config = get_task(task).make_config(preset, {})
    for seed in range(SEEDS):
        try:
            yield get_task(task).generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            continue


@cache
def problems(task: str, preset: str = "easy", count: int = 2) -> tuple[Problem, ...]:
    """The first `count` problems of a task's preset."""
    found = []
    for problem in _generated(task, preset):
        found.append(problem)
        if len(found) == count:
            return tuple(found)
    raise AssertionError(f"{task}: {preset} made fewer than {count} problems in {SEEDS} seeds")


def solved(task: Task, problem: Problem, solver: str = "dfs") -> SearchTree:
    """A fresh search tree with a solution (the linearizer grows the tree it is given, so
    tests do not share trees)."""
    tree = get_solver(solver).solve(task.rules(problem.data), BUDGET, MctsSettings(), 7)
    assert tree.solution is not None, f"{task.name}/{solver} did not solve {problem.id}"
    return tree


@dataclass(frozen=True)
class RenderedTrace:
    """A real, verified completion, kept as think lines so tests can corrupt them."""

    task: Task
    problem: Problem
    tree: SearchTree
    trace: Trace
    lines: tuple[str, ...]
    answer: str
    style: str

    @classmethod
    def build(cls, task: Task, problem: Problem, tree: SearchTree, k: int, style: str,
              max_dead_end_length: int, salt: int) -> RenderedTrace:
        """An exact-k trace of `tree`, rendered as `build_row` renders it (the linearizer
        grows `tree`, so pass one no other test shares)."""
        trace = linearize_exact(tree, task.rules(problem.data), k, "uniform",
                                max_dead_end_length)
        lines = get_style(style).render(trace, tree, task.phrasing(style, problem.data),
                                        salt=salt)
        moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
        return cls(task, problem, tree, trace, tuple(lines),
                   task.answer(problem.data, moves), style)

    def verify(self, lines: list[str] | None = None, answer: str | None = None,
               backtracks: int | None = -1) -> Verdict:
        """Replay the completion, optionally with other lines, answer or backtrack count."""
        completion = format_completion(self.lines if lines is None else lines,
                                       self.answer if answer is None else answer)
        count = self.trace.num_backtracks if backtracks == -1 else backtracks
        return verify_completion(self.task, self.problem.data, completion, self.style, count)

    @property
    def completion(self) -> str:
        """The completion as a row stores it."""
        return format_completion(self.lines, self.answer)

    def node(self, line: int) -> Node:
        return self.tree.nodes[self.trace.steps[line].node]

    def before(self, line: int) -> Any:
        """The state a move line is played from: its node's parent's state."""
        return self.tree.nodes[self.node(line).parent].state

    def line_of(self, kind: str, node: int) -> int:
        return self.trace.steps.index(Step(kind, node))

    def moves(self) -> list[int]:
        return [i for i, step in enumerate(self.trace.steps) if step.kind == MOVE]

    @property
    def rules(self) -> Any:
        return self.task.rules(self.problem.data)

    @property
    def text(self) -> Any:
        return self.task.phrasing(self.style, self.problem.data)


def path_moves(tree: SearchTree) -> list[Any]:
    """The moves of `tree`'s solution path, from the root."""
    return [tree.nodes[n].move for n in tree.solution_path()[1:]]


def completion_of(task: Task, problem: Problem, tree: SearchTree, trace: Trace, style: str,
                  salt: int = 3) -> str:
    """`trace` rendered in `style` with the canonical answer of `tree`'s solution."""
    lines = get_style(style).render(trace, tree, task.phrasing(style, problem.data), salt)
    return format_completion(lines, task.answer(problem.data, path_moves(tree)))


@cache
def rendered(task: str, style: str, k: int = 1, preset: str = "medium",
             max_dead_end_length: int = 6) -> RenderedTrace:
    """A real exact-k trace of the first `preset` problem whose depth-first search tree
    gives k backtracks (uniform placement), rendered in `style` as `build_row` renders it.
    Cached: callers corrupt copies of its lines, never the trace itself."""
    for index, problem in enumerate(_generated(task, preset)):
        try:
            return RenderedTrace.build(get_task(task), problem, solved(get_task(task), problem),
                                       k, style, max_dead_end_length, salt=index)
        except NotEnoughDeadEnds:
            continue
    raise AssertionError(f"{task}: no {preset} problem in {SEEDS} seeds gives {k} backtracks")


def folder_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file in a dataset folder but the run record (build.json), which
    alone differs between runs."""
    return {path.relative_to(folder).as_posix(): sha256_of(path)
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != RUN_RECORD}
