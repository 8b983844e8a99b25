"""What the tasks' solvability tests share: making problems, collecting states, and checking
`Rules.solvable` against a brute-force solver on them. The brute-force solvers themselves
stay in each task's test_solvable.py, written from that task's stated rules alone.

Two families, as the tests use them:
- by preset: `preset_problems` takes the first problems of a preset (one seed sequence per
  index), `walked_states` follows random legal play, and `assert_agrees_on_walks` checks
  `solvable` on the states of such walks from a problem's start;
- by seed: `seeded_problems` draws problems from one seeded generator, `sampled_states`
  adds a depth-first tree to random walks, and `assert_agrees` checks `solvable` on any
  list of states (the caller may add states drawn directly).
Both ask every state of one shared rules object (its memo must not change answers) and of
a fresh one, and return the (solvable, unsolvable) counts so callers can insist on both.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import Task
from searchtrace.tasks.base import GenerationSkipped, Problem


def preset_problems(task: Task, preset: str, how_many: int, **knobs: Any) -> list[Problem]:
    """The first `how_many` problems the generator makes for `preset` (skipped seeds move on)."""
    config = task.make_config(preset, knobs)
    found: list[Problem] = []
    for index in range(how_many * 20):
        rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0, index)))
        try:
            found.append(task.generate(config, rng, "train"))
        except GenerationSkipped:
            continue
        if len(found) == how_many:
            return found
    raise AssertionError(f"fewer than {how_many} {task.name} problems")


def walked_states(rules: Any, draw: random.Random, walks: int, depth: int) -> list[Any]:
    """States random legal play reaches: walks from the start through `wider_moves`
    (every legal move the rules offer), so most leave the solution path early."""
    states = []
    for _ in range(walks):
        state = rules.initial_state()
        for _ in range(depth):
            states.append(state)
            children = list(rules.wider_moves(state))
            if not children:
                break
            state = draw.choice(children)[1]
    return states


def assert_agrees_on_walks(task: Task, problem: Problem, brute: Callable[[Any], bool],
                           walks: int = 12, depth: int = 12) -> tuple[int, int]:
    """`solvable` equals `brute` on every walked state, with a shared and a fresh memo;
    returns (solvable, unsolvable) counts so callers can check both kinds were seen."""
    shared = task.rules(problem.data)
    draw = random.Random(problem.id)
    counts = [0, 0]
    for state in walked_states(task.rules(problem.data), draw, walks, depth):
        expected = brute(state)
        assert shared.solvable(state) is expected, (problem.data, state)
        assert task.rules(problem.data).solvable(state) is expected, (problem.data, state)
        counts[0 if expected else 1] += 1
    return counts[0], counts[1]


def seeded_problems(task: Task, knobs: dict[str, Any], count: int,
                    seed: int) -> Iterator[Problem]:
    """`count` problems of `task` with `knobs`, from seed `seed` (skipped seeds move on)."""
    config = task.make_config(None, knobs)
    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        try:
            yield task.generate(config, rng, "train")
        except GenerationSkipped:
            continue
        made += 1


def sampled_states(task: Task, problem: Problem, walks: int, seed: int) -> list[Any]:
    """The initial state, every state of a depth-first tree, and the states of random
    walks over every legal move (`wider_moves`), which wander off any solution path."""
    rules = task.rules(problem.data)
    states = [node.state for node in solve_dfs(rules, 2_000).nodes]
    rng = random.Random(seed)
    for _ in range(walks):
        state = rules.initial_state()
        for _ in range(rng.randrange(1, 25)):
            moves = list(rules.wider_moves(state))
            if not moves:
                break
            state = rng.choice(moves)[1]
            states.append(state)
    return states


def assert_agrees(task: Task, problem: Problem, states: list[Any],
                  brute: Callable[[Any], bool]) -> tuple[int, int]:
    """`solvable` equals `brute(state)` on every state, asked of one shared Rules object (so
    the memo is exercised, in a shuffled order) and of a fresh one per state; returns the
    count of (solvable, unsolvable) states seen, so callers can insist on both."""
    shared = task.rules(problem.data)
    order = list(states)
    random.Random(7).shuffle(order)
    seen = [0, 0]
    for state in order:
        expected = brute(state)
        assert shared.solvable(state) is expected, (problem.data, state)
        assert task.rules(problem.data).solvable(state) is expected, (problem.data, state)
        seen[0 if expected else 1] += 1
    return seen[0], seen[1]
