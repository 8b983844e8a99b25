"""Equations rules: expand and the wider moves agree with apply, the heuristic is a lower
bound, each broken rule has its code (sympy confirms every step, and catches a wrong
rewrite the task's own algebra makes), dead ends are confirmed, and traces of every kind
and knob verify while each illegal move or false dead-end claim in one is rejected."""

from __future__ import annotations

import json
from collections import deque
from fractions import Fraction

import pytest

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks.base import DeadEnd, Violation
from searchtrace.tasks.equations import algebra
from searchtrace.tasks.equations import rules as rules_module
from searchtrace.tasks.equations.algebra import ONE, XX, X, Y, make_poly, product_item
from searchtrace.tasks.equations.expressions import fmt_equation, parse_equation
from searchtrace.tasks.equations.rules import READ, EqMove, EqState
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import MOVE
from tests.tasks.equations.support import (
    TASK,
    Rendered,
    back_line,
    canonical_answer,
    dead_line,
    explored_states,
    make_problem,
    move_line,
    number,
    out_of_steps_line,
    rendered,
    rules_for,
    solve,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_expand_and_wider_moves_agree_with_apply(preset: str) -> None:
    for rules, state in explored_states(preset, seeds=3)[:150]:
        children = rules.expand(state)
        keys = [rules.state_key(child) for _, child in children]
        assert len(keys) == len(set(keys)), state
        wider = list(rules.wider_moves(state))
        assert wider[: len(children)] == children
        assert len({rules.state_key(c) for _, c in wider}) == len(wider)
        for move, child in wider:
            applied = rules.apply(state, move)
            assert not isinstance(applied, Violation), (state, move, applied)
            assert rules.state_key(applied) == rules.state_key(child)
            assert child.steps_left == state.steps_left - 1
        if not children and not rules.is_goal(state):
            assert rules.dead_end(state) is not None, state


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_heuristic_is_a_lower_bound(preset: str) -> None:
    """Breadth-first search over every move the rules offer (wider ones included) from
    states near the goal never finds a goal closer than the heuristic says."""
    for seed in range(2):
        problem = make_problem(seed, preset)
        rules = TASK.rules(problem.data)
        tree = solve(problem)
        path = tree.solution_path()
        for depth, node_id in enumerate(path):
            state = tree.nodes[node_id].state
            assert rules.heuristic(state) <= len(path) - 1 - depth
            if len(path) - 1 - depth > 3:
                continue
            seen, queue, best = {state}, deque([(state, 0)]), None
            while queue:
                current, distance = queue.popleft()
                if rules.is_goal(current):
                    best = distance
                    break
                if distance < 3:
                    for _, child in rules.wider_moves(current):
                        if child not in seen:
                            seen.add(child)
                            queue.append((child, distance + 1))
            assert best is not None and rules.heuristic(state) <= best


def test_solver_path_is_the_best_first_one() -> None:
    rules = rules_for("quadratic", ["(x + 1)(x - 3) = 5"])
    tree = solve_dfs(rules, 1000)
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    assert moves == [EqMove("expand", side="left"), EqMove("subtract", number(5)),
                     EqMove("factor", side="left"), READ]
    assert tree.nodes[tree.solution].state.solution == ((Fraction(-2),), (Fraction(4),))
    rules = rules_for("linear", ["3(x - 2) + x = 2x + 8"])
    tree = solve_dfs(rules, 1000)
    states = [fmt_equation(tree.nodes[n].state.eqs[0]) for n in tree.solution_path()[1:-1]]
    assert states == ["3x + x - 6 = 2x + 8", "4x - 6 = 2x + 8", "2x - 6 = 8", "2x = 14",
                      "x = 7"]
    rules = rules_for("system", ["2x + 3y = 12", "x - y = -1"], max_steps=9)
    tree = solve_dfs(rules, 1000)
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    assert moves[:2] == [EqMove("solve", eq=2, var="x"), EqMove("substitute", eq=2, target=1)]
    assert moves[-1] == READ
    assert tree.nodes[tree.solution].state.solution == ((Fraction(9, 5), Fraction(14, 5)),)


@pytest.mark.parametrize(
    ("kind", "equations", "move", "code", "says"),
    [
        ("quadratic", ["x^2 + x = 6"], EqMove("add", ((Y, Fraction(1)),)), "unknown_variable",
         "y does not appear"),
        ("linear", ["3x + 5 = 20"], EqMove("add", ((XX, Fraction(1)),)), "degree_too_high",
         "adding x^2 would raise the degree"),
        ("quadratic", ["x^2 + x = 6"], EqMove("add", (((3, 0), Fraction(1)),)),
         "degree_too_high", "above 2"),
        ("linear", ["3x + 5 = 20"], EqMove("subtract", ()), "no_change", "changes nothing"),
        ("linear", ["3x + 5 = 20"], EqMove("divide", number(1)), "no_change", "by 1"),
        ("linear", ["3x + 5 = 20"], EqMove("multiply", ()), "multiply_by_zero", "by 0"),
        ("linear", ["3x + 5 = 20"], EqMove("divide", ()), "divide_by_zero", "undefined"),
        ("quadratic", ["x^2 = 4x"], EqMove("divide", ((X, Fraction(1)),)), "variable_factor",
         "dividing by x may lose the solution x = 0"),
        ("quadratic", ["x^2 = 4x"], EqMove("multiply", make_poly({X: 1, ONE: -2})),
         "variable_factor", "multiplying by x - 2 may add the solution x = 2"),
        ("linear", ["3x + 5 = 20"], EqMove("expand", side="left"), "nothing_to_expand",
         "no product"),
        ("linear", ["3x + 5 = 20"], EqMove("collect", side="left"), "nothing_to_collect",
         "no like terms"),
        ("quadratic", ["x^2 + x - 1 = 0"], EqMove("factor", side="left"), "cannot_factor",
         "factors over the rationals"),
        ("quadratic", ["x^2 + x = 6"], EqMove("factor", side="right"), "cannot_factor", "6"),
        ("linear", ["2x = 6"], READ, "not_solved_form", "not yet in a form to read off"),
        ("quadratic", ["x(x - 4) = 5"], READ, "not_solved_form", "x(x - 4) = 5"),
        ("linear", ["3x + 5 = 20"], EqMove("add", number(1), eq=1), "no_such_equation",
         "only one equation"),
        ("linear", ["3x + 5 = 20"], EqMove("solve", eq=1, var="x"), "not_a_system",
         "only one equation"),
        ("system", ["x + y = 3", "x - y = 1"], EqMove("add", number(1)), "no_such_equation",
         "name the equation"),
        ("system", ["x + y = 3", "x - y = 1"], EqMove("add", number(1), eq=3),
         "no_such_equation", "no equation 3"),
        ("system", ["x + y = 3", "2y = 2"], EqMove("solve", eq=2, var="y"), "cannot_solve_for",
         "does not contain both x and y"),
        ("system", ["x + y = 3", "x - y = 1"], EqMove("substitute", eq=1, target=2),
         "cannot_substitute", "is not solved for x or y"),
        ("system", ["x = 3 - y", "x - y = 1"], EqMove("substitute", eq=1, target=1),
         "cannot_substitute", "into itself"),
        ("system", ["y = 1", "x = 2"], EqMove("substitute", eq=1, target=2),
         "cannot_substitute", "has no y to replace"),
        ("system", ["x = y + 1", "x - y = 1"], EqMove("solve", eq=1, var="x"), "no_change",
         "as it is"),
    ],
)
def test_apply_names_the_broken_rule(kind: str, equations: list[str], move: EqMove,
                                     code: str, says: str) -> None:
    rules = rules_for(kind, equations)
    violation = rules.apply(rules.initial_state(), move)
    assert isinstance(violation, Violation) and violation.code == code, violation
    assert says in violation.message, violation.message


def test_apply_refuses_moves_past_the_budget_and_after_the_read_off() -> None:
    rules = rules_for("linear", ["x = 4"], max_steps=1)
    start = rules.initial_state()
    done = rules.apply(start, READ)
    assert done == EqState((), ((Fraction(4),),), 0) and rules.is_goal(done)
    again = rules.apply(done, EqMove("add", number(1)))
    assert isinstance(again, Violation) and again.code == "already_solved"
    moved = rules.apply(start, EqMove("add", number(1)))
    assert moved.steps_left == 0
    late = rules.apply(moved, EqMove("subtract", number(1)))
    assert isinstance(late, Violation) and late.code == "no_steps_left"
    assert "all 1 steps are used" in late.message


def test_the_moves_rewrite_as_algebra_says() -> None:
    rules = rules_for("quadratic", ["(x + 1)(x - 3) - 5 = 0"], max_steps=9)
    state = rules.initial_state()
    steps = [(EqMove("expand", side="left"), "x^2 - 2x - 3 - 5 = 0"),
             (EqMove("collect", side="left"), "x^2 - 2x - 8 = 0"),
             (EqMove("multiply", number(-2)), "-2x^2 + 4x + 16 = 0"),
             (EqMove("factor", side="left"), "-2(x + 2)(x - 4) = 0"),
             (EqMove("add", make_poly({X: 1, ONE: 1})), "-2(x + 2)(x - 4) + x + 1 = x + 1"),
             (EqMove("subtract", make_poly({X: 1, ONE: 1})), "-2(x + 2)(x - 4) = 0"),
             (READ, None)]
    for move, said in steps:
        state = rules.apply(state, move)
        assert not isinstance(state, Violation), state
        if said is not None:
            assert fmt_equation(state.eqs[0]) == said
    assert state.solution == ((Fraction(-2),), (Fraction(4),))
    system = rules_for("system", ["2x - y = 3", "x + 2y = 4"])
    state = system.apply(system.initial_state(), EqMove("solve", eq=1, var="y"))
    assert [fmt_equation(eq) for eq in state.eqs] == ["y = 2x - 3", "x + 2y = 4"]
    state = system.apply(state, EqMove("substitute", eq=1, target=2))
    assert [fmt_equation(eq) for eq in state.eqs] == ["y = 2x - 3", "5x - 6 = 4"]


def test_sympy_confirms_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong rewrite is caught by sympy even when the task's own algebra makes it."""
    rules = rules_for("quadratic", ["x^2 - x - 6 = 0"])
    start = rules.initial_state()
    good = rules.apply(start, EqMove("factor", side="left"))
    assert fmt_equation(good.eqs[0]) == "(x + 2)(x - 3) = 0"

    def wrong_factor(side):
        return (product_item(Fraction(1), [make_poly({X: 1, ONE: 2}),
                                           make_poly({X: 1, ONE: 3})]),)

    monkeypatch.setattr(rules_module, "factor_side", wrong_factor)
    fresh = rules_for("quadratic", ["x^2 - x - 6 = 0"])
    caught = fresh.apply(fresh.initial_state(), EqMove("factor", side="left"))
    assert isinstance(caught, Violation) and caught.code == "solution_set_changed"
    assert "is not equal to" in caught.message
    monkeypatch.undo()
    # a wrong read-off and a changed solution set, handed to the sympy check directly
    wrong = EqState((), ((Fraction(2),), (Fraction(3),)), 0)
    problem = rules._confirm_with_sympy(good, READ, wrong)
    assert problem is not None and problem.code == "solution_set_changed"
    shifted = EqState((parse_equation("x^2 - x - 7 = 0"),), (), 7)
    problem = rules._confirm_with_sympy(start, EqMove("add", number(1)), shifted)
    assert problem is not None and "does not have the solution set" in problem.message
    system = rules_for("system", ["x + y = 3", "x - y = 1"])
    bad = EqState((parse_equation("x + y = 3"), parse_equation("x - y = 2")), (), 7)
    assert system._confirm_with_sympy(system.initial_state(), EqMove("add", number(1), eq=2),
                                      bad).code == "solution_set_changed"


def test_dead_ends_and_their_confirmation() -> None:
    rules = rules_for("quadratic", ["x^2 + x = 6"], max_steps=3, limit=50)
    start = rules.initial_state()
    assert rules.dead_end(start) is None and rules.lower_bound(start) == 2
    one_left = start._replace(steps_left=1)
    assert rules.dead_end(one_left) == DeadEnd("out_of_steps", (1, 2))
    assert rules.confirm_dead_end(one_left, DeadEnd("out_of_steps", (1, 2))) is None
    assert "2 steps are left, not 1" in rules.confirm_dead_end(
        start._replace(steps_left=2), DeadEnd("out_of_steps", (1, 2)))
    assert "needs at least 2 more steps, not 3" in rules.confirm_dead_end(
        one_left, DeadEnd("out_of_steps", (1, 3)))
    assert "enough" in rules.confirm_dead_end(start, DeadEnd("out_of_steps", (3, 2)))
    factored = EqState((parse_equation("(x + 3)(x - 2) = 0"),), (), 1)
    assert rules.dead_end(factored) is None and rules.lower_bound(factored) == 1
    assert rules.dead_end(factored._replace(steps_left=0)) == DeadEnd("out_of_steps", (0, 1))
    big = rules.apply(start, EqMove("multiply", number(10)))
    assert fmt_equation(big.eqs[0]) == "10x^2 + 10x = 60"
    assert rules.dead_end(big) == DeadEnd("number_too_large", ("60",))
    assert rules.confirm_dead_end(big, DeadEnd("number_too_large", ("60",))) is None
    assert "does not appear" in rules.confirm_dead_end(big, DeadEnd("number_too_large",
                                                                    ("70",)))
    assert "within the limit of 50" in rules.confirm_dead_end(
        big, DeadEnd("number_too_large", ("10",)))
    assert "cannot read" in rules.confirm_dead_end(big, DeadEnd("number_too_large", ("1/0",)))
    half = EqState((parse_equation("(1/60)x^2 = 1"),), (), 3)
    assert rules.dead_end(half) == DeadEnd("number_too_large", ("1/60",))
    assert "not a dead end of this task" in rules.confirm_dead_end(start, DeadEnd("x", ()))
    solved = rules.apply(factored, READ)
    assert rules.is_goal(solved) and rules.dead_end(solved) is None
    assert rules.confirm_dead_end(solved, DeadEnd("out_of_steps", (0, 1))) is not None
    system = rules_for("system", ["x + y = 3", "x - y = 1"], max_steps=4)
    assert system.lower_bound(system.initial_state()) == 3
    half_done = EqState((parse_equation("x = 2"), parse_equation("x - y = 1")), (), 2)
    assert system.lower_bound(half_done) == 2
    assert system.dead_end(half_done._replace(steps_left=1)) == DeadEnd("out_of_steps",
                                                                        (1, 2))

# ---- traces ----------------------------------------------------------------------------


def test_stored_trees_name_only_the_tasks_dead_ends() -> None:
    for preset in ("medium", "hard"):
        problem = make_problem(5, preset)
        rules = TASK.rules(problem.data)
        tree = solve(problem)
        linearize_exact(tree, rules, 3, "uniform", 6)
        stored = json.loads(tree.to_json(rules))
        reasons = [n["reason"] for n in stored["nodes"] if n["reason"] is not None]
        assert reasons and all(code in ("out_of_steps", "number_too_large")
                               for code, _ in reasons)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_traces_of_every_kind_verify(style: str, preset: str) -> None:
    for seed in range(3):
        problem = make_problem(seed, preset)
        tree = solve(problem)
        rules = TASK.rules(problem.data)
        traces = [linearize_natural(tree)]
        traces += [linearize_exact(tree, rules, k, "uniform", 6) for k in (0, 1, 3, 5)]
        assert [t.num_backtracks for t in traces[1:]] == [0, 1, 3, 5]
        answer = canonical_answer(problem, tree)
        for trace in traces:
            phrasing = TASK.phrasing(style, problem.data)
            lines = get_style(style).render(trace, tree, phrasing, seed)
            completion = format_completion(lines, answer)
            verdict = verify_completion(TASK, problem.data, completion, style,
                                        trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


@pytest.mark.parametrize("knobs", [{"grouped": True}, {"rational": True},
                                   {"spare_steps": 0}, {"kind": "linear", "both_sides": True}])
def test_every_knob_variant_traces_and_verifies(knobs: dict) -> None:
    for seed in range(2):
        problem = make_problem(seed, "medium", **knobs)
        tree = solve(problem)
        trace = linearize_exact(tree, TASK.rules(problem.data), 3, "late", 6)
        for style in STYLES:
            phrasing = TASK.phrasing(style, problem.data)
            lines = get_style(style).render(trace, tree, phrasing, 1)
            completion = format_completion(lines, canonical_answer(problem, tree))
            assert verify_completion(TASK, problem.data, completion, style, 3).ok, completion


def _first_move_line(r: Rendered, predicate=lambda state: True) -> int:
    """A line that is a move from a live state (so a replaced move is applied there)."""
    for index, step in enumerate(r.trace.steps):
        if index and r.trace.steps[index - 1].kind != MOVE:
            continue
        if step.kind == MOVE and predicate(r.state_before(index)):
            return index
    raise AssertionError("no such line")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(
    ("preset", "move", "code"),
    [
        ("medium", EqMove("add", ((Y, Fraction(1)),)), "unknown_variable"),
        ("medium", EqMove("subtract", (((3, 0), Fraction(1)),)), "degree_too_high"),
        ("medium", EqMove("add", ()), "no_change"),
        ("medium", EqMove("multiply", ()), "multiply_by_zero"),
        ("medium", EqMove("divide", ()), "divide_by_zero"),
        ("medium", EqMove("divide", ((X, Fraction(1)),)), "variable_factor"),
        ("medium", EqMove("expand", side="left"), "nothing_to_expand"),
        ("medium", EqMove("collect", side="right"), "nothing_to_collect"),
        ("medium", EqMove("factor", side="right"), "cannot_factor"),
        ("medium", READ, "not_solved_form"),
        ("medium", EqMove("add", number(2), eq=1), "no_such_equation"),
        ("medium", EqMove("substitute", eq=1, target=2), "not_a_system"),
        ("hard", EqMove("substitute", eq=1, target=2), "cannot_substitute"),
        ("hard", EqMove("multiply", number(3), eq=4), "no_such_equation"),
    ],
)
def test_illegal_moves_are_rejected_with_their_code(style: str, preset: str, move: EqMove,
                                                    code: str) -> None:
    r = rendered(0, 3, style, preset)
    lines = list(r.lines)
    lines[0] = move_line(r, move, r.node(0).state)
    verdict = r.verify(lines)
    assert verdict.code == code and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
def test_solving_a_one_variable_equation_of_a_system_is_rejected(style: str) -> None:
    r = rendered(1, 1, style, "hard")

    def one_variable(state: EqState) -> bool:
        return any(len(algebra.poly_variables(rules_module._equation_poly(eq))) == 1
                   and rules_module._var_equals_constant(eq) is None for eq in state.eqs)

    at = _first_move_line(r, one_variable)
    state = r.state_before(at)
    index = next(i for i, eq in enumerate(state.eqs)
                 if len(algebra.poly_variables(rules_module._equation_poly(eq))) == 1)
    lines = list(r.lines)
    lines[at] = move_line(r, EqMove("solve", eq=index + 1, var="x"), r.node(at).state)
    verdict = r.verify(lines)
    assert verdict.code == "cannot_solve_for" and verdict.line == at, verdict


@pytest.mark.parametrize("style", STYLES)
def test_a_variable_factor_inside_a_dead_end_branch_is_rejected(style: str) -> None:
    r = rendered(2, 5, style)
    branch_moves = [i for i, step in enumerate(r.trace.steps)
                    if step.kind == MOVE and r.tree.nodes[step.node].widened]
    at = branch_moves[0]
    lines = list(r.lines)
    lines[at] = move_line(r, EqMove("multiply", ((X, Fraction(1)),)), r.node(at).state)
    verdict = r.verify(lines)
    assert verdict.code == "variable_factor" and verdict.line == at, verdict
    assert "multiplying by x may add the solution x = 0" in verdict.message


@pytest.mark.parametrize("style", STYLES)
def test_moving_past_the_budget_and_after_the_read_off_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    dead_at = out_of_steps_line(r)
    state = r.state_before(dead_at)
    assert state.steps_left == 1
    rules = TASK.rules(r.problem.data)
    doubled = rules.apply(state, EqMove("multiply", number(2)))
    lines = list(r.lines[:dead_at])
    lines += [move_line(r, EqMove("multiply", number(2)), doubled),
              move_line(r, EqMove("multiply", number(3)), doubled)]
    verdict = r.verify(lines)
    assert verdict.code == "no_steps_left" and verdict.line == dead_at + 1, verdict
    lines = list(r.lines)
    solved = r.node(len(lines) - 2).state
    lines.insert(len(lines) - 1, move_line(r, EqMove("add", number(1)), solved))
    verdict = r.verify(lines)
    assert verdict.code == "already_solved" and verdict.line == len(lines) - 2, verdict


@pytest.mark.parametrize("style", STYLES)
def test_a_wrong_rewrite_is_caught_by_sympy_in_a_trace(style: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    r = rendered(0, 0, style)
    at = next(i for i, step in enumerate(r.trace.steps)
              if step.kind == MOVE and r.tree.nodes[step.node].move.op == "factor")
    real = algebra.factor_side

    def off_by_one(side):
        (item,) = real(side)
        factors = list(item[2])
        factors[0] = algebra.poly_add(factors[0], number(1))
        return (product_item(item[1], factors),)

    monkeypatch.setattr(rules_module, "factor_side", off_by_one)
    verdict = r.verify()
    assert verdict.code == "solution_set_changed" and verdict.line == at, verdict


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claims_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    first = r.node(0).state
    assert first.steps_left >= 2
    cases = [
        (1, DeadEnd("out_of_steps", (first.steps_left, first.steps_left + 1))),  # need too big
        (1, DeadEnd("out_of_steps", (first.steps_left - 1, 2))),  # miscounted steps
        (1, DeadEnd("number_too_large", ("101",))),  # not in the equation
    ]
    for at, claim in cases:
        lines = list(r.lines)
        lines[at:at] = [dead_line(r, first, claim), back_line(r, r.tree.nodes[0].state)]
        verdict = r.verify(lines)
        assert verdict.code == "false_dead_end" and verdict.line == at, (claim, verdict)
    dead_at = out_of_steps_line(r)
    truth = r.node(dead_at).reason
    lines = list(r.lines)
    lines[dead_at] = dead_line(r, r.node(dead_at).state,
                               DeadEnd(truth.code, (truth.detail[0] + 1, truth.detail[1])))
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == dead_at, verdict
