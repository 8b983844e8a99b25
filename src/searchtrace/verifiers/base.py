"""The rules interface that solvers, the linearizer and the verifier see, and its value types.

A task's rules are the single source of truth: the solver expands states with them, the
linearizer widens the search with them, and the verifier replays rendered text through them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

State = TypeVar("State")
Move = TypeVar("Move")

STYLES = ("natural", "compact")  # the text styles every task renders and parses


class SolvabilityUndecided(Exception):
    """`Rules.solvable` can neither prove a state hopeless nor find a solution from it (a
    task whose legal moves are unbounded, like equations). Such a state is never
    abandoned: the linearizer does not leave it and the verifier rejects a row that does
    (`abandoned_undecided`)."""


@dataclass(frozen=True)
class Violation:
    """Why a move may not be applied: `code` is a stable statistic key, `message` says it."""

    code: str
    message: str


@dataclass(frozen=True)
class DeadEnd:
    """A rule-confirmed failure of a state: `code` names the rule, `detail` the evidence."""

    code: str
    detail: tuple[Any, ...]


@dataclass(frozen=True)
class Verdict:
    """Outcome of replaying a completion: the first failing line (0-based) and why."""

    ok: bool
    code: str = "ok"
    message: str = ""
    line: int | None = None

    @staticmethod
    def fail(code: str, message: str, line: int | None = None) -> Verdict:
        return Verdict(False, code, message, line)


OK = Verdict(True)


class Rules(Protocol, Generic[State, Move]):
    """A task instance's state space.

    `expand` is the solver's branching (ordered best first, one move per distinct child
    state); `wider_moves` is every legal move, used to find more dead ends than the search
    met; `apply` is the checked path used to replay text and never raises on a bad move.
    """

    def initial_state(self) -> State: ...

    def expand(self, state: State) -> list[tuple[Move, State]]: ...

    def wider_moves(self, state: State) -> Iterable[tuple[Move, State]]: ...

    def apply(self, state: State, move: Move) -> State | Violation: ...

    def is_goal(self, state: State) -> bool: ...

    def dead_end(self, state: State) -> DeadEnd | None: ...

    def solvable(self, state: State) -> bool:
        """Whether a goal is reachable from `state` by legal moves under the rules and the
        problem's stated limits. Exact (an exhaustive search or a complete solver, memoised
        by state key), never a heuristic: the linearizer and the verifier rely on it to
        prove that a backtrack abandons only states with no solution. A task that cannot
        settle some state raises SolvabilityUndecided for it rather than guess."""
        ...

    def confirm_dead_end(self, state: State, claim: DeadEnd) -> str | None:
        """None when the claim is true of `state`, otherwise why it is false."""
        ...

    def state_key(self, state: State) -> Hashable: ...

    # Optional: `search_key(state) -> Hashable`, what makes two states the same for a
    # breadth-first or best-first search's duplicate detection, where the state carries
    # history that does not change what can still be reached (a maze's path); see
    # solvers.classify.search_key. Without it, `state_key` is used.

    def heuristic(self, state: State) -> float:
        """A lower bound on the moves from `state` to a goal (admissible, for A*);
        0 is always admissible where the task knows nothing better."""
        ...

    def move_to_json(self, move: Move) -> Any: ...


class StepText(Protocol, Generic[State, Move]):
    """How a task says (and reads back) the pieces of a step, per style.

    The shared renderer puts these phrases into sentence or line templates; the parser
    cuts lines by those templates and hands each phrase back here. Parsers return None on
    anything they do not recognise; they never raise.
    """

    def move_phrase(self, move: Move, style: str) -> str: ...

    def parse_move(self, text: str, style: str) -> Move | None: ...

    def state_phrase(self, state: State, style: str) -> str: ...

    def state_claim_error(self, text: str, state: State, style: str) -> str | None:
        """None when the stated state `text` is true of `state`, otherwise what differs."""
        ...

    def dead_end_phrase(self, state: State, dead: DeadEnd, style: str) -> str: ...

    def parse_dead_end(self, text: str, style: str) -> DeadEnd | None: ...

    def ref_phrase(self, state: State, move_in: Move | None, style: str) -> str:
        """Names a state on the current path, as a backtrack target."""
        ...

    def parse_ref(self, text: str, style: str) -> Hashable | None: ...

    def ref_key(self, state: State, move_in: Move | None) -> Hashable:
        """The key `parse_ref` must return for a reference to this path state."""
        ...

    def goal_phrase(self, state: State, style: str) -> str: ...
