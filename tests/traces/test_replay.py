"""Sound traces, in every task: no backtrack abandons a state that can still be solved, no
dead-end branch is said twice, the answer is the one the trace works out, and a solver that
promises a shortest solution gives one.

Rows are built by the real pipeline code (`finish_row`); soundness is checked against an
independent brute force over the rules' legal moves (not `rules.solvable`). Each rule is
then broken in a real verified trace and the verifier must name it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Hashable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from searchtrace.config import BuildConfig, parse_config
from searchtrace.flows.gate import reverify_rows
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.plan import NATURAL, Candidate
from searchtrace.pipelines.process import Generated, Rejected, finish_row, step_values
from searchtrace.schemas.rows import TraceRow
from searchtrace.solvers.mcts import MctsSettings
from searchtrace.solvers.registry import all_solvers, get_solver
from searchtrace.tasks import Task, get_task, task_names
from searchtrace.tasks.base import GenerationSkipped, Problem, Rules
from searchtrace.tasks.equations.rules import NUMBER_TOO_LARGE
from searchtrace.traces.linearize import NotEnoughDeadEnds, linearize_exact
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style, style_names
from searchtrace.traces.trace import BACKTRACK, DEAD_END, MOVE, Step, Trace
from searchtrace.traces.tree import SearchTree

# the solvers that search one problem at a time (llm_mcts needs a policy)
SOLVERS = [solver.name for solver in all_solvers() if not solver.batched]

STYLES = style_names()

BUDGET = 50_000
SEARCH_CAP = 200_000  # states one brute-force question may visit before the test gives up

# ---- the independent check ---------------------------------------------------------------

# Dead-end codes that state a limit of the problem rather than prove a failure: a state
# that breaks one lies outside the problem, so no solution passes through it.
STATED_LIMITS = {NUMBER_TOO_LARGE}  # equations: the numbers written stay within a limit


def goal_reachable(rules: Rules, state: Any, known: dict[Hashable, bool]) -> bool:
    """Whether some sequence of the rules' legal moves (`wider_moves`) leads from `state`
    to a goal within the problem's stated limits: an exhaustive search that uses neither
    `solvable` nor the dead-end proofs. `known` carries answers between questions on one
    problem: when a search exhausts, every state it met is unsolvable too (all it reaches,
    it met)."""
    key = rules.state_key(state)
    if key in known:
        return known[key]
    seen = {key}
    stack = [state]
    while stack:
        current = stack.pop()
        if rules.is_goal(current):
            known[key] = True
            return True
        dead = rules.dead_end(current)
        if dead is not None and dead.code in STATED_LIMITS:
            continue
        for _, child in rules.wider_moves(current):
            child_key = rules.state_key(child)
            if known.get(child_key):
                known[key] = True
                return True
            if child_key in seen or child_key in known:
                continue
            seen.add(child_key)
            assert len(seen) < SEARCH_CAP, "the brute force needs a smaller instance"
            stack.append(child)
    known.update(dict.fromkeys(seen, False))
    return False


def abandoned(steps: list[tuple[str, int]], tree: SearchTree) -> list[int]:
    """The nodes each backtrack of a trace removes from the current path, read off its
    steps by walking the path (not by the linearizer's own helper)."""
    path = [0]
    out = []
    for kind, node in steps:
        if kind == MOVE:
            assert tree.nodes[node].parent == path[-1], "a move must continue the path"
            path.append(node)
        elif kind == BACKTRACK:
            while path[-1] != node:
                out.append(path.pop())
    return out


# ---- real problems and rows --------------------------------------------------------------

@cache
def easy_problems(name: str, count: int, preset: str = "easy") -> tuple[Problem, ...]:
    task = get_task(name)
    config = task.make_config(preset, {})
    found = []
    for seed in range(300):
        try:
            found.append(task.generate(config, np.random.default_rng(seed), "train"))
        except GenerationSkipped:
            continue
        if len(found) == count:
            break
    return tuple(found)


def build_config(name: str, solver: str, k_mix: Any) -> BuildConfig:
    return parse_config({"task": {"name": name, "preset": "easy"},
                         "solver": {"name": solver, "node_budget": BUDGET},
                         "traces": {"k_mix": k_mix, "max_dead_end_length": 6},
                         "splits": {"train": 4, "test": 1}, "seed": 3})


def built_row(config: BuildConfig, task: Task, problem: Problem, k: int
              ) -> tuple[TraceRow | Rejected, SearchTree]:
    """A row made by the pipeline's own `finish_row`, and the tree it grew (with states)."""
    rules = task.rules(problem.data)
    tree = get_solver(config.solver.name).solve(rules, BUDGET, config.solver.settings(), 5)
    generated = Generated(Candidate("train", k, 0, 0), 5, problem)
    return finish_row(config, task, generated, rules, tree), tree


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name", task_names())
def test_every_abandoned_state_of_a_built_row_has_no_solution(name: str, solver: str) -> None:
    """Contract: for every task and solver, each state a backtrack of a built row abandons
    is unsolvable by brute force; and rows are built (the rule does not refuse them all)."""
    task = get_task(name)
    config = build_config(name, solver, {1: 0.5, 3: 0.5})
    ks = [1, 3] + ([NATURAL] if get_solver(solver).walk else [])
    rows = checked = 0
    for problem in easy_problems(name, 3):
        known: dict[Hashable, bool] = {}
        for k in ks:
            row, tree = built_row(config, task, problem, k)
            if isinstance(row, Rejected):
                assert row.reason.startswith(("linearize:", "solve:")), row.reason
                continue
            rows += 1
            rules = task.rules(problem.data)
            for node in abandoned(json.loads(row.trace_steps), tree):
                checked += 1
                assert not goal_reachable(rules, tree.nodes[node].state, known), (
                    f"{problem.id} k={k}: node {node} is abandoned but solvable")
    assert rows > 0 and checked > 0


# ---- corruptions, one rule at a time -----------------------------------------------------

@cache
def verified(name: str, style: str) -> tuple[Task, Problem, SearchTree, Trace]:
    """A real exact trace with one backtrack that verifies. Corruptions may graft nodes
    onto its tree; the trace itself never changes."""
    task = get_task(name)
    for problem in easy_problems(name, 6):
        tree = get_solver("dfs").solve(task.rules(problem.data), BUDGET, MctsSettings(), 0)
        try:
            trace = linearize_exact(tree, task.rules(problem.data), 1, "uniform", 6)
        except NotEnoughDeadEnds:
            continue
        assert verify(task, problem, tree, trace, style).ok
        return task, problem, tree, trace
    raise AssertionError(f"{name}: no easy problem supports one sound backtrack")


def derived_answer(task: Task, problem: Problem, tree: SearchTree) -> str:
    return task.answer(problem.data, [tree.nodes[n].move for n in tree.solution_path()[1:]])


def verify(task: Task, problem: Problem, tree: SearchTree, trace: Trace, style: str,
           answer: str | None = None, solver: str = "dfs") -> Any:
    lines = get_style(style).render(trace, tree, task.phrasing(style, problem.data), salt=1)
    completion = format_completion(lines, answer or derived_answer(task, problem, tree))
    return verify_completion(task, problem.data, completion, style, trace.num_backtracks,
                             get_solver(solver).shortest)


def solvable_branch(rules: Rules, tree: SearchTree) -> tuple[int, list[tuple[Any, Any]]]:
    """A branch point on the solution path and a chain of legal moves from it whose first
    state can still be solved and whose last the rules confirm dead (the first may be the
    path's own next state: then the branch gives up a state of the solution path)."""
    known: dict[Hashable, bool] = {}
    for point in tree.solution_path()[:-1]:
        for move, child in rules.wider_moves(tree.nodes[point].state):
            if not goal_reachable(rules, child, known):
                continue
            chain = _chain_to_dead(rules, [(move, child)], 6)
            if chain is not None:
                return point, chain
    raise AssertionError("no solvable state on the way has a dead end below it")


def _chain_to_dead(rules: Rules, chain: list[tuple[Any, Any]],
                   depth: int) -> list[tuple[Any, Any]] | None:
    state = chain[-1][1]
    if rules.dead_end(state) is not None:
        return chain
    if depth == 0 or rules.is_goal(state):
        return None
    for move, child in rules.wider_moves(state):
        found = _chain_to_dead(rules, [*chain, (move, child)], depth - 1)
        if found is not None:
            return found
    return None


def backtrack_lines(trace: Trace) -> list[int]:
    return [i for i, step in enumerate(trace.steps) if step.kind == BACKTRACK]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", task_names())
def test_a_backtrack_that_abandons_a_solvable_state_is_rejected(name: str, style: str) -> None:
    task, problem, tree, trace = verified(name, style)
    rules = task.rules(problem.data)
    point, chain = solvable_branch(rules, tree)
    parent, inserted = point, []
    for move, state in chain:
        node = tree.add(parent, move, state, widened=True)
        inserted.append(Step(MOVE, node.id))
        parent = node.id
    tree.nodes[parent].status, tree.nodes[parent].reason = "dead_end", rules.dead_end(state)
    inserted += [Step(DEAD_END, parent), Step(BACKTRACK, point)]
    steps = list(trace.steps)
    at = 0 if point == 0 else steps.index(Step(MOVE, point)) + 1
    corrupted = Trace.from_steps(steps[:at] + inserted + steps[at:], "exact", tree)
    verdict = verify(task, problem, tree, corrupted, style)
    assert verdict.code == "abandoned_solvable", verdict
    assert verdict.line == at + len(inserted) - 1
    assert f"line {at}," in verdict.message  # names the move into the solvable state


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", task_names())
def test_a_dead_end_branch_said_twice_is_rejected(name: str, style: str) -> None:
    task, problem, tree, trace = verified(name, style)
    back = backtrack_lines(trace)[0]
    start = back - 1 - trace.dead_end_lengths[0]
    branch = list(trace.steps[start : back + 1])
    steps = [*trace.steps[: back + 1], *branch, *trace.steps[back + 1 :]]
    twice = Trace.from_steps(steps, "exact", tree)
    assert twice.num_backtracks == trace.num_backtracks + 1  # the count is raised to match
    verdict = verify(task, problem, tree, twice, style)
    assert verdict.code == "repeated_dead_end", verdict
    assert verdict.line == back + len(branch) and f"line {back}" in verdict.message


def other_answers(task: Task, problem: Problem, tree: SearchTree) -> list[str]:
    """Answers that solve the problem but are not the one the trace spells: other
    solutions where the problem has them (found by brute force), and the same solution in
    another form the answer checker accepts."""
    rules = task.rules(problem.data)
    derived = derived_answer(task, problem, tree)
    found: list[str] = []
    stack: list[tuple[Any, list[Any]]] = [(rules.initial_state(), [])]
    visited = 0
    while stack and len(found) < 3 and visited < 20_000:
        state, moves = stack.pop()
        visited += 1
        if rules.is_goal(state):
            answer = task.answer(problem.data, moves)
            if answer != derived:
                found.append(answer)
            continue
        stack.extend((child, [*moves, move]) for move, child in rules.wider_moves(state))
    if task.name in REFORMS:
        found.append(REFORMS[task.name](derived))
    return [a for a in found if " ".join(a.split()) != " ".join(derived.split())
            and task.check_answer(problem.data, a).ok]


# The same solution written another way that the task's answer checker accepts (or, for
# coloring, two colours swapped), for the tasks whose small problems may have one solution
# only or whose other solutions lie beyond the search above.
REFORMS: dict[str, Callable[[str], str]] = {
    "countdown": lambda a: f"({a})",  # the same expression, bracketed
    "coloring": lambda a: a.replace("red", "?").replace("green", "red").replace("?", "green"),
    "sudoku": lambda a: a.replace("\n", ""),  # all cells on one line
    "zebra": lambda a: "\n".join(", ".join(reversed(line.split(", "))) for line in
                                 a.split("\n")),  # values of a house in another order
    "nqueens": lambda a: "[" + ", ".join(p.split("=r")[1] for p in a.split()) + "]",
    "equations": lambda a: a.replace(" = ", "="),
    "sokoban": lambda a: a.replace("; ", ", "),  # pushes separated by commas
}


@pytest.mark.parametrize("name", task_names())
def test_an_answer_the_trace_did_not_work_out_is_rejected(name: str) -> None:
    task, problem, tree, trace = verified(name, "compact")
    alternatives = other_answers(task, problem, tree)
    assert alternatives, "no other accepted answer to substitute"
    for answer in alternatives:
        verdict = verify(task, problem, tree, trace, "compact", answer=answer)
        assert verdict.code == "answer_not_derived", (answer, verdict)
        # model output is judged by the answer checker alone: the same answer passes there
        phrasing = task.phrasing("compact", problem.data)
        lines = get_style("compact").render(trace, tree, phrasing, 1)
        assert verify_completion(task, problem.data, format_completion(lines, answer),
                                 "compact", None).ok


def longer_than_shortest(name: str, preset: str) -> tuple[Task, Problem, SearchTree, Trace]:
    """A depth-first solution that is longer than the problem's shortest one."""
    task = get_task(name)
    for problem in easy_problems(name, 12, preset):
        rules = task.rules(problem.data)
        tree = get_solver("dfs").solve(rules, BUDGET, MctsSettings(), 0)
        shortest = get_solver("bfs").solve(rules, BUDGET, MctsSettings(), 0)
        if len(tree.solution_path()) > len(shortest.solution_path()):
            return task, problem, tree, linearize_exact(tree, rules, 0, "uniform", 6)
    raise AssertionError(f"{name}: depth-first search found a shortest solution every time")


@pytest.mark.parametrize(("name", "preset"), [("maze", "easy"), ("sokoban", "medium")])
def test_a_longer_solution_is_rejected_for_a_solver_that_promises_the_shortest(
        name: str, preset: str) -> None:
    task, problem, tree, trace = longer_than_shortest(name, preset)
    assert verify(task, problem, tree, trace, "compact", solver="dfs").ok
    for solver in ("bfs", "astar", "iddfs"):
        verdict = verify(task, problem, tree, trace, "compact", solver=solver)
        assert verdict.code == "not_shortest", verdict
        assert "promises a shortest solution" in verdict.message


@pytest.mark.parametrize("name", task_names())
def test_rows_of_shortest_solvers_verify_as_shortest(name: str) -> None:
    """A bfs or A* row passes the shortest-solution proof (it is not refused wholesale)."""
    task = get_task(name)
    problem = easy_problems(name, 1)[0]
    for solver in ("bfs", "astar"):
        rules = task.rules(problem.data)
        tree = get_solver(solver).solve(rules, BUDGET, MctsSettings(), 0)
        trace = linearize_exact(tree, rules, 0, "uniform", 6)
        assert verify(task, problem, tree, trace, "natural", solver=solver).ok


# ---- process-reward values ---------------------------------------------------------------

@pytest.mark.parametrize("name", task_names())
def test_every_move_step_of_an_mcts_row_has_a_value(name: str) -> None:
    """Dead-end steps (widened ones included) are 0; solution-path steps carry the MCTS
    mean, which is above 0 since the solution was backed up through them."""
    task = get_task(name)
    config = build_config(name, "mcts", {1: 0.5, 3: 0.5})
    dead_steps = 0
    for problem in easy_problems(name, 3):
        for k in (1, 3):
            row, tree = built_row(config, task, problem, k)
            if isinstance(row, Rejected):
                continue
            on_path = set(tree.solution_path())
            moves = [node for kind, node in json.loads(row.trace_steps) if kind == MOVE]
            assert len(row.step_values) == len(moves)
            for node, value in zip(moves, row.step_values, strict=True):
                assert value is not None and 0.0 <= value <= 1.0
                if node in on_path:
                    assert value > 0.0
                else:
                    assert value == 0.0
                    dead_steps += 1
    assert dead_steps > 0


def test_step_values_are_empty_for_solvers_without_estimates() -> None:
    task = get_task("countdown")
    problem = easy_problems("countdown", 1)[0]
    rules = task.rules(problem.data)
    tree = get_solver("dfs").solve(rules, BUDGET, MctsSettings(), 0)
    assert step_values(linearize_exact(tree, rules, 0, "uniform", 6), tree, rules) == []


# ---- the gate and `searchtrace verify` name the rules --------------------------------------

@pytest.fixture(scope="module")
def maze_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sound") / "maze"
    run_build(parse_config({"task": {"name": "maze", "preset": "easy"},
                            "traces": {"k_mix": {1: 0.5, 2: 0.5}, "style": "compact"},
                            "splits": {"train": 10, "test": 2}, "seed": 4}), out)
    return out


def rewrite_row(dataset: Path, out: Path, change: Any) -> str:
    """Copy `dataset` to `out` with the first row `change(row)` accepts changed; its id."""
    (out / "data").mkdir(parents=True)
    (out / "stats.json").write_text((dataset / "stats.json").read_text())
    changed = None
    for path in sorted((dataset / "data").glob("*.parquet")):
        table = pq.read_table(path)
        rows = table.to_pylist()
        for row in rows:
            if changed is None and change(row):
                changed = row["id"]
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), out / "data" / path.name)
    assert changed is not None, "no row could be changed"
    return changed


def duplicate_first_branch(row: dict[str, Any]) -> bool:
    """Say the row's first dead-end branch twice and raise its backtrack count."""
    think, answer = split_completion(row["completion"])
    lines = think.split("\n")
    back = row["backtrack_positions"][0]
    branch = lines[back - 1 - row["dead_end_lengths"][0] : back + 1]
    row["completion"] = format_completion([*lines[: back + 1], *branch, *lines[back + 1 :]],
                                          answer)
    row["num_backtracks"] += 1
    return True


def pretend_shortest(row: dict[str, Any]) -> bool:
    """Claim that a row whose solution is longer than the shortest came from bfs."""
    task = get_task(row["task"])
    rules = task.rules(json.loads(row["problem"]))
    shortest = get_solver("bfs").solve(rules, BUDGET, MctsSettings(), 0)
    if row["difficulty"]["solution_length"] <= len(shortest.solution_path()) - 1:
        return False
    row["solver"] = "bfs"
    return True


@pytest.mark.parametrize(("change", "code"), [(duplicate_first_branch, "repeated_dead_end"),
                                              (pretend_shortest, "not_shortest")])
def test_reverification_and_the_cli_name_the_broken_rule(maze_build: Path, tmp_path: Path,
                                                         change: Any, code: str) -> None:
    row_id = rewrite_row(maze_build, tmp_path / "changed", change)
    replayed = reverify_rows(tmp_path / "changed")
    assert replayed.checked == 12 and not replayed.unreadable
    assert [(r, v.code) for _, r, v in replayed.failed] == [(row_id, code)]
    result = subprocess.run([sys.executable, "-m", "searchtrace.cli", "verify",
                             str(tmp_path / "changed")], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 1
    assert code in result.stderr and f"row {row_id}" in result.stderr
    assert "11 ok, 1 failed" in result.stdout
