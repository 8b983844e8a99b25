"""Check (padding) lines: every style says them and reads them back as the current state,
no other style reads them, the replay accepts a true one and catches a false one, and
padding reaches its target length without changing k."""

from __future__ import annotations

import pytest

from searchtrace.tasks import task_names
from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.pad import pad_to_length, pad_trace, think_chars
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style, style_names
from searchtrace.traces.trace import CHECK, MOVE
from tests.traces.support import render, with_one_backtrack


@pytest.mark.parametrize("name", task_names())
@pytest.mark.parametrize("style", style_names())
def test_check_lines_round_trip_and_verify_in_every_style(style: str, name: str) -> None:
    task, problem, tree, trace = with_one_backtrack(name)
    reader, phrasing = get_style(style), task.phrasing(style, problem.data)
    moves = sum(step.kind == MOVE for step in trace.steps)
    padded = pad_trace(trace, 2 * moves + 1)
    assert sum(step.kind == CHECK for step in padded.steps) == 2 * moves + 1
    others = [get_style(other) for other in style_names() if other != style]
    for salt in (0, 1, 2):
        lines, completion = render(task, problem, tree, padded, style, salt)
        assert len(lines) == len(padded.steps)
        for line, step in zip(lines, padded.steps, strict=True):
            if step.kind != CHECK:
                continue
            event = reader.parse_line(line)
            state = tree.nodes[step.node].state
            assert event is not None and event.kind == CHECK, line
            assert event.phrases == (phrasing.state_phrase(state),), line
            assert phrasing.state_claim_error(event.phrases[0], state) is None, line
            assert all(other.parse_line(line) is None for other in others), line
        assert reader.count_kinds("\n".join(lines))[CHECK] == 2 * moves + 1
        verdict = verify_completion(task, problem.data, completion, style,
                                    trace.num_backtracks)
        assert verdict.ok, verdict  # checks are no backtracks: the count still holds
        assert padded.backtrack_positions == tuple(
            i for i, line in enumerate(lines) if reader.parse_line(line).kind == "backtrack")


@pytest.mark.parametrize("name", task_names())
@pytest.mark.parametrize("style", style_names())
def test_a_check_line_stating_another_state_is_caught(style: str, name: str) -> None:
    """The first check line, after the first move, is made to state the initial state
    instead (which the first move changed): the replay fails it there as `wrong_check`."""
    task, problem, tree, trace = with_one_backtrack(name)
    phrasing = task.phrasing(style, problem.data)
    padded = pad_trace(trace, 1)
    lines, completion = render(task, problem, tree, padded, style, 0)
    at = next(i for i, step in enumerate(padded.steps) if step.kind == CHECK)
    true_phrase = phrasing.state_phrase(tree.nodes[padded.steps[at].node].state)
    false_phrase = phrasing.state_phrase(task.rules(problem.data).initial_state())
    assert true_phrase != false_phrase and lines[at].count(true_phrase) == 1
    bad = completion.replace(lines[at], lines[at].replace(true_phrase, false_phrase))
    verdict = verify_completion(task, problem.data, bad, style, trace.num_backtracks)
    assert (verdict.code, verdict.line) == ("wrong_check", at)


@pytest.mark.parametrize("style", style_names())
def test_padding_comes_nearest_the_target_and_keeps_k_zero(style: str) -> None:
    task, problem, tree, _ = with_one_backtrack("sudoku")
    rules = task.rules(problem.data)
    reader, phrasing = get_style(style), task.phrasing(style, problem.data)
    plain = linearize_exact(tree, rules, 0, "uniform", 4)
    length = think_chars(reader.render(plain, tree, phrasing, 7))
    assert pad_to_length(plain, tree, reader, phrasing, 7, length - 5) is plain
    for target in (length + 1, 2 * length, 5 * length + 3):
        padded = pad_to_length(plain, tree, reader, phrasing, 7, target)
        count = sum(step.kind == CHECK for step in padded.steps)
        reached = think_chars(reader.render(padded, tree, phrasing, 7))
        # no other count comes nearer: one fewer and one more are both as far or farther
        for other in (count - 1, count + 1):
            if other >= 0:
                near = think_chars(reader.render(pad_trace(plain, other), tree, phrasing, 7))
                assert abs(near - target) >= abs(reached - target), (target, other)
        assert padded.num_backtracks == 0 and padded.backtrack_positions == ()
        assert [s for s in padded.steps if s.kind != CHECK] == list(plain.steps)
