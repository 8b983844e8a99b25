"""Replay a rendered completion through a task's rules: the verifier every row must pass.

Checks, in order of the text: every line parses; every move is legal and the state the
line states is the true state; every dead-end claim is true of the current state; every
backtrack follows a dead end and returns to a state on the current path; the trace ends in
a goal state; the backtrack count equals `num_backtracks`; the answer solves the problem.
It returns the first failure and never raises on arbitrary text. A completion over
MAX_COMPLETION_CHARS or a line over MAX_LINE_CHARS fails unread (`completion_too_long`,
`line_too_long`), so no text keeps the verifier busy for long.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from searchtrace.registry import Task
from searchtrace.traces.parse import (
    MAX_COMPLETION_CHARS,
    MAX_LINE_CHARS,
    parse_line,
    split_completion,
)
from searchtrace.traces.trace import BACKTRACK, DEAD_END, MOVE
from searchtrace.verifiers.base import OK, DeadEnd, Rules, StepText, Verdict, Violation


def verify_completion(
    task: Task, data: dict[str, Any], completion: str, style: str, num_backtracks: int | None
) -> Verdict:
    """Replay `completion`; `num_backtracks=None` skips the count check (model output)."""
    try:
        return _replay(task, data, completion, style, num_backtracks)
    except Exception as error:  # a verifier must answer, whatever the text does to a parser
        return Verdict.fail("verifier_error", f"{type(error).__name__}: {error}")


def read_move(rules: Rules, text: StepText, style: str, state: Any,
              phrases: tuple[str, ...]) -> tuple[Any, Any] | Verdict:
    """A move line's (move, next state) at `state`, or the failure: the move unreadable,
    illegal by the rules, or the stated next state untrue."""
    move = text.parse_move(phrases[0], style)
    if move is None:
        return Verdict.fail("unparsable_move", f"cannot read move {phrases[0]!r}")
    result = rules.apply(state, move)
    if isinstance(result, Violation):
        return Verdict.fail(result.code, result.message)
    wrong_state = text.state_claim_error(phrases[1], result, style)
    if wrong_state is not None:
        return Verdict.fail("wrong_state", wrong_state)
    return move, result


def read_dead_end(rules: Rules, text: StepText, style: str, state: Any,
                  phrase: str) -> DeadEnd | Verdict:
    """A dead-end claim the rules confirm of `state`, or the failure: unreadable or false."""
    claim = text.parse_dead_end(phrase, style)
    if claim is None:
        return Verdict.fail("unparsable_dead_end", f"cannot read dead end {phrase!r}")
    why_false = rules.confirm_dead_end(state, claim)
    if why_false is not None:
        return Verdict.fail("false_dead_end", why_false)
    return claim


def _replay(
    task: Task, data: dict[str, Any], completion: str, style: str, num_backtracks: int | None
) -> Verdict:
    if isinstance(completion, str) and len(completion) > MAX_COMPLETION_CHARS:
        return Verdict.fail("completion_too_long", f"the completion has {len(completion)} "
                            f"characters, at most {MAX_COMPLETION_CHARS} are read")
    parts = split_completion(completion)
    if parts is None:
        return Verdict.fail("bad_format", "expected <think>...</think> then <answer>...</answer>")
    think, answer = parts
    rules = task.rules(data)
    text = task.step_text(data)
    path: list[tuple[Any, Any]] = [(rules.initial_state(), None)]  # (state, move into it)
    after_dead_end = False
    solved = False
    backtracks = 0
    lines = think.split("\n") if think else []
    for index, line in enumerate(lines):
        if solved:
            return Verdict.fail("step_after_goal", "a step follows the goal", index)
        if len(line) > MAX_LINE_CHARS:
            return Verdict.fail("line_too_long", f"the line has {len(line)} characters, at "
                                f"most {MAX_LINE_CHARS} are read", index)
        event = parse_line(line, style)
        if event is None:
            return Verdict.fail("unparsable_step", f"cannot read {line[:80]!r}", index)
        state = path[-1][0]
        if event.kind == MOVE:
            if after_dead_end:
                return Verdict.fail("move_after_dead_end",
                                    "a move continues from a dead end without backtracking", index)
            step = read_move(rules, text, style, state, event.phrases)
            if isinstance(step, Verdict):
                return replace(step, line=index)
            move, result = step
            path.append((result, move))
        elif event.kind == DEAD_END:
            claim = read_dead_end(rules, text, style, state, event.phrases[0])
            if isinstance(claim, Verdict):
                return replace(claim, line=index)
            after_dead_end = True
        elif event.kind == BACKTRACK:
            if not after_dead_end:
                return Verdict.fail("backtrack_without_dead_end",
                                    "a backtrack must follow a dead-end claim", index)
            ref = text.parse_ref(event.phrases[0], style)
            if ref is None:
                return Verdict.fail("unparsable_backtrack",
                                    f"cannot read backtrack target {event.phrases[0]!r}", index)
            target = next((i for i in range(len(path) - 2, -1, -1)
                           if text.ref_key(*path[i]) == ref), None)
            if target is None:
                return Verdict.fail("backtrack_off_path",
                                    f"{event.phrases[0]!r} is not a state on the current path",
                                    index)
            del path[target + 1 :]
            after_dead_end = False
            backtracks += 1
        else:  # GOAL
            if not rules.is_goal(state):
                return Verdict.fail("false_goal", "the goal is claimed in a non-goal state", index)
            if event.phrases[0] != text.goal_phrase(state, style):
                return Verdict.fail("wrong_goal_statement",
                                    f"goal stated as {event.phrases[0]!r}", index)
            solved = True
    if not solved:
        return Verdict.fail("no_goal", "the trace never reaches a goal state")
    if num_backtracks is not None and backtracks != num_backtracks:
        return Verdict.fail("backtrack_count",
                            f"{backtracks} backtracks in the text, row says {num_backtracks}")
    answer_verdict = task.check_answer(data, answer)
    if not answer_verdict.ok:
        return Verdict.fail("wrong_answer", answer_verdict.message)
    return OK
