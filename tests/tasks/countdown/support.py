"""Countdown test helpers: problems from a seed, their solved trees, a rendered trace to
corrupt, and the lines a completion is made of, built from the task's own phrases."""

from __future__ import annotations

from functools import cache

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import DeadEnd, GenerationSkipped, Problem
from searchtrace.tasks.countdown.rules import CountdownMove
from searchtrace.traces.tree import SearchTree
from tests.support import RenderedTrace as Rendered

TASK = get_task("countdown")
HELD_OUT = (17, 29, 43, 58, 71, 89)


def make_problem(seed: int, preset: str = "medium", **knobs: object) -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    config = TASK.make_config(preset, knobs)
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {preset} Countdown problem from seed {seed}")


def solve(problem: Problem, budget: int = 20_000) -> SearchTree:
    tree = solve_dfs(TASK.rules(problem.data), budget)
    assert tree.solution is not None, problem.data
    return tree


def canonical_answer(problem: Problem, tree: SearchTree) -> str:
    return TASK.answer(problem.data, [tree.nodes[n].move for n in tree.solution_path()[1:]])


@cache
def rendered(seed: int, k: int, style: str) -> Rendered:
    """A medium problem's exact-k trace, rendered as `build_row` renders it."""
    problem = make_problem(seed)
    return Rendered.build(TASK, problem, solve(problem), k, style, 4, salt=seed)


def move_line(r: Rendered, move: CountdownMove, state: tuple) -> str:
    said, leaves = r.text.move_phrase(move), r.text.state_phrase(state)
    return f"try {said} -> {leaves}" if r.style == "compact" else f"Let me try {said}. {leaves}."


def dead_line(r: Rendered, state: tuple, claim: DeadEnd) -> str:
    said = r.text.dead_end_phrase(state, claim)
    return f"dead: {said}" if r.style == "compact" else f"{said}, so this is a dead end."


def back_line(r: Rendered, state: tuple) -> str:
    ref = r.text.ref_phrase(state, None)
    return f"back to {ref}" if r.style == "compact" else f"Let me go back to {ref}."


def without(state: tuple, *used: object) -> list:
    rest = list(state)
    for value in used:
        rest.remove(value)
    return rest
