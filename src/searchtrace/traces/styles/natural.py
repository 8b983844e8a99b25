"""The natural style: sentences a person might think aloud ("Let me try 5+3=8. That
leaves 2, 8." ... "Let me go back to the numbers 5, 3, 2."), with openers and endings
varied per row by a salt."""

from __future__ import annotations

import re

from searchtrace.tasks.base import Phrasing
from searchtrace.traces.styles.base import TemplateStyle, alternatives, step_phrases
from searchtrace.traces.trace import BACKTRACK, CHECK, DEAD_END, GOAL, MOVE, Trace
from searchtrace.traces.tree import SearchTree

OPENERS = ("Let me try", "Next, try", "Then try")  # the first move takes the first
AFTER_BACKTRACK = "Instead, let me try"  # the move right after a backtrack
DEAD_ENDINGS = ("so this is a dead end", "so this branch fails")
BACK_OPENERS = ("Let me go back to", "Going back to")
GOAL_ENDING = "so the puzzle is solved"
CHECK_OPENERS = ("Let me double-check:", "To be sure, so far:")  # a padding line
CHECK_ENDING = "nothing has changed"


class NaturalStyle(TemplateStyle):
    """Each line a sentence: `<opener> <move>. <state>.`, `<claim>, <dead ending>.`,
    `<back opener> <target>.`, `<goal>, so the puzzle is solved.`, and a padding line
    `<check opener> <state>; nothing has changed.`"""

    name = "natural"
    templates = (
        (MOVE, rf"(?:{alternatives([*OPENERS, AFTER_BACKTRACK])}) (.(?:(?!\. ).)*)\. (.+)\."),
        (DEAD_END, rf"(.+), (?:{alternatives(DEAD_ENDINGS)})\."),
        (BACKTRACK, rf"(?:{alternatives(BACK_OPENERS)}) (.+)\."),
        (GOAL, rf"(.+), {re.escape(GOAL_ENDING)}\."),
        (CHECK, rf"(?:{alternatives(CHECK_OPENERS)}) (.+); {re.escape(CHECK_ENDING)}\."),
    )

    def render(self, trace: Trace, tree: SearchTree, phrasing: Phrasing,
               salt: int) -> list[str]:
        """One sentence per step; the wording picked by `salt` plus the step's index."""
        lines: list[str] = []
        previous = None
        for index, (kind, phrases) in enumerate(step_phrases(trace, tree, phrasing)):
            pick = salt + index
            if kind == MOVE:
                if previous is None:
                    opener = OPENERS[0]
                elif previous == BACKTRACK:
                    opener = AFTER_BACKTRACK
                else:
                    opener = OPENERS[pick % len(OPENERS)]
                move, state = phrases
                lines.append(f"{opener} {move}. {state}.")
            elif kind == DEAD_END:
                lines.append(f"{phrases[0]}, {DEAD_ENDINGS[pick % len(DEAD_ENDINGS)]}.")
            elif kind == BACKTRACK:
                lines.append(f"{BACK_OPENERS[pick % len(BACK_OPENERS)]} {phrases[0]}.")
            elif kind == CHECK:
                lines.append(f"{CHECK_OPENERS[pick % len(CHECK_OPENERS)]} {phrases[0]}; "
                             f"{CHECK_ENDING}.")
                continue  # a padding line leaves the next move's opener as it was
            else:  # GOAL
                lines.append(f"{phrases[0]}, {GOAL_ENDING}.")
            previous = kind
        return lines


STYLE = NaturalStyle()
