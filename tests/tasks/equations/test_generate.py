"""Equations generation: the knobs' ranges and combinations, what each preset makes, and
problems checked independently: brute force and sympy agree on the solution set, the
budget is the best-first solution plus the spare steps, skips name their reason, and each
extra quadratic shape is what it says (sympy's roots, the written terms) and verifies."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import numpy as np
import pytest
import sympy
from pydantic import ValidationError

from searchtrace.tasks.base import GenerationSkipped, Problem, problem_id
from searchtrace.tasks.equations.answer import check_answer
from searchtrace.tasks.equations.expressions import parse_tree, tree_sympy
from searchtrace.tasks.equations.generate import PRESETS, EquationsConfig
from searchtrace.tasks.equations.rules import EquationsRules
from tests.support import RenderedTrace
from tests.tasks.equations.support import TASK, canonical_answer, make_problem, solve

SYMBOLS = {"x": sympy.Symbol("x"), "y": sympy.Symbol("y")}


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


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_each_preset_makes_its_kind_of_problem(preset: str) -> None:
    """Easy is a linear equation, medium a quadratic, hard a system of two; every problem
    records its knobs and states the preset's number limit."""
    config = TASK.make_config(preset, {})
    assert {key: getattr(config, key) for key in PRESETS[preset]} == PRESETS[preset]
    assert config.kind == {"easy": "linear", "medium": "quadratic", "hard": "system"}[preset]
    for seed in range(4):
        problem = make_problem(seed, preset)
        assert problem.knobs == config.model_dump(mode="json", exclude={"extra_shapes"})
        assert problem.data["kind"] == config.kind
        assert len(problem.data["equations"]) == (2 if preset == "hard" else 1)
        assert problem.data["number_limit"] == config.number_limit


def test_prompt_states_the_equations_the_budget_and_the_answer_form() -> None:
    for preset in ("easy", "medium", "hard"):
        problem = make_problem(3, preset)
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
    symbols = [SYMBOLS[v] for v in variables]
    exprs = []
    for text in equations:
        left, right = text.split("=")
        exprs.append(tree_sympy(parse_tree(left), SYMBOLS) - tree_sympy(parse_tree(right),
                                                                        SYMBOLS))
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
    assert EquationsRules.from_data(same.data).start == TASK.rules(problem.data).start
    assert problem.id == problem_id("equations", problem.data)
    changed = {**problem.data, "max_steps": problem.data["max_steps"] + 1}
    assert problem_id("equations", changed) != problem.id


ALL_SHAPES = ["double_root", "scaled", "uncollected"]


def test_extra_shapes_are_checked() -> None:
    with pytest.raises(ValidationError, match="must name shapes among double_root, scaled, "
                       "uncollected, got \\['surd'\\]"):
        EquationsConfig(kind="quadratic", extra_shapes=["surd"])
    with pytest.raises(ValidationError, match="must name each shape once"):
        EquationsConfig(kind="quadratic", extra_shapes=["scaled", "scaled"])
    with pytest.raises(ValidationError, match="extra_shapes apply to quadratics, not to kind"):
        EquationsConfig(kind="linear", extra_shapes=["scaled"])
    with pytest.raises(ValidationError, match="uncollected shape needs grouped off"):
        EquationsConfig(kind="quadratic", grouped=True, extra_shapes=["uncollected"])


def _leading(text: str) -> sympy.Expr:
    """The x^2 coefficient of the equation moved to one side, by sympy."""
    left, right = text.split("=")
    expr = tree_sympy(parse_tree(left), SYMBOLS) - tree_sympy(parse_tree(right), SYMBOLS)
    return sympy.Poly(sympy.expand(expr), SYMBOLS["x"]).coeff_monomial(SYMBOLS["x"] ** 2)


@pytest.mark.parametrize(("shape", "knobs"), [
    ("double_root", {}), ("double_root", {"rational": True}), ("scaled", {}),
    ("scaled", {"grouped": True, "both_sides": False}), ("uncollected", {}),
    ("uncollected", {"both_sides": False}),
])
def test_each_extra_shape_is_made_exactly_and_verifies(shape: str, knobs: dict) -> None:
    """With one shape added, about half the problems have it; checked by sympy on the
    stated text (one root for a double root, a leading coefficient that is a multiple of
    2 or 3 times its roots' denominators when scaled) or by the written terms (two x terms
    on one side when uncollected); every problem solves, verifies with backtracks and
    checks its answer."""
    seen = 0
    for seed in range(12):
        problem = make_problem(seed, "medium", extra_shapes=[shape], **knobs)
        assert problem.knobs["extra_shapes"] == [shape]
        (text,) = problem.data["equations"]
        truth = _sympy_set([text], ["x"])
        assert all(_holds([text], {"x": v}) for (v,) in truth)
        if shape == "double_root":
            seen += len(truth) == 1
        elif shape == "scaled":
            denominators = 1
            for (v,) in truth:
                denominators *= v.denominator
            seen += abs(int(_leading(text))) > denominators
        else:
            seen += any(side.count("x") - side.count("x^2") >= 2 for side in text.split("="))
        tree = solve(problem)
        assert set(tree.nodes[tree.solution].state.solution) == truth
        assert check_answer(problem.data, canonical_answer(problem, tree)).ok
        rendered = RenderedTrace.build(TASK, problem, tree, 1, "natural", 4, salt=seed)
        assert rendered.verify().ok, (text, rendered.verify())
    assert 3 <= seen <= 10, seen


def test_no_extra_shapes_keep_the_draws_and_the_rows_knobs() -> None:
    """The default draws exactly as before the knob existed (the stored golden rows check
    whole rows); with shapes named, the same seed may draw another problem."""
    plain = [make_problem(seed, "medium") for seed in range(6)]
    explicit = [make_problem(seed, "medium", extra_shapes=[]) for seed in range(6)]
    assert plain == explicit
    assert all("extra_shapes" not in p.knobs for p in plain)
    shaped = [make_problem(seed, "medium", extra_shapes=ALL_SHAPES) for seed in range(6)]
    assert [p.data for p in shaped] != [p.data for p in plain]
