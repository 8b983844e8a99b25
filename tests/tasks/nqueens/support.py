"""N-Queens test helpers: puzzles from a seed, their solved trees, rendered completions to
corrupt, the state before a think line, and every completion found by brute force."""

from __future__ import annotations

import re
from functools import cache
from itertools import permutations

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import Problem, Verdict
from searchtrace.tasks.nqueens.generate import NQueensConfig
from searchtrace.tasks.nqueens.rules import QueensState
from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import Trace
from searchtrace.traces.tree import SearchTree

TASK = get_task("nqueens")
MOVE_LINE = {  # a move line as (opener, move phrase, rest)
    "natural": re.compile(
        r"^((?:Let me try|Next, try|Then try|Instead, let me try) )(.+?)(\. .+)$"),
    "compact": re.compile(r"^(try )(.+?)( -> .+)$"),
}


def make_problem(n: int, preplaced: int, seed: int) -> Problem:
    config = NQueensConfig(n=n, preplaced=preplaced)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, 0)))
    return TASK.generate(config, rng, "train")


@cache
def solved(n: int, preplaced: int, seed: int) -> tuple[Problem, SearchTree]:
    problem = make_problem(n, preplaced, seed)
    return problem, solve_dfs(TASK.rules(problem.data), 100_000)


def completion_for(problem: Problem, tree: SearchTree, trace: Trace, style: str) -> str:
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    think = get_style(style).render(trace, tree, TASK.phrasing(style, problem.data), 0)
    return format_completion(think, TASK.answer(problem.data, moves))


def rendered(seed: int, k: int, style: str, n: int = 8, preplaced: int = 2
             ) -> tuple[Problem, str, Trace]:
    problem, tree = solved(n, preplaced, seed)
    trace = linearize_exact(tree, TASK.rules(problem.data), k, "uniform", 6)
    return problem, completion_for(problem, tree, trace, style), trace


def verify(problem: Problem, completion: str, style: str, backtracks: int | None) -> Verdict:
    return verify_completion(TASK, problem.data, completion, style, backtracks)


def line_state(problem: Problem, completion: str, style: str, index: int) -> QueensState:
    """The state before think line `index`, replaying the lines before it."""
    rules, text = TASK.rules(problem.data), TASK.phrasing(style, problem.data)
    path = [(rules.initial_state(), None)]
    for line in split_completion(completion)[0].split("\n")[:index]:
        match = MOVE_LINE[style].match(line)
        if match:
            move = text.parse_move(match.group(2))
            path.append((rules.apply(path[-1][0], move), move))
        elif line.startswith(("back to ", "Let me go back to ", "Going back to ")):
            ref = text.parse_ref(line.removesuffix(".").split(" back to ", 1)[-1]
                                 .removeprefix("back to "))
            target = max(i for i, entry in enumerate(path[:-1]) if text.ref_key(*entry) == ref)
            del path[target + 1 :]
    return path[-1][0]


def brute_force(n: int, preplaced: list[int]) -> set[tuple[int, ...]]:
    """Every placement keeping `preplaced` (1-based rows, 0 = empty), by permutations."""
    return {
        rows for rows in permutations(range(n))
        if all(r == 0 or rows[c] == r - 1 for c, r in enumerate(preplaced))
        and all(abs(rows[a] - rows[b]) != b - a for b in range(n) for a in range(b))
    }
