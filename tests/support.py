"""Shared test harness: a real rendered trace kept as think lines, so tests can corrupt
lines and re-verify; and a digest of a dataset folder, to compare builds byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchtrace.pipelines.outputs import RUN_RECORD, sha256_of
from searchtrace.tasks import Task
from searchtrace.tasks.base import Problem, Verdict
from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import MOVE, Step, Trace
from searchtrace.traces.tree import Node, SearchTree


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
        lines = render_think_lines(trace, tree, task.phrasing(style, problem.data), style,
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


def folder_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file in a dataset folder but the run record (build.json), which
    alone differs between runs."""
    return {path.relative_to(folder).as_posix(): sha256_of(path)
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != RUN_RECORD}
