"""stats.json's line templates: each think line blanked to the template its style wrote it
with, counted over a build's completions, checked against counts written out by hand."""

from __future__ import annotations

from searchtrace.pipelines.outputs import line_template_counts
from searchtrace.traces.render import format_completion
from searchtrace.traces.styles import get_style


def test_line_templates_are_counted_by_shape_most_used_first() -> None:
    completions = [
        format_completion(["Let me try 5+3=8. That leaves 2, 8.",
                           "2 and 8 cannot make 24, so this is a dead end.",
                           "Going back to the numbers 5, 3, 2.",
                           "Instead, let me try 5*3=15. That leaves 2, 15.",
                           "Next, try 15+2=17. That leaves 17."], "5*3+2"),
        format_completion(["Let me try 4+4=8. That leaves 8.",
                           "8 is the target, so the puzzle is solved."], "4+4"),
    ]
    assert line_template_counts(get_style("natural"), completions) == {
        "distinct": 6,
        "counts": {"Let me try {}. {}.": 2, "Going back to {}.": 1,
                   "Instead, let me try {}. {}.": 1, "Next, try {}. {}.": 1,
                   "{}, so the puzzle is solved.": 1, "{}, so this is a dead end.": 1},
        "unread_lines": 0,
    }


def test_lines_a_style_cannot_read_are_counted_apart() -> None:
    completions = [format_completion(["try 5+3=8 -> [2, 8]", "I am not sure.", "goal: 8 = 8"],
                                     "5+3"),
                   "no think block at all"]
    assert line_template_counts(get_style("compact"), completions) == {
        "distinct": 2, "counts": {"goal: {}": 1, "try {} -> {}": 1}, "unread_lines": 1}
    assert line_template_counts(get_style("compact"), []) == {
        "distinct": 0, "counts": {}, "unread_lines": 0}
