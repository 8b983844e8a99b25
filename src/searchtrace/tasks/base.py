"""What every task provides and what it is made of: the problem type and its id, the
config base, the rules and phrasing protocols that solvers, the linearizer, the styles and
the verifier see, the task record the registry holds, and answer extraction.

A task's rules are the single source of truth: the solver expands states with them, the
linearizer widens the search with them, and the verifier replays rendered text through them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict

from searchtrace.errors import UserError

State = TypeVar("State")
Move = TypeVar("Move")


class TaskConfig(BaseModel):
    """Base of every task's knobs: frozen, and unknown fields are an error (typos fail loudly)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def recorded_knobs(config: TaskConfig, later: tuple[str, ...]) -> dict[str, Any]:
    """The knobs a row records: every knob, except those in `later` (knobs added after
    rows were first published) while they hold their default, so that rows of configs
    that never set them stay byte-identical."""
    fields = type(config).model_fields
    unset = {name for name in later if getattr(config, name) == fields[name].default}
    return config.model_dump(mode="json", exclude=unset)


def between(low: float, high: float) -> AfterValidator:
    """A knob's range check whose error names it: "must be between 3 and 8, got 9".

    Use as `count: Annotated[int, between(3, 8)] = 4`.
    """

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(
                f"must be between {_number(low)} and {_number(high)}, got {_number(value)}")
        return value

    return AfterValidator(check)


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


class GenerationSkipped(Exception):
    """The generator could not make a problem from this seed; `reason` becomes a statistic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same content always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def problem_id(task: str, canonical_key: Any) -> str:
    """Hash of a problem's canonical content: duplicates and split overlaps share it."""
    digest = hashlib.sha256(f"{task}:{canonical_json(canonical_key)}".encode()).hexdigest()
    return digest[:20]


@dataclass(frozen=True)
class Problem:
    """One task instance: JSON-able data, the prompt shown to a model, and its knobs.

    `data` is everything the rules need to rebuild the instance; `knobs` records the
    configured generator settings that produced it (stored beside measured difficulty).
    """

    task: str
    id: str
    data: dict[str, Any]
    prompt: str
    knobs: dict[str, Any]

    def to_json(self) -> str:
        return canonical_json(
            {"task": self.task, "id": self.id, "data": self.data, "prompt": self.prompt,
             "knobs": self.knobs}
        )

    @staticmethod
    def from_json(text: str) -> Problem:
        obj = json.loads(text)
        return Problem(obj["task"], obj["id"], obj["data"], obj["prompt"], obj["knobs"])


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
    # `search_key` below. Without it, `state_key` is used.

    def heuristic(self, state: State) -> float:
        """A lower bound on the moves from `state` to a goal (admissible, for A*);
        0 is always admissible where the task knows nothing better."""
        ...

    def move_to_json(self, move: Move) -> Any: ...


def search_key(rules: Rules) -> Callable[[Any], Hashable]:
    """The key a graph search deduplicates states by: the rules' optional `search_key`,
    else `state_key`."""
    return getattr(rules, "search_key", rules.state_key)


class Phrasing(Protocol, Generic[State, Move]):
    """How a task says, and reads back, the pieces of a step in one style.

    A style (`traces/styles/`) puts these phrases into its line templates and cuts lines
    back into phrases; the task's phrasing for that style writes and reads the phrases.
    One class per task and style, built from the problem's data. Parsers return None on
    anything they do not recognise; they never raise.
    """

    def move_phrase(self, move: Move) -> str: ...

    def parse_move(self, text: str) -> Move | None: ...

    def state_phrase(self, state: State) -> str: ...

    def state_claim_error(self, text: str, state: State) -> str | None:
        """None when the stated state `text` is true of `state`, otherwise what differs."""
        ...

    def dead_end_phrase(self, state: State, dead: DeadEnd) -> str: ...

    def parse_dead_end(self, text: str) -> DeadEnd | None: ...

    def ref_phrase(self, state: State, move_in: Move | None) -> str:
        """Names a state on the current path, as a backtrack target."""
        ...

    def parse_ref(self, text: str) -> Hashable | None: ...

    def ref_key(self, state: State, move_in: Move | None) -> Hashable:
        """The key `parse_ref` must return for a reference to this path state."""
        ...

    def goal_phrase(self, state: State) -> str: ...


class RulesPhrasing(Phrasing[State, Move], Protocol):
    """A phrasing that carries its problem's rules, built from the same data as the
    verifier's: for a style whose lines state facts only the rules know (the tokens
    style's heuristic cost h of every state it creates). The phrasing holds the rules,
    rather than the style reading a solver's node values, because every solver's tree must
    render, and a tree only some solvers score has no h to read."""

    rules: Rules[State, Move]


WRONG_ARITHMETIC, WRONG_STATE, FALSE_DEAD_END = "wrong_arithmetic", "wrong_state", "false_dead_end"
CORRUPTION_KINDS = (WRONG_ARITHMETIC, WRONG_STATE, FALSE_DEAD_END)


@dataclass(frozen=True)
class Corruptions:
    """The wrong content a task can write into one step, for control corpora whose
    backtrack structure is right but whose steps are not (`traces/corrupt.py`).

    `wrong_state` is every task's: a move line states the state before the move as the
    state after it. The others need the task's own knowledge: `wrong_result(move)` is the
    move with its stated result off (`wrong_arithmetic`), `false_claim(state, claim)` a
    dead-end claim about `state` that the rules refuse (`false_dead_end`)."""

    wrong_result: Callable[[Any], Any] | None = None
    false_claim: Callable[[Any, DeadEnd], DeadEnd] | None = None

    def kinds(self) -> tuple[str, ...]:
        """The kinds of corruption the task can make, in CORRUPTION_KINDS order."""
        made = {WRONG_STATE, *([WRONG_ARITHMETIC] if self.wrong_result else []),
                *([FALSE_DEAD_END] if self.false_claim else [])}
        return tuple(kind for kind in CORRUPTION_KINDS if kind in made)


@dataclass(frozen=True)
class Task:
    """Everything the pipeline needs to know about one task.

    - `generate(config, rng, split)` makes a Problem or raises GenerationSkipped with a
      reason (the split matters where a task holds values out for the test split);
    - `rules(data)` / `phrasing(style, data)` rebuild the instance's rules and its
      phrasing in a style from the problem's JSON data alone, so a stored row can be
      re-verified without the generator; `phrasings` maps each style the task speaks to
      the constructor of its phrasing;
    - `answer(data, moves)` writes the canonical answer for a solution path;
    - `check_answer(data, text)` judges free-form model output, never evaluating it;
    - `corruptions` says which wrong steps the task can write (`Corruptions`).
    """

    name: str
    description: str
    config_model: type[TaskConfig]
    presets: dict[str, dict[str, Any]]
    generate: Callable[[Any, np.random.Generator, str], Problem]
    rules: Callable[[dict[str, Any]], Rules]
    phrasings: Mapping[str, Callable[[dict[str, Any]], Phrasing]]
    answer: Callable[[dict[str, Any], Sequence[Any]], str]
    check_answer: Callable[[dict[str, Any], str], Verdict]
    corruptions: Corruptions = Corruptions()

    def make_config(self, preset: str | None, overrides: dict[str, Any]) -> TaskConfig:
        """A validated config from a preset (default `medium`) plus explicit knob values."""
        name = preset or "medium"
        if name not in self.presets:
            raise UserError(
                f"task.preset: unknown preset {name!r} for {self.name}; "
                f"allowed: {', '.join(self.presets)}"
            )
        return self.config_model(**{**self.presets[name], **overrides})

    def require_style(self, style: str) -> None:
        """UserError unless the task speaks `style` (has a phrasing for it): a registered
        style is one module, and each task speaks it once its phrasing is added."""
        if style not in self.phrasings:
            raise UserError(f"traces.style: task {self.name} has no phrasing for style "
                            f"{style!r}; allowed: {', '.join(sorted(self.phrasings))}")

    def require_corruption(self, kind: str) -> None:
        """UserError unless the task can make corruptions of `kind`."""
        kinds = self.corruptions.kinds()
        if kind not in kinds:
            raise UserError(f"traces.corrupt.kinds: task {self.name} cannot make {kind!r} "
                            f"corruptions; allowed: {', '.join(kinds)}")

    def phrasing(self, style: str, data: dict[str, Any]) -> Phrasing:
        """This instance's phrasing in `style`."""
        self.require_style(style)
        return self.phrasings[style](data)


_ANSWER_OPEN, _ANSWER_CLOSE = "<answer>", "</answer>"


def extract_answer(output: str) -> str:
    """The last `<answer>` block of free-form output, else the whole text stripped.

    Blocks are read left to right, each from an `<answer>` to the first `</answer>` after
    it; an `<answer>` with no `</answer>` after it ends the search."""
    if not isinstance(output, str):
        return ""
    found: str | None = None
    position = 0
    while True:
        opening = output.find(_ANSWER_OPEN, position)
        if opening == -1:
            break
        start = opening + len(_ANSWER_OPEN)
        closing = output.find(_ANSWER_CLOSE, start)
        if closing == -1:
            break
        found = output[start:closing]
        position = closing + len(_ANSWER_CLOSE)
    return found.strip() if found is not None else output.strip()
