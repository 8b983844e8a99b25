"""What the equations tests share: generated problems, hand-made rules, solved trees, and
rendered traces whose lines the tests corrupt and re-verify."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import DeadEnd, GenerationSkipped, Problem
from searchtrace.tasks.equations.algebra import ONE, Poly
from searchtrace.tasks.equations.rules import EqMove, EqState, EquationsRules
from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.styles.tokens import cost_token
from searchtrace.traces.trace import BACKTRACK, DEAD_END, MOVE
from searchtrace.traces.tree import SearchTree
from tests.support import RenderedTrace

TASK = get_task("equations")


def make_problem(seed: int, preset: str = "medium", **knobs: object) -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    config = TASK.make_config(preset, knobs)
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {preset} equation from seed {seed}")


def rules_for(kind: str, equations: list[str], max_steps: int = 8,
              limit: int = 100) -> EquationsRules:
    variables = ["x", "y"] if len(equations) > 1 else ["x"]
    return EquationsRules.from_data({"kind": kind, "variables": variables,
                                     "equations": equations, "max_steps": max_steps,
                                     "number_limit": limit})


def solve(problem: Problem) -> SearchTree:
    tree = solve_dfs(TASK.rules(problem.data), 20_000)
    assert tree.solution is not None, problem.data
    return tree


def canonical_answer(problem: Problem, tree: SearchTree) -> str:
    return TASK.answer(problem.data, [tree.nodes[n].move for n in tree.solution_path()[1:]])


def number(value: int | Fraction) -> Poly:
    return ((ONE, Fraction(value)),) if value else ()


def explored_states(preset: str, seeds: int = 4, k: int = 5) -> list[tuple[EquationsRules,
                                                                           EqState]]:
    """Every state of the solvers' trees, widened by an exact-k linearization."""
    out = []
    for seed in range(seeds):
        problem = make_problem(seed, preset)
        rules = TASK.rules(problem.data)
        tree = solve(problem)
        linearize_exact(tree, rules, k, "uniform", 6)  # adds the widened dives to the tree
        out += [(rules, node.state) for node in tree.nodes]
    return out


@dataclass(frozen=True)
class Rendered(RenderedTrace):
    """A rendered trace that can also replay the path to any line."""

    def state_before(self, line: int) -> EqState:
        """The current state when line `line` is read (the replay's path top)."""
        path = [self.tree.nodes[0].state]
        for step in self.trace.steps[:line]:
            node = self.tree.nodes[step.node]
            if step.kind == MOVE:
                path.append(node.state)
            elif step.kind == BACKTRACK:
                while path[-1] != node.state:
                    path.pop()
        return path[-1]


@cache
def rendered(seed: int, k: int, style: str, preset: str = "medium") -> Rendered:
    """An exact-k trace, rendered as `build_row` renders it."""
    problem = make_problem(seed, preset)
    return Rendered.build(TASK, problem, solve(problem), k, style, 6, salt=seed)


def move_line(r: Rendered, move: EqMove, state: EqState) -> str:
    """A move line as `r`'s style writes it; in the tokens style with the g and h a move
    reaching `state` has."""
    said, now = r.text.move_phrase(move), r.text.state_phrase(state)
    if r.style == "tokens":
        g = r.rules.initial_state().steps_left - state.steps_left
        return f"create {said} | {now} g{g} h{cost_token(r.rules.heuristic(state))}"
    return f"try {said} -> {now}" if r.style == "compact" else f"Let me try {said}. {now}."


def dead_line(r: Rendered, state: EqState, claim: DeadEnd) -> str:
    said = r.text.dead_end_phrase(state, claim)
    if r.style == "tokens":
        return f"close {r.text.state_phrase(state)} dead {said}"
    return f"dead: {said}" if r.style == "compact" else f"{said}, so this is a dead end."


def back_line(r: Rendered, state: EqState) -> str:
    ref = r.text.ref_phrase(state, None)
    if r.style == "tokens":
        return f"back {ref}"
    return f"back to {ref}" if r.style == "compact" else f"Let me go back to {ref}."


def out_of_steps_line(r: Rendered) -> int:
    """The line of the trace's first dead end for want of steps."""
    return next(i for i, step in enumerate(r.trace.steps) if step.kind == DEAD_END
                and r.tree.nodes[step.node].reason.code == "out_of_steps")
