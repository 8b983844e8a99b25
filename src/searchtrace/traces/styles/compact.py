"""The compact style: terse lines in the manner of Stream-of-Search ("try 5+3=8 -> [2, 8]",
"dead: ...", "back to ...", "goal: ..."), the same for every row."""

from __future__ import annotations

from searchtrace.tasks.base import Phrasing
from searchtrace.traces.styles.base import TemplateStyle, step_phrases
from searchtrace.traces.trace import BACKTRACK, CHECK, DEAD_END, GOAL, MOVE, Trace
from searchtrace.traces.tree import SearchTree

# Each kind's line, its phrases filled in order.
LINES = {MOVE: "try {} -> {}", DEAD_END: "dead: {}", BACKTRACK: "back to {}", GOAL: "goal: {}",
         CHECK: "recheck: {}"}


class CompactStyle(TemplateStyle):
    """Each line a keyword and the phrases: `try <move> -> <state>`, `dead: <claim>`,
    `back to <target>`, `goal: <goal>`, and a padding line `recheck: <state>`."""

    name = "compact"
    templates = (
        (MOVE, r"try (.(?:(?! -> ).)*) -> (.+)"),
        (DEAD_END, r"dead: (.+)"),
        (BACKTRACK, r"back to (.+)"),
        (GOAL, r"goal: (.+)"),
        (CHECK, r"recheck: (.+)"),
    )

    def render(self, trace: Trace, tree: SearchTree, phrasing: Phrasing,
               salt: int) -> list[str]:
        """One line per step; `salt` is unused: the compact style has no choices."""
        return [LINES[kind].format(*phrases)
                for kind, phrases in step_phrases(trace, tree, phrasing)]


STYLE = CompactStyle()
