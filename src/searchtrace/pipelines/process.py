"""The work on one candidate, free of Beam: generate, then solve, linearize, render, verify.

Every way a candidate can fail returns a `Rejected` with a stable reason; the reasons
become the rejection statistics of the build. A row is only built after it verified.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchtrace.config import BuildConfig
from searchtrace.pipelines.plan import NATURAL, Candidate
from searchtrace.schemas.rows import SCHEMA_VERSION, Difficulty, TraceRow
from searchtrace.solvers.base import SearchProblem
from searchtrace.solvers.dfs import DFS
from searchtrace.solvers.llm_mcts import LlmMctsSettings
from searchtrace.solvers.policy import Policy, Sampling
from searchtrace.solvers.registry import get_solver, solver_of_tree
from searchtrace.tasks import Task
from searchtrace.tasks.base import GenerationSkipped, Problem, Rules, TaskConfig
from searchtrace.traces.corrupt import CannotCorrupt, corrupt_with_any
from searchtrace.traces.linearize import (
    NotEnoughDeadEnds,
    NotEnoughSoundDeadEnds,
    UnsoundTrace,
    linearize_exact,
    linearize_natural,
    proven_unsolvable,
    require_sound,
)
from searchtrace.traces.pad import pad_to_length, think_chars
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion, verify_corrupted
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import CHECK, MOVE, Trace
from searchtrace.traces.tree import SearchTree
from searchtrace.version import code_version

UNSOLVED_BY_POLICY = "solve:policy_found_no_solution"
NO_LENGTH_TARGET = "length_match:no_target_trace"
NOT_CORRUPTIBLE = "corrupt:no_corruptible_line"
CORRUPT_STREAM = 0xC0AA  # the row seed's stream for the corrupted-content draws


@dataclass(frozen=True)
class Rejected:
    reason: str


@dataclass(frozen=True)
class Generated:
    candidate: Candidate
    seed: int
    problem: Problem


def generate_candidate(
    task: Task, task_config: TaskConfig, candidate: Candidate, base_seed: int
) -> Generated | Rejected:
    seed = candidate.seed(base_seed)
    try:
        problem = task.generate(task_config, np.random.default_rng(seed), candidate.split)
    except GenerationSkipped as skipped:
        return Rejected(f"generate:{skipped.reason}")
    return Generated(candidate, seed, problem)


def step_values(trace: Trace, tree: SearchTree, rules: Rules) -> list[float | None]:
    """Per move step of a trace of a solver whose nodes carry values (MCTS), the
    process-reward target of the state it enters: 0 when the rules prove the state has no
    solution (`rules.solvable`; every dead-end step, widened ones included), otherwise the
    search's mean value of the node (every solution-path node is visited: the solution is
    backed up through it). Empty for other solvers."""
    solver = solver_of_tree(tree.solver)
    if solver is None or not solver.node_values:
        return []
    on_path = set(tree.solution_path())
    values = []
    for step in trace.steps:
        if step.kind != MOVE:
            continue
        node = tree.nodes[step.node]
        hopeless = step.node not in on_path and proven_unsolvable(rules, node.state)
        values.append(0.0 if hopeless else node.value)
    return values


def build_row(config: BuildConfig, task: Task, generated: Generated) -> TraceRow | Rejected:
    """Solve (with the configured symbolic solver) and render one problem at its bucket's
    k; only a verified row comes back."""
    rules = task.rules(generated.problem.data)
    solver = config.solver
    tree = get_solver(solver.name).solve(rules, solver.node_budget, solver.settings(),
                                         generated.seed)
    return finish_row(config, task, generated, rules, tree)


def build_rows_with_policy(config: BuildConfig, task: Task, generated: Sequence[Generated],
                           policy: Policy) -> list[TraceRow | Rejected]:
    """Search all `generated` problems together with the language-model policy, then
    finish each row as any other; raises PolicyError (no rows) if the policy fails."""
    style = config.traces.style
    problems = [SearchProblem(task.rules(g.problem.data), task.phrasing(style, g.problem.data),
                              g.problem.prompt) for g in generated]
    trees = get_solver(config.solver.name).solve_batch(
        problems, policy, llm_mcts_settings(config), config.traces.style,
        config.solver.node_budget, seed=generated[0].seed if generated else 0)
    assert config.policy is not None  # the config requires it for llm_mcts
    described = json.dumps({"model": policy.model, **config.policy.described(),
                            "value": config.solver.llm_mcts.value}, sort_keys=True)
    return [finish_row(config, task, g, problem.rules, tree, described)
            for g, problem, tree in zip(generated, problems, trees, strict=True)]


def llm_mcts_settings(config: BuildConfig) -> LlmMctsSettings:
    section, policy = config.solver.llm_mcts, config.policy
    assert policy is not None  # the config requires it for llm_mcts
    step = Sampling(n=policy.samples, temperature=policy.temperature, top_p=policy.top_p,
                    max_tokens=policy.max_step_tokens, stop=("\n",))
    return LlmMctsSettings(simulations=section.simulations, exploration=section.exploration,
                           value=section.value, expansions_per_wave=section.expansions_per_wave,
                           resamples=section.resamples, step=step,
                           rollout_max_tokens=section.rollout_max_tokens)


def finish_row(config: BuildConfig, task: Task, generated: Generated, rules: Rules,
               tree: SearchTree, policy: str = "") -> TraceRow | Rejected:
    """Linearize, render and verify a solved tree (searched with `rules`); `policy`
    describes the language model that proposed the moves (empty for symbolic solvers)."""
    problem, candidate = generated.problem, generated.candidate
    solver = config.solver
    if tree.solution is None:
        if get_solver(solver.name).needs_policy:
            return Rejected(UNSOLVED_BY_POLICY)
        exhausted = any(n.status == "budget" for n in tree.nodes)
        return Rejected("solve:node_budget_exhausted" if exhausted else "solve:unsolvable")
    # Difficulty is measured by one reference solver (DFS with the task's move order),
    # whatever solver made the row, so rows of different builds compare.
    reference = tree if get_solver(solver.name) is DFS else DFS.solve(rules, solver.node_budget)
    difficulty = Difficulty(reference.nodes_expanded, reference.guesses(),
                            round(reference.branching(), 4), len(tree.solution_path()) - 1,
                            len(tree.nodes))
    traces = config.traces
    try:
        if candidate.k == NATURAL:
            trace = linearize_natural(tree)
            require_sound(trace, tree, rules)
        else:
            trace = linearize_exact(tree, rules, candidate.k, traces.placement,
                                    traces.max_dead_end_length)
    except UnsoundTrace:
        return Rejected("linearize:natural_trace_unsound")
    except NotEnoughSoundDeadEnds:
        return Rejected("linearize:not_enough_sound_dead_ends")
    except NotEnoughDeadEnds:
        return Rejected("linearize:not_enough_dead_ends")
    text = task.phrasing(traces.style, problem.data)
    style, salt = get_style(traces.style), generated.seed % 9973
    if traces.length_match is not None and candidate.k == 0:
        # The target: this problem's own trace at k = length_match, rendered alike. Both
        # buckets draw problems from one generator and keep only those with such a
        # trace, so the targets follow the k = length_match rows' lengths.
        # It widens a copy: the row's stored tree stays the one its own trace walks.
        widened = copy.deepcopy(tree)
        try:
            target = linearize_exact(widened, rules, traces.length_match, traces.placement,
                                     traces.max_dead_end_length)
        except NotEnoughDeadEnds:  # the sound variant included
            return Rejected(NO_LENGTH_TARGET)
        trace = pad_to_length(trace, tree, style, text, salt,
                              think_chars(style.render(target, widened, text, salt)))
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    answer = task.answer(problem.data, moves)
    lines = style.render(trace, tree, text, salt)
    completion = format_completion(lines, answer)
    verdict = verify_completion(task, problem.data, completion, traces.style,
                                trace.num_backtracks, get_solver(solver.name).shortest)
    if not verdict.ok:
        return Rejected(f"verify:{verdict.code}")
    corruptions: list[dict[str, Any]] = []
    if traces.corrupt is not None:
        # Drawn per candidate from its own seed, so it never depends on other rows; the
        # planned clean and corrupted levels take exactly their counts (`plan.cell_level`).
        rng = np.random.default_rng([generated.seed, CORRUPT_STREAM])
        if rng.random() < traces.corrupt.share:
            try:
                completion, corruption = corrupt_with_any(
                    task, problem.data, completion, traces.style, traces.corrupt.kinds, rng)
            except CannotCorrupt:
                return Rejected(NOT_CORRUPTIBLE)
            verdict = verify_corrupted(task, problem.data, completion, traces.style,
                                       trace.num_backtracks,
                                       {corruption.line: corruption.kind},
                                       get_solver(solver.name).shortest)
            if not verdict.ok:
                return Rejected(f"verify:{verdict.code}")
            corruptions = [corruption.to_json()]
    row_key = f"{problem.id}:{trace.mode}:{trace.num_backtracks}:{traces.style}:{traces.placement}"
    return TraceRow(
        id=hashlib.sha256(row_key.encode()).hexdigest()[:20],
        problem_id=problem.id,
        task=task.name,
        split=candidate.split,
        prompt=problem.prompt,
        completion=completion,
        messages=[{"role": "user", "content": problem.prompt},
                  {"role": "assistant", "content": completion}],
        answer=answer,
        num_backtracks=trace.num_backtracks,
        backtrack_positions=list(trace.backtrack_positions),
        dead_end_lengths=list(trace.dead_end_lengths),
        k_mode=trace.mode,
        placement=traces.placement,
        style=traces.style,
        drop="",  # a drop level is given when the row is selected (pipelines/dofns.py)
        solver=tree.solver,
        policy=policy,
        difficulty=difficulty,
        knobs=json.dumps(problem.knobs, sort_keys=True),
        problem=json.dumps(problem.data, sort_keys=True),
        seed=generated.seed,
        spawn_key=list(candidate.spawn_key),
        search_tree=tree.to_json(rules),
        trace_steps=json.dumps([[s.kind, s.node] for s in trace.steps], separators=(",", ":")),
        step_values=step_values(trace, tree, rules),
        padding_lines=sum(step.kind == CHECK for step in trace.steps),
        corruptions=corruptions,
        code_version=code_version(),
        schema_version=SCHEMA_VERSION,
    )
