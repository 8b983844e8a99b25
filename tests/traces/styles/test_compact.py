"""The compact style: one keyword per kind, the same line whatever the salt, and the
phrases its templates cut out of a line."""

from __future__ import annotations

from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.styles import get_style
from searchtrace.traces.styles.compact import LINES
from tests.traces.support import COUNTDOWN, countdown, render, solve

COMPACT = get_style("compact")


def test_compact_lines_start_with_their_keyword_and_ignore_the_salt() -> None:
    task, problem = COUNTDOWN, countdown(0)
    tree = solve(task, problem)
    trace = linearize_exact(tree, task.rules(problem.data), 5, "uniform", 4)
    lines, _ = render(task, problem, tree, trace, "compact", 0)
    for line, step in zip(lines, trace.steps, strict=True):
        assert line.startswith(LINES[step.kind].split("{}")[0]), line
    for salt in range(1, 6):
        assert render(task, problem, tree, trace, "compact", salt)[0] == lines


def test_parse_line_reads_the_phrases_of_each_kind() -> None:
    assert COMPACT.parse_line("try 5+3=8 -> [2, 8]").phrases == ("5+3=8", "[2, 8]")
    assert COMPACT.parse_line("dead: 2,8 cannot make 24").phrases == ("2,8 cannot make 24",)
    assert COMPACT.parse_line("back to [5, 3, 2]").phrases == ("[5, 3, 2]",)
    assert COMPACT.parse_line("goal: 24 = 24").phrases == ("24 = 24",)
    for garbage in ("", "Let me try", "try", "dead:", "Maybe try 5+3=8. That leaves 2, 8.",
                    "let me try 5+3=8. That leaves 2, 8.", "Let me try 5+3=8. That leaves 2, 8",
                    "Let me try 5+3=8. That leaves 2, 8.", "Try 5+3=8 -> [2, 8]"):
        assert COMPACT.parse_line(garbage) is None, garbage


def test_a_move_phrase_ends_at_the_first_arrow() -> None:
    """The move is cut at the first ` -> `: the leftmost cut, so the match is linear."""
    assert COMPACT.parse_line("try a -> b -> c").phrases == ("a", "b -> c")
