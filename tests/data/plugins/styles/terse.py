"""A toy style kept outside the package (tests/test_plugins.py): compact's phrases behind
other line prefixes (`+ <move> => <state>`, `x <claim>`, `< <target>`, `= <goal>`). It
is found only when this folder is added to `searchtrace.traces.styles.__path__`."""

from __future__ import annotations

from searchtrace.tasks.base import Phrasing
from searchtrace.traces.styles.base import TemplateStyle, step_phrases
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE, Trace
from searchtrace.traces.tree import SearchTree

LINES = {MOVE: "+ {} => {}", DEAD_END: "x {}", BACKTRACK: "< {}", GOAL: "= {}"}


class TerseStyle(TemplateStyle):
    name = "terse"
    templates = (
        (MOVE, r"\+ (.(?:(?! => ).)*) => (.+)"),
        (DEAD_END, r"x (.+)"),
        (BACKTRACK, r"< (.+)"),
        (GOAL, r"= (.+)"),
    )

    def render(self, trace: Trace, tree: SearchTree, phrasing: Phrasing,
               salt: int) -> list[str]:
        return [LINES[kind].format(*phrases)
                for kind, phrases in step_phrases(trace, tree, phrasing)]


STYLE = TerseStyle()
