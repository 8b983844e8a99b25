"""The natural style: its openers and endings, varied per row by the salt, and the phrases
its templates cut out of a line."""

from __future__ import annotations

from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.styles import get_style
from searchtrace.traces.styles.natural import (
    AFTER_BACKTRACK,
    BACK_OPENERS,
    DEAD_ENDINGS,
    OPENERS,
)
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE
from tests.traces.support import COUNTDOWN, countdown, render, solve

NATURAL = get_style("natural")


def test_natural_phrasing_varies_with_salt_and_keeps_its_openers() -> None:
    task, problem = COUNTDOWN, countdown(0)
    tree = solve(task, problem)
    trace = linearize_exact(tree, task.rules(problem.data), 5, "uniform", 4)
    openers, deads, backs = set(), set(), set()
    for salt in range(6):
        lines, _ = render(task, problem, tree, trace, "natural", salt)
        for i, (line, step) in enumerate(zip(lines, trace.steps, strict=True)):
            if step.kind == MOVE:
                opener = next(o for o in (*OPENERS, AFTER_BACKTRACK)
                              if line.startswith(f"{o} "))
                if i == 0:
                    assert opener == OPENERS[0]
                elif trace.steps[i - 1].kind == BACKTRACK:
                    assert opener == AFTER_BACKTRACK
                else:
                    openers.add(opener)
            elif step.kind == DEAD_END:
                deads.add(next(d for d in DEAD_ENDINGS if line.endswith(f", {d}.")))
            elif step.kind == BACKTRACK:
                backs.add(next(b for b in BACK_OPENERS if line.startswith(f"{b} ")))
    assert openers == set(OPENERS)
    assert deads == set(DEAD_ENDINGS) and backs == set(BACK_OPENERS)
    assert render(task, problem, tree, trace, "natural", 4) == render(
        task, problem, tree, trace, "natural", 4)


def test_parse_line_reads_the_phrases_of_each_kind() -> None:
    assert NATURAL.parse_line("Let me try 5+3=8. That leaves 2, 8.").phrases == (
        "5+3=8", "That leaves 2, 8")
    assert NATURAL.parse_line("2 and 8 cannot make 24, so this branch fails.").phrases == (
        "2 and 8 cannot make 24",)
    assert NATURAL.parse_line("Going back to the numbers 5, 3, 2.").phrases == (
        "the numbers 5, 3, 2",)
    assert NATURAL.parse_line("24 is the target, so the puzzle is solved.").kind == GOAL
    for garbage in ("", "Let me try", "try", "dead:", "Maybe try 5+3=8. That leaves 2, 8.",
                    "let me try 5+3=8. That leaves 2, 8.", "Let me try 5+3=8. That leaves 2, 8",
                    "try 5+3=8 -> [2, 8]", "back to [5, 3, 2]"):
        assert NATURAL.parse_line(garbage) is None, garbage


def test_a_move_phrase_ends_at_the_first_full_stop() -> None:
    """The move is cut at the first `. `: the leftmost cut, so the match is linear."""
    assert NATURAL.parse_line("Then try a. b. c.").phrases == ("a", "b. c")
    assert NATURAL.parse_line("Instead, let me try x. y.").phrases == ("x", "y")
