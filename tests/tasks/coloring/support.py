"""Coloring problems, solved and rendered once per test session, and the line surgery the
coloring tests share."""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import Problem, Verdict
from searchtrace.tasks.coloring.rules import ColoringMove
from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import Trace
from searchtrace.traces.tree import SearchTree

TASK = get_task("coloring")

# Node 4 touches 1, 2 and 3; 1-2 is an edge: with 1, 2, 3 colored red, green, blue, node 4
# has no color left.
SMALL = {"nodes": 5, "colors": 3, "edges": [[1, 2], [1, 4], [2, 4], [3, 4], [4, 5]]}

MOVE_LINE = {
    "natural": re.compile(
        r"^((?:Let me try|Next, try|Then try|Instead, let me try) )(.+?)(\. .+)$"),
    "compact": re.compile(r"^(try )(.+?)( -> .+)$"),
}


@cache
def make_problem(preset: str, seed: int) -> Problem:
    """The problem the generator makes from `seed` (it never skips one)."""
    config = TASK.make_config(preset, {})
    return TASK.generate(config, np.random.default_rng(np.random.SeedSequence(seed)), "train")


@cache
def solved(preset: str, seed: int) -> tuple[Problem, SearchTree]:
    problem = make_problem(preset, seed)
    return problem, solve_dfs(TASK.rules(problem.data), 20_000)


def completion_for(problem: Problem, tree: SearchTree, trace: Trace, style: str) -> str:
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    think = get_style(style).render(trace, tree, TASK.phrasing(style, problem.data), 0)
    return format_completion(think, TASK.answer(problem.data, moves))


@cache
def rendered(preset: str, seed: int, k: int, style: str) -> tuple[Problem, str, Trace]:
    problem, tree = solved(preset, seed)
    trace = linearize_exact(tree, TASK.rules(problem.data), k, "uniform", 6)
    return problem, completion_for(problem, tree, trace, style), trace


def verify(problem: Problem, completion: str, style: str, backtracks: int | None) -> Verdict:
    return verify_completion(TASK, problem.data, completion, style, backtracks)


def path_moves(preset: str, seed: int) -> list[ColoringMove]:
    _, tree = solved(preset, seed)
    return [tree.nodes[n].move for n in tree.solution_path()[1:]]


def think_lines(completion: str) -> list[str]:
    return split_completion(completion)[0].split("\n")


def with_think(completion: str, lines: list[str]) -> str:
    answer = split_completion(completion)[1]
    return format_completion(lines, answer)


def replace_move(line: str, style: str, phrase: str) -> str:
    return MOVE_LINE[style].sub(lambda m: m.group(1) + phrase + m.group(3), line)
