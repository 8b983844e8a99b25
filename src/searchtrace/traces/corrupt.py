"""Corrupted-content controls: a verified completion with one step made wrong while its
structure stays (the same lines, of the same kinds, in the same places; the same k,
placement and dead-end lengths), so a corpus can separate a trace's structure from its
correctness.

A corruption rewrites one phrase of one line, found by replaying the clean completion
through the rules: `wrong_state`, a move line stating the state before the move as the
state after it; `wrong_arithmetic`, a move line whose stated result is off (the task's
`Corruptions.wrong_result`); `false_dead_end`, a dead-end line whose claim the rules
refuse (`Corruptions.false_claim`). `replay.verify_corrupted` checks the result: every
listed line fails with its kind, every other line replays as right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from searchtrace.tasks import Task
from searchtrace.tasks.base import FALSE_DEAD_END, WRONG_ARITHMETIC, WRONG_STATE
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import BACKTRACK, DEAD_END, MOVE


@dataclass(frozen=True)
class Corruption:
    """Line `line` (0-based, of the think body) was made wrong in the way `kind` says."""

    line: int
    kind: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "kind": self.kind}


@dataclass(frozen=True)
class Site:
    """One way to corrupt a completion: the corruption and the wrong line replacing it."""

    corruption: Corruption
    wrong_line: str


class CannotCorrupt(Exception):
    """The completion has no line the requested kinds can corrupt (a k=0 trace has no
    dead-end line for `false_dead_end`); `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def corruption_sites(task: Task, data: dict[str, Any], completion: str,
                     style: str) -> list[Site]:
    """Every single-phrase corruption of a verified completion the task can make, in line
    order. A phrase is rewritten only where it occurs once in its line and the rewritten
    line reads back as the same kind with the wrong phrase, so the structure stays."""
    parts = split_completion(completion)
    if parts is None:
        return []
    lines = parts[0].split("\n")
    rules, text, reader = task.rules(data), task.phrasing(style, data), get_style(style)
    made = task.corruptions
    path: list[tuple[Any, Any]] = [(rules.initial_state(), None)]
    sites: list[Site] = []
    for index, line in enumerate(lines):
        event = reader.parse_line(line)
        if event is None:
            return []
        state = path[-1][0]
        wrongs: list[tuple[str, int, str]] = []  # (kind, phrase index, wrong phrase)
        if event.kind == MOVE:
            move = text.parse_move(event.phrases[0])
            result = rules.apply(state, move)
            path.append((result, move))
            wrong = text.state_phrase(state)
            if text.state_claim_error(wrong, result) is not None:
                wrongs.append((WRONG_STATE, 1, wrong))
            if made.wrong_result is not None:
                wrongs.append((WRONG_ARITHMETIC, 0, text.move_phrase(made.wrong_result(move))))
        elif event.kind == DEAD_END and made.false_claim is not None:
            claim = text.parse_dead_end(event.phrases[0])
            false = made.false_claim(state, claim)
            if rules.confirm_dead_end(state, false) is not None:
                wrongs.append((FALSE_DEAD_END, 0, text.dead_end_phrase(state, false)))
        elif event.kind == BACKTRACK:
            ref = text.parse_ref(event.phrases[0])
            target = next(i for i in range(len(path) - 2, -1, -1)
                          if text.ref_key(*path[i]) == ref)
            del path[target + 1:]
        for kind, phrase, wrong in wrongs:
            rewritten = _rewrite(line, event.phrases[phrase], wrong)
            read = reader.parse_line(rewritten) if rewritten is not None else None
            if read is not None and read.kind == event.kind and read.phrases[phrase] == wrong:
                sites.append(Site(Corruption(index, kind), rewritten))
    return sites


def corrupt_completion(task: Task, data: dict[str, Any], completion: str, style: str,
                       kind: str, rng: np.random.Generator) -> tuple[str, Corruption]:
    """The completion with one line made wrong in the way `kind` says, the line drawn by
    `rng` among those it can corrupt, and the corruption. Raises CannotCorrupt where no
    line can be (the row is then left clean by the caller's choice, never padded)."""
    task.require_corruption(kind)
    sites = [site for site in corruption_sites(task, data, completion, style)
             if site.corruption.kind == kind]
    if not sites:
        raise CannotCorrupt(f"no line of this completion can be made {kind}")
    site = sites[int(rng.integers(len(sites)))]
    think, answer = split_completion(completion) or ("", "")
    lines = think.split("\n")
    lines[site.corruption.line] = site.wrong_line
    return format_completion(lines, answer), site.corruption


def corrupt_with_any(task: Task, data: dict[str, Any], completion: str, style: str,
                     kinds: list[str], rng: np.random.Generator) -> tuple[str, Corruption]:
    """`corrupt_completion` with the first of `kinds` that applies, starting at a kind
    drawn by `rng` and going on in order (wrapping round): a row with no line of the drawn
    kind tries the next. Raises CannotCorrupt where none applies."""
    start = int(rng.integers(len(kinds)))
    for kind in kinds[start:] + kinds[:start]:
        try:
            return corrupt_completion(task, data, completion, style, kind, rng)
        except CannotCorrupt:
            continue
    raise CannotCorrupt(f"no line of this completion can be made {' or '.join(kinds)}")


def _rewrite(line: str, phrase: str, wrong: str) -> str | None:
    """`line` with its one occurrence of `phrase` replaced by `wrong`; None where the
    phrase occurs more than once (which one the template cut is then not certain) or the
    phrases are the same."""
    if phrase == wrong or line.count(phrase) != 1:
        return None
    return line.replace(phrase, wrong)
