"""What every style does: its render and parse_line round-trip every kind of line for
every task (the phrases come back exactly as the task's phrasing wrote them), a line of
one style is not read by another, and counting kinds agrees with reading each line."""

from __future__ import annotations

import pytest

from searchtrace.tasks import Task, task_names
from searchtrace.tasks.base import Problem
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.parse import MAX_LINE_CHARS
from searchtrace.traces.styles import get_style, style_names
from searchtrace.traces.styles.base import step_phrases
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE, Trace
from searchtrace.traces.tree import SearchTree
from tests.traces.support import (
    COUNTDOWN,
    SUDOKU,
    countdown,
    render,
    solve,
    sudoku,
    with_one_backtrack,
)

KINDS = {MOVE, DEAD_END, BACKTRACK, GOAL}


def rendered_traces() -> list[tuple[Task, Problem, SearchTree, Trace]]:
    out = []
    chosen = ((COUNTDOWN, countdown(0)), (COUNTDOWN, countdown(1, allow_fractions=True)),
              (SUDOKU, sudoku(0)))
    for task, problem in chosen:
        tree = solve(task, problem)
        out.append((task, problem, tree, linearize_exact(tree, task.rules(problem.data), 5,
                                                        "uniform", 4)))
        out.append((task, problem, tree, linearize_natural(tree)))
    return out


@pytest.mark.parametrize("style", style_names())
def test_every_rendered_line_parses_back_into_its_kind(style: str) -> None:
    reader = get_style(style)
    others = [get_style(other) for other in style_names() if other != style]
    assert others
    for task, problem, tree, trace in rendered_traces():
        for salt in range(6):
            lines, _ = render(task, problem, tree, trace, style, salt)
            assert len(lines) == len(trace.steps)
            for line, step in zip(lines, trace.steps, strict=True):
                event = reader.parse_line(line)
                assert event is not None and event.kind == step.kind, (line, step)
                for other in others:
                    assert other.parse_line(line) is None, (other.name, line)
            for position in trace.backtrack_positions:
                assert reader.parse_line(lines[position]).kind == BACKTRACK


@pytest.mark.parametrize("name", task_names())
@pytest.mark.parametrize("style", style_names())
def test_render_and_parse_line_round_trip_every_kind_of_line(style: str, name: str) -> None:
    """Each line reads back as its step's kind and exactly the phrases the task's phrasing
    wrote for it (a style's extras, like the tokens style's costs, are tested with it); the
    phrasing reads those phrases back to the step's move, dead end and backtrack target."""
    task, problem, tree, trace = with_one_backtrack(name)
    reader, phrasing = get_style(style), task.phrasing(style, problem.data)
    for salt in (0, 1):
        lines = reader.render(trace, tree, phrasing, salt)
        said = list(step_phrases(trace, tree, phrasing))
        assert {kind for kind, _ in said} == KINDS
        for line, step, (kind, phrases) in zip(lines, trace.steps, said, strict=True):
            event = reader.parse_line(line)
            assert (event.kind, event.phrases) == (kind, phrases), line
            node = tree.nodes[step.node]
            if kind == MOVE:
                assert phrasing.parse_move(phrases[0]) == node.move, line
                assert phrasing.state_claim_error(phrases[1], node.state) is None, line
            elif kind == DEAD_END:
                assert phrasing.parse_dead_end(phrases[0]) == node.reason, line
            elif kind == BACKTRACK:
                assert phrasing.parse_ref(phrases[0]) == phrasing.ref_key(
                    node.state, node.move), line
            else:
                assert phrases[0] == phrasing.goal_phrase(node.state), line
        assert reader.count_kinds("\n".join(lines)) == {
            kind: sum(step.kind == kind for step in trace.steps) for kind in KINDS}


@pytest.mark.parametrize("style", style_names())
def test_a_line_over_the_cap_or_not_text_reads_as_nothing(style: str) -> None:
    reader = get_style(style)
    task, problem, tree, trace = with_one_backtrack("countdown")
    line = reader.render(trace, tree, task.phrasing(style, problem.data), 0)[0]
    assert reader.parse_line(line) is not None
    for bad in (line + "\n" + line, None, 42, line + " " * MAX_LINE_CHARS):
        assert reader.parse_line(bad) is None, bad  # type: ignore[arg-type]
    assert reader.count_kinds("") == {}
