"""The task contract, checked for every registered task and every solver.

Per-task files test each task's own rules (one corruption per rule); these tests hold
every task to what the pipeline relies on: determinism, JSON round trips, traces from
every solver that verify, generic corruptions rejected, an illegal move inside a dead-end
branch caught, disjoint splits, and parsers that never raise.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchtrace.config import parse_config
from searchtrace.pipelines.build import run_build
from searchtrace.solvers.mcts import MctsSettings
from searchtrace.solvers.registry import all_solvers, get_solver
from searchtrace.tasks import Task, get_task, task_names
from searchtrace.tasks.base import STYLES, GenerationSkipped, Problem, Violation
from searchtrace.traces.linearize import (
    NotEnoughDeadEnds,
    UnsoundTrace,
    linearize_exact,
    linearize_natural,
    require_sound,
)
from searchtrace.traces.parse import parse_line, split_completion
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import BACKTRACK, DEAD_END, MOVE, Trace
from searchtrace.traces.tree import SearchTree

# the solvers that search one problem at a time (llm_mcts needs a policy)
SOLVERS = [solver.name for solver in all_solvers() if not solver.batched]

BUDGET = 50_000


@cache
def problems(name: str, count: int = 2) -> tuple[Problem, ...]:
    """The first `count` easy problems of a task (skipped seeds move on)."""
    task = get_task(name)
    config = task.make_config("easy", {})
    found = []
    for seed in range(200):
        try:
            found.append(task.generate(config, np.random.default_rng(seed), "train"))
        except GenerationSkipped:
            continue
        if len(found) == count:
            return tuple(found)
    raise AssertionError(f"{name}: easy preset made fewer than {count} problems in 200 seeds")


def solved(task: Task, problem: Problem, solver: str = "dfs") -> SearchTree:
    tree = get_solver(solver).solve(task.rules(problem.data), BUDGET, MctsSettings(), 7)
    assert tree.solution is not None, f"{task.name}/{solver} did not solve {problem.id}"
    return tree


def render(task: Task, problem: Problem, tree: SearchTree, trace: Trace, style: str) -> str:
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    lines = render_think_lines(trace, tree, task.phrasing(style, problem.data), style, salt=3)
    return format_completion(lines, task.answer(problem.data, moves))


def with_backtracks(name: str, style: str, k: int = 1) -> tuple[Task, Problem, SearchTree,
                                                               Trace, str]:
    """A real rendered trace with k backtracks from the first problem that supports it."""
    task = get_task(name)
    for problem in problems(name, 4):
        tree = solved(task, problem)
        try:
            trace = linearize_exact(tree, task.rules(problem.data), k, "uniform", 6)
        except NotEnoughDeadEnds:
            continue
        return task, problem, tree, trace, render(task, problem, tree, trace, style)
    raise AssertionError(f"{name}: no easy problem supports {k} backtracks")


def think_lines(completion: str) -> tuple[list[str], str]:
    think, answer = split_completion(completion)
    return think.split("\n"), answer


def rebuild(lines: list[str], answer: str) -> str:
    return format_completion(lines, answer)


@pytest.mark.parametrize("name", task_names())
def test_generation_is_deterministic_per_seed(name: str) -> None:
    task = get_task(name)
    config = task.make_config("easy", {})
    for seed in range(5):
        outcomes = []
        for _ in range(2):
            try:
                outcomes.append(task.generate(config, np.random.default_rng(seed), "train"))
            except GenerationSkipped as skipped:
                outcomes.append(skipped.reason)
        assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("name", task_names())
def test_problems_and_trees_survive_a_json_round_trip(name: str) -> None:
    task = get_task(name)
    for problem in problems(name):
        again = Problem.from_json(problem.to_json())
        assert again == problem
        rules = task.rules(json.loads(json.dumps(problem.data)))
        assert solved(task, again).to_json(rules) == solved(task, problem).to_json(rules)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name", task_names())
def test_every_solver_is_deterministic_per_seed(name: str, solver: str) -> None:
    task = get_task(name)
    for problem in problems(name):
        rules = task.rules(problem.data)
        first, again = (get_solver(solver).solve(rules, BUDGET, MctsSettings(), 11).to_json(rules)
                        for _ in range(2))
        assert first == again


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name", task_names())
def test_every_solvers_traces_verify_in_both_styles(name: str, solver: str) -> None:
    task = get_task(name)
    verified = 0
    for problem in problems(name):
        tree = solved(task, problem, solver)
        rules = task.rules(problem.data)
        for k in (0, 1, 2):
            try:
                trace = linearize_exact(tree, rules, k, "uniform", 6)
            except NotEnoughDeadEnds:
                assert k > 0
                continue
            for style in STYLES:
                verdict = verify_completion(task, problem.data,
                                            render(task, problem, tree, trace, style), style, k)
                assert verdict.ok, (problem.id, k, style, verdict)
                verified += 1
        if get_solver(solver).walk:
            trace = linearize_natural(tree)
            completion = render(task, problem, tree, trace, "natural")
            verdict = verify_completion(task, problem.data, completion, "natural",
                                        trace.num_backtracks)
            try:
                require_sound(trace, tree, rules)
            except UnsoundTrace:
                # a depth limit gave up a solvable state, or the task cannot decide one (a
                # depth-first search is otherwise sound): the row is refused
                assert solver == "iddfs" or name == "equations"
                assert verdict.code in ("abandoned_solvable", "abandoned_undecided")
            else:
                assert verdict.ok, verdict
    assert verified >= 4


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", task_names())
def test_a_miscounted_backtrack_is_rejected(name: str, style: str) -> None:
    task, problem, _, trace, completion = with_backtracks(name, style)
    for wrong in (trace.num_backtracks - 1, trace.num_backtracks + 1):
        verdict = verify_completion(task, problem.data, completion, style, wrong)
        assert verdict.code == "backtrack_count"


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", task_names())
def test_a_false_dead_end_claim_is_rejected(name: str, style: str) -> None:
    task, problem, tree, trace, completion = with_backtracks(name, style)
    lines, answer = think_lines(completion)
    dead_line = lines[next(i for i, s in enumerate(trace.steps) if s.kind == DEAD_END)]
    rules = task.rules(problem.data)
    for index, step in enumerate(trace.steps):
        node = tree.nodes[step.node]
        if step.kind == MOVE and rules.dead_end(node.state) is None:
            claim_at = index + 1
            break
    mutated = rebuild([*lines[:claim_at], dead_line, *lines[claim_at:]], answer)
    verdict = verify_completion(task, problem.data, mutated, style, trace.num_backtracks)
    assert verdict.code == "false_dead_end" and verdict.line == claim_at


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", task_names())
def test_a_backtrack_to_a_state_off_the_path_is_rejected(name: str, style: str) -> None:
    task, problem, tree, trace, completion = with_backtracks(name, style)
    lines, answer = think_lines(completion)
    text = task.phrasing(style, problem.data)
    back = next(i for i, s in enumerate(trace.steps) if s.kind == BACKTRACK)
    current_path = {text.ref_key(tree.nodes[n].state, tree.nodes[n].move)
                    for n in tree.path_to(trace.steps[back - 1].node)}
    for later in tree.solution_path()[::-1]:
        node = tree.nodes[later]
        if text.ref_key(node.state, node.move) not in current_path:
            break
    else:
        pytest.fail("every solution state is on the path at the first backtrack")
    prefix = "back to " if style == "compact" else lines[back].split(" to ", 1)[0] + " to "
    suffix = "" if style == "compact" else "."
    lines[back] = prefix + text.ref_phrase(node.state, node.move) + suffix
    verdict = verify_completion(task, problem.data, rebuild(lines, answer), style,
                                trace.num_backtracks)
    assert verdict.code == "backtrack_off_path" and verdict.line == back


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", task_names())
def test_an_illegal_move_inside_a_dead_end_branch_is_caught(name: str, style: str) -> None:
    task, problem, tree, trace, completion = with_backtracks(name, style)
    lines, answer = think_lines(completion)
    rules, text = task.rules(problem.data), task.phrasing(style, problem.data)
    dead_at = next(i for i, s in enumerate(trace.steps) if s.kind == DEAD_END)
    start = max(i for i in range(dead_at) if i == 0 or trace.steps[i - 1].kind != MOVE
                or i == dead_at - trace.dead_end_lengths[0])
    target = tree.nodes[trace.steps[start].node]
    before = tree.nodes[target.parent].state
    for node in tree.nodes[1:]:
        result = rules.apply(before, node.move)
        if isinstance(result, Violation):
            break
    else:
        pytest.fail("no move in the tree is illegal at the branch point")
    original = text.move_phrase(target.move)
    assert original in lines[start]
    lines[start] = lines[start].replace(original, text.move_phrase(node.move), 1)
    verdict = verify_completion(task, problem.data, rebuild(lines, answer), style,
                                trace.num_backtracks)
    assert not verdict.ok and verdict.line == start
    assert verdict.code == result.code


@pytest.mark.parametrize("name", task_names())
def test_a_wrong_final_answer_is_rejected(name: str) -> None:
    task = get_task(name)
    first, *others = problems(name, 4)
    tree = solved(task, first)
    completion = render(task, first, tree, linearize_exact(tree, task.rules(first.data), 0,
                                                            "uniform", 6), "compact")
    lines, _ = think_lines(completion)
    wrong = [task.answer(o.data, [solved(task, o).nodes[n].move
                                  for n in solved(task, o).solution_path()[1:]])
             for o in others]
    wrong = [w for w in wrong if not task.check_answer(first.data, w).ok] + ["no answer"]
    verdict = verify_completion(task, first.data, rebuild(lines, wrong[0]), "compact", 0)
    assert verdict.code == "wrong_answer"


@pytest.mark.parametrize("name", task_names())
def test_splits_of_a_build_share_no_problem(name: str, tmp_path) -> None:
    config = parse_config({"task": {"name": name, "preset": "easy"},
                           "traces": {"k_mix": {0: 0.5, 1: 0.5}},
                           "splits": {"train": 8, "test": 4}, "seed": 2})
    run_build(config, tmp_path / name)
    ids = {split: [] for split in ("train", "test")}
    for path in sorted((tmp_path / name / "data").glob("*.parquet")):
        for row in pq.read_table(path, columns=["split", "problem_id"]).to_pylist():
            ids[row["split"]].append(row["problem_id"])
    assert len(ids["train"]) == 8 and len(ids["test"]) == 4
    assert not set(ids["train"]) & set(ids["test"])
    assert len(set(ids["train"])) == 8


@pytest.mark.parametrize("name", task_names())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=400), style=st.sampled_from(STYLES))
def test_checkers_never_raise_on_fuzzed_text(name: str, text: str, style: str) -> None:
    task = get_task(name)
    problem = problems(name)[0]
    assert not task.check_answer(problem.data, text).ok
    wrapped = f"<think>\n{text}\n</think>\n<answer>{text}</answer>"
    for completion in (text, wrapped):
        verdict = verify_completion(task, problem.data, completion, style, 0)
        assert not verdict.ok and verdict.code != "verifier_error"


@pytest.mark.parametrize("name", task_names())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk=st.text(min_size=1, max_size=120).filter(lambda s: "\n" not in s),
       position=st.integers(min_value=0, max_value=40), style=st.sampled_from(STYLES))
def test_spliced_lines_never_break_the_verifier(name: str, junk: str, position: int,
                                                style: str) -> None:
    task, problem, _, trace, completion = with_backtracks(name, style)
    lines, answer = think_lines(completion)
    at = min(position, len(lines))
    lines.insert(at, junk)
    verdict = verify_completion(task, problem.data, rebuild(lines, answer), style,
                                trace.num_backtracks)
    assert verdict.code != "verifier_error"
    if parse_line(junk, style) is None:
        assert not verdict.ok and verdict.line == at
        assert verdict.code in ("unparsable_step", "step_after_goal")
