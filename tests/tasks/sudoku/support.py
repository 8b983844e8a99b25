"""Sudoku test helpers: puzzles from a seed, their solved trees, rendered completions to
corrupt, and the move inside a rendered move line."""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import GenerationSkipped, Problem, Verdict
from searchtrace.tasks.sudoku.generate import SudokuConfig
from searchtrace.tasks.sudoku.rules import SudokuMove
from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import Trace
from searchtrace.traces.tree import SearchTree

TASK = get_task("sudoku")
SIZES = {4: 5, 6: 12, 9: 30}  # size -> givens used by the trace tests
MOVE_LINE = {  # a move line as (opener, move phrase, rest)
    "natural": re.compile(
        r"^((?:Let me try|Next, try|Then try|Instead, let me try) )(.+?)(\. .+)$"),
    "compact": re.compile(r"^(try )(.+?)( -> .+)$"),
}


@cache
def make_problem(size: int, givens: int, seed: int) -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    config = SudokuConfig(size=size, givens=givens)
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {size}x{size} puzzle with {givens} givens from seed {seed}")


@cache
def solved(size: int, seed: int) -> tuple[Problem, SearchTree]:
    problem = make_problem(size, SIZES[size], seed)
    return problem, solve_dfs(TASK.rules(problem.data), 100_000)


def completion_for(problem: Problem, tree: SearchTree, trace: Trace, style: str) -> str:
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    think = get_style(style).render(trace, tree, TASK.phrasing(style, problem.data), 0)
    return format_completion(think, TASK.answer(problem.data, moves))


def rendered(size: int, seed: int, k: int, style: str) -> tuple[Problem, str, Trace]:
    problem, tree = solved(size, seed)
    trace = linearize_exact(tree, TASK.rules(problem.data), k, "uniform", 4)
    return problem, completion_for(problem, tree, trace, style), trace


def verify(problem: Problem, completion: str, style: str, backtracks: int | None) -> Verdict:
    return verify_completion(TASK, problem.data, completion, style, backtracks)


def replace_move(line: str, style: str, move: SudokuMove) -> str:
    """The move line with another move in it (the stated candidates left as they were)."""
    phrase = TASK.phrasing(style, {"size": 9}).move_phrase(move)
    return MOVE_LINE[style].sub(lambda m: m.group(1) + phrase + m.group(3), line)
