"""How equation steps are said and read back: one phrasing per style.

A move is a rewrite said in words ("subtracting 3 from both sides of equation 2"), in
short notation ("eq2: sub 3") or in space-separated tokens ("eq2 sub 3 both"); a state is
the equation(s) and the steps left; a backtrack target is named by the same two, which are
unique along a path as every step spends one; a solved state by its solution. Parsers
return None on anything they do not recognise and never raise; equations and numbers are
read by the task's own grammar, never evaluated.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar, Self

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.equations.algebra import Equation
from searchtrace.tasks.equations.answer import parse_solution
from searchtrace.tasks.equations.expressions import (
    fmt_equation,
    fmt_operand,
    format_solution,
    parse_equation,
    parse_poly,
)
from searchtrace.tasks.equations.rules import (
    NUMBER_TOO_LARGE,
    OUT_OF_STEPS,
    EqMove,
    EqState,
    EquationsRules,
    move_notation,
)

# A move table: (op, pattern, shape), the shape saying which groups hold what.
MoveTable = tuple[tuple[str, re.Pattern[str], str], ...]

_EXPR = r"(.{1,160})"
_OF = r"(?: of equation ([0-9]{1,2}))?"
_PREFIX = r"(?:eq([0-9]{1,2}): )?"
_COUNT = r"([0-9]{1,3})"
_NUM = r"([0-9]{1,30}(?:/[0-9]{1,30})?)"


def _read_move(text: str, table: MoveTable) -> EqMove | None:
    """The move of the first pattern in `table` that `text` matches, else None."""
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


def _natural_equations(eqs: Sequence[Equation]) -> str:
    return " and ".join(fmt_equation(eq) for eq in eqs)


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


class EquationsPhrasing(ABC):
    """What both styles share: the instance's variables, whether it is a system and its
    number limit; reading stated states, dead ends and backtrack targets through the
    style's patterns; and the key a backtrack target reads back as."""

    MOVES: ClassVar[MoveTable]
    OUT_OF_STEPS_SAID: ClassVar[re.Pattern[str]]  # groups: steps needed, steps left
    NUMBER_TOO_LARGE_SAID: ClassVar[re.Pattern[str]]  # groups: the number, the limit

    def __init__(self, variables: Sequence[str], count: int, number_limit: int) -> None:
        self.variables = tuple(variables)
        self.system = count > 1
        self.limit = number_limit

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        return cls(data["variables"], len(data["equations"]), data["number_limit"])

    def parse_move(self, text: str) -> EqMove | None:
        return _read_move(text, self.MOVES)

    def state_claim_error(self, text: str, state: EqState) -> str | None:
        if state.solution:
            body = self._solution_said(text)
            if body is None:
                return f"cannot read the stated solution {text!r}"
            stated = parse_solution(body, self.variables)
            if isinstance(stated, str):
                return f"cannot read the stated solution {text!r}: {stated}"
            if stated != frozenset(state.solution):
                return (f"states {body} but reading off gives "
                        f"{format_solution(state.solution, self.variables)}")
            return None
        read = self._read_state(text)
        if read is None:
            return f"cannot read the stated equation {text!r}"
        eqs, left = read
        if eqs != state.eqs:
            return (f"states {_natural_equations(eqs)} but the step gives "
                    f"{_natural_equations(state.eqs)}")
        if left != state.steps_left:
            return f"states {_steps(left)} left but {state.steps_left} are left"
        return None

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = self.OUT_OF_STEPS_SAID.match(text)
        if match is not None:
            need, left = int(match.group(1)), int(match.group(2))
            return DeadEnd(OUT_OF_STEPS, (left, need))
        match = self.NUMBER_TOO_LARGE_SAID.match(text)
        if match is not None and int(match.group(2)) == self.limit:
            return DeadEnd(NUMBER_TOO_LARGE, (match.group(1),))
        return None

    def parse_ref(self, text: str) -> Hashable | None:
        solved = self._solution_ref(text)
        if solved is not None:
            return solved
        read = self._read_ref(text)
        return None if read is None else ("ref", read[0], read[1])

    def ref_key(self, state: EqState, move_in: EqMove | None) -> Hashable:
        if state.solution:
            return ("solved", frozenset(state.solution))
        return ("ref", state.eqs, state.steps_left)

    def _solution_key(self, said: str) -> Hashable | None:
        points = parse_solution(said, self.variables)
        return None if isinstance(points, str) else ("solved", points)

    def _equations(self, pieces: Sequence[str], count: str) -> tuple[tuple[Equation, ...],
                                                                     int] | None:
        if len(pieces) != (2 if self.system else 1):
            return None
        eqs = tuple(parse_equation(piece) for piece in pieces)
        if any(eq is None for eq in eqs):
            return None
        return eqs, int(count)  # type: ignore[return-value]

    # -- said differently in each style ---------------------------------------------------

    @abstractmethod
    def _solution_said(self, text: str) -> str | None:
        """The solution in a stated solved state, else None."""

    @abstractmethod
    def _read_state(self, text: str) -> tuple[tuple[Equation, ...], int] | None:
        """(equations, steps left) from a stated state, else None."""

    @abstractmethod
    def _read_ref(self, text: str) -> tuple[tuple[Equation, ...], int] | None:
        """(equations, steps left) from a backtrack target that is not solved, else None."""

    @abstractmethod
    def _solution_ref(self, text: str) -> Hashable | None:
        """The key of a solved state named as a backtrack target, else None."""


_NATURAL_MOVES: MoveTable = (
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
)
_NATURAL_STATE = re.compile(rf"^Now (.+), with {_COUNT} steps? left$")
_SYSTEM_PREFIX = "Now the equations are "
_SYSTEM_TAIL = re.compile(rf", with {_COUNT} steps? left$")
_NATURAL_SOLVED = re.compile(r"^So (.+)$")
_NATURAL_REF = re.compile(rf"^the equation (.+) with {_COUNT} steps? left$")
_REF_SYSTEM_PREFIX = "the equations "
_REF_SYSTEM_TAIL = re.compile(rf" with {_COUNT} steps? left$")
_SOLUTION_REF_PREFIX = "the solution "


class EquationsNatural(EquationsPhrasing):
    """Equation steps in sentences: "subtracting 3 from both sides", "Now 2x = 4, with 2
    steps left", "the equation 2x = 4 with 2 steps left"."""

    MOVES = _NATURAL_MOVES
    OUT_OF_STEPS_SAID = re.compile(
        rf"^It needs at least {_COUNT} more steps and only {_COUNT} (?:step is|steps are) left$")
    NUMBER_TOO_LARGE_SAID = re.compile(
        rf"^The number {_NUM} is beyond the limit of ([0-9]{{1,12}})$")

    def move_phrase(self, move: EqMove) -> str:
        op = move.op
        of = "" if move.eq is None else f" of equation {move.eq}"
        operand = fmt_operand(move.value or ())
        if op == "add":
            return f"adding {operand} to both sides{of}"
        if op == "subtract":
            return f"subtracting {operand} from both sides{of}"
        if op == "multiply":
            return f"multiplying both sides{of} by {operand}"
        if op == "divide":
            return f"dividing both sides{of} by {operand}"
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

    def state_phrase(self, state: EqState) -> str:
        if state.solution:
            return f"So {format_solution(state.solution, self.variables)}"
        if self.system:
            return (f"Now the equations are {_natural_equations(state.eqs)}, with "
                    f"{_steps(state.steps_left)} left")
        return f"Now {fmt_equation(state.eqs[0])}, with {_steps(state.steps_left)} left"

    def dead_end_phrase(self, state: EqState, dead: DeadEnd) -> str:
        if dead.code == OUT_OF_STEPS:
            left, need = dead.detail
            verb = "step is" if left == 1 else "steps are"
            return f"It needs at least {need} more steps and only {left} {verb} left"
        return f"The number {dead.detail[0]} is beyond the limit of {self.limit}"

    def ref_phrase(self, state: EqState, move_in: EqMove | None) -> str:
        """A state by its equation(s) and steps left; a solved state by its solution."""
        if state.solution:
            return f"the solution {format_solution(state.solution, self.variables)}"
        noun = "the equations" if self.system else "the equation"
        return f"{noun} {_natural_equations(state.eqs)} with {_steps(state.steps_left)} left"

    def goal_phrase(self, state: EqState) -> str:
        plural = len(state.solution) > 1
        said = format_solution(state.solution, self.variables)
        return f"The solution{'s are' if plural else ' is'} {said}"

    def _solution_said(self, text: str) -> str | None:
        match = _NATURAL_SOLVED.match(text)
        return None if match is None else match.group(1)

    def _read_state(self, text: str) -> tuple[tuple[Equation, ...], int] | None:
        if self.system:
            said = _equation_pair(text, _SYSTEM_PREFIX, _SYSTEM_TAIL)
        else:
            match = _NATURAL_STATE.match(text)
            said = None if match is None else ([match.group(1)], match.group(2))
        return None if said is None else self._equations(*said)

    def _read_ref(self, text: str) -> tuple[tuple[Equation, ...], int] | None:
        if self.system:
            said = _equation_pair(text, _REF_SYSTEM_PREFIX, _REF_SYSTEM_TAIL)
        else:
            match = _NATURAL_REF.match(text)
            said = None if match is None else ([match.group(1)], match.group(2))
        return None if said is None else self._equations(*said)

    def _solution_ref(self, text: str) -> Hashable | None:
        if not text.startswith(_SOLUTION_REF_PREFIX):
            return None
        return self._solution_key(text[len(_SOLUTION_REF_PREFIX):])


_COMPACT_MOVES: MoveTable = (
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
)
_COMPACT_STATE = re.compile(rf"^(.+) \({_COUNT} left\)$")


class EquationsCompact(EquationsPhrasing):
    """Equation steps in short notation: "eq2: sub 3", "2x=4 (2 left)", "x=1, y=2"; a
    backtrack target is said as its state."""

    MOVES = _COMPACT_MOVES
    OUT_OF_STEPS_SAID = re.compile(rf"^needs {_COUNT} steps, {_COUNT} left$")
    NUMBER_TOO_LARGE_SAID = re.compile(rf"^{_NUM} exceeds ([0-9]{{1,12}})$")

    def move_phrase(self, move: EqMove) -> str:
        return move_notation(move)

    def state_phrase(self, state: EqState) -> str:
        if state.solution:
            return format_solution(state.solution, self.variables, compact=True)
        said = "; ".join(fmt_equation(eq, compact=True) for eq in state.eqs)
        return f"{said} ({state.steps_left} left)"

    def dead_end_phrase(self, state: EqState, dead: DeadEnd) -> str:
        if dead.code == OUT_OF_STEPS:
            left, need = dead.detail
            return f"needs {need} steps, {left} left"
        return f"{dead.detail[0]} exceeds {self.limit}"

    def ref_phrase(self, state: EqState, move_in: EqMove | None) -> str:
        """A state as it is stated; a solved state by its solution."""
        return self.state_phrase(state)

    def goal_phrase(self, state: EqState) -> str:
        return format_solution(state.solution, self.variables, compact=True)

    def _solution_said(self, text: str) -> str | None:
        return text

    def _read_state(self, text: str) -> tuple[tuple[Equation, ...], int] | None:
        match = _COMPACT_STATE.match(text)
        if match is None:
            return None
        return self._equations(match.group(1).split("; "), match.group(2))

    def _read_ref(self, text: str) -> tuple[tuple[Equation, ...], int] | None:
        return self._read_state(text)

    def _solution_ref(self, text: str) -> Hashable | None:
        if _COMPACT_STATE.match(text):
            return None
        return self._solution_key(text)


_TOKENS_PREFIX = r"(?:eq([0-9]{1,2}) )?"
_TOKENS_MOVES: MoveTable = (
    ("add", re.compile(rf"^{_TOKENS_PREFIX}add {_EXPR} both$"), "eq_value"),
    ("subtract", re.compile(rf"^{_TOKENS_PREFIX}sub {_EXPR} both$"), "eq_value"),
    ("multiply", re.compile(rf"^{_TOKENS_PREFIX}mul {_EXPR} both$"), "eq_value"),
    ("divide", re.compile(rf"^{_TOKENS_PREFIX}div {_EXPR} both$"), "eq_value"),
    ("expand", re.compile(rf"^{_TOKENS_PREFIX}expand (left|right)$"), "eq_side"),
    ("collect", re.compile(rf"^{_TOKENS_PREFIX}collect (left|right)$"), "eq_side"),
    ("factor", re.compile(rf"^{_TOKENS_PREFIX}factor (left|right)$"), "eq_side"),
    ("solve", re.compile(r"^eq([0-9]{1,2}) solve ([xy])$"), "eq_var"),
    ("substitute", re.compile(r"^eq([0-9]{1,2}) into eq([0-9]{1,2})$"), "eq_target"),
    ("read", re.compile(r"^read$"), "none"),
)
_TOKENS_OP = {"add": "add", "subtract": "sub", "multiply": "mul", "divide": "div"}
_TOKENS_STATE = re.compile(rf"^(.+) left {_COUNT}$")
_TOKENS_EQ_SEP = " ; "
# One token of a written equation or solution: a run of digits, the word `or`, or any
# other single character (a variable, a sign, a bracket, `^`, `/`, `=`, `,`).
_TOKEN = re.compile(r"[0-9]+|\bor\b|\S")


def _spaced(text: str) -> str:
    """`text` with exactly one space between its tokens: `2x^2 - 3 = 5` -> `2 x ^ 2 - 3 = 5`."""
    return " ".join(_TOKEN.findall(text))


class EquationsTokens(EquationsPhrasing):
    """Space-separated tokens, with the rules for the tokens style's costs: a move "eq2 sub
    3 both" ("expand left", "eq1 solve x", "eq2 into eq1", "read"), a state "2 x = 4 left
    2" (a system's equations joined by ";"), a solved state and the goal "x = 1 , y = 2", a
    dead end "need 3 left 1" or "number 1234 over 1000"; a backtrack target is said as its
    state. Only the canonical spacing reads back: "2x = 4" or "2 3 x" are refused."""

    MOVES = _TOKENS_MOVES
    OUT_OF_STEPS_SAID = re.compile(rf"^need {_COUNT} left {_COUNT}$")
    NUMBER_TOO_LARGE_SAID = re.compile(rf"^number {_NUM} over ([0-9]{{1,12}})$")

    rules: EquationsRules

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        phrasing = super().from_data(data)
        phrasing.rules = EquationsRules.from_data(data)
        return phrasing

    def move_phrase(self, move: EqMove) -> str:
        op = move.op
        prefix = "" if move.eq is None or op in ("solve", "substitute") else f"eq{move.eq} "
        if op in _TOKENS_OP:
            return f"{prefix}{_TOKENS_OP[op]} {_spaced(fmt_operand(move.value or ()))} both"
        if op in ("expand", "collect", "factor"):
            return f"{prefix}{op} {move.side}"
        if op == "solve":
            return f"eq{move.eq} solve {move.var}"
        if op == "substitute":
            return f"eq{move.eq} into eq{move.target}"
        return "read"

    def parse_move(self, text: str) -> EqMove | None:
        """The move, when `text` is exactly how the move is said."""
        move = _read_move(text, self.MOVES)
        return move if move is not None and self.move_phrase(move) == text else None

    def state_phrase(self, state: EqState) -> str:
        if state.solution:
            return self.goal_phrase(state)
        said = _TOKENS_EQ_SEP.join(_spaced(fmt_equation(eq)) for eq in state.eqs)
        return f"{said} left {state.steps_left}"

    def dead_end_phrase(self, state: EqState, dead: DeadEnd) -> str:
        if dead.code == OUT_OF_STEPS:
            left, need = dead.detail
            return f"need {need} left {left}"
        return f"number {dead.detail[0]} over {self.limit}"

    def ref_phrase(self, state: EqState, move_in: EqMove | None) -> str:
        """A state as it is stated; a solved state by its solution."""
        return self.state_phrase(state)

    def goal_phrase(self, state: EqState) -> str:
        return _spaced(format_solution(state.solution, self.variables))

    def _solution_said(self, text: str) -> str | None:
        return text

    def _read_state(self, text: str) -> tuple[tuple[Equation, ...], int] | None:
        """Read through the compact grammar after checking the spacing is canonical, so a
        long equation is not refused for the length its spaces add."""
        match = _TOKENS_STATE.match(text)
        if match is None:
            return None
        pieces = match.group(1).split(_TOKENS_EQ_SEP)
        unspaced = [piece.replace(" ", "") for piece in pieces]
        if any(_spaced(bare) != piece for bare, piece in zip(unspaced, pieces, strict=True)):
            return None
        return self._equations(unspaced, match.group(2))

    def _read_ref(self, text: str) -> tuple[tuple[Equation, ...], int] | None:
        return self._read_state(text)

    def _solution_ref(self, text: str) -> Hashable | None:
        if _TOKENS_STATE.match(text):
            return None
        return self._solution_key(text)


PHRASINGS = {"natural": EquationsNatural.from_data, "compact": EquationsCompact.from_data,
             "tokens": EquationsTokens.from_data, "reflective": EquationsNatural.from_data}
