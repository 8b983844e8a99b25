"""How equations are written and read: numbers, sides, equations and solutions as text,
and the safe grammar that reads expressions back.

Text is never evaluated or sympified: a small grammar (numbers, x, y, + - * / ^ and
parentheses, with length, depth and degree limits) parses it into a tree, and the tree
becomes a polynomial, a side in its written form, or a sympy object built with sympy's
constructors. Writing then reading gives back the same side.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

import sympy

from searchtrace.tasks.equations.algebra import (
    F0,
    F1,
    ONE,
    VARIABLE_MONO,
    Equation,
    Item,
    Mono,
    Poly,
    Side,
    X,
    Y,
    constant_value,
    degree,
    make_side,
    poly_add,
    poly_mul,
    poly_scale,
    product_item,
)

MAX_DEGREE = 4  # no parsed expression may go beyond this total degree

# ---- writing: numbers, sides, equations, solutions -------------------------------------


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


def fmt_operand(value: Poly, compact: bool = False) -> str:
    """A move's operand: bracketed when it has several terms, as in `subtract (x + 2)`."""
    text = fmt_poly(value, compact)
    return f"({text})" if len(value) > 1 else text


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


def format_solution(solution: Sequence[Sequence[Fraction]], variables: Sequence[str],
                    compact: bool = False) -> str:
    sep = "=" if compact else " = "
    if len(variables) == 1:
        return " or ".join(f"{variables[0]}{sep}{fmt_number(p[0])}" for p in solution)
    return ", ".join(f"{v}{sep}{fmt_number(value)}"
                     for v, value in zip(variables, solution[0], strict=True))


# ---- reading: the safe grammar ---------------------------------------------------------

MAX_EXPRESSION_CHARS = 240
MAX_TOKENS = 120
MAX_NESTING = 8
_TOKEN = re.compile(r"\s*(?:([0-9]{1,12}(?:\.[0-9]{1,12})?)|([xy])|(\*\*|[-+*/^()]))")
# Unicode signs a model may write, as the grammar's ASCII.
ASCII_SYMBOLS = str.maketrans({"−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "⋅": "*",
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
    return _Parser(text.translate(ASCII_SYMBOLS)).parse()


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
