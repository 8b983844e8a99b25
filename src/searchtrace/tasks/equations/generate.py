"""Equation solving: a linear equation, a quadratic, or a system of two linear equations.

Each problem is built backwards from a chosen solution: an integer (or, with `rational`,
a fraction) for x, two roots for a quadratic, a point (x, y) for a system. The
`extra_shapes` knob adds quadratic shapes beside two distinct roots: a double root, a
larger leading coefficient, an x term written as two like terms. Irrational roots and
quadratics without real roots are not offered: the rules factor over the rationals only.
Coefficients are drawn from the coefficient range and the constants computed so that the chosen
solution is exactly the solution set; sympy confirms that set for every problem.

The problem states a step budget: the length of the rules' own best-first solution plus
`spare_steps`; a branch that runs out of steps is a dead end, and so is an equation with a
number beyond `number_limit`. The best-first solution is followed once here, so every
problem is solvable within its budget and its numbers stay within the limit along it.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Annotated, Literal

import numpy as np
from pydantic import field_validator, model_validator

from searchtrace.tasks.base import (
    GenerationSkipped,
    Problem,
    TaskConfig,
    between,
    problem_id,
    recorded_knobs,
)
from searchtrace.tasks.equations.algebra import (
    ONE,
    XX,
    Poly,
    Side,
    X,
    Y,
    coef,
    make_poly,
    make_side,
    product_item,
    terms_side,
    true_solutions,
)
from searchtrace.tasks.equations.expressions import fmt_equation, parse_equation
from searchtrace.tasks.equations.rules import EquationsRules

TASK = "equations"
KINDS = ("linear", "quadratic", "system")
ATTEMPTS = 30
GREEDY_LIMIT = 40  # steps the best-first path may take before a problem is given up
SHAPES = ("double_root", "scaled", "uncollected")
# Knobs added after rows were published: recorded in a row only when set.
LATER_KNOBS = ("extra_shapes",)


class EquationsConfig(TaskConfig):
    """Knobs of an equation problem.

    kind: linear (ax + b = c), quadratic (integer or rational roots) or system (two linear
    equations in x and y); coefficient_max: largest absolute coefficient of a variable term
    (1 to 30); solution_max: largest absolute solution value (1 to 50); both_sides:
    variable terms on both sides of the equation(s); grouped: the equation is stated with a
    bracket to expand, e.g. 3(x - 2) + x = 14 or (x + 1)(x - 3) = 5 (linear and quadratic
    only); rational: one solution is a fraction (linear and quadratic only); spare_steps:
    steps allowed beyond the best-first solution (0 to 3); number_limit: the largest
    number (or numerator, or denominator) an equation may hold (20 to 10,000);
    extra_shapes: quadratic shapes drawn beside two distinct roots, each as often as it:
    double_root (a repeated root, as in x^2 - 6x + 9 = 0), scaled (the leading coefficient
    2 or 3 times larger, as in 2x^2 - 10x + 12 = 0), uncollected (the x term written as
    two like terms, as in x^2 + 5x - 2x = 4, so collecting is a step; not with grouped);
    none by default.
    """

    kind: Literal["linear", "quadratic", "system"] = "linear"
    coefficient_max: Annotated[int, between(1, 30)] = 9
    solution_max: Annotated[int, between(1, 50)] = 9
    both_sides: bool = False
    grouped: bool = False
    rational: bool = False
    spare_steps: Annotated[int, between(0, 3)] = 1
    number_limit: Annotated[int, between(20, 10_000)] = 100
    extra_shapes: tuple[str, ...] = ()

    @field_validator("extra_shapes")
    @classmethod
    def _shapes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [shape for shape in value if shape not in SHAPES]
        if unknown:
            raise ValueError(f"must name shapes among {', '.join(SHAPES)}, got {unknown}")
        if len(set(value)) != len(value):
            raise ValueError(f"must name each shape once, got {list(value)}")
        return value

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> object:
        if value not in KINDS:
            raise ValueError(f"must be one of {', '.join(KINDS)}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _combinations(self) -> EquationsConfig:
        if self.kind == "system" and (self.grouped or self.rational):
            raise ValueError("grouped and rational apply to linear and quadratic equations, "
                             "not to systems")
        if self.rational and self.coefficient_max < 2:
            raise ValueError("rational needs coefficient_max of at least 2 (a fraction's "
                             "denominator is a coefficient)")
        if self.extra_shapes and self.kind != "quadratic":
            raise ValueError(f"extra_shapes apply to quadratics, not to kind {self.kind}")
        if "uncollected" in self.extra_shapes and self.grouped:
            raise ValueError("the uncollected shape needs grouped off (a grouped equation "
                             "already needs expanding and collecting)")
        return self


DESCRIPTION = "Solve a linear equation, a quadratic or a 2x2 linear system by algebraic rewrites."
CONFIG = EquationsConfig

PRESETS: dict[str, dict] = {
    "easy": {"kind": "linear", "coefficient_max": 9, "solution_max": 9},
    "medium": {"kind": "quadratic", "both_sides": True, "coefficient_max": 6,
               "solution_max": 6},
    "hard": {"kind": "system", "coefficient_max": 5, "solution_max": 6},
}


def generate(config: EquationsConfig, rng: np.random.Generator, split: str) -> Problem:
    """A problem with a known, sympy-confirmed solution set and a step budget that the
    rules' own best-first path meets (splits are told apart by problem id only)."""
    draw = random.Random(int(rng.integers(2**63)))
    reason = "no_instance"
    for _ in range(ATTEMPTS):
        if config.kind == "linear":
            made = _linear(config, draw)
        elif config.kind == "quadratic":
            made = _quadratic(config, draw)
        else:
            made = _system(config, draw)
        if made is None:
            continue
        equations, solution = made
        result = _finish(config, equations, solution)
        if isinstance(result, Problem):
            return result
        reason = result
    raise GenerationSkipped(reason)


def _finish(config: EquationsConfig, equations: list, solution: set[tuple]) -> Problem | str:
    variables = ["x", "y"] if config.kind == "system" else ["x"]
    texts = [fmt_equation(eq) for eq in equations]
    if [parse_equation(text) for text in texts] != equations:
        return "text_round_trip"
    degree = 2 if config.kind == "quadratic" else 1
    rules = EquationsRules(variables, equations, GREEDY_LIMIT, config.number_limit, degree)
    state = rules.initial_state()
    if rules.dead_end(state) is not None:
        return "numbers_beyond_limit"
    steps = 0
    while not rules.is_goal(state):
        children = rules.expand(state)
        if not children:
            return "no_best_first_solution"
        state = children[0][1]
        steps += 1
        if rules.dead_end(state) is not None:
            return "numbers_beyond_limit"
    truth = true_solutions(tuple(equations), tuple(variables))
    wanted = {tuple(Fraction(v) for v in point) for point in solution}
    if isinstance(truth, str) or {tuple(Fraction(int(v.p), int(v.q)) for v in point)
                                  for point in truth} != wanted:
        return "solution_mismatch"
    if set(state.solution) != wanted:
        return "solution_mismatch"
    data = {"kind": config.kind, "variables": variables, "equations": texts,
            "max_steps": steps + config.spare_steps, "number_limit": config.number_limit}
    return Problem(
        task=TASK,
        id=problem_id(TASK, data),
        data=data,
        prompt=prompt_for(data),
        knobs=recorded_knobs(config, LATER_KNOBS),
    )


def prompt_for(data: dict) -> str:
    steps, limit = data["max_steps"], data["number_limit"]
    equations = data["equations"]
    budget = (f"You have at most {steps} steps, the read-off included, and every number you "
              f"write (numerators and denominators too) must stay within {limit} in absolute "
              f"value: a branch that runs out of steps or passes that limit is a dead end, "
              f"so go back and try another rewrite.")
    if data["kind"] == "system":
        return (
            f"Solve the system of equations (1) {equations[0]} and (2) {equations[1]} for x "
            f"and y, one rewrite per step. A step may add or subtract the same term on both "
            f"sides of one equation, multiply or divide both sides of one equation by a "
            f"nonzero number, solve an equation that contains both x and y for one of them, "
            f"substitute an equation of the form x = ... or y = ... into the other equation, "
            f"or, once the equations read x = a and y = b, read off the solution. {budget} "
            f"Think through your search, then give the solution inside <answer></answer> in "
            f"the form x = 1, y = 2."
        )
    quadratic = data["kind"] == "quadratic"
    factor = " factor one side (a quadratic in x, over the rationals)," if quadratic else ""
    solved = ("x = c or a product of linear factors equals 0" if quadratic else "x = c")
    return (
        f"Solve the equation {equations[0]} for x, one rewrite per step. A step may add or "
        f"subtract the same term on both sides, multiply or divide both sides by a nonzero "
        f"number, expand a product on one side, collect like terms on one side,{factor} or, "
        f"once the equation reads {solved}, read off the solution. Never multiply or divide "
        f"both sides by an expression containing x: that can add or lose solutions. "
        f"{budget} Think through your search, then give the solution inside "
        f"<answer></answer> in the form x = 4, or x = -3 or x = 2 when there are two."
    )


# ---- instances -------------------------------------------------------------------------


def _nonzero(draw: random.Random, bound: int, least: int = 1) -> int:
    """A random integer with least <= |value| <= bound."""
    return draw.choice((-1, 1)) * draw.randint(least, bound)


def _rational_value(draw: random.Random, denominator: int, bound: int) -> Fraction:
    """p/denominator with |p/denominator| <= bound and not a whole number."""
    while True:
        numerator = draw.randint(-bound * denominator, bound * denominator)
        if numerator % denominator:
            return Fraction(numerator, denominator)


def _linear(config: EquationsConfig, draw: random.Random) -> tuple[list, set] | None:
    c_max, s_max = config.coefficient_max, config.solution_max
    least = 2 if c_max >= 2 and draw.random() < 0.85 else 1
    c = _nonzero(draw, c_max) if config.both_sides else 0
    if config.grouped:
        k = _nonzero(draw, max(c_max, 2), 2)
        m = _nonzero(draw, c_max)
        n = _nonzero(draw, c_max) if draw.random() < 0.6 else 0
        a, b = k + n, k * m
    else:
        a, b = _nonzero(draw, c_max, least), _nonzero(draw, 2 * c_max)
        k = m = n = 0
    slope = a - c
    if slope == 0 or (config.rational and abs(slope) < 2):
        return None
    x0 = (_rational_value(draw, abs(slope), s_max) if config.rational
          else Fraction(draw.randint(-s_max, s_max)))
    d = slope * x0 + b  # a x0 + b = c x0 + d
    if d.denominator != 1:
        return None
    if config.grouped:
        left = [product_item(Fraction(k), [make_poly({X: 1, ONE: m})])]
        if n:
            left.append(("t", Fraction(n), X))
        left_side = make_side(left)
    else:
        left_side = terms_side(make_poly({X: a, ONE: b}))
    right_side = terms_side(make_poly({X: c, ONE: d}))
    return [(left_side, right_side)], {(x0,)}


def _quadratic(config: EquationsConfig, draw: random.Random) -> tuple[list, set] | None:
    c_max, s_max = config.coefficient_max, config.solution_max
    # Drawn only when shapes are added, so the plain draws (and rows) stay as they were.
    shape = draw.choice(("distinct", *config.extra_shapes)) if config.extra_shapes else ""
    second = Fraction(draw.randint(-s_max, s_max))
    if config.rational:
        q = draw.randint(2, min(c_max, 4))
        first = _rational_value(draw, q, s_max)
        lead = first.denominator
    else:
        first = Fraction(draw.randint(-s_max, s_max))
        lead = 1
    if shape == "double_root":
        if first == 0:  # x^2 = 0 has no linear factors to read a root off
            return None
        second = first
        lead = first.denominator ** 2
    elif shape == "scaled":
        lead *= draw.randint(2, 3)
    if first == second == 0:
        return None
    # lead * (x - first) * (x - second), with integer coefficients
    a = Fraction(lead)
    b = -lead * (first + second)
    c = lead * first * second
    if b.denominator != 1 or c.denominator != 1:
        return None
    d = _nonzero(draw, c_max) if config.both_sides else 0
    e = draw.randint(-c_max, c_max) if config.both_sides else 0
    right = make_poly({X: d, ONE: e})
    if config.grouped:
        s = _nonzero(draw, c_max)
        p = b + d - a * s  # (a x + p)(x + s) = a x^2 + (a s + p) x + p s
        e = p * s - c
        right = make_poly({X: d, ONE: e})
        if p == 0 or not right:
            return None
        factors = [make_poly({X: a, ONE: p}), make_poly({X: 1, ONE: s})]
        left_side = make_side([product_item(Fraction(1), factors)])
    else:
        full = make_poly({XX: a, X: b + d, ONE: c + e})
        if not config.both_sides:  # the constant goes to the right: a x^2 + b x = -c
            full = make_poly({XX: a, X: b})
            right = make_poly({ONE: -c})
        left_side = (_split_x_term(full, draw, c_max) if shape == "uncollected"
                     else terms_side(full))
    return [(left_side, terms_side(right))], {(first,), (second,)}


def _split_x_term(p: Poly, draw: random.Random, c_max: int) -> Side:
    """`p` as terms with its x term written as two like terms, `(b - t)x + tx`."""
    b = coef(p, X)
    t = _nonzero(draw, c_max)
    while t == b:
        t = _nonzero(draw, c_max)
    return make_side([("t", c, m) for m, c in p if m != X]
                     + [("t", b - t, X), ("t", Fraction(t), X)])


def _system(config: EquationsConfig, draw: random.Random) -> tuple[list, set] | None:
    c_max, s_max = config.coefficient_max, config.solution_max
    a1, b1, a2, b2 = (_nonzero(draw, c_max) for _ in range(4))
    if a1 * b2 - a2 * b1 == 0 or 1 not in (abs(a1), abs(b1), abs(a2), abs(b2)):
        return None
    x0, y0 = draw.randint(-s_max, s_max), draw.randint(-s_max, s_max)
    c1, c2 = a1 * x0 + b1 * y0, a2 * x0 + b2 * y0
    if config.both_sides:
        first = (terms_side(make_poly({X: a1})), terms_side(make_poly({Y: -b1, ONE: c1})))
        second = (terms_side(make_poly({Y: b2})), terms_side(make_poly({X: -a2, ONE: c2})))
    else:
        first = (terms_side(make_poly({X: a1, Y: b1})), terms_side(make_poly({ONE: c1})))
        second = (terms_side(make_poly({X: a2, Y: b2})), terms_side(make_poly({ONE: c2})))
    return [first, second], {(Fraction(x0), Fraction(y0))}
