"""Replay a rendered completion through a task's rules: the verifier every row must pass.

Checks, in order of the text: every line parses; every move is legal and the state the
line states is the true state (and, where the style states them, its costs: g its depth on
the current path, h the rules' heuristic, else `wrong_cost`); every dead-end claim is true
of the current state (and its stated state, where the style states one); every backtrack
follows a dead end and returns to a state on the current path; every check (padding) line
states the current state truly (`wrong_check`) and changes nothing; the trace ends in a goal
state; the backtrack count equals `num_backtracks`; the answer solves the problem.

A dataset row (one that states its `num_backtracks`) is held to the dataset's guarantees
too: every state a backtrack abandons has no solution (`abandoned_solvable`, decided by
the rules' exact `solvable`), no dead-end branch repeats an earlier one
(`repeated_dead_end`), the answer is the one the solution path spells
(`answer_not_derived`), and a row of a solver that promises a shortest solution has one
(`not_shortest`, proved by a bounded search of its own). Model output (`num_backtracks`
None) is judged on legality and its answer only: a model may give up a branch it cannot
prove hopeless, and its free-form answer is judged by the task's answer checker.
A row of a build with `traces.drops` states its drop level (`drop`): its trace has parts
removed, and the replay checks what remains, as `traces/drops.py` lists per level.
It returns the first failure and never raises on arbitrary text. A completion over
MAX_COMPLETION_CHARS or a line over MAX_LINE_CHARS fails unread (`completion_too_long`,
`line_too_long`), so no text keeps the verifier busy for long.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable, Mapping
from dataclasses import replace
from typing import Any

from searchtrace.tasks import Task
from searchtrace.tasks.base import (
    FALSE_DEAD_END,
    OK,
    WRONG_ARITHMETIC,
    WRONG_STATE,
    DeadEnd,
    Phrasing,
    Rules,
    SolvabilityUndecided,
    Verdict,
    Violation,
    search_key,
)
from searchtrace.traces.drops import ALL, CLOSE, COSTS, CREATE
from searchtrace.traces.parse import MAX_COMPLETION_CHARS, MAX_LINE_CHARS, split_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import BACKTRACK, CHECK, DEAD_END, MOVE

SHORTEST_BOUND = 200_000  # states the shortest-solution proof may expand before it gives up
# The failure each kind of corruption must produce at its line (`traces/corrupt.py`).
CORRUPTION_CODES = {WRONG_STATE: "wrong_state", WRONG_ARITHMETIC: "wrong_result",
                    FALSE_DEAD_END: "false_dead_end"}


def verify_completion(
    task: Task, data: dict[str, Any], completion: str, style: str, num_backtracks: int | None,
    shortest: bool = False, drop: str = "",
) -> Verdict:
    """Replay `completion`. `num_backtracks=None` marks model output: no count check and
    none of a dataset row's guarantees. `shortest`: the row's solver promises a shortest
    solution, so the row must have one. `drop`: the row's drop level ("" or "none": the
    whole trace), what its trace lacks (`traces/drops.py`)."""
    try:
        if drop in (CREATE, ALL):
            return _replay_without_states(task, data, completion, style, num_backtracks,
                                          drop)
        return _replay(task, data, completion, style, num_backtracks, shortest, drop, {})
    except Exception as error:  # a verifier must answer, whatever the text does to a parser
        return Verdict.fail("verifier_error", f"{type(error).__name__}: {error}")


def verify_corrupted(
    task: Task, data: dict[str, Any], completion: str, style: str, num_backtracks: int,
    corruptions: Mapping[int, str], shortest: bool = False,
) -> Verdict:
    """Replay a corrupted dataset row exactly: each line of `corruptions` (line → kind)
    must fail with its kind's code (CORRUPTION_CODES; `corruption_not_wrong` where the
    line is right, `corruption_wrong_kind` where it fails otherwise), and the replay then
    goes on from the true state; every other line, and every guarantee of a dataset row,
    is held to `verify_completion`'s account. With no corruptions it is that verifier."""
    try:
        unknown = sorted(set(corruptions.values()) - set(CORRUPTION_CODES))
        if unknown:
            return Verdict.fail("corruption_unknown_kind", f"unknown kinds {unknown}")
        return _replay(task, data, completion, style, num_backtracks, shortest, "",
                       dict(corruptions))
    except Exception as error:  # a verifier must answer, whatever the text does to a parser
        return Verdict.fail("verifier_error", f"{type(error).__name__}: {error}")


def read_move(rules: Rules, text: Phrasing, state: Any,
              phrases: tuple[str, ...]) -> tuple[Any, Any] | Verdict:
    """A move line's (move, next state) at `state`, or the failure: the move unreadable,
    illegal by the rules, or the stated next state untrue."""
    move = text.parse_move(phrases[0])
    if move is None:
        return Verdict.fail("unparsable_move", f"cannot read move {phrases[0]!r}")
    result = rules.apply(state, move)
    if isinstance(result, Violation):
        return Verdict.fail(result.code, result.message)
    wrong_state = text.state_claim_error(phrases[1], result)
    if wrong_state is not None:
        return Verdict.fail("wrong_state", wrong_state)
    return move, result


def read_dead_end(rules: Rules, text: Phrasing, state: Any,
                  phrase: str) -> DeadEnd | Verdict:
    """A dead-end claim the rules confirm of `state`, or the failure: unreadable or false."""
    claim = text.parse_dead_end(phrase)
    if claim is None:
        return Verdict.fail("unparsable_dead_end", f"cannot read dead end {phrase!r}")
    why_false = rules.confirm_dead_end(state, claim)
    if why_false is not None:
        return Verdict.fail("false_dead_end", why_false)
    return claim


def _expected_failure(failure: Verdict | Any, kind: str, index: int) -> Verdict | None:
    """None when a corrupted line's check failed as its kind says, else the failure."""
    if not isinstance(failure, Verdict):
        return Verdict.fail("corruption_not_wrong", f"the line is listed as {kind} but "
                            "replays as right", index)
    if failure.code != CORRUPTION_CODES[kind]:
        return Verdict.fail("corruption_wrong_kind", f"the line is listed as {kind} but "
                            f"fails with {failure.code}: {failure.message}", index)
    return None


def _true_move(rules: Rules, text: Phrasing, state: Any, phrases: tuple[str, ...],
               kind: str) -> tuple[Any, Any] | None:
    """The (move, next state) a corrupted move line stands for: for `wrong_state` its move
    (the stated state is the wrong part); for `wrong_arithmetic` the legal move to the
    stated state whose phrase shares the longest start with the stated move (operands are
    said before the result), since the stated result is the wrong part."""
    if kind == WRONG_STATE:
        move = text.parse_move(phrases[0])
        result = None if move is None else rules.apply(state, move)
        return None if result is None or isinstance(result, Violation) else (move, result)
    if kind != WRONG_ARITHMETIC:
        return None
    reached = [(move, child) for move, child in rules.wider_moves(state)
               if text.state_claim_error(phrases[1], child) is None]
    if not reached:
        return None
    return max(reached, key=lambda step: _shared_start(text.move_phrase(step[0]), phrases[0]))


def _shared_start(one: str, other: str) -> int:
    return next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b),
                min(len(one), len(other)))


def cost_error(rules: Rules, state: Any, depth: int, costs: tuple[str, str]) -> str | None:
    """None when the stated (g, h) of a created state are its depth on the current path
    and the rules' heuristic of it, otherwise what differs. The style's pattern bounds
    both to a few digits, so they convert exactly."""
    g, h = (float(cost) for cost in costs)
    heuristic = float(rules.heuristic(state))
    if g != depth:
        return f"states g{costs[0]} but the state is {depth} moves deep on the current path"
    if h != heuristic:
        return f"states h{costs[1]} but the rules' heuristic of the state is {heuristic:g}"
    return None


def _replay(
    task: Task, data: dict[str, Any], completion: str, style: str, num_backtracks: int | None,
    shortest: bool, drop: str, corrupted: dict[int, str],
) -> Verdict:
    """The replay; `corrupted` (line → kind) lists the lines that must fail, each
    removed once checked, so a listed line the text never reaches fails too."""
    if isinstance(completion, str) and len(completion) > MAX_COMPLETION_CHARS:
        return Verdict.fail("completion_too_long", f"the completion has {len(completion)} "
                            f"characters, at most {MAX_COMPLETION_CHARS} are read")
    parts = split_completion(completion)
    if parts is None:
        return Verdict.fail("bad_format", "expected <think>...</think> then <answer>...</answer>")
    think, answer = parts
    rules = task.rules(data)
    text = task.phrasing(style, data)
    reader = get_style(style)  # cuts each line into its kind and phrases
    path: list[tuple[Any, Any]] = [(rules.initial_state(), None)]  # (state, move into it)
    entered: list[int | None] = [None]  # the line of the move into each path state
    row = num_backtracks is not None  # a dataset row: its guarantees are checked too
    branches: dict[tuple[Hashable, ...], int] = {}  # abandoned branches: backtrack line
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
        event = reader.parse_line(line)
        if event is None:
            return Verdict.fail("unparsable_step", f"cannot read {line[:80]!r}", index)
        state = path[-1][0]
        if event.kind == MOVE:
            if reader.states_costs and (event.costs is None) != (drop == COSTS):
                return Verdict.fail(*_cost_shape(drop), index)
            if after_dead_end:
                return Verdict.fail("move_after_dead_end",
                                    "a move continues from a dead end without backtracking", index)
            step = read_move(rules, text, state, event.phrases)
            if index in corrupted:
                kind = corrupted.pop(index)
                unexpected = _expected_failure(step, kind, index)
                if unexpected is not None:
                    return unexpected
                step = _true_move(rules, text, state, event.phrases, kind)
                if step is None:
                    return Verdict.fail("corruption_unrecoverable", f"no legal move stands "
                                        f"for the {kind} line", index)
            if isinstance(step, Verdict):
                return replace(step, line=index)
            move, result = step
            path.append((result, move))
            entered.append(index)
            if event.costs is not None:
                wrong_cost = cost_error(rules, result, len(path) - 1, event.costs)
                if wrong_cost is not None:
                    return Verdict.fail("wrong_cost", wrong_cost, index)
        elif event.kind == DEAD_END:
            if drop == CLOSE:
                return Verdict.fail("dropped_part_present", "a close line in a row that "
                                    "drops them", index)
            claim = read_dead_end(rules, text, state, event.phrases[0])
            if index in corrupted:
                kind = corrupted.pop(index)
                unexpected = _expected_failure(claim, kind, index)
                if unexpected is not None:
                    return unexpected
                if rules.dead_end(state) is None:
                    return Verdict.fail("corruption_unrecoverable", "the false_dead_end line "
                                        "stands in no true dead end", index)
                claim = rules.dead_end(state)
            if isinstance(claim, Verdict):
                return replace(claim, line=index)
            if event.stated is not None:
                wrong_state = text.state_claim_error(event.stated, state)
                if wrong_state is not None:
                    return Verdict.fail("wrong_state", wrong_state, index)
            after_dead_end = True
        elif event.kind == CHECK:
            wrong_check = text.state_claim_error(event.phrases[0], state)
            if wrong_check is not None:
                return Verdict.fail("wrong_check", wrong_check, index)
        elif event.kind == BACKTRACK:
            if not after_dead_end and drop != CLOSE:
                return Verdict.fail("backtrack_without_dead_end",
                                    "a backtrack must follow a dead-end claim", index)
            ref = text.parse_ref(event.phrases[0])
            if ref is None:
                return Verdict.fail("unparsable_backtrack",
                                    f"cannot read backtrack target {event.phrases[0]!r}", index)
            target = next((i for i in range(len(path) - 2, -1, -1)
                           if text.ref_key(*path[i]) == ref), None)
            if target is None:
                return Verdict.fail("backtrack_off_path",
                                    f"{event.phrases[0]!r} is not a state on the current path",
                                    index)
            if row:
                failure = _abandon(rules, path, entered, target, branches, index)
                if failure is not None:
                    return failure
            del path[target + 1 :]
            del entered[target + 1 :]
            after_dead_end = False
            backtracks += 1
        else:  # GOAL
            if not rules.is_goal(state):
                return Verdict.fail("false_goal", "the goal is claimed in a non-goal state", index)
            if event.phrases[0] != text.goal_phrase(state):
                return Verdict.fail("wrong_goal_statement",
                                    f"goal stated as {event.phrases[0]!r}", index)
            solved = True
    if not solved:
        return Verdict.fail("no_goal", "the trace never reaches a goal state")
    if corrupted:
        line, kind = min(corrupted.items())
        return Verdict.fail("corruption_not_found", f"line {line} is listed as {kind} but "
                            "is no line of that kind", line)
    if num_backtracks is not None and backtracks != num_backtracks:
        return Verdict.fail("backtrack_count",
                            f"{backtracks} backtracks in the text, row says {num_backtracks}")
    answer_verdict = task.check_answer(data, answer)
    if not answer_verdict.ok:
        return Verdict.fail("wrong_answer", answer_verdict.message)
    if not row:
        return OK
    derived = task.answer(data, [move for _, move in path[1:]])
    if " ".join(answer.split()) != " ".join(derived.split()):
        return Verdict.fail("answer_not_derived", f"the answer {answer.strip()[:80]!r} is not "
                            f"the one the solution path spells, {derived[:80]!r}")
    if shortest:
        return _shortest(rules, len(path) - 1)
    return OK


def _cost_shape(drop: str) -> tuple[str, str]:
    """The failure of a create line whose costs the row's drop level does not allow."""
    if drop == COSTS:
        return "dropped_part_present", "a create line states costs in a row that drops them"
    return "missing_cost", "a create line without its g and h costs"


def _replay_without_states(task: Task, data: dict[str, Any], completion: str, style: str,
                           num_backtracks: int | None, drop: str) -> Verdict:
    """A completion whose create lines are dropped (`create`: close, back and goal lines
    only) or whose whole trace is (`all`): no state is known, so each close line's claim
    must read as one, each backtrack follow a close line with a readable target, one
    goal line end the trace and the backtracks number `num_backtracks`; `all` has no
    lines at all. The answer is checked by the task's answer checker either way."""
    if isinstance(completion, str) and len(completion) > MAX_COMPLETION_CHARS:
        return Verdict.fail("completion_too_long", f"the completion has {len(completion)} "
                            f"characters, at most {MAX_COMPLETION_CHARS} are read")
    parts = split_completion(completion)
    if parts is None:
        return Verdict.fail("bad_format", "expected <think>...</think> then <answer>...</answer>")
    think, answer = parts
    lines = think.split("\n") if think else []
    if drop == ALL and lines:
        return Verdict.fail("dropped_part_present", "a trace line in a row that drops the "
                            "whole trace", 0)
    text = task.phrasing(style, data)
    reader = get_style(style)
    after_dead_end = solved = False
    backtracks = 0
    for index, line in enumerate(lines):
        if solved:
            return Verdict.fail("step_after_goal", "a step follows the goal", index)
        if len(line) > MAX_LINE_CHARS:
            return Verdict.fail("line_too_long", f"the line has {len(line)} characters, at "
                                f"most {MAX_LINE_CHARS} are read", index)
        event = reader.parse_line(line)
        if event is None:
            return Verdict.fail("unparsable_step", f"cannot read {line[:80]!r}", index)
        if event.kind == MOVE:
            return Verdict.fail("dropped_part_present", "a create line in a row that drops "
                                "them", index)
        if event.kind == DEAD_END:
            if after_dead_end:
                return Verdict.fail("dead_end_after_dead_end", "two close lines without a "
                                    "backtrack between them", index)
            if text.parse_dead_end(event.phrases[0]) is None:
                return Verdict.fail("unparsable_dead_end",
                                    f"cannot read dead end {event.phrases[0]!r}", index)
            after_dead_end = True
        elif event.kind == BACKTRACK:
            if not after_dead_end:
                return Verdict.fail("backtrack_without_dead_end",
                                    "a backtrack must follow a dead-end claim", index)
            if text.parse_ref(event.phrases[0]) is None:
                return Verdict.fail("unparsable_backtrack",
                                    f"cannot read backtrack target {event.phrases[0]!r}", index)
            after_dead_end = False
            backtracks += 1
        else:  # GOAL
            if after_dead_end:
                return Verdict.fail("goal_after_dead_end", "the goal follows a dead-end "
                                    "claim", index)
            solved = True
    if drop == CREATE and not solved:
        return Verdict.fail("no_goal", "the trace never reaches a goal state")
    if drop == CREATE and num_backtracks is not None and backtracks != num_backtracks:
        return Verdict.fail("backtrack_count",
                            f"{backtracks} backtracks in the text, row says {num_backtracks}")
    answer_verdict = task.check_answer(data, answer)
    if not answer_verdict.ok:
        return Verdict.fail("wrong_answer", answer_verdict.message)
    return OK


def _abandon(rules: Rules, path: list[tuple[Any, Any]], entered: list[int | None],
             target: int, branches: dict[tuple[Hashable, ...], int],
             line: int) -> Verdict | None:
    """Check the dead-end branch the backtrack at `line` abandons (the path below
    `target`): not a repeat of an earlier branch, and no state of it solvable. Checked
    from the branch point down, so the failure names the shallowest solvable state."""
    branch = tuple(rules.state_key(state) for state, _ in path[target:])
    if branch in branches:
        return Verdict.fail("repeated_dead_end", f"this dead-end branch repeats the one "
                            f"abandoned at line {branches[branch]}", line)
    branches[branch] = line
    for depth in range(target + 1, len(path)):
        try:
            solvable = rules.solvable(path[depth][0])
        except SolvabilityUndecided as undecided:  # the task cannot decide it (equations)
            return Verdict.fail("abandoned_undecided", f"the backtrack abandons the state "
                                f"reached at line {entered[depth]}, which the rules cannot "
                                f"prove hopeless: {undecided}", line)
        if solvable:
            return Verdict.fail("abandoned_solvable", f"the backtrack abandons the state "
                                f"reached at line {entered[depth]}, from which the goal can "
                                "still be reached", line)
    return None


def _shortest(rules: Rules, length: int) -> Verdict:
    """OK when no solution has fewer than `length` moves, proved by a best-first search
    over every legal move (`wider_moves`) that prunes a state whose moves so far plus the
    rules' admissible heuristic reach `length`, and states the rules confirm dead."""
    key_of = search_key(rules)
    start = rules.initial_state()
    best = {key_of(start): 0}
    order = itertools.count()
    frontier = [(float(rules.heuristic(start)), next(order), 0, start)]
    expanded = 0
    while frontier:
        f, _, g, state = heapq.heappop(frontier)
        if f >= length:
            break
        if g > best.get(key_of(state), g):
            continue
        if rules.is_goal(state):
            return Verdict.fail("not_shortest", "the solver promises a shortest solution; "
                                f"this one has {length} moves and one of {g} exists")
        if rules.dead_end(state) is not None:
            continue
        expanded += 1
        if expanded > SHORTEST_BOUND:
            return Verdict.fail("shortest_undecided", f"could not prove within "
                                f"{SHORTEST_BOUND} states that no solution is shorter than "
                                f"{length} moves")
        for _, child in rules.wider_moves(state):
            key = key_of(child)
            estimate = g + 1 + float(rules.heuristic(child))
            if estimate < length and g + 1 < best.get(key, length):
                best[key] = g + 1
                heapq.heappush(frontier, (estimate, next(order), g + 1, child))
    return OK
