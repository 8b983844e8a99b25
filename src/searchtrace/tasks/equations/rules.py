"""Equation rules, step text and answer checker: linear equations, quadratics, 2x2 systems.

States. A side of an equation is a sorted tuple of items, each a term
`("t", coefficient, monomial)` or a product `("p", coefficient, factors)` whose factors
are collected polynomials, as in `3(x - 2)` or `(x - 3)(x + 2)`. Sides keep the form they
are written in (a product or its expansion, like terms collected or not), so expanding,
collecting and factoring are real steps. A state is the equation (or the two equations of
a system), or the solution once it has been read off, plus the number of steps left: every
problem gives a step budget and a limit on the size of the numbers written.

Moves rewrite the equation(s) algebraically: add or subtract a term on both sides,
multiply or divide both sides by a nonzero number, expand, collect or factor one side,
(systems) solve an equation for a variable and substitute an equation `v = ...` into the
other, and finally read off the solution once the equation is `x = c` or a product of
linear factors equals 0. Multiplying or dividing by zero or by an expression containing a
variable is a violation (it can add or lose solutions).

Dead ends are rule-confirmed: a state with a number beyond the stated limit, or one whose
steps left are fewer than a lower bound on the steps it still needs (1 to read off a
solved form, 2 otherwise; for systems one per equation not yet `v = c`, plus the read-off).

Verification. The solver's fast path works on Python fractions. The checked path (`apply`)
additionally confirms every step with sympy: the equation(s) after the step have the same
solution set as the problem (a sympy-normalized form must match, else sympy's roots or
linsolve are compared), a rewrite of one side leaves it equal under `sympy.expand`, and a
read-off solution equals sympy's. Text is never evaluated or sympified: a small grammar
(numbers, x, y, + - * / ^ and parentheses, with length, depth and degree limits) parses
it, and sympy objects are built from the parse with sympy's constructors.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import gcd, isqrt, lcm
from typing import Any, NamedTuple

import sympy

from searchtrace.tasks.base import OK, DeadEnd, SolvabilityUndecided, Verdict, Violation

# ---- polynomials -----------------------------------------------------------------------

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
MAX_DEGREE = 4  # no parsed expression may go beyond this total degree

OUT_OF_STEPS = "out_of_steps"
NUMBER_TOO_LARGE = "number_too_large"
SIDES = ("left", "right")


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


def _linear_root(f: Poly) -> Fraction | None:
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
    root = _linear_root(f)
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


def _content(p: Poly) -> Fraction:
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


# ---- text: numbers, sides, equations ---------------------------------------------------


def fmt_number(c: Fraction) -> str:
    return str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"


def _fmt_mono(mono: Mono) -> str:
    ex, ey = mono
    out = ""
    if ex:
        out += "x" if ex == 1 else f"x^{ex}"
    if ey:
        out += "y" if ey == 1 else f"y^{ey}"
    return out


def _coef_text(c: Fraction, body: str) -> str:
    """A positive coefficient in front of `body`: 1 is silent, fractions are bracketed."""
    if not body:
        return fmt_number(c)
    if c == 1:
        return body
    if c.denominator == 1:
        return f"{c.numerator}{body}"
    return f"({fmt_number(c)}){body}"


def _join(parts: Sequence[tuple[bool, str]], compact: bool) -> str:
    out = []
    for index, (negative, text) in enumerate(parts):
        if index == 0:
            out.append(f"-{text}" if negative else text)
        elif compact:
            out.append(f"-{text}" if negative else f"+{text}")
        else:
            out.append(f" - {text}" if negative else f" + {text}")
    return "".join(out)


def fmt_poly(p: Poly, compact: bool = False) -> str:
    if not p:
        return "0"
    return _join([(c < 0, _coef_text(abs(c), _fmt_mono(m))) for m, c in p], compact)


def _fmt_factors(factors: Sequence[Poly], compact: bool) -> str:
    out = []
    index = 0
    while index < len(factors):
        f = factors[index]
        run = 1
        while index + run < len(factors) and factors[index + run] == f:
            run += 1
        bare = len(f) == 1 and f[0][1] == 1  # a monomial factor such as x
        text = _fmt_mono(f[0][0]) if bare else f"({fmt_poly(f, compact)})"
        out.append(text if run == 1 else f"{text}^{run}")
        index += run
    return "".join(out)


def fmt_side(side: Side, compact: bool = False) -> str:
    if not side:
        return "0"
    parts = []
    for kind, c, payload in side:
        body = _fmt_mono(payload) if kind == "t" else _fmt_factors(payload, compact)
        parts.append((c < 0, _coef_text(abs(c), body)))
    return _join(parts, compact)


def fmt_equation(eq: Equation, compact: bool = False) -> str:
    sep = "=" if compact else " = "
    return f"{fmt_side(eq[0], compact)}{sep}{fmt_side(eq[1], compact)}"


# ---- the safe grammar ------------------------------------------------------------------

MAX_EXPRESSION_CHARS = 240
MAX_TOKENS = 120
MAX_NESTING = 8
_TOKEN = re.compile(r"\s*(?:([0-9]{1,12}(?:\.[0-9]{1,12})?)|([xy])|(\*\*|[-+*/^()]))")
_UNICODE = str.maketrans({"−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "⋅": "*",
                          "÷": "/", "²": "^2"})


class ParseError(Exception):
    """The text is not an expression of the grammar (or breaks one of its limits)."""


def _tokenize(text: str) -> list[tuple[str, str]]:
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ParseError(f"longer than {MAX_EXPRESSION_CHARS} characters")
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ParseError(f"unexpected character {text[position]!r}")
        number, variable, symbol = match.groups()
        if number is not None:
            tokens.append(("num", number))
        elif variable is not None:
            tokens.append(("var", variable))
        else:
            tokens.append(("op", "^" if symbol == "**" else symbol))
        position = match.end()
        if len(tokens) > MAX_TOKENS:
            raise ParseError(f"more than {MAX_TOKENS} tokens")
    if not tokens:
        raise ParseError("empty expression")
    return tokens


class _Parser:
    """expr := [+-] term ([+-] term)*; term := power ([*/]? power)*  (juxtaposition
    multiplies before a variable or a bracket); power := atom [^ digits];
    atom := number | x | y | ( expr ).

    Nodes: ("num", Fraction), ("var", name), ("group", node), ("pow", node, n),
    ("mul", factors) with ("div", node) for divisors, ("sum", ((sign, node), ...))."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.depth = 0

    def parse(self) -> tuple:
        node = self._expr()
        if self.position != len(self.tokens):
            raise ParseError(f"unexpected {self.tokens[self.position][1]!r}")
        return node

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _expr(self) -> tuple:
        terms = []
        sign = 1
        token = self._peek()
        if token is not None and token[0] == "op" and token[1] in "+-":
            sign = -1 if token[1] == "-" else 1
            self.position += 1
        terms.append((sign, self._term()))
        while (token := self._peek()) is not None and token[0] == "op" and token[1] in "+-":
            self.position += 1
            terms.append((-1 if token[1] == "-" else 1, self._term()))
        return ("sum", tuple(terms))

    def _term(self) -> tuple:
        factors = [self._power()]
        while (token := self._peek()) is not None:
            if token == ("op", "*"):
                self.position += 1
                factors.append(self._power())
            elif token == ("op", "/"):
                self.position += 1
                factors.append(("div", self._power()))
            elif token[0] == "var" or token == ("op", "("):
                factors.append(self._power())
            else:
                break
        return factors[0] if len(factors) == 1 else ("mul", tuple(factors))

    def _power(self) -> tuple:
        base = self._atom()
        if self._peek() == ("op", "^"):
            self.position += 1
            token = self._peek()
            if token is None or token[0] != "num" or not token[1].isascii() \
                    or not token[1].isdigit():
                raise ParseError("an exponent must be a whole number")
            self.position += 1
            power = int(token[1])
            if power > MAX_DEGREE:
                raise ParseError(f"exponents above {MAX_DEGREE} are not allowed")
            return ("pow", base, power)
        return base

    def _atom(self) -> tuple:
        token = self._peek()
        if token is None:
            raise ParseError("the expression ends too early")
        self.position += 1
        kind, text = token
        if kind == "num":
            return ("num", Fraction(text))
        if kind == "var":
            return ("var", text)
        if text == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ParseError("brackets nest too deeply")
            inner = self._expr()
            if self._peek() != ("op", ")"):
                raise ParseError("a bracket is not closed")
            self.position += 1
            self.depth -= 1
            return ("group", inner)
        raise ParseError(f"unexpected {text!r}")


def parse_tree(text: str) -> tuple:
    return _Parser(text.translate(_UNICODE)).parse()


def tree_poly(node: tuple) -> Poly:
    """The collected polynomial of a parsed expression (division only by nonzero numbers)."""
    kind = node[0]
    if kind == "num":
        return ((ONE, node[1]),) if node[1] else ()
    if kind == "var":
        return ((VARIABLE_MONO[node[1]], F1),)
    if kind == "group":
        return tree_poly(node[1])
    if kind == "pow":
        base = tree_poly(node[1])
        result: Poly = ((ONE, F1),)
        for _ in range(node[2]):
            result = poly_mul(result, base)
        if degree(result) > MAX_DEGREE:
            raise ParseError(f"degree above {MAX_DEGREE}")
        return result
    if kind == "mul":
        result = ((ONE, F1),)
        for factor in node[1]:
            if factor[0] == "div":
                divisor = constant_value(tree_poly(factor[1]))
                if divisor is None:
                    raise ParseError("division by an expression with a variable")
                if divisor == 0:
                    raise ParseError("division by zero")
                result = poly_scale(result, 1 / divisor)
            else:
                result = poly_mul(result, tree_poly(factor))
                if degree(result) > MAX_DEGREE:
                    raise ParseError(f"degree above {MAX_DEGREE}")
        return result
    total: Poly = ()
    for sign, term in node[1]:
        total = poly_add(total, tree_poly(term), sign)
    return total


def tree_sympy(node: tuple, symbols: dict[str, sympy.Symbol]) -> sympy.Expr:
    """The parsed expression as a sympy object, built with sympy's constructors."""
    kind = node[0]
    if kind == "num":
        return sympy.Rational(node[1].numerator, node[1].denominator)
    if kind == "var":
        return symbols[node[1]]
    if kind == "group":
        return tree_sympy(node[1], symbols)
    if kind == "pow":
        return sympy.Pow(tree_sympy(node[1], symbols), sympy.Integer(node[2]))
    if kind == "mul":
        return sympy.Mul(*[
            sympy.Pow(tree_sympy(f[1], symbols), sympy.Integer(-1)) if f[0] == "div"
            else tree_sympy(f, symbols) for f in node[1]])
    return sympy.Add(*[tree_sympy(term, symbols) if sign > 0
                       else sympy.Mul(sympy.Integer(-1), tree_sympy(term, symbols))
                       for sign, term in node[1]])


def tree_side(node: tuple) -> Side:
    """The parsed expression as a side in its written form: each summand a term, or a
    product when it multiplies a bracket of several terms."""
    summands = node[1] if node[0] == "sum" else ((1, node),)
    items: list[Item] = []
    for sign, summand in summands:
        factors = summand[1] if summand[0] == "mul" else (summand,)
        c = Fraction(sign)
        mono = ONE
        groups: list[Poly] = []
        for factor in factors:
            if factor[0] == "div":
                divisor = constant_value(tree_poly(factor[1]))
                if divisor is None or divisor == 0:
                    raise ParseError("division by zero or by an expression with a variable")
                c /= divisor
                continue
            base, power = (factor[1], factor[2]) if factor[0] == "pow" else (factor, 1)
            p = tree_poly(base)
            if base[0] == "group" and len(p) > 1:
                groups.extend([p] * power)
                continue
            if not p:
                c = F0
                continue
            if len(p) != 1:
                raise ParseError("unexpected expression")
            (m, k), = p
            c *= k ** power
            mono = (mono[0] + m[0] * power, mono[1] + m[1] * power)
        if mono[0] + mono[1] > MAX_DEGREE:
            raise ParseError(f"degree above {MAX_DEGREE}")
        if not c:
            continue
        if groups:
            unit = [((X, F1),)] * mono[0] + [((Y, F1),)] * mono[1]
            items.append(product_item(c, unit + groups))
        else:
            items.append(("t", c, mono))
    return make_side(items)


def parse_poly(text: str) -> Poly | None:
    try:
        return tree_poly(parse_tree(text))
    except (ParseError, ZeroDivisionError, ValueError):
        return None


@lru_cache(maxsize=4096)
def parse_equation(text: str) -> Equation | None:
    """`left = right` in its written form, or None when it is not one equation."""
    if not isinstance(text, str) or text.count("=") != 1:
        return None
    left, right = text.split("=")
    try:
        return tree_side(parse_tree(left)), tree_side(parse_tree(right))
    except (ParseError, ZeroDivisionError, ValueError):
        return None


# ---- sympy ------------------------------------------------------------------------------

SYMBOLS = {"x": sympy.Symbol("x"), "y": sympy.Symbol("y")}


def _sym_number(c: Fraction) -> sympy.Rational:
    return sympy.Rational(c.numerator, c.denominator)


def _sym_mono(mono: Mono) -> sympy.Expr:
    parts = []
    if mono[0]:
        parts.append(sympy.Pow(SYMBOLS["x"], sympy.Integer(mono[0])))
    if mono[1]:
        parts.append(sympy.Pow(SYMBOLS["y"], sympy.Integer(mono[1])))
    return sympy.Mul(*parts)


def _sym_poly(p: Poly) -> sympy.Expr:
    return sympy.Add(*[sympy.Mul(_sym_number(c), _sym_mono(m)) for m, c in p])


def sym_side(side: Side) -> sympy.Expr:
    """A side as sympy builds it from the written items (products as sympy products)."""
    parts = []
    for kind, c, payload in side:
        if kind == "t":
            parts.append(sympy.Mul(_sym_number(c), _sym_mono(payload)))
        else:
            parts.append(sympy.Mul(_sym_number(c), *[_sym_poly(f) for f in payload]))
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


# ---- states and moves ------------------------------------------------------------------


class EqState(NamedTuple):
    """The equation(s) as written, or the solution points once read off, and steps left."""

    eqs: tuple[Equation, ...]
    solution: tuple[tuple[Fraction, ...], ...]
    steps_left: int


@dataclass(frozen=True)
class EqMove:
    """One rewrite. `value`: the term or number of add/subtract/multiply/divide; `side`:
    "left"/"right" for expand/collect/factor; `eq`: the 1-based equation a move rewrites
    (systems only; the source of a substitution); `var`: the variable to solve for;
    `target`: the equation a substitution rewrites."""

    op: str
    value: Poly | None = None
    side: str | None = None
    eq: int | None = None
    var: str | None = None
    target: int | None = None


READ = EqMove("read")
_VERB = {"add": "adding", "subtract": "subtracting", "multiply": "multiplying",
         "divide": "dividing"}


def _shift(p: Poly, eq: int | None) -> EqMove:
    """Subtract `p` from both sides, said with a positive leading coefficient."""
    if p and p[0][1] < 0:
        return EqMove("add", poly_scale(p, Fraction(-1)), eq=eq)
    return EqMove("subtract", p, eq=eq)


def _number(value: Fraction | int) -> Poly:
    return ((ONE, Fraction(value)),) if value else ()


def _divide_by(a: Fraction, eq: int | None) -> EqMove:
    if abs(a.numerator) == 1 and a.denominator > 1:
        return EqMove("multiply", _number(1 / a), eq=eq)
    return EqMove("divide", _number(a), eq=eq)


def _solved_for(eq: Equation) -> tuple[Mono, Poly] | None:
    """(v, expr) when one side is exactly v and the other is terms without v."""
    for this, other in (eq, eq[::-1]):
        if len(this) == 1 and this[0][0] == "t" and this[0][1] == 1 and this[0][2] in (X, Y):
            var = this[0][2]
            if has_product(other) or not is_collected(other):
                continue
            p = side_poly(other)
            index = 0 if var == X else 1
            if all(m[index] == 0 for m, _ in p):
                return var, p
    return None


def _equation_poly(eq: Equation) -> Poly:
    return poly_add(side_poly(eq[0]), side_poly(eq[1]), -1)


def _mentions(eq: Equation, var: Mono) -> bool:
    index = 0 if var == X else 1
    return any(m[index] for side in eq for m, _ in side_poly(side))


def _numbers(eqs: Sequence[Equation]) -> Iterator[Fraction]:
    for eq in eqs:
        for side in eq:
            for kind, c, payload in side:
                yield c
                if kind == "p":
                    for f in payload:
                        for _, k in f:
                            yield k


def _size(c: Fraction) -> int:
    return max(abs(c.numerator), c.denominator)


def _single_read_off(eq: Equation) -> tuple[tuple[Fraction, ...], ...] | None:
    for this, other in (eq, eq[::-1]):
        if this == (("t", F1, X),) and all(i[0] == "t" and i[2] == ONE for i in other) \
                and len(other) <= 1:
            return ((other[0][1] if other else F0,),)
        if not other and len(this) == 1 and this[0][0] == "p":
            roots = [_linear_root(f) for f in this[0][2]]
            if all(r is not None and {m for m, _ in f} <= {X, ONE}
                   for r, f in zip(roots, this[0][2], strict=True)):
                return tuple((r,) for r in sorted(set(roots)))  # type: ignore[type-var]
    return None


def _var_equals_constant(eq: Equation) -> tuple[Mono, Fraction] | None:
    form = _solved_for(eq)
    if form is None:
        return None
    value = constant_value(form[1])
    return None if value is None else (form[0], value)


class EquationsRules:
    """The state space of one equation or system."""

    def __init__(self, variables: Sequence[str], equations: Sequence[Equation],
                 max_steps: int, number_limit: int, degree: int) -> None:
        self.variables = tuple(variables)
        self.system = len(equations) > 1
        self.degree = degree
        self.max_steps = max_steps
        self.limit = number_limit
        self.start = EqState(tuple(equations), (), max_steps)
        self._children: dict[EqState, list[tuple[EqMove, EqState]]] = {}
        self._reachable: dict[EqState, bool] = {}
        self._keys: dict[tuple[Equation, ...], tuple] = {}

    @staticmethod
    def from_data(data: dict[str, Any]) -> EquationsRules:
        equations = [parse_equation(text) for text in data["equations"]]
        if any(eq is None for eq in equations):
            raise ValueError(f"unreadable equations {data['equations']!r}")
        return EquationsRules(data["variables"], equations,  # type: ignore[arg-type]
                              data["max_steps"], data["number_limit"],
                              2 if data["kind"] == "quadratic" else 1)

    # -- the interface ------------------------------------------------------------------

    def initial_state(self) -> EqState:
        return self.start

    def expand(self, state: EqState) -> list[tuple[EqMove, EqState]]:
        """Sensible rewrites, best first: those that isolate the variable, factor a side
        that equals 0, substitute a solved equation, then the alternatives."""
        cached = self._children.get(state)
        if cached is not None:
            return list(cached)
        children: list[tuple[EqMove, EqState]] = []
        if not state.solution and state.steps_left > 0:
            seen: set[EqState] = set()
            for move in self._sensible(state):
                child = self._compute(state, move)
                if isinstance(child, Violation) or child in seen:
                    continue
                seen.add(child)
                children.append((move, child))
            if not children:  # never leave a live state without a move
                for move in self._unhelpful(state):
                    child = self._compute(state, move)
                    if not isinstance(child, Violation):
                        children.append((move, child))
                        break
        self._children[state] = children
        return list(children)

    def wider_moves(self, state: EqState) -> Iterator[tuple[EqMove, EqState]]:
        """The sensible rewrites, then unhelpful but legal ones: moving single terms,
        multiplying or dividing by small numbers, adding a variable or a constant,
        factoring a side that is not 0, solving or substituting the other way round."""
        children = self.expand(state)
        yield from children
        if state.solution or state.steps_left <= 0:
            return
        seen = {child for _, child in children}
        for move in self._unhelpful(state):
            child = self._compute(state, move)
            if isinstance(child, Violation) or child in seen:
                continue
            seen.add(child)
            yield move, child

    def apply(self, state: EqState, move: EqMove) -> EqState | Violation:
        result = self._compute(state, move)
        if isinstance(result, Violation):
            return result
        problem = self._confirm_with_sympy(state, move, result)
        return result if problem is None else problem

    def is_goal(self, state: EqState) -> bool:
        return bool(state.solution)

    def dead_end(self, state: EqState) -> DeadEnd | None:
        if state.solution:
            return None
        for c in _numbers(state.eqs):
            if _size(c) > self.limit:
                return DeadEnd(NUMBER_TOO_LARGE, (fmt_number(abs(c)),))
        need = self.lower_bound(state)
        if state.steps_left < need:
            return DeadEnd(OUT_OF_STEPS, (state.steps_left, need))
        return None

    def confirm_dead_end(self, state: EqState, claim: DeadEnd) -> str | None:
        if state.solution:
            return "the solution has been read off; this is not a dead end"
        if claim.code == NUMBER_TOO_LARGE and len(claim.detail) == 1:
            named = parse_poly(str(claim.detail[0]))
            value = None if named is None else constant_value(named)
            if value is None:
                return f"cannot read the number {claim.detail[0]!r}"
            if not any(abs(c) == abs(value) for c in _numbers(state.eqs)):
                return f"{fmt_number(abs(value))} does not appear in {self._describe(state)}"
            if _size(value) <= self.limit:
                return f"{fmt_number(abs(value))} is within the limit of {self.limit}"
            return None
        if claim.code == OUT_OF_STEPS and len(claim.detail) == 2:
            left, need = claim.detail
            bound = self.lower_bound(state)
            if left != state.steps_left:
                return f"{state.steps_left} steps are left, not {left}"
            if not isinstance(need, int) or need > bound:
                return f"{self._describe(state)} needs at least {bound} more steps, not {need}"
            if left >= need:
                return f"{left} steps are enough for at least {need} more"
            return None
        return f"{claim.code!r} is not a dead end of this task"

    def state_key(self, state: EqState) -> Hashable:
        return state

    def solvable(self, state: EqState) -> bool:
        """Exact where the rules can settle it, else SolvabilityUndecided.

        False only with a proof: a number beyond the limit or fewer steps left than the
        steps still needed (`dead_end`). True only with a witness: a path of `expand`
        moves to the read-off within the steps left, every state on it within the limit.
        Between the two the answer is not known: a move may add any term or multiply by
        any nonzero number, so no finite search covers every move, and this task cannot
        decide solvability exactly within its step budget; builds must not rely on it."""
        if self.is_goal(state):
            return True
        if self.dead_end(state) is not None:
            return False
        if self._witness(state):
            return True
        raise SolvabilityUndecided(
            f"cannot decide whether {self._describe(state)} with {state.steps_left} steps "
            "left can still be solved: no proof that it cannot, no path found that does")

    def _witness(self, state: EqState) -> bool:
        """Whether `expand` moves reach the read-off within the steps left, memoised."""
        known = self._reachable.get(state)
        if known is None:
            known = self.is_goal(state) or (self.dead_end(state) is None and any(
                self._witness(child) for _, child in self.expand(state)))
            self._reachable[state] = known
        return known

    def heuristic(self, state: EqState) -> float:
        return float(self.lower_bound(state))

    def move_to_json(self, move: EqMove) -> str:
        return move_text(move, "compact")

    # -- helpers --------------------------------------------------------------------------

    def lower_bound(self, state: EqState) -> int:
        """Steps a goal is at least away: 0 solved; 1 when the solution can be read off;
        else 2 (a rewrite, then the read-off), and for a system 1 per equation that is
        not yet `v = c` (each step rewrites one equation) plus the read-off."""
        if state.solution:
            return 0
        if self.read_off(state) is not None:
            return 1
        if not self.system:
            return 2
        unsolved = sum(1 for eq in state.eqs if _var_equals_constant(eq) is None)
        return max(2, 1 + unsolved)

    def read_off(self, state: EqState) -> tuple[tuple[Fraction, ...], ...] | None:
        """The solution points when the state is in a form to read them off."""
        if state.solution:
            return None
        if not self.system:
            return _single_read_off(state.eqs[0])
        values: dict[Mono, Fraction] = {}
        for eq in state.eqs:
            found = _var_equals_constant(eq)
            if found is None or found[0] in values:
                return None
            values[found[0]] = found[1]
        if len(values) != len(self.variables):
            return None
        return (tuple(values[VARIABLE_MONO[v]] for v in self.variables),)

    def _describe(self, state: EqState) -> str:
        return " and ".join(fmt_equation(eq) for eq in state.eqs)

    def _compute(self, state: EqState, move: EqMove) -> EqState | Violation:
        """The state after `move`, or the rule it breaks (no sympy: the solver's path)."""
        if state.solution:
            return Violation("already_solved", "the solution has already been read off")
        if state.steps_left <= 0:
            return Violation("no_steps_left", f"all {self.max_steps} steps are used")
        op = move.op
        if op == "read":
            found = self.read_off(state)
            if found is None:
                return Violation("not_solved_form", f"{self._describe(state)} is not yet in a "
                                 "form to read off (x = c, or factors whose product is 0)")
            return EqState((), found, state.steps_left - 1)
        if op in ("solve", "substitute") and not self.system:
            return Violation("not_a_system", "there is only one equation")
        index = self._equation_index(move.eq)
        if isinstance(index, Violation):
            return index
        eqs = list(state.eqs)
        eq = eqs[index]
        name = f"equation {move.eq}" if self.system else "the equation"
        if op in _VERB:
            result = self._arithmetic(eq, move, name)
        elif op in ("expand", "collect", "factor"):
            result = self._rewrite_side(eq, move, name)
        elif op == "solve":
            result = self._solve_for(eq, move)
        elif op == "substitute":
            target = self._equation_index(move.target)
            if isinstance(target, Violation):
                return target
            result = self._substitute(eq, target, eqs, move)
            index = target
        else:
            return Violation("unknown_move", f"unknown move {op!r}")
        if isinstance(result, Violation):
            return result
        if result == eqs[index]:
            return Violation("no_change", f"that leaves {fmt_equation(result)} as it is")
        eqs[index] = result
        return EqState(tuple(eqs), (), state.steps_left - 1)

    def _equation_index(self, number: int | None) -> int | Violation:
        if not self.system:
            if number is not None:
                return Violation("no_such_equation", "there is only one equation; name none")
            return 0
        if number is None:
            return Violation("no_such_equation", "name the equation, 1 or 2")
        if not 1 <= number <= len(self.start.eqs):
            return Violation("no_such_equation", f"there is no equation {number}")
        return number - 1

    def _arithmetic(self, eq: Equation, move: EqMove, name: str) -> Equation | Violation:
        value = move.value or ()
        unknown = poly_variables(value) - set(self.variables)
        if unknown:
            return Violation("unknown_variable",
                             f"{', '.join(sorted(unknown))} does not appear in this problem")
        said = fmt_poly(value)
        if move.op in ("add", "subtract"):
            if not value:
                return Violation("no_change", f"{_VERB[move.op]} 0 changes nothing")
            if degree(value) > self.degree:
                return Violation("degree_too_high", f"{_VERB[move.op]} {said} would raise the "
                                 f"degree of {name} above {self.degree}")
            shift = value if move.op == "add" else poly_scale(value, Fraction(-1))
            return add_to_side(eq[0], shift), add_to_side(eq[1], shift)
        number = constant_value(value)
        if number is None:
            return Violation("variable_factor", _variable_factor_message(move.op, value))
        if number == 0:
            if move.op == "multiply":
                return Violation("multiply_by_zero",
                                 "multiplying both sides by 0 makes any value a solution")
            return Violation("divide_by_zero", "dividing both sides by 0 is undefined")
        factor = number if move.op == "multiply" else 1 / number
        if factor == 1:
            return Violation("no_change", f"{_VERB[move.op]} by 1 changes nothing")
        return scale_side(eq[0], factor), scale_side(eq[1], factor)

    def _rewrite_side(self, eq: Equation, move: EqMove, name: str) -> Equation | Violation:
        if move.side not in SIDES:
            return Violation("unknown_move", "say which side: left or right")
        position = SIDES.index(move.side)
        side = eq[position]
        where = f"the {move.side} side of {name}, {fmt_side(side)},"
        if move.op == "expand":
            if not has_product(side):
                return Violation("nothing_to_expand", f"{where} has no product to expand")
            new = expand_side(side)
        elif move.op == "collect":
            if is_collected(side):
                return Violation("nothing_to_collect", f"{where} has no like terms to collect")
            new = collect_side(side)
        else:
            factored = factor_side(side) if self.degree == 2 else None
            if factored is None:
                return Violation("cannot_factor", f"{where} is not a quadratic in x that "
                                 "factors over the rationals")
            new = factored
        return (new, eq[1]) if position == 0 else (eq[0], new)

    def _solve_for(self, eq: Equation, move: EqMove) -> Equation | Violation:
        var = VARIABLE_MONO.get(move.var or "")
        p = _equation_poly(eq)
        if var is None or not coef(p, X) or not coef(p, Y):
            return Violation("cannot_solve_for", f"equation {move.eq}, {fmt_equation(eq)}, "
                             "does not contain both x and y")
        if degree(p) > 1:
            return Violation("cannot_solve_for", f"equation {move.eq} is not linear")
        a = coef(p, var)
        rest = poly_add(p, ((var, a),), -1)
        return (("t", F1, var),), terms_side(poly_scale(rest, -1 / a))

    def _substitute(self, source: Equation, target: int, eqs: list[Equation],
                    move: EqMove) -> Equation | Violation:
        if move.target == move.eq:
            return Violation("cannot_substitute",
                             "an equation cannot be substituted into itself")
        form = _solved_for(source)
        if form is None:
            return Violation("cannot_substitute", f"equation {move.eq}, {fmt_equation(source)}, "
                             "is not solved for x or y")
        var, expr = form
        into = eqs[target]
        if not _mentions(into, var):
            return Violation("cannot_substitute", f"equation {move.target}, "
                             f"{fmt_equation(into)}, has no {MONO_VARIABLE[var]} to replace")
        return substitute_side(into[0], var, expr), substitute_side(into[1], var, expr)

    def _confirm_with_sympy(self, old: EqState, move: EqMove, new: EqState) -> Violation | None:
        """Sympy's word on a step: a rewritten side is equal to what it was, a read-off
        solution is sympy's solution set, and every other step keeps the solution set."""
        if new.solution:
            truth = true_solutions(self.start.eqs, self.variables)
            found = frozenset(tuple(_sym_number(v) for v in point) for point in new.solution)
            if found != truth:
                said = format_solution(new.solution, self.variables)
                return Violation("solution_set_changed",
                                 f"{said} is not the solution set of the problem")
            return None
        if move.op in ("expand", "collect", "factor"):
            index = 0 if not self.system else (move.eq or 1) - 1
            position = SIDES.index(move.side or "left")
            before, after = old.eqs[index][position], new.eqs[index][position]
            if sympy.expand(sym_side(after) - sym_side(before)) != 0:
                return Violation("solution_set_changed",
                                 f"{fmt_side(after)} is not equal to {fmt_side(before)}")
        if self._key(new.eqs) == self._key(self.start.eqs):
            return None
        if sympy_solutions(new.eqs, self.variables) == true_solutions(self.start.eqs,
                                                                      self.variables):
            return None
        return Violation("solution_set_changed", f"{self._describe(new)} does not have the "
                         f"solution set of {self._describe(old)}")

    def _key(self, eqs: tuple[Equation, ...]) -> tuple:
        key = self._keys.get(eqs)
        if key is None:
            key = sympy_key(eqs, self.variables)
            self._keys[eqs] = key
        return key

    # -- move generation ------------------------------------------------------------------

    def _sensible(self, state: EqState) -> list[EqMove]:
        if self.read_off(state) is not None:
            return [READ]
        if not self.system:
            return self._equation_moves(state.eqs[0], None)
        return self._system_moves(state)

    def _equation_moves(self, eq: Equation, index: int | None) -> list[EqMove]:
        """Sensible rewrites of one equation in one variable."""
        moves = [EqMove("expand", side=name, eq=index)
                 for name, side in zip(SIDES, eq, strict=True) if has_product(side)]
        if moves:
            return moves
        moves = [EqMove("collect", side=name, eq=index)
                 for name, side in zip(SIDES, eq, strict=True) if not is_collected(side)]
        if moves:
            return moves
        left, right = side_poly(eq[0]), side_poly(eq[1])
        if degree(poly_add(left, right, -1)) >= 2:
            return self._quadratic_moves(left, right, index)
        variables = poly_variables(left) | poly_variables(right)
        if len(variables) != 1:
            return []
        return _isolate_moves(left, right, VARIABLE_MONO[variables.pop()], index)

    def _quadratic_moves(self, left: Poly, right: Poly, index: int | None) -> list[EqMove]:
        if left and right:
            keep_left = bool(coef(left, XX)) or not coef(right, XX)
            other = right if keep_left else left
            moves = [_shift(other, index)]
            if len(other) > 1:
                moves += [_shift((term,), index) for term in other]
            return moves
        name, q = ("left", left) if left else ("right", right)
        moves = [EqMove("factor", side=name, eq=index)]
        content = _content(q)
        if content != 1:
            moves.append(_divide_by(content, index))
        return moves

    def _system_moves(self, state: EqState) -> list[EqMove]:
        eqs = state.eqs
        forms = [_solved_for(eq) for eq in eqs]
        by_constant: list[EqMove] = []
        by_expression: list[EqMove] = []
        isolate: list[EqMove] = []
        solve: list[tuple[Fraction, int, str]] = []
        for i, form in enumerate(forms):
            if form is None:
                continue
            var, expr = form
            for j, other in enumerate(eqs):
                if j != i and _mentions(other, var):
                    move = EqMove("substitute", eq=i + 1, target=j + 1)
                    (by_constant if constant_value(expr) is not None
                     else by_expression).append(move)
        for i, eq in enumerate(eqs):
            p = _equation_poly(eq)
            names = poly_variables(p)
            if len(names) == 1:
                if _var_equals_constant(eq) is None:
                    isolate += self._equation_moves(eq, i + 1)
            elif len(names) == 2 and forms[i] is None:
                solve += [(abs(coef(p, VARIABLE_MONO[v])), i + 1, v) for v in ("x", "y")]
        ranked = [EqMove("solve", eq=i, var=v) for _, i, v in sorted(solve)]
        return by_constant + isolate + by_expression + ranked

    def _unhelpful(self, state: EqState) -> Iterator[EqMove]:
        """Legal-looking rewrites that do not head for the solution, kinds interleaved so
        that the first few already differ: move one term across, scale, factor or expand
        the wrong thing, add a variable, and for systems solve or substitute otherwise."""
        indexes = [None] if not self.system else list(range(1, len(state.eqs) + 1))
        kinds: list[list[EqMove]] = []
        for index, eq in zip(indexes, state.eqs, strict=True):
            left, right = side_poly(eq[0]), side_poly(eq[1])
            structural = [EqMove(op, side=name, eq=index) for name in SIDES
                          for op in ("factor", "expand", "collect")
                          if op != "factor" or self.degree == 2]
            kinds += [
                [_shift((term,), index) for term in left + right],
                [EqMove("multiply", _number(2), eq=index), EqMove("divide", _number(2), eq=index),
                 EqMove("multiply", _number(10), eq=index),
                 EqMove("multiply", _number(-1), eq=index)],
                structural,
                [EqMove("add", ((VARIABLE_MONO[v], F1),), eq=index) for v in self.variables]
                + [EqMove("add", _number(1), eq=index)]
                + ([EqMove("subtract", ((XX, F1),), eq=index)] if self.degree == 2 else []),
                [_shift(side, index) for side in (left, right) if len(side) > 1],
            ]
        if self.system:
            count = len(state.eqs) + 1
            kinds.append([EqMove("solve", eq=i, var=v) for i in range(1, count)
                          for v in self.variables])
            kinds.append([EqMove("substitute", eq=i, target=j) for i in range(1, count)
                          for j in range(1, count) if i != j])
        longest = max(len(kind) for kind in kinds)
        for position in range(longest):
            for kind in kinds:
                if position < len(kind):
                    yield kind[position]


def _isolate_moves(left: Poly, right: Poly, var: Mono, index: int | None) -> list[EqMove]:
    """Linear in `var`: gather the variable on one side, clear the constant beside it,
    divide by its coefficient."""
    lv, rv = coef(left, var), coef(right, var)
    lc, rc = coef(left, ONE), coef(right, ONE)
    moves = []
    if lv and rv:
        keep_left = lv > rv
        first, second = ((rv, lv) if keep_left else (lv, rv))
        moves += [_shift(((var, first),), index), _shift(((var, second),), index)]
        kept_constant = lc if keep_left else rc
        if kept_constant:
            moves.append(_shift(_number(kept_constant), index))
    else:
        a, constant = (lv, lc) if lv else (rv, rc)
        if constant:
            moves.append(_shift(_number(constant), index))
            if abs(a) != 1:
                moves.append(_divide_by(a, index))
        elif a != 1:
            moves.append(_divide_by(a, index))
    denominators = [c.denominator for _, c in left + right]
    if max(denominators, default=1) > 1:
        moves.append(EqMove("multiply", _number(lcm(*denominators)), eq=index))
    return moves


def _variable_factor_message(op: str, value: Poly) -> str:
    verb = "multiplying" if op == "multiply" else "dividing"
    effect = "add" if op == "multiply" else "lose"
    root = _linear_root(value)
    names = sorted(poly_variables(value))
    if root is not None and len(names) == 1:
        return (f"{verb} by {fmt_poly(value)} may {effect} the solution "
                f"{names[0]} = {fmt_number(root)}")
    return f"{verb} by {fmt_poly(value)}, an expression with {' and '.join(names)}, may " \
           f"{effect} solutions"


# ---- solutions as text -----------------------------------------------------------------


def format_solution(solution: Sequence[Sequence[Fraction]], variables: Sequence[str],
                    compact: bool = False) -> str:
    sep = "=" if compact else " = "
    if len(variables) == 1:
        return " or ".join(f"{variables[0]}{sep}{fmt_number(p[0])}" for p in solution)
    return ", ".join(f"{v}{sep}{fmt_number(value)}"
                     for v, value in zip(variables, solution[0], strict=True))


# A separator between the parts of a solution; the whitespace around it is stripped from
# the parts, not matched, as `\s*` on both sides is retried along every run of spaces.
_PART_SEPARATOR = re.compile(r",|;|\bor\b|\band\b")
_ASSIGNMENT = re.compile(r"^([xy])\s*=\s*(.+)$")


def _value(text: str) -> Fraction | None:
    p = parse_poly(text)
    return None if p is None else constant_value(p)


def _split_parts(body: str) -> list[str]:
    """The non-empty parts of `body` between separators, each without the whitespace next
    to a separator."""
    pieces = _PART_SEPARATOR.split(body)
    last = len(pieces) - 1
    parts = [piece.lstrip() if i else piece for i, piece in enumerate(pieces)]
    return [p for p in (p.rstrip() if i < last else p for i, p in enumerate(parts)) if p]


def _pair(body: str) -> tuple[str, str] | None:
    """The two values of `(a, b)` (a newline may follow), each stripped; None when `body`
    is not one bracket pair holding two values and one comma."""
    if body.endswith("\n"):
        body = body[:-1]
    if len(body) < 2 or body[0] != "(" or body[-1] != ")":
        return None
    inner = body[1:-1]
    if "(" in inner or ")" in inner or inner.count(",") != 1:
        return None
    first, _, second = inner.partition(",")
    if not first or not second:
        return None
    return first.strip(), second.strip()


def parse_solution(text: str, variables: Sequence[str]) -> frozenset[tuple[Fraction, ...]] | str:
    """Points from `x = 2 or x = -3`, `x = 1, y = 2`, `(1, 2)`, `{-3, 2}`; else why not."""
    body = text.strip().rstrip(".").strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    pair = _pair(body) if len(variables) == 2 else None
    if pair is not None:
        values = [_value(pair[0]), _value(pair[1])]
        if None in values:
            return f"cannot read the values in {body!r}"
        return frozenset({tuple(values)})  # type: ignore[arg-type]
    parts = _split_parts(body)
    if not parts:
        return "no solution is given"
    found: dict[str, list[Fraction]] = {v: [] for v in variables}
    for part in parts:
        match = _ASSIGNMENT.match(part)
        name, said = (match.group(1), match.group(2)) if match else (None, part)
        if name is None:
            if len(variables) != 1:
                return f"say which variable {part!r} is"
            name = variables[0]
        if name not in found:
            return f"{name} is not a variable of this problem"
        value = _value(said)
        if value is None:
            return f"cannot read the value {said!r}"
        found[name].append(value)
    if len(variables) == 1:
        return frozenset((v,) for v in found[variables[0]])
    if any(len(values) != 1 for values in found.values()):
        return "give exactly one value for each of " + " and ".join(variables)
    return frozenset({tuple(found[v][0] for v in variables)})


# ---- step text -------------------------------------------------------------------------

_EXPR = r"(.{1,160})"
_OF = r"(?: of equation ([0-9]{1,2}))?"
_NATURAL_MOVES = [
    ("add", re.compile(rf"^adding {_EXPR} to both sides{_OF}$"), "value_eq"),
    ("subtract", re.compile(rf"^subtracting {_EXPR} from both sides{_OF}$"), "value_eq"),
    ("multiply", re.compile(rf"^multiplying both sides{_OF} by {_EXPR}$"), "eq_value"),
    ("divide", re.compile(rf"^dividing both sides{_OF} by {_EXPR}$"), "eq_value"),
    ("expand", re.compile(rf"^expanding the (left|right) side{_OF}$"), "side_eq"),
    ("collect", re.compile(rf"^collecting like terms on the (left|right) side{_OF}$"), "side_eq"),
    ("factor", re.compile(rf"^factoring the (left|right) side{_OF}$"), "side_eq"),
    ("solve", re.compile(r"^solving equation ([0-9]{1,2}) for ([xy])$"), "eq_var"),
    ("substitute", re.compile(r"^substituting equation ([0-9]{1,2}) into equation "
                              r"([0-9]{1,2})$"), "eq_target"),
    ("read", re.compile(r"^reading off the solution$"), "none"),
]
_PREFIX = r"(?:eq([0-9]{1,2}): )?"
_COMPACT_MOVES = [
    ("add", re.compile(rf"^{_PREFIX}add {_EXPR}$"), "eq_value"),
    ("subtract", re.compile(rf"^{_PREFIX}sub {_EXPR}$"), "eq_value"),
    ("multiply", re.compile(rf"^{_PREFIX}mul {_EXPR}$"), "eq_value"),
    ("divide", re.compile(rf"^{_PREFIX}div {_EXPR}$"), "eq_value"),
    ("expand", re.compile(rf"^{_PREFIX}expand (left|right)$"), "eq_side"),
    ("collect", re.compile(rf"^{_PREFIX}collect (left|right)$"), "eq_side"),
    ("factor", re.compile(rf"^{_PREFIX}factor (left|right)$"), "eq_side"),
    ("solve", re.compile(r"^eq([0-9]{1,2}): solve ([xy])$"), "eq_var"),
    ("substitute", re.compile(r"^eq([0-9]{1,2}) into eq([0-9]{1,2})$"), "eq_target"),
    ("read", re.compile(r"^read off$"), "none"),
]
_COMPACT_OP = {"add": "add", "subtract": "sub", "multiply": "mul", "divide": "div"}


def _operand_text(value: Poly, compact: bool) -> str:
    text = fmt_poly(value, compact)
    return f"({text})" if len(value) > 1 else text


def move_text(move: EqMove, style: str) -> str:
    compact = style == "compact"
    op = move.op
    if compact:
        prefix = "" if move.eq is None or op in ("solve", "substitute") else f"eq{move.eq}: "
        if op in _COMPACT_OP:
            return f"{prefix}{_COMPACT_OP[op]} {_operand_text(move.value or (), True)}"
        if op in ("expand", "collect", "factor"):
            return f"{prefix}{op} {move.side}"
        if op == "solve":
            return f"eq{move.eq}: solve {move.var}"
        if op == "substitute":
            return f"eq{move.eq} into eq{move.target}"
        return "read off"
    of = "" if move.eq is None else f" of equation {move.eq}"
    operand = _operand_text(move.value or (), False)
    if op == "add":
        return f"adding {operand} to both sides{of}"
    if op == "subtract":
        return f"subtracting {operand} from both sides{of}"
    if op in ("multiply", "divide"):
        return f"{_VERB[op]} both sides{of} by {operand}"
    if op == "expand":
        return f"expanding the {move.side} side{of}"
    if op == "collect":
        return f"collecting like terms on the {move.side} side{of}"
    if op == "factor":
        return f"factoring the {move.side} side{of}"
    if op == "solve":
        return f"solving equation {move.eq} for {move.var}"
    if op == "substitute":
        return f"substituting equation {move.eq} into equation {move.target}"
    return "reading off the solution"


def parse_move_text(text: str, style: str) -> EqMove | None:
    table = _COMPACT_MOVES if style == "compact" else _NATURAL_MOVES
    for op, pattern, shape in table:
        match = pattern.match(text)
        if match is None:
            continue
        groups = match.groups()
        if shape == "none":
            return EqMove(op)
        if shape in ("value_eq", "eq_value"):
            said, number = (groups[0], groups[1]) if shape == "value_eq" else (groups[1],
                                                                               groups[0])
            value = parse_poly(said)
            if value is None:
                return None
            return EqMove(op, value, eq=None if number is None else int(number))
        if shape in ("side_eq", "eq_side"):
            side, number = groups if shape == "side_eq" else groups[::-1]
            return EqMove(op, side=side, eq=None if number is None else int(number))
        if shape == "eq_var":
            return EqMove(op, eq=int(groups[0]), var=groups[1])
        return EqMove(op, eq=int(groups[0]), target=int(groups[1]))
    return None


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


_COUNT = r"([0-9]{1,3})"
_NATURAL_STATE = re.compile(rf"^Now (.+), with {_COUNT} steps? left$")
_SYSTEM_PREFIX = "Now the equations are "
_SYSTEM_TAIL = re.compile(rf", with {_COUNT} steps? left$")
_NATURAL_SOLVED = re.compile(r"^So (.+)$")
_COMPACT_STATE = re.compile(rf"^(.+) \({_COUNT} left\)$")
_NATURAL_REF = re.compile(rf"^the equation (.+) with {_COUNT} steps? left$")
_REF_SYSTEM_PREFIX = "the equations "
_REF_SYSTEM_TAIL = re.compile(rf" with {_COUNT} steps? left$")
_NUM = r"([0-9]{1,30}(?:/[0-9]{1,30})?)"
_DEAD = {
    ("natural", OUT_OF_STEPS): re.compile(
        rf"^It needs at least {_COUNT} more steps and only {_COUNT} (?:step is|steps are) left$"),
    ("natural", NUMBER_TOO_LARGE): re.compile(
        rf"^The number {_NUM} is beyond the limit of ([0-9]{{1,12}})$"),
    ("compact", OUT_OF_STEPS): re.compile(rf"^needs {_COUNT} steps, {_COUNT} left$"),
    ("compact", NUMBER_TOO_LARGE): re.compile(rf"^{_NUM} exceeds ([0-9]{{1,12}})$"),
}


class EquationsText:
    """How equation steps are said and read back, in the natural and compact styles."""

    def __init__(self, variables: Sequence[str], count: int, number_limit: int) -> None:
        self.variables = tuple(variables)
        self.system = count > 1
        self.limit = number_limit

    @staticmethod
    def from_data(data: dict[str, Any]) -> EquationsText:
        return EquationsText(data["variables"], len(data["equations"]), data["number_limit"])

    def move_phrase(self, move: EqMove, style: str) -> str:
        return move_text(move, style)

    def parse_move(self, text: str, style: str) -> EqMove | None:
        return parse_move_text(text, _style(style))

    def _equations_text(self, eqs: Sequence[Equation], compact: bool) -> str:
        texts = [fmt_equation(eq, compact) for eq in eqs]
        return "; ".join(texts) if compact else " and ".join(texts)

    def state_phrase(self, state: EqState, style: str) -> str:
        compact = _style(style) == "compact"
        if state.solution:
            said = format_solution(state.solution, self.variables, compact)
            return said if compact else f"So {said}"
        if compact:
            return f"{self._equations_text(state.eqs, True)} ({state.steps_left} left)"
        if self.system:
            return (f"Now the equations are {self._equations_text(state.eqs, False)}, with "
                    f"{_steps(state.steps_left)} left")
        return f"Now {fmt_equation(state.eqs[0])}, with {_steps(state.steps_left)} left"

    def _read_state(self, text: str, style: str) -> tuple[tuple[Equation, ...], int] | None:
        """(equations, steps left) from a stated state or backtrack target, else None."""
        if _style(style) == "compact":
            match = _COMPACT_STATE.match(text)
            if match is None:
                return None
            pieces = match.group(1).split("; ")
            count = match.group(2)
        elif self.system:
            read = _equation_pair(text, _SYSTEM_PREFIX, _SYSTEM_TAIL)
            if read is None:
                return None
            pieces, count = read
        else:
            match = _NATURAL_STATE.match(text)
            if match is None:
                return None
            pieces, count = [match.group(1)], match.group(2)
        return self._equations(pieces, count)

    def _equations(self, pieces: Sequence[str], count: str) -> tuple[tuple[Equation, ...],
                                                                     int] | None:
        if len(pieces) != (2 if self.system else 1):
            return None
        eqs = tuple(parse_equation(piece) for piece in pieces)
        if any(eq is None for eq in eqs):
            return None
        return eqs, int(count)  # type: ignore[return-value]

    def state_claim_error(self, text: str, state: EqState, style: str) -> str | None:
        compact = _style(style) == "compact"
        if state.solution:
            body = text
            if not compact:
                match = _NATURAL_SOLVED.match(text)
                if match is None:
                    return f"cannot read the stated solution {text!r}"
                body = match.group(1)
            stated = parse_solution(body, self.variables)
            if isinstance(stated, str):
                return f"cannot read the stated solution {text!r}: {stated}"
            if stated != frozenset(state.solution):
                return (f"states {body} but reading off gives "
                        f"{format_solution(state.solution, self.variables)}")
            return None
        read = self._read_state(text, style)
        if read is None:
            return f"cannot read the stated equation {text!r}"
        eqs, left = read
        if eqs != state.eqs:
            return (f"states {self._equations_text(eqs, False)} but the step gives "
                    f"{self._equations_text(state.eqs, False)}")
        if left != state.steps_left:
            return f"states {_steps(left)} left but {state.steps_left} are left"
        return None

    def dead_end_phrase(self, state: EqState, dead: DeadEnd, style: str) -> str:
        compact = _style(style) == "compact"
        if dead.code == OUT_OF_STEPS:
            left, need = dead.detail
            if compact:
                return f"needs {need} steps, {left} left"
            verb = "step is" if left == 1 else "steps are"
            return f"It needs at least {need} more steps and only {left} {verb} left"
        number = dead.detail[0]
        if compact:
            return f"{number} exceeds {self.limit}"
        return f"The number {number} is beyond the limit of {self.limit}"

    def parse_dead_end(self, text: str, style: str) -> DeadEnd | None:
        style = _style(style)
        match = _DEAD[(style, OUT_OF_STEPS)].match(text)
        if match is not None:
            need, left = int(match.group(1)), int(match.group(2))
            return DeadEnd(OUT_OF_STEPS, (left, need))
        match = _DEAD[(style, NUMBER_TOO_LARGE)].match(text)
        if match is not None and int(match.group(2)) == self.limit:
            return DeadEnd(NUMBER_TOO_LARGE, (match.group(1),))
        return None

    def ref_phrase(self, state: EqState, move_in: EqMove | None, style: str) -> str:
        """A state by its equation(s) and steps left (unique along a path, as every step
        spends one); a solved state by its solution."""
        if state.solution:
            said = format_solution(state.solution, self.variables, _style(style) == "compact")
            return said if _style(style) == "compact" else f"the solution {said}"
        if _style(style) == "compact":
            return self.state_phrase(state, "compact")
        said = self._equations_text(state.eqs, False)
        noun = "the equations" if self.system else "the equation"
        return f"{noun} {said} with {_steps(state.steps_left)} left"

    def parse_ref(self, text: str, style: str) -> Hashable | None:
        solved = _solution_ref(text, style, self.variables)
        if solved is not None:
            return solved
        if _style(style) == "compact":
            read = self._read_state(text, "compact")
        else:
            if self.system:
                said = _equation_pair(text, _REF_SYSTEM_PREFIX, _REF_SYSTEM_TAIL)
            else:
                match = _NATURAL_REF.match(text)
                said = None if match is None else ([match.group(1)], match.group(2))
            read = None if said is None else self._equations(*said)
        return None if read is None else ("ref", read[0], read[1])

    def ref_key(self, state: EqState, move_in: EqMove | None) -> Hashable:
        if state.solution:
            return ("solved", frozenset(state.solution))
        return ("ref", state.eqs, state.steps_left)

    def goal_phrase(self, state: EqState, style: str) -> str:
        said = format_solution(state.solution, self.variables, _style(style) == "compact")
        if _style(style) == "compact":
            return said
        plural = len(state.solution) > 1
        return f"The solution{'s are' if plural else ' is'} {said}"


def _equation_pair(text: str, prefix: str, tail: re.Pattern[str]) -> tuple[list[str], str] | None:
    """The two equation texts and the step count of `PREFIX first and second TAIL`, cut at
    the last ` and ` that leaves both non-empty. Cut with str methods: a pattern with two
    wildcard groups would retry the second one at every ` and `."""
    if not text.startswith(prefix):
        return None
    end = tail.search(text, len(prefix))
    if end is None:
        return None
    middle = text[len(prefix) : end.start()]
    cut = middle.rfind(" and ", 1, len(middle) - 1)
    if cut == -1:
        return None
    return [middle[:cut], middle[cut + len(" and ") :]], end.group(1)


def _solution_ref(text: str, style: str, variables: Sequence[str]) -> Hashable | None:
    """The key of a solved state named as a backtrack target, else None."""
    if _style(style) == "natural":
        if not text.startswith("the solution "):
            return None
        text = text[len("the solution "):]
    elif _COMPACT_STATE.match(text):
        return None
    points = parse_solution(text, variables)
    return None if isinstance(points, str) else ("solved", points)


def _style(style: str) -> str:
    """Any style other than compact reads as natural, as the shared renderer does."""
    return "compact" if style == "compact" else "natural"


# ---- answers ---------------------------------------------------------------------------

MAX_ANSWER_CHARS = 300


def answer_from_moves(data: dict[str, Any], moves: Sequence[EqMove]) -> str:
    """The solution the moves read off, e.g. `x = -3 or x = 2` or `x = 1, y = 2`."""
    rules = EquationsRules.from_data(data)
    state = rules.initial_state()
    for move in moves:
        result = rules._compute(state, move)
        if isinstance(result, Violation):
            raise ValueError(f"illegal move {move}: {result.message}")
        state = result
    if not state.solution:
        raise ValueError("the moves do not read off a solution")
    return format_solution(state.solution, rules.variables)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer against sympy's solution set, order-insensitively.

    Accepts `x = 2`, `x = -3 or x = 2`, `x = 2, x = -3`, `{-3, 2}`, `x = 1, y = 2`,
    `(1, 2)`; values may be fractions (`-3/2`) or decimals. Parsed by the task's own
    grammar into sympy numbers; nothing is evaluated.
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    from searchtrace.tasks.base import extract_answer

    body = extract_answer(text).translate(_UNICODE)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    variables = tuple(data["variables"])
    stated = parse_solution(body, variables)
    if isinstance(stated, str):
        return Verdict.fail("unparsable_answer", stated)
    rules = EquationsRules.from_data(data)
    truth = true_solutions(rules.start.eqs, variables)
    if isinstance(truth, str):
        return Verdict.fail("no_finite_solution", "the problem has no finite solution set")
    found = frozenset(tuple(_sym_number(v) for v in point) for point in stated)
    if found == truth:
        return OK
    wrong = sorted(found - truth, key=str)
    if wrong:
        point = tuple(Fraction(int(v.p), int(v.q)) for v in wrong[0])
        return Verdict.fail("wrong_solution",
                            f"{format_solution((point,), variables)} is not a solution")
    return Verdict.fail("missing_solution", f"the answer gives {len(found)} of the "
                        f"{len(truth)} solutions")


RULES = EquationsRules
TEXT = EquationsText
