"""Dualformer's drops: what each level removes from a real tokens trace, that the replay
accepts every level's rows of every task, and that a corrupted line at each level is
still caught. The expected lines are derived here from the trace's steps, not from the
drop code's own reading of the lines."""

from __future__ import annotations

import re

import pytest

from searchtrace.tasks import task_names
from searchtrace.traces.drops import ALL, CLOSE, COSTS, CREATE, DROP_LEVELS, NONE, drop_lines
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import DEAD_END, MOVE
from tests.support import RenderedTrace, rendered

COSTS_AT_END = re.compile(r" g[0-9.]+ h[0-9.]+$")


def _expected(r: RenderedTrace, level: str) -> list[str]:
    """The lines a level keeps, chosen by the trace's own step kinds."""
    kinds = [step.kind for step in r.trace.steps]
    if level == ALL:
        return []
    if level == CLOSE:
        return [line for line, kind in zip(r.lines, kinds, strict=True) if kind != DEAD_END]
    if level == CREATE:
        return [line for line, kind in zip(r.lines, kinds, strict=True) if kind != MOVE]
    if level == COSTS:
        return [COSTS_AT_END.sub("", line) if kind == MOVE else line
                for line, kind in zip(r.lines, kinds, strict=True)]
    return list(r.lines)


def _verify(r: RenderedTrace, lines: list[str], level: str, answer: str | None = None):
    completion = format_completion(lines, r.answer if answer is None else answer)
    return verify_completion(r.task, r.problem.data, completion, "tokens",
                             r.trace.num_backtracks, drop=level)


@pytest.mark.parametrize("name", task_names())
@pytest.mark.parametrize("level", DROP_LEVELS)
def test_every_levels_trace_is_what_it_keeps_and_verifies(name: str, level: str) -> None:
    r = rendered(name, "tokens", 2)
    kept = drop_lines(list(r.lines), level)
    assert kept == _expected(r, level)
    assert _verify(r, kept, level).ok, _verify(r, kept, level)


@pytest.mark.parametrize("level", [CLOSE, COSTS, CREATE, ALL])
def test_a_level_refuses_the_parts_it_drops(level: str) -> None:
    r = rendered("maze", "tokens", 1)
    assert _verify(r, list(r.lines), level).code in {"dropped_part_present"}


def test_the_full_trace_refuses_a_create_line_without_costs() -> None:
    r = rendered("maze", "tokens", 1)
    assert _verify(r, drop_lines(list(r.lines), COSTS), NONE).code == "missing_cost"
    assert _verify(r, drop_lines(list(r.lines), COSTS), "").code == "missing_cost"


def _first(lines: list[str], keyword: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(keyword + " "))


@pytest.mark.parametrize("name", ["maze", "countdown", "sudoku"])
def test_a_corrupted_line_is_caught_at_every_level(name: str) -> None:
    r = rendered(name, "tokens", 1)
    # none, close, costs: an unreadable create line
    for level in (NONE, CLOSE, COSTS):
        lines = drop_lines(list(r.lines), level)
        at = _first(lines, "create")
        lines[at] = "create nonsense | nowhere" + (" g1 h1" if level != COSTS else "")
        assert not _verify(r, lines, level).ok, level
    # costs: the state claim is still checked
    lines = drop_lines(list(r.lines), COSTS)
    at = _first(lines, "create")
    move = lines[at].split(" | ")[0]
    lines[at] = f"{move} | {lines[at].split(' | ')[1]} extra"
    assert _verify(r, lines, COSTS).code == "wrong_state"
    # close: a backtrack off the current path
    lines = drop_lines(list(r.lines), CLOSE)
    at = _first(lines, "back")
    lines[at] = "back nowhere at all"
    assert not _verify(r, lines, CLOSE).ok
    # create: a backtrack without its close line, a dead end unreadable, a wrong count
    lines = drop_lines(list(r.lines), CREATE)
    at = _first(lines, "close")
    assert _verify(r, lines[:at] + lines[at + 1:], CREATE).code == "backtrack_without_dead_end"
    assert _verify(r, [*lines[:at], "close x dead no such claim", *lines[at + 1:]],
                   CREATE).code == "unparsable_dead_end"
    assert _verify(r, lines[:-1], CREATE).code == "no_goal"
    # all: a wrong answer is caught, and so is any line left in the think block
    assert _verify(r, [], ALL, answer="not an answer").code == "wrong_answer"
    assert _verify(r, [r.lines[-1]], ALL).code == "dropped_part_present"


def test_a_wrong_backtrack_count_is_caught_where_backtracks_remain() -> None:
    r = rendered("maze", "tokens", 1)
    for level in (NONE, CLOSE, COSTS, CREATE):
        completion = format_completion(drop_lines(list(r.lines), level), r.answer)
        verdict = verify_completion(r.task, r.problem.data, completion, "tokens", 2, drop=level)
        assert verdict.code == "backtrack_count", level
