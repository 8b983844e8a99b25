"""Zebra puzzles, solved and rendered once per test session, a small hand-made puzzle, and
the line surgery the zebra tests share."""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import GenerationSkipped, Problem, Verdict, Violation
from searchtrace.tasks.zebra.rules import ZebraMove, ZebraRules
from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import Trace
from searchtrace.traces.tree import SearchTree

TASK = get_task("zebra")


# A small hand-made puzzle: 1. the Brit lives in the red house; 2. the green
# house is immediately left of the blue house; 3. the Dane lives in house 1.
SMALL = {
    "houses": 3,
    "attributes": [{"name": "colour", "values": ["red", "green", "blue"]},
                   {"name": "nationality", "values": ["Brit", "Swede", "Dane"]}],
    "clues": [["same", "nationality", "Brit", "colour", "red"],
              ["left_of", "colour", "green", "colour", "blue"],
              ["position", "nationality", "Dane", 1]],
}


MOVE_LINE = {
    "natural": re.compile(
        r"^((?:Let me try|Next, try|Then try|Instead, let me try) )(.+?)(\. .+)$"),
    "compact": re.compile(r"^(try )(.+?)( -> .+)$"),
    "tokens": re.compile(r"^(create )(.+?) \| .+?( g[0-9]+ h[0-9]+)$"),
}


@cache
def make_problem(seed: int, preset: str = "medium", **knobs: object) -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    config = TASK.make_config(preset, dict(knobs))
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {preset} zebra puzzle from seed {seed}")


@cache
def solved(seed: int, preset: str = "medium") -> tuple[Problem, SearchTree]:
    problem = make_problem(seed, preset)
    return problem, solve_dfs(TASK.rules(problem.data), 20_000)


def solution_moves(tree: SearchTree) -> list[ZebraMove]:
    return [tree.nodes[n].move for n in tree.solution_path()[1:]]


def completion_for(problem: Problem, tree: SearchTree, trace: Trace, style: str) -> str:
    think = get_style(style).render(trace, tree, TASK.phrasing(style, problem.data), 0)
    return format_completion(think, TASK.answer(problem.data, solution_moves(tree)))


@cache
def rendered(seed: int, k: int, style: str) -> tuple[Problem, str, Trace]:
    problem, tree = solved(seed)
    trace = linearize_exact(tree, TASK.rules(problem.data), k, "uniform", 6)
    return problem, completion_for(problem, tree, trace, style), trace


def verify(problem: Problem, completion: str, style: str, backtracks: int | None) -> Verdict:
    return verify_completion(TASK, problem.data, completion, style, backtracks)


def lines_of(completion: str) -> tuple[list[str], str]:
    think, answer = split_completion(completion)
    return think.split("\n"), answer


def rebuild(lines: list[str], answer: str) -> str:
    return format_completion(lines, answer)


def small_dead_state() -> tuple[ZebraRules, tuple]:
    rules = ZebraRules.from_data(SMALL)
    state = rules.apply(rules.initial_state(), ZebraMove(0, "colour", "red"))
    assert not isinstance(state, Violation)
    return rules, state


def state_before(problem: Problem, lines: list[str], style: str, index: int) -> tuple:
    """The state after the move lines before line `index` (no backtrack among them)."""
    rules, text = TASK.rules(problem.data), TASK.phrasing(style, problem.data)
    state = rules.initial_state()
    for line in lines[:index]:
        state = rules.apply(state, text.parse_move(MOVE_LINE[style].match(line).group(2)))
    return state
