"""The algebra of equations: polynomials in x and y with rational coefficients, sides of
an equation in their written form and the rewrites on them (expand, collect, factor,
substitute), and sympy's independent reckoning of solution sets.

A side is a sorted tuple of items, each a term `("t", coefficient, monomial)` or a product
`("p", coefficient, factors)` whose factors are collected polynomials, as in `3(x - 2)` or
`(x - 3)(x + 2)`. The task's own algebra works on Python fractions (the solver's fast
path); the sympy functions build sympy objects from these tuples with sympy's
constructors, never from text, and give the rules a second opinion on every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from math import gcd, isqrt, lcm
from typing import Any

import sympy

Mono = tuple[int, int]  # exponents of (x, y)
Poly = tuple[tuple[Mono, Fraction], ...]  # collected, canonical order, no zero coefficients
Item = tuple[Any, ...]  # ("t", coef, mono) or ("p", coef, factors)
Side = tuple[Item, ...]
Equation = tuple[Side, Side]

F0, F1 = Fraction(0), Fraction(1)
X: Mono = (1, 0)
Y: Mono = (0, 1)
ONE: Mono = (0, 0)
XX: Mono = (2, 0)
VARIABLE_MONO: dict[str, Mono] = {"x": X, "y": Y}
MONO_VARIABLE: dict[Mono, str] = {X: "x", Y: "y"}


# ---- polynomials and sides -------------------------------------------------------------


def _rank(mono: Mono) -> tuple[int, int]:
    """Descending total degree, then descending power of x: x^2, xy, y^2, x, y, 1."""
    return (-(mono[0] + mono[1]), -mono[0])


def make_poly(coefs: dict[Mono, Any]) -> Poly:
    return tuple(sorted(((m, Fraction(c)) for m, c in coefs.items() if c),
                        key=lambda item: _rank(item[0])))


def poly_add(a: Poly, b: Poly, sign: int = 1) -> Poly:
    coefs = dict(a)
    for mono, c in b:
        coefs[mono] = coefs.get(mono, 0) + sign * c
    return make_poly(coefs)


def poly_mul(a: Poly, b: Poly) -> Poly:
    coefs: dict[Mono, Any] = {}
    for (m1, c1) in a:
        for (m2, c2) in b:
            mono = (m1[0] + m2[0], m1[1] + m2[1])
            coefs[mono] = coefs.get(mono, 0) + c1 * c2
    return make_poly(coefs)


def poly_scale(a: Poly, factor: Fraction) -> Poly:
    return tuple((m, c * factor) for m, c in a) if factor else ()


def degree(p: Poly) -> int:
    return max((m[0] + m[1] for m, _ in p), default=0)


def coef(p: Poly, mono: Mono) -> Fraction:
    for m, c in p:
        if m == mono:
            return c
    return F0


def constant_value(p: Poly) -> Fraction | None:
    """The value of a constant polynomial, None when it has a variable."""
    if not p:
        return F0
    if len(p) == 1 and p[0][0] == ONE:
        return p[0][1]
    return None


def poly_variables(p: Poly) -> set[str]:
    names = set()
    for (ex, ey), _ in p:
        if ex:
            names.add("x")
        if ey:
            names.add("y")
    return names


def linear_root(f: Poly) -> Fraction | None:
    """The zero of a factor `a v + b` in one variable, else None."""
    variables = {m for m, _ in f if m != ONE}
    if len(variables) != 1:
        return None
    (var,) = variables
    if var not in (X, Y):
        return None
    return -coef(f, ONE) / coef(f, var)


def _factor_key(f: Poly) -> tuple:
    if len(f) == 1:
        return (0, f[0][0], f[0][1])
    root = linear_root(f)
    return (1, F0 if root is None else root, repr(f))


def _item_key(item: Item) -> tuple:
    if item[0] == "p":
        return (0, tuple(_factor_key(f) for f in item[2]), item[1])
    return (1, _rank(item[2]), -item[1])


def make_side(items: Sequence[Item]) -> Side:
    return tuple(sorted((i for i in items if i[1]), key=_item_key))


def product_item(c: Fraction, factors: Sequence[Poly]) -> Item:
    return ("p", Fraction(c), tuple(sorted(factors, key=_factor_key)))


def terms_side(p: Poly) -> Side:
    return make_side([("t", c, m) for m, c in p])


@lru_cache(maxsize=1 << 16)
def side_poly(side: Side) -> Poly:
    """The side expanded and collected."""
    coefs: dict[Mono, Any] = {}
    for item in side:
        if item[0] == "t":
            coefs[item[2]] = coefs.get(item[2], 0) + item[1]
        else:
            expanded: Poly = ((ONE, item[1]),)
            for f in item[2]:
                expanded = poly_mul(expanded, f)
            for mono, c in expanded:
                coefs[mono] = coefs.get(mono, 0) + c
    return make_poly(coefs)


def has_product(side: Side) -> bool:
    return any(item[0] == "p" for item in side)


def is_collected(side: Side) -> bool:
    monos = [item[2] for item in side if item[0] == "t"]
    return len(monos) == len(set(monos))


def add_to_side(side: Side, p: Poly) -> Side:
    """side + p with every like term collected (as sympy's Add does); products stay."""
    coefs: dict[Mono, Any] = {}
    for item in side:
        if item[0] == "t":
            coefs[item[2]] = coefs.get(item[2], 0) + item[1]
    for mono, c in p:
        coefs[mono] = coefs.get(mono, 0) + c
    products = [item for item in side if item[0] == "p"]
    return make_side(products + [("t", c, m) for m, c in make_poly(coefs)])


def scale_side(side: Side, factor: Fraction) -> Side:
    return make_side([(item[0], item[1] * factor, item[2]) for item in side])


def expand_side(side: Side) -> Side:
    """Each product multiplied out (its own terms collected); the other items stay."""
    items: list[Item] = []
    for item in side:
        if item[0] == "p":
            items.extend(("t", c, m) for m, c in side_poly((item,)))
        else:
            items.append(item)
    return make_side(items)


def collect_side(side: Side) -> Side:
    return add_to_side(side, ())


def _fraction_sqrt(value: Fraction) -> Fraction | None:
    if value < 0:
        return None
    top, bottom = isqrt(value.numerator), isqrt(value.denominator)
    if top * top != value.numerator or bottom * bottom != value.denominator:
        return None
    return Fraction(top, bottom)


def factor_side(side: Side) -> Side | None:
    """A collected quadratic in x as c * (linear factor)(linear factor), over the rationals."""
    if has_product(side) or not is_collected(side) or len(side) < 2:
        return None
    p = side_poly(side)
    if any(m not in (XX, X, ONE) for m, _ in p) or not coef(p, XX):
        return None
    a, b, c = coef(p, XX), coef(p, X), coef(p, ONE)
    root = _fraction_sqrt(b * b - 4 * a * c)
    if root is None:
        return None
    lead = a
    factors = []
    for r in ((-b - root) / (2 * a), (-b + root) / (2 * a)):
        if r == 0:
            factors.append(((X, F1),))
        else:
            factors.append(make_poly({X: r.denominator, ONE: -r.numerator}))
        lead /= r.denominator
    if all(len(f) == 1 for f in factors):
        return None
    return (product_item(lead, factors),)


def content(p: Poly) -> Fraction:
    """The positive rational that makes `p` primitive with integer coefficients, signed
    like the leading coefficient."""
    numerators = [c.numerator for _, c in p]
    denominators = [c.denominator for _, c in p]
    g = 0
    for n in numerators:
        g = gcd(g, n)
    value = Fraction(abs(g), lcm(*denominators)) if g else F1
    return -value if p and p[0][1] < 0 else value


def substitute_side(side: Side, var: Mono, expr: Poly) -> Side:
    total: Poly = ()
    index = 0 if var == X else 1
    for mono, c in side_poly(side):
        power = mono[index]
        rest = (mono[0], 0) if index == 1 else (0, mono[1])
        piece: Poly = ((rest, c),)
        for _ in range(power):
            piece = poly_mul(piece, expr)
        total = poly_add(total, piece)
    return terms_side(total)


# ---- sympy -----------------------------------------------------------------------------

SYMBOLS = {"x": sympy.Symbol("x"), "y": sympy.Symbol("y")}


def sym_number(c: Fraction) -> sympy.Rational:
    return sympy.Rational(c.numerator, c.denominator)


def _sym_mono(mono: Mono) -> sympy.Expr:
    parts = []
    if mono[0]:
        parts.append(sympy.Pow(SYMBOLS["x"], sympy.Integer(mono[0])))
    if mono[1]:
        parts.append(sympy.Pow(SYMBOLS["y"], sympy.Integer(mono[1])))
    return sympy.Mul(*parts)


def _sym_poly(p: Poly) -> sympy.Expr:
    return sympy.Add(*[sympy.Mul(sym_number(c), _sym_mono(m)) for m, c in p])


def sym_side(side: Side) -> sympy.Expr:
    """A side as sympy builds it from the written items (products as sympy products)."""
    parts = []
    for kind, c, payload in side:
        if kind == "t":
            parts.append(sympy.Mul(sym_number(c), _sym_mono(payload)))
        else:
            parts.append(sympy.Mul(sym_number(c), *[_sym_poly(f) for f in payload]))
    return sympy.Add(*parts)


def _sym_gens(variables: Sequence[str]) -> list[sympy.Symbol]:
    return [SYMBOLS[v] for v in variables]


def sympy_solutions(
    eqs: Sequence[Equation], variables: Sequence[str]
) -> frozenset[tuple[sympy.Expr, ...]] | str:
    """The real solution set by sympy, as a set of points, or "infinite" (or "nonlinear"
    for a system that is not linear)."""
    gens = _sym_gens(variables)
    exprs = [sympy.expand(sym_side(left) - sym_side(right)) for left, right in eqs]
    if len(gens) == 1:
        poly = sympy.Poly(exprs[0], *gens)
        if poly.is_zero:
            return "infinite"
        if poly.degree() <= 0:
            return frozenset()
        roots = sympy.roots(poly)
        if sum(roots.values()) != poly.degree():
            found = sympy.solveset(exprs[0], gens[0], domain=sympy.S.Reals)
            if not isinstance(found, sympy.FiniteSet):
                return "infinite"
            return frozenset((r,) for r in found)
        return frozenset((r,) for r in roots if r.is_real)
    if any(sympy.Poly(e, *gens).total_degree() > 1 for e in exprs):
        return "nonlinear"  # never reached by legal steps, which keep systems linear
    solved = sympy.linsolve(exprs, gens)
    points = []
    for point in solved:
        if any(value.free_symbols for value in point):
            return "infinite"
        points.append(tuple(point))
    return frozenset(points)


@lru_cache(maxsize=4096)
def true_solutions(eqs: tuple[Equation, ...], variables: tuple[str, ...]):
    return sympy_solutions(eqs, variables)


def sympy_key(eqs: Sequence[Equation], variables: Sequence[str]) -> tuple:
    """A normal form by sympy that legal steps keep: the monic polynomial of left - right
    (one equation), or the reduced row echelon form of the system."""
    gens = _sym_gens(variables)
    if len(gens) == 1:
        poly = sympy.Poly(sym_side(eqs[0][0]) - sym_side(eqs[0][1]), *gens)
        if poly.is_zero:
            return ("zero",)
        return ("monic", tuple(poly.monic().all_coeffs()))
    rows = []
    for left, right in eqs:
        poly = sympy.Poly(sym_side(left) - sym_side(right), *gens)
        if poly.total_degree() > 1:
            return ("nonlinear",)
        rows.append([poly.coeff_monomial(g) for g in gens] + [poly.coeff_monomial(1)])
    return ("rref", _rref(rows))


def _rref(rows: list[list[sympy.Expr]]) -> tuple:
    rows = [list(r) for r in rows]
    lead = 0
    for column in range(len(rows[0]) - 1):
        pivot = next((r for r in range(lead, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[lead], rows[pivot] = rows[pivot], rows[lead]
        scale = rows[lead][column]
        rows[lead] = [v / scale for v in rows[lead]]
        for r in range(len(rows)):
            if r != lead and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[lead], strict=True)]
        lead += 1
    return tuple(tuple(r) for r in rows)
