"""Equations: config validation, generation checked independently, rules and their sympy
confirmation, traces that verify, corrupted traces and wrong answers that are rejected with
the right code, and parsers and a verifier that never raise on arbitrary text."""

from __future__ import annotations

import builtins
import json
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from itertools import product

import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import searchtrace.tasks.equations.rules as eqmod
from searchtrace.solvers.dfs import solve_dfs
from searchtrace.solvers.mcts import MctsSettings
from searchtrace.solvers.registry import all_solvers, get_solver
from searchtrace.tasks import get_task
from searchtrace.tasks.base import STYLES, DeadEnd, GenerationSkipped, Problem, Verdict, Violation
from searchtrace.tasks.equations.generate import PRESETS, EquationsConfig
from searchtrace.tasks.equations.rules import (
    ONE,
    READ,
    XX,
    EqMove,
    EqState,
    EquationsRules,
    X,
    Y,
    check_answer,
    fmt_equation,
    fmt_side,
    make_poly,
    make_side,
    parse_equation,
    parse_tree,
    product_item,
)
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE
from searchtrace.traces.tree import SearchTree
from tests.support import RenderedTrace

# the solvers that search one problem at a time (llm_mcts needs a policy)
SOLVERS = [solver.name for solver in all_solvers() if not solver.batched]

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
    said, now = r.text.move_phrase(move, r.style), r.text.state_phrase(state, r.style)
    return f"try {said} -> {now}" if r.style == "compact" else f"Let me try {said}. {now}."


def dead_line(r: Rendered, state: EqState, claim: DeadEnd) -> str:
    said = r.text.dead_end_phrase(state, claim, r.style)
    return f"dead: {said}" if r.style == "compact" else f"{said}, so this is a dead end."


def back_line(r: Rendered, state: EqState) -> str:
    ref = r.text.ref_phrase(state, None, r.style)
    return f"back to {ref}" if r.style == "compact" else f"Let me go back to {ref}."


def number(value: int | Fraction) -> tuple:
    return ((ONE, Fraction(value)),) if value else ()


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"kind": "cubic"}, "kind", "must be one of linear, quadratic, system, got 'cubic'"),
        ({"coefficient_max": 0}, "coefficient_max", "must be between 1 and 30, got 0"),
        ({"coefficient_max": 31}, "coefficient_max", "must be between 1 and 30, got 31"),
        ({"solution_max": 0}, "solution_max", "must be between 1 and 50, got 0"),
        ({"solution_max": 51}, "solution_max", "must be between 1 and 50, got 51"),
        ({"spare_steps": -1}, "spare_steps", "must be between 0 and 3, got -1"),
        ({"spare_steps": 4}, "spare_steps", "must be between 0 and 3, got 4"),
        ({"number_limit": 19}, "number_limit", "must be between 20 and 10000, got 19"),
        ({"number_limit": 10_001}, "number_limit", "must be between 20 and 10000, got 10001"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        EquationsConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_config_combinations_are_checked() -> None:
    for knob in ("grouped", "rational"):
        with pytest.raises(ValidationError, match="not to systems"):
            EquationsConfig(kind="system", **{knob: True})
    with pytest.raises(ValidationError, match="rational needs coefficient_max of at least 2"):
        EquationsConfig(rational=True, coefficient_max=1)
    assert EquationsConfig(kind="quadratic", grouped=True, rational=True).rational


def test_config_is_frozen_and_rejects_unknown_knobs() -> None:
    with pytest.raises(ValidationError, match="degree"):
        EquationsConfig(degree=2)
    with pytest.raises(ValidationError):
        EquationsConfig().kind = "system"  # type: ignore[misc]


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_validate(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert isinstance(config, EquationsConfig)
    assert {key: getattr(config, key) for key in PRESETS[preset]} == PRESETS[preset]
    assert config.kind == {"easy": "linear", "medium": "quadratic", "hard": "system"}[preset]


# ---- generation ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_same_seed_same_problem(preset: str) -> None:
    config = TASK.make_config(preset, {})

    def make(seed: int) -> Problem | None:
        try:
            return TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            return None

    problems = [make(seed) for seed in range(12)]
    assert problems == [make(seed) for seed in range(12)]
    made = [p for p in problems if p is not None]
    assert len(made) >= 11
    assert len({p.id for p in made}) == len(made)
    for problem in made:
        assert problem.knobs == config.model_dump(mode="json")
        assert len(problem.data["equations"]) == (2 if preset == "hard" else 1)
        assert problem.data["number_limit"] == config.number_limit


def test_problem_json_round_trip_and_prompt() -> None:
    for preset in ("easy", "medium", "hard"):
        problem = make_problem(3, preset)
        assert Problem.from_json(problem.to_json()) == problem
        assert Problem.from_json(problem.to_json()).to_json() == problem.to_json()
        for equation in problem.data["equations"]:
            assert equation in problem.prompt
        assert f"at most {problem.data['max_steps']} steps" in problem.prompt
        assert "<answer></answer>" in problem.prompt
        assert "x = 1, y = 2" in problem.prompt if preset == "hard" else (
            "x = -3 or x = 2" in problem.prompt)


def _evaluate(node: tuple, values: dict[str, Fraction]) -> Fraction:
    """The value of a parsed expression, by plain fraction arithmetic (a second opinion
    on the task's polynomial code)."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "var":
        return values[node[1]]
    if kind == "group":
        return _evaluate(node[1], values)
    if kind == "pow":
        return _evaluate(node[1], values) ** node[2]
    if kind == "mul":
        total = Fraction(1)
        for factor in node[1]:
            if factor[0] == "div":
                total /= _evaluate(factor[1], values)
            else:
                total *= _evaluate(factor, values)
        return total
    return sum((sign * _evaluate(term, values) for sign, term in node[1]), Fraction(0))


def _holds(equations: list[str], values: dict[str, Fraction]) -> bool:
    for text in equations:
        left, right = text.split("=")
        if _evaluate(parse_tree(left), values) != _evaluate(parse_tree(right), values):
            return False
    return True


def _sympy_set(equations: list[str], variables: list[str]) -> set[tuple]:
    symbols = [sympy.Symbol(v) for v in variables]
    exprs = []
    for text in equations:
        left, right = text.split("=")
        exprs.append(eqmod.tree_sympy(parse_tree(left), eqmod.SYMBOLS)
                     - eqmod.tree_sympy(parse_tree(right), eqmod.SYMBOLS))
    if len(symbols) == 1:
        found = sympy.solveset(exprs[0], symbols[0], domain=sympy.S.Reals)
        assert isinstance(found, sympy.FiniteSet), found
        return {(Fraction(int(v.p), int(v.q)),) for v in found}
    (point,) = sympy.linsolve(exprs, symbols)
    return {tuple(Fraction(int(v.p), int(v.q)) for v in point)}


@pytest.mark.parametrize(
    ("preset", "knobs", "seeds"),
    [
        ("easy", {}, 12),
        ("easy", {"both_sides": True}, 8),
        ("easy", {"grouped": True}, 8),
        ("medium", {}, 12),
        ("medium", {"grouped": True, "both_sides": False}, 8),
        ("hard", {}, 10),
        ("hard", {"both_sides": True}, 6),
    ],
)
def test_integer_solutions_are_exactly_what_brute_force_finds(
    preset: str, knobs: dict, seeds: int
) -> None:
    """Brute force over every integer (pair) in the solution range agrees with sympy's
    solveset and with what the solver reads off; the answer checks."""
    config = TASK.make_config(preset, knobs)
    bound = config.solution_max
    for seed in range(seeds):
        problem = make_problem(seed, preset, **knobs)
        variables = problem.data["variables"]
        equations = problem.data["equations"]
        candidates = range(-bound, bound + 1)
        found = {point for point in product(candidates, repeat=len(variables))
                 if _holds(equations, dict(zip(variables, map(Fraction, point), strict=True)))}
        truth = _sympy_set(equations, variables)
        assert found == truth, (equations, found, truth)
        assert 1 <= len(truth) <= 2 and (len(variables) == 1 or len(truth) == 1)
        tree = solve(problem)
        assert set(tree.nodes[tree.solution].state.solution) == truth
        answer = canonical_answer(problem, tree)
        assert check_answer(problem.data, answer).ok, (problem.data, answer)


@pytest.mark.parametrize("preset", ["easy", "medium"])
def test_rational_solutions_are_fractions_and_exact(preset: str) -> None:
    fractions = 0
    for seed in range(8):
        problem = make_problem(seed, preset, rational=True)
        truth = _sympy_set(problem.data["equations"], ["x"])
        assert all(_holds(problem.data["equations"], {"x": v}) for (v,) in truth)
        fractions += sum(v.denominator > 1 for (v,) in truth)
        tree = solve(problem)
        assert set(tree.nodes[tree.solution].state.solution) == truth
        assert check_answer(problem.data, canonical_answer(problem, tree)).ok
    assert fractions >= 8


def test_budget_is_the_best_first_solution_plus_spare() -> None:
    for spare in (0, 2):
        for seed in range(4):
            problem = make_problem(seed, "medium", spare_steps=spare)
            tree = solve(problem)
            path = tree.solution_path()
            assert problem.data["max_steps"] == len(path) - 1 + spare
            assert tree.nodes[tree.solution].state.steps_left == spare


def test_generation_rarely_skips_and_names_its_reason() -> None:
    for preset in ("easy", "medium", "hard"):
        config = TASK.make_config(preset, {})
        skipped = []
        for seed in range(40):
            try:
                TASK.generate(config, np.random.default_rng(seed), "train")
            except GenerationSkipped as error:
                skipped.append(error.reason)
        assert len(skipped) <= 2, skipped
    tight = TASK.make_config("medium", {"number_limit": 20, "solution_max": 50,
                                        "coefficient_max": 30})
    reasons = set()
    for seed in range(10):
        try:
            TASK.generate(tight, np.random.default_rng(seed), "train")
        except GenerationSkipped as error:
            reasons.add(error.reason)
    assert reasons == {"numbers_beyond_limit"}


def test_id_is_the_content() -> None:
    problem = make_problem(1)
    same = Problem(problem.task, problem.id, dict(problem.data), "another prompt", {})
    assert eqmod.EquationsRules.from_data(same.data).start == TASK.rules(problem.data).start
    from searchtrace.tasks.base import problem_id

    assert problem.id == problem_id("equations", problem.data)
    changed = {**problem.data, "max_steps": problem.data["max_steps"] + 1}
    assert problem_id("equations", changed) != problem.id


# ---- sides, parsing and text -----------------------------------------------------------


def explored_states(preset: str, seeds: int = 4, k: int = 5) -> list[tuple[EquationsRules,
                                                                           EqState]]:
    out = []
    for seed in range(seeds):
        problem = make_problem(seed, preset)
        rules = TASK.rules(problem.data)
        tree = solve(problem)
        linearize_exact(tree, rules, k, "uniform", 6)  # adds the widened dives to the tree
        out += [(rules, node.state) for node in tree.nodes]
    return out


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_equations_render_and_parse_back(preset: str) -> None:
    for _, state in explored_states(preset, seeds=3):
        for eq in state.eqs:
            for compact in (False, True):
                assert parse_equation(fmt_equation(eq, compact)) == eq, fmt_equation(eq)


def test_written_forms_are_kept_apart() -> None:
    """The same polynomial in different written forms are different sides; term order and
    spacing are not."""
    expanded = parse_equation("x^2 + x - 6 = 0")
    factored = parse_equation("(x + 3)(x - 2) = 0")
    assert expanded != factored
    assert parse_equation("(x - 2)(x + 3) = 0") == factored == parse_equation("(x+3)(x-2)=0")
    assert parse_equation("-6 + x + x^2 = 0") == expanded
    assert parse_equation("3x + x - 6 = 14") != parse_equation("4x - 6 = 14")
    assert parse_equation("3(x - 2) = 12") != parse_equation("3x - 6 = 12")
    assert parse_equation("(x - 2)^2 = 0") == parse_equation("(x - 2)(x - 2) = 0")
    assert parse_equation("(3/2)x = 3") == parse_equation("x*3/2 = 3") == parse_equation(
        "1.5x = 3")
    assert fmt_equation(parse_equation("2x(x - 3) = 0")) == "2x(x - 3) = 0"
    for bad in ("x = 1 = 2", "x + = 3", "x^9 = 1", "2 3 = x", "x/(x - 1) = 2", "z = 1",
                "x = 1/0", "(" * 9 + "x" + ")" * 9 + " = 1", "x" * 300 + " = 1", "x² = ٣"):
        assert parse_equation(bad) is None, bad


_coefficients = st.fractions(min_value=-30, max_value=30, max_denominator=6).filter(bool)
_monos = st.sampled_from([XX, X, ONE, Y, (1, 1), (0, 2)])
_linear = st.tuples(st.integers(1, 9), st.integers(-9, 9).filter(bool)).map(
    lambda ab: make_poly({X: ab[0], ONE: ab[1]}))
_items = st.one_of(
    st.builds(lambda c, m: ("t", c, m), _coefficients, _monos),
    st.builds(lambda c, unit, fs: product_item(c, [((X, Fraction(1)),)] * unit + fs),
              _coefficients, st.integers(0, 1), st.lists(_linear, min_size=1, max_size=2)),
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(_items, max_size=4), compact=st.booleans())
def test_any_side_renders_and_parses_back(items: list, compact: bool) -> None:
    side = make_side(items)
    assert parse_equation(f"{fmt_side(side, compact)} = 0") == (side, ())


def test_phrases_fit_the_line_templates_and_parse_back() -> None:
    for preset in ("easy", "medium", "hard"):
        problem = make_problem(0, preset)
        text = TASK.step_text(problem.data)
        for rules, state in explored_states(preset, seeds=2):
            moves = [m for m, _ in rules.wider_moves(state)]
            for style in STYLES:
                for move in moves:
                    said = text.move_phrase(move, style)
                    assert text.parse_move(said, style) == move, said
                    assert ". " not in said and "\n" not in said and not said.endswith(".")
                ref = text.ref_phrase(state, None, style)
                assert text.parse_ref(ref, style) == text.ref_key(state, None), ref
                said = text.state_phrase(state, style)
                assert text.state_claim_error(said, state, style) is None, said
                assert ". " not in said and not said.endswith(".")
                dead = rules.dead_end(state)
                if dead is not None:
                    phrase = text.dead_end_phrase(state, dead, style)
                    assert text.parse_dead_end(phrase, style) == dead
                    assert rules.confirm_dead_end(state, dead) is None


# ---- rules -----------------------------------------------------------------------------


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
    moves = [eqmod.move_text(tree.nodes[n].move, "natural") for n in tree.solution_path()[1:]]
    assert moves == ["expanding the left side", "subtracting 5 from both sides",
                     "factoring the left side", "reading off the solution"]
    assert tree.nodes[tree.solution].state.solution == ((Fraction(-2),), (Fraction(4),))
    rules = rules_for("linear", ["3(x - 2) + x = 2x + 8"])
    tree = solve_dfs(rules, 1000)
    states = [fmt_equation(tree.nodes[n].state.eqs[0]) for n in tree.solution_path()[1:-1]]
    assert states == ["3x + x - 6 = 2x + 8", "4x - 6 = 2x + 8", "2x - 6 = 8", "2x = 14",
                      "x = 7"]
    rules = rules_for("system", ["2x + 3y = 12", "x - y = -1"], max_steps=9)
    tree = solve_dfs(rules, 1000)
    moves = [eqmod.move_text(tree.nodes[n].move, "compact") for n in tree.solution_path()[1:]]
    assert moves[:2] == ["eq2: solve x", "eq2 into eq1"] and moves[-1] == "read off"
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

    monkeypatch.setattr(eqmod, "factor_side", wrong_factor)
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


def test_backtrack_targets_are_unique_along_a_path() -> None:
    text = TASK.step_text(make_problem(0).data)
    for preset in ("medium", "hard"):
        problem = make_problem(1, preset)
        tree = solve(problem)
        linearize_exact(tree, TASK.rules(problem.data), 5, "uniform", 6)
        for node in tree.nodes:
            keys = [text.ref_key(tree.nodes[n].state, tree.nodes[n].move)
                    for n in tree.path_to(node.id)]
            assert len(keys) == len(set(keys))
    solved = EqState((), ((Fraction(-3),), (Fraction(2),)), 0)
    for style in STYLES:
        said = text.ref_phrase(solved, READ, style)
        assert text.parse_ref(said, style) == text.ref_key(solved, READ)
    assert text.parse_ref("the solution x = 1/0", "natural") is None


# ---- traces ----------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_solves_and_its_traces_verify(solver: str) -> None:
    for preset in ("medium", "hard"):
        problem = make_problem(5, preset)
        rules = TASK.rules(problem.data)
        tree = get_solver(solver).solve(rules, 20_000, MctsSettings(), 7)
        assert tree.solution is not None and rules.is_goal(tree.nodes[tree.solution].state)
        trace = linearize_exact(tree, rules, 3, "uniform", 6)
        for style in STYLES:
            lines = render_think_lines(trace, tree, TASK.step_text(problem.data), style, 2)
            completion = format_completion(lines, canonical_answer(problem, tree))
            assert verify_completion(TASK, problem.data, completion, style, 3).ok
        stored = json.loads(tree.to_json(rules))
        reasons = [n["reason"] for n in stored["nodes"] if n["reason"] is not None]
        assert reasons and all(code in ("out_of_steps", "number_too_large")
                               for code, _ in reasons)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_solver_traces_verify(style: str, preset: str) -> None:
    for seed in range(3):
        problem = make_problem(seed, preset)
        tree = solve(problem)
        rules = TASK.rules(problem.data)
        traces = [linearize_natural(tree)]
        traces += [linearize_exact(tree, rules, k, "uniform", 6) for k in (0, 1, 3, 5)]
        assert [t.num_backtracks for t in traces[1:]] == [0, 1, 3, 5]
        answer = canonical_answer(problem, tree)
        for trace in traces:
            lines = render_think_lines(trace, tree, TASK.step_text(problem.data), style, seed)
            completion = format_completion(lines, answer)
            verdict = verify_completion(TASK, problem.data, completion, style,
                                        trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


@pytest.mark.parametrize("knobs", [{"grouped": True}, {"rational": True},
                                   {"spare_steps": 0}, {"kind": "linear", "both_sides": True}])
def test_variants_trace_and_verify(knobs: dict) -> None:
    for seed in range(2):
        problem = make_problem(seed, "medium", **knobs)
        tree = solve(problem)
        trace = linearize_exact(tree, TASK.rules(problem.data), 3, "late", 6)
        for style in STYLES:
            lines = render_think_lines(trace, tree, TASK.step_text(problem.data), style, 1)
            completion = format_completion(lines, canonical_answer(problem, tree))
            assert verify_completion(TASK, problem.data, completion, style, 3).ok, completion


def test_rendered_trace_says_what_it_should() -> None:
    natural, compact = rendered(0, 3, "natural"), rendered(0, 3, "compact")
    assert natural.verify().ok and compact.verify().ok
    equation = natural.problem.data["equations"][0]
    assert natural.lines[0].startswith("Let me try ")
    assert ", with " in natural.lines[0] and natural.lines[0].endswith(" left.")
    back = natural.lines[natural.trace.backtrack_positions[0]]
    assert back.startswith(("Let me go back to the equation ", "Going back to the equation "))
    assert natural.lines[-1].startswith("The solutions are x = ")
    assert natural.lines[-1].endswith(", so the puzzle is solved.")
    assert compact.lines[-1] == f"goal: {compact.answer.replace(' = ', '=')}"
    assert compact.lines[0].startswith("try ") and " -> " in compact.lines[0]
    assert equation == fmt_equation(natural.tree.nodes[0].state.eqs[0])
    hard = rendered(0, 1, "natural", "hard")
    assert hard.verify().ok
    assert "Now the equations are " in hard.lines[0]


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
        return any(len(eqmod.poly_variables(eqmod._equation_poly(eq))) == 1
                   and eqmod._var_equals_constant(eq) is None for eq in state.eqs)

    at = _first_move_line(r, one_variable)
    state = r.state_before(at)
    index = next(i for i, eq in enumerate(state.eqs)
                 if len(eqmod.poly_variables(eqmod._equation_poly(eq))) == 1)
    lines = list(r.lines)
    lines[at] = move_line(r, EqMove("solve", eq=index + 1, var="x"), r.node(at).state)
    verdict = r.verify(lines)
    assert verdict.code == "cannot_solve_for" and verdict.line == at, verdict


@pytest.mark.parametrize("style", STYLES)
def test_an_illegal_move_inside_a_dead_end_branch_is_rejected(style: str) -> None:
    r = rendered(2, 5, style)
    branch_moves = [i for i, step in enumerate(r.trace.steps)
                    if step.kind == MOVE and r.tree.nodes[step.node].widened]
    at = branch_moves[0]
    lines = list(r.lines)
    lines[at] = move_line(r, EqMove("multiply", ((X, Fraction(1)),)), r.node(at).state)
    verdict = r.verify(lines)
    assert verdict.code == "variable_factor" and verdict.line == at, verdict
    assert "multiplying by x may add the solution x = 0" in verdict.message


def out_of_steps_line(r: Rendered) -> int:
    """The line of the trace's first dead end for want of steps."""
    return next(i for i, step in enumerate(r.trace.steps) if step.kind == DEAD_END
                and r.tree.nodes[step.node].reason.code == "out_of_steps")


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
    real = eqmod.factor_side

    def off_by_one(side):
        (item,) = real(side)
        factors = list(item[2])
        factors[0] = eqmod.poly_add(factors[0], number(1))
        return (product_item(item[1], factors),)

    monkeypatch.setattr(eqmod, "factor_side", off_by_one)
    verdict = r.verify()
    assert verdict.code == "solution_set_changed" and verdict.line == at, verdict


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    move, true_state = r.node(0).move, r.node(0).state
    assert move_line(r, move, true_state) == r.lines[0]
    left, right = true_state.eqs[0]
    wrong_eq = (left, eqmod.add_to_side(right, number(1)))
    reordered = (right, left)
    for stated in (true_state._replace(eqs=(wrong_eq,)),
                   true_state._replace(eqs=(reordered,)),
                   true_state._replace(steps_left=true_state.steps_left + 1)):
        lines = list(r.lines)
        lines[0] = move_line(r, move, stated)
        verdict = r.verify(lines)
        assert verdict.code == "wrong_state" and verdict.line == 0, (stated, verdict)
    read_at = len(r.lines) - 2
    solved = r.node(read_at).state
    wrong = solved._replace(solution=(solved.solution[0], (Fraction(99),)))
    lines = list(r.lines)
    lines[read_at] = move_line(r, READ, wrong)
    verdict = r.verify(lines)
    assert verdict.code == "wrong_state" and "reading off gives" in verdict.message, verdict


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


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_off_the_path_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    first, second = r.trace.backtrack_positions[:2]
    dead = r.node(first - 1)
    abandoned = r.tree.path_to(dead.id)[r.node(first).depth + 1]
    made_up = EqState((parse_equation("x^2 = 99"),), (), 2)
    for state in (r.tree.nodes[abandoned].state, made_up):
        lines = list(r.lines)
        lines[second] = back_line(r, state)
        verdict = r.verify(lines)
        assert verdict.code == "backtrack_off_path" and verdict.line == second, verdict


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_needs_a_dead_end_and_a_move_needs_a_backtrack(style: str) -> None:
    r = rendered(0, 3, style)
    lines = list(r.lines)
    lines.insert(1, back_line(r, r.tree.nodes[0].state))
    verdict = r.verify(lines)
    assert verdict.code == "backtrack_without_dead_end" and verdict.line == 1, verdict
    position = r.trace.backtrack_positions[0]
    lines = list(r.lines)
    del lines[position]
    verdict = r.verify(lines)
    assert verdict.code == "move_after_dead_end" and verdict.line == position, verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("k", [1, 5])
def test_miscounted_backtracks_are_rejected(style: str, k: int) -> None:
    r = rendered(1, k, style)
    assert r.verify(backtracks=k).ok
    for wrong in (k - 1, k + 1):
        assert r.verify(backtracks=wrong).code == "backtrack_count"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_final_answer_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    first, second = r.node(len(r.lines) - 2).state.solution
    for answer in (f"x = {first[0]}", f"x = {first[0]} or x = {second[0] + 1}", "",
                   f"x = {first[0]} or x = {second[0]} or x = 100", "x = y"):
        verdict = r.verify(answer=answer)
        assert verdict.code == "wrong_answer", (answer, verdict)


@pytest.mark.parametrize("style", STYLES)
def test_missing_goal_and_steps_after_it_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    assert r.trace.steps[-1].kind == GOAL
    assert r.verify(list(r.lines[:-1])).code == "no_goal"
    verdict = r.verify([*r.lines, r.lines[-1]])
    assert verdict.code == "step_after_goal", verdict
    dead_at = next(i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END)
    lines = list(r.lines[: dead_at + 1])
    lines[dead_at] = r.lines[-1]
    assert r.verify(lines).code == "false_goal"
    lines = list(r.lines)
    lines[-1] = lines[-1].replace("x = ", "x=", 1) if style == "natural" else "goal: x = 1"
    assert r.verify(lines).code == "wrong_goal_statement"


# ---- answers ---------------------------------------------------------------------------

QUADRATIC = {"kind": "quadratic", "variables": ["x"], "equations": ["x^2 + x = 6"],
             "max_steps": 4, "number_limit": 100}
RATIONAL = {"kind": "quadratic", "variables": ["x"], "equations": ["2x^2 + x - 3 = 0"],
            "max_steps": 3, "number_limit": 100}
SYSTEM = {"kind": "system", "variables": ["x", "y"], "equations": ["2x + y = 4", "x - y = -1"],
          "max_steps": 7, "number_limit": 100}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (QUADRATIC, "x = -3 or x = 2"),
        (QUADRATIC, "x = 2 or x = -3"),
        (QUADRATIC, "x=2, x=-3"),
        (QUADRATIC, "{-3, 2}"),
        (QUADRATIC, "-3 or 2"),
        (QUADRATIC, "x = 2 and x = −3"),
        (QUADRATIC, "I think... <answer>x = 2</answer> no: <answer>x = -3 or x = 2</answer>"),
        (RATIONAL, "x = -3/2 or x = 1"),
        (RATIONAL, "x = 1 or x = -1.5"),
        (RATIONAL, "x = 1; x = -6/4"),
        (SYSTEM, "x = 1, y = 2"),
        (SYSTEM, "y = 2, x = 1"),
        (SYSTEM, "x = 1 and y = 2"),
        (SYSTEM, "(1, 2)"),
        (SYSTEM, "x = 2/2, y = 4/2."),
    ],
)
def test_check_answer_accepts(data: dict, text: str) -> None:
    assert check_answer(data, text).ok, check_answer(data, text)


@pytest.mark.parametrize(
    ("data", "text", "code"),
    [
        (QUADRATIC, "x = 2", "missing_solution"),
        (QUADRATIC, "x = -3 or x = 2 or x = 1", "wrong_solution"),
        (QUADRATIC, "x = 3 or x = -2", "wrong_solution"),
        (QUADRATIC, "x = -3 or x = two", "unparsable_answer"),
        (QUADRATIC, "y = 2", "unparsable_answer"),
        (QUADRATIC, "x = 2 + x", "unparsable_answer"),
        (QUADRATIC, "", "unparsable_answer"),
        (QUADRATIC, "x = 1/0", "unparsable_answer"),
        (QUADRATIC, "__import__('os').system('echo hi')", "unparsable_answer"),
        (QUADRATIC, "x = " + "1+" * 200 + "1", "too_long"),
        (RATIONAL, "x = -1 or x = 1", "wrong_solution"),
        (SYSTEM, "x = 1", "unparsable_answer"),
        (SYSTEM, "x = 1, y = 2, y = 3", "unparsable_answer"),
        (SYSTEM, "1, 2", "unparsable_answer"),
        (SYSTEM, "x = 2, y = 1", "wrong_solution"),
        (SYSTEM, "(2, 1)", "wrong_solution"),
    ],
)
def test_check_answer_rejects(data: dict, text: str, code: str) -> None:
    verdict = check_answer(data, text)
    assert not verdict.ok and verdict.code == code, verdict


def test_check_answer_rejects_non_text() -> None:
    assert check_answer(QUADRATIC, None).code == "not_text"  # type: ignore[arg-type]
    assert check_answer(QUADRATIC, 2).code == "not_text"  # type: ignore[arg-type]


def test_text_is_never_evaluated_or_sympified(monkeypatch: pytest.MonkeyPatch) -> None:
    r = rendered(4, 3, "natural")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("text was evaluated")

    for name in ("sympify", "parse_expr", "S"):
        monkeypatch.setattr(sympy, name, refuse)
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    eqmod.true_solutions.cache_clear()
    assert r.verify().ok
    assert check_answer(QUADRATIC, "x = -3 or x = 2").ok
    assert not check_answer(QUADRATIC, "__import__('os').getcwd()").ok


# ---- never raising on arbitrary text ---------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_check_answer_never_raises_and_rejects_random_text(text: str) -> None:
    for data in (QUADRATIC, SYSTEM):
        for candidate in (text, f"<answer>{text}</answer>"):
            verdict = check_answer(data, candidate)
            assert isinstance(verdict, Verdict) and not verdict.ok


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300), style=st.sampled_from(STYLES))
def test_verifier_never_raises_and_rejects_random_text(text: str, style: str) -> None:
    data = make_problem(0).data
    for completion in (text, f"<think>\n{text}\n</think>\n<answer>{text}</answer>"):
        verdict = verify_completion(TASK, data, completion, style, None)
        assert isinstance(verdict, Verdict) and not verdict.ok
        assert verdict.code != "verifier_error", verdict


_expr = st.one_of(
    st.sampled_from(["x", "2x", "x^2", "(x + 6)", "0", "1/0", "-1", "3/2", "y", "x^4",
                     "x^9", "(((x)))", "2(x - 3)", "9" * 40, "x/x", "²", "٣", "1.5",
                     "(x-2)^2", "x y", "((", "-"]),
    st.text(alphabet="0123456789xy+-*/^() .", max_size=12),
)
_equation = st.builds("{} = {}".format, _expr, _expr)
_count = st.one_of(st.integers(-1, 9).map(str), st.sampled_from(["①", "99999"]))
_phrases = st.one_of(
    st.text(max_size=40),
    st.builds("Let me try adding {} to both sides. Now {}, with {} steps left.".format,
              _expr, _equation, _count),
    st.builds("Next, try dividing both sides by {}. Now {}, with {} step left.".format,
              _expr, _equation, _count),
    st.builds("Then try {} the {} side. Now {}, with {} steps left.".format,
              st.sampled_from(["expanding", "factoring", "collecting like terms on"]),
              st.sampled_from(["left", "right", "middle"]), _equation, _count),
    st.sampled_from(["Let me try reading off the solution. So x = 2.",
                     "Let me try reading off the solution. So x = 1/0 or x = ².",
                     "Let me try solving equation 2 for x. Now x = 1, with 2 steps left.",
                     "Let me try substituting equation 1 into equation 9. Now x = 1, with 1 "
                     "step left."]),
    st.builds("It needs at least {} more steps and only {} steps are left, so this is a dead "
              "end.".format, _count, _count),
    st.builds("The number {} is beyond the limit of {}, so this branch fails.".format,
              _expr, _count),
    st.builds("Let me go back to the equation {} with {} steps left.".format, _equation,
              _count),
    st.builds("The solutions are {}, so the puzzle is solved.".format, _equation),
    st.builds("try {} {} -> {} ({} left)".format, st.sampled_from(["add", "sub", "mul", "div",
                                                                   "eq1: solve", "factor"]),
              _expr, _equation, _count),
    st.builds("dead: needs {} steps, {} left".format, _count, _count),
    st.builds("dead: {} exceeds {}".format, _expr, _count),
    st.builds("back to {} ({} left)".format, _equation, _count),
    st.builds("goal: {}".format, _equation),
)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=20), lines=st.lists(_phrases, max_size=5),
       answer=st.text(max_size=80), style=st.sampled_from(STYLES))
@example(cut=1, lines=["Let me try dividing both sides by x. Now x = 1, with 1 step left."],
         answer="", style="natural")
@example(cut=0, lines=["try mul " + "9" * 12 + "^4 -> x=1 (1 left)"], answer="",
         style="compact")
@example(cut=3, lines=["dead: 1/0 exceeds 100"], answer="", style="compact")
def test_verifier_never_fails_internally_on_spliced_lines(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Random lines spliced into a real trace, so they meet states deep in the search."""
    for preset in ("medium", "hard"):
        r = rendered(0, 3, style, preset)
        think = [*r.lines[:cut], *lines, *r.lines[cut:]]
        verdict = r.verify(think, answer, backtracks=None)
        assert isinstance(verdict, Verdict)
        assert verdict.code != "verifier_error", verdict
