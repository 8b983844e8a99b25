"""The reflective style: self-checking prose in the manner of ASTRO, which turns search trees
into text that reflects and recovers ("Let me check: 5+3=8. That leaves 2, 8. That is
consistent so far." ... "Wait, this does not work: 2 and 8 cannot make 24." ... "Let me
reconsider from the numbers 5, 3, 2.").

Every line starts with a fixed opener, and no opener is a prefix of another, so the start
of a line alone decides which template it can be: the templates cannot be ambiguous with
each other, whatever the phrases hold. No line of this style ends or begins the way a
natural or compact line does, so no style reads another's lines. Which template each line
takes is picked from the row's salt and the step's index by a fixed hash (blake2b), so the
same trace and salt always give the same text, on any machine.
"""

from __future__ import annotations

import hashlib
import re

from searchtrace.tasks.base import Phrasing
from searchtrace.traces.styles.base import TemplateStyle, step_phrases
from searchtrace.traces.trace import BACKTRACK, CHECK, DEAD_END, GOAL, MOVE, Trace
from searchtrace.traces.tree import SearchTree

# Each template is the line with `{}` where a phrase goes: a move's move, then the state it
# reaches; a dead end's claim; a backtrack's target; the goal's statement; a check's state.
MOVES = (  # a move that does not follow a backtrack
    "Suppose I try {}. {}.",
    "Let me check: {}. {}. That is consistent so far.",
    "Trying {} next. {}.",
    "Consider {}. {}.",
    "One option is {}. {}.",
    "I will go with {}. {}.",
    "Continuing with {}. {}.",
    "Let me test {}. {}. Checking that again, it holds.",
)
RECOVERIES = (  # the move right after a backtrack
    "Let me reconsider and try {}. {}.",
    "A different choice this time: {}. {}.",
    "This time, try {}. {}.",
)
DEAD_ENDS = (
    "Wait, this does not work: {}.",
    "Hmm. {}. This branch fails.",
    "Checking this state: {}. So it is a dead end.",
    "That cannot be right: {}.",
    "No way forward here. {}.",
    "Let me double-check this state: {}. It fails.",
)
BACKTRACKS = (
    "Let me reconsider from {}.",
    "Back up to {}.",
    "I should return to {} and think again.",
    "Let me step back to {}.",
    "So I backtrack to {}.",
)
GOALS = (
    "Let me verify the result: {}. The puzzle is solved.",
    "Checking the final state: {}. Done.",
    "One last check: {}. That is the answer.",
)
CHECKS = (  # a padding line (`traces.length_match`): the current state, restated
    "Let me re-check where I am: {}. Nothing has changed.",
    "To be sure, once more: {}.",
    "Still on track: {}.",
)
TEMPLATES = {MOVE: MOVES + RECOVERIES, DEAD_END: DEAD_ENDS, BACKTRACK: BACKTRACKS,
             GOAL: GOALS, CHECK: CHECKS}

# A move's first phrase stops at the first `. ` (the leftmost cut); the last phrase of a
# line runs to the fixed ending, which the end of the line anchors.
_MOVE_PHRASE = r"(.(?:(?!\. ).)*)"
_LAST_PHRASE = "(.+)"


def _pattern(template: str, phrases: tuple[str, ...]) -> str:
    """The pattern body of `template`: its text literally, each `{}` the phrase pattern
    given for it, in order."""
    *pieces, ending = template.split("{}")
    return "".join(re.escape(piece) + phrase
                   for piece, phrase in zip(pieces, phrases, strict=True)) + re.escape(ending)


def _templates() -> tuple[tuple[str, str], ...]:
    """(kind, pattern body) for every template, moves first."""
    out = [(MOVE, _pattern(t, (_MOVE_PHRASE, _LAST_PHRASE))) for t in TEMPLATES[MOVE]]
    out += [(kind, _pattern(t, (_LAST_PHRASE,)))
            for kind in (DEAD_END, BACKTRACK, GOAL, CHECK) for t in TEMPLATES[kind]]
    return tuple(out)


def _lead() -> str:
    """A pattern every line of the style starts with: per first letter of the openers, the
    text all openers with that letter start with ("Let me " for the seven that start with
    L), so a line that cannot begin any template is refused before any template is tried."""
    by_letter: dict[str, list[str]] = {}
    for template in (t for templates in TEMPLATES.values() for t in templates):
        by_letter.setdefault(template[0], []).append(template.split("{}")[0])
    shared = sorted(_common_prefix(openers) for openers in by_letter.values())
    letters = "".join(re.escape(prefix) for prefix in shared if len(prefix) == 1)
    return "|".join([f"[{letters}]", *(re.escape(p) for p in shared if len(p) > 1)])


def _common_prefix(texts: list[str]) -> str:
    """The longest text every one of `texts` starts with (that of the first and last in
    sorted order)."""
    first, last = min(texts), max(texts)
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False))
                 if a != b), len(first))
    return first[:size]


def pick(options: tuple[str, ...], salt: int, index: int, previous: str | None) -> str:
    """The option the step at `index` of a row with `salt` takes: a fixed hash of both, so
    neighbouring lines and rows vary without a pattern a reader can count on; never the
    `previous` line's template, so no template follows itself."""
    digest = hashlib.blake2b(f"{salt}:{index}".encode(), digest_size=8).digest()
    at = int.from_bytes(digest, "big") % len(options)
    return options[(at + 1) % len(options)] if options[at] == previous else options[at]


class ReflectiveStyle(TemplateStyle):
    """Each line a sentence or two that tries, checks, doubts and recovers: a move (one of
    MOVES, or of RECOVERIES right after a backtrack), a dead end stated with why it fails
    (DEAD_ENDS), a backtrack that reconsiders (BACKTRACKS), the goal checked (GOALS), and
    a padding line that restates the current state (CHECKS)."""

    name = "reflective"
    templates = _templates()
    lead = _lead()

    def render(self, trace: Trace, tree: SearchTree, phrasing: Phrasing,
               salt: int) -> list[str]:
        """One line per step, each template picked by `salt` and the step's index."""
        lines: list[str] = []
        previous_kind = previous_template = None
        for index, (kind, phrases) in enumerate(step_phrases(trace, tree, phrasing)):
            if kind == MOVE and previous_kind == BACKTRACK:
                options = RECOVERIES
            elif kind == MOVE:
                options = MOVES
            else:
                options = TEMPLATES[kind]
            previous_template = pick(options, salt, index, previous_template)
            lines.append(previous_template.format(*phrases))
            previous_kind = kind
        return lines


STYLE = ReflectiveStyle()
