"""Equation answers: the solution a path reads off, written out; the answer grammar that
reads a solution back; and the checker that judges a model's free-form answer against
sympy's solution set, order-insensitively, without evaluating anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from searchtrace.tasks.base import OK, Verdict, Violation, extract_answer
from searchtrace.tasks.equations.algebra import constant_value, sym_number, true_solutions
from searchtrace.tasks.equations.expressions import ASCII_SYMBOLS, format_solution, parse_poly
from searchtrace.tasks.equations.rules import EqMove, EquationsRules

MAX_ANSWER_CHARS = 300

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





def answer_from_moves(data: dict[str, Any], moves: Sequence[EqMove]) -> str:
    """The solution the moves read off, e.g. `x = -3 or x = 2` or `x = 1, y = 2`."""
    rules = EquationsRules.from_data(data)
    state = rules.initial_state()
    for move in moves:
        result = rules.apply_unchecked(state, move)
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
    body = extract_answer(text).translate(ASCII_SYMBOLS)
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
    found = frozenset(tuple(sym_number(v) for v in point) for point in stated)
    if found == truth:
        return OK
    wrong = sorted(found - truth, key=str)
    if wrong:
        point = tuple(Fraction(int(v.p), int(v.q)) for v in wrong[0])
        return Verdict.fail("wrong_solution",
                            f"{format_solution((point,), variables)} is not a solution")
    return Verdict.fail("missing_solution", f"the answer gives {len(found)} of the "
                        f"{len(truth)} solutions")
