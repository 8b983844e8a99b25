"""Equation rules: linear equations, quadratics, 2x2 systems.

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

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import lcm
from typing import Any, NamedTuple

import sympy

from searchtrace.tasks.base import DeadEnd, SolvabilityUndecided, Violation
from searchtrace.tasks.equations.algebra import (
    F0,
    F1,
    MONO_VARIABLE,
    ONE,
    VARIABLE_MONO,
    XX,
    Equation,
    Mono,
    Poly,
    X,
    Y,
    add_to_side,
    coef,
    collect_side,
    constant_value,
    content,
    degree,
    expand_side,
    factor_side,
    has_product,
    is_collected,
    linear_root,
    poly_add,
    poly_scale,
    poly_variables,
    scale_side,
    side_poly,
    substitute_side,
    sym_number,
    sym_side,
    sympy_key,
    sympy_solutions,
    terms_side,
    true_solutions,
)
from searchtrace.tasks.equations.expressions import (
    fmt_equation,
    fmt_number,
    fmt_operand,
    fmt_poly,
    fmt_side,
    format_solution,
    parse_equation,
    parse_poly,
)

OUT_OF_STEPS = "out_of_steps"
NUMBER_TOO_LARGE = "number_too_large"
SIDES = ("left", "right")

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


_NOTATION_OP = {"add": "add", "subtract": "sub", "multiply": "mul", "divide": "div"}


def move_notation(move: EqMove) -> str:
    """A move in short notation (`eq1: sub 3`, `factor left`, `eq2 into eq1`, `read off`):
    how a stored search tree writes it, and how the compact style says it."""
    op = move.op
    prefix = "" if move.eq is None or op in ("solve", "substitute") else f"eq{move.eq}: "
    if op in _NOTATION_OP:
        return f"{prefix}{_NOTATION_OP[op]} {fmt_operand(move.value or (), True)}"
    if op in ("expand", "collect", "factor"):
        return f"{prefix}{op} {move.side}"
    if op == "solve":
        return f"eq{move.eq}: solve {move.var}"
    if op == "substitute":
        return f"eq{move.eq} into eq{move.target}"
    return "read off"


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
            roots = [linear_root(f) for f in this[0][2]]
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
                child = self.apply_unchecked(state, move)
                if isinstance(child, Violation) or child in seen:
                    continue
                seen.add(child)
                children.append((move, child))
            if not children:  # never leave a live state without a move
                for move in self._unhelpful(state):
                    child = self.apply_unchecked(state, move)
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
            child = self.apply_unchecked(state, move)
            if isinstance(child, Violation) or child in seen:
                continue
            seen.add(child)
            yield move, child

    def apply(self, state: EqState, move: EqMove) -> EqState | Violation:
        result = self.apply_unchecked(state, move)
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
        return move_notation(move)

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

    def apply_unchecked(self, state: EqState, move: EqMove) -> EqState | Violation:
        """The state after `move`, or the rule it breaks, without sympy's confirmation: the
        solver's fast path, and how an answer is read off a solution path."""
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
            found = frozenset(tuple(sym_number(v) for v in point) for point in new.solution)
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
        common = content(q)
        if common != 1:
            moves.append(_divide_by(common, index))
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
    root = linear_root(value)
    names = sorted(poly_variables(value))
    if root is not None and len(names) == 1:
        return (f"{verb} by {fmt_poly(value)} may {effect} the solution "
                f"{names[0]} = {fmt_number(root)}")
    return f"{verb} by {fmt_poly(value)}, an expression with {' and '.join(names)}, may " \
           f"{effect} solutions"


RULES = EquationsRules
