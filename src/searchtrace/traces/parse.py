"""Read a rendered completion back into raw events: the inverse of the line templates.

This layer only cuts lines into a kind and the task's phrases; the task's StepText reads
the phrases and the replay checks them against the rules. Nothing here raises on input.

Everything here reads model output and dataset text, so it runs in time linear in the
input: string methods (find, startswith, endswith) and patterns that try one cut per
place at most, never lazy or repeated wildcards whose backtracking turns quadratic on
`<answer>` or `". "` repeated. The caps below bound what the verifier reads at all: a
longer line or completion fails to verify with its own code (`line_too_long`,
`completion_too_long`) instead of being parsed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from searchtrace.traces.render import (
    NATURAL_AFTER_BACKTRACK,
    NATURAL_BACK,
    NATURAL_DEAD,
    NATURAL_GOAL,
    NATURAL_OPENERS,
)
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE

# The longest rendered line of any task at its largest settings is a few hundred
# characters (a 40-node coloring's dead end); the longest completion, a 41x41 maze with
# k=64 dead ends of 100 moves each, is about 600 kB. The caps leave room above both.
MAX_LINE_CHARS = 2_000
MAX_COMPLETION_CHARS = 1_000_000

_THINK_OPEN = "<think>"
_ANSWER_OPEN, _ANSWER_CLOSE = "<answer>", "</answer>"
_SPACE = re.compile(r"\s*")  # one run of whitespace, matched at a position: linear
# Where the think body ends and the answer begins. Tried at each position, it reads past
# one `</think>` and the whitespace after it only: linear in the text it searches.
_BODY_END = re.compile(r"\n?</think>\s*<answer>")


def _alternatives(options: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(o) for o in options)


# The line templates of each style, in the order a line is tried against them. Each has
# at most one phrase that can grow at both ends; a move's first phrase is tempered to stop
# at the first `. ` (or ` -> `), the leftmost cut the template allows, so no match tries
# more than one cut and every match is linear in the line. `.` never matches a newline.
_TEMPLATES = {
    "natural": (
        (MOVE, rf"(?:{_alternatives([*NATURAL_OPENERS, NATURAL_AFTER_BACKTRACK])}) "
               r"(.(?:(?!\. ).)*)\. (.+)\."),
        (DEAD_END, rf"(.+), (?:{_alternatives(NATURAL_DEAD)})\."),
        (BACKTRACK, rf"(?:{_alternatives(NATURAL_BACK)}) (.+)\."),
        (GOAL, rf"(.+), {re.escape(NATURAL_GOAL)}\."),
    ),
    "compact": (
        (MOVE, r"try (.(?:(?! -> ).)*) -> (.+)"),
        (DEAD_END, r"dead: (.+)"),
        (BACKTRACK, r"back to (.+)"),
        (GOAL, r"goal: (.+)"),
    ),
}


def _line_pattern(templates: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    """One pattern for every line of a text: a line of at most MAX_LINE_CHARS that one
    template matches whole, the first in order winning, in a group named by its kind."""
    kinds = "|".join(f"(?P<{kind}>{body})" for kind, body in templates)
    return re.compile(rf"^(?=.{{0,{MAX_LINE_CHARS}}}$)(?:{kinds})$", re.MULTILINE)


_LINES = {style: _line_pattern(templates) for style, templates in _TEMPLATES.items()}
# Per style and kind: the slice of the line pattern's groups that hold the kind's phrases.
_PHRASES = {
    style: {kind: slice(_LINES[style].groupindex[kind], _LINES[style].groupindex[kind]
                        + re.compile(body).groups)
            for kind, body in templates}
    for style, templates in _TEMPLATES.items()
}


def _style(style: str) -> str:
    """Any style but compact reads as natural, as the renderer writes it."""
    return "compact" if style == "compact" else "natural"


@dataclass(frozen=True)
class RawEvent:
    """A line cut by its template: `kind` and the phrases it holds, still as text."""

    kind: str
    phrases: tuple[str, ...]


def split_completion(completion: str) -> tuple[str, str] | None:
    """(think body, answer text) of a well-formed completion, else None.

    Well-formed: optional whitespace, `<think>`, the body (one newline after `<think>` and
    one before `</think>` are not part of it), `</think>`, whitespace, `<answer>`, the
    answer, `</answer>` and nothing but whitespace. The body ends at the first
    `</think>` that is followed by whitespace and `<answer>`; the answer runs to the final
    `</answer>` (so either may contain the other's tags as text)."""
    if not isinstance(completion, str):
        return None
    start = _SPACE.match(completion).end()
    if not completion.startswith(_THINK_OPEN, start):
        return None
    body_start = start + len(_THINK_OPEN)
    if completion.startswith("\n", body_start):
        body_start += 1
    end = len(completion.rstrip())
    if not completion.endswith(_ANSWER_CLOSE, 0, end):
        return None
    answer_end = end - len(_ANSWER_CLOSE)
    middle = _BODY_END.search(completion, body_start, answer_end)
    if middle is None:
        return None
    return completion[body_start:middle.start()], completion[middle.end():answer_end].strip()


def extract_answer(output: str) -> str:
    """The last `<answer>` block of free-form output, else the whole text stripped.

    Blocks are read left to right, each from an `<answer>` to the first `</answer>` after
    it; an `<answer>` with no `</answer>` after it ends the search."""
    if not isinstance(output, str):
        return ""
    found: str | None = None
    position = 0
    while True:
        opening = output.find(_ANSWER_OPEN, position)
        if opening == -1:
            break
        start = opening + len(_ANSWER_OPEN)
        closing = output.find(_ANSWER_CLOSE, start)
        if closing == -1:
            break
        found = output[start:closing]
        position = closing + len(_ANSWER_CLOSE)
    return found.strip() if found is not None else output.strip()


def parse_line(line: str, style: str) -> RawEvent | None:
    """The kind and phrases of one think line, or None: unrecognised, holding a newline,
    or over MAX_LINE_CHARS."""
    if not isinstance(line, str) or len(line) > MAX_LINE_CHARS:
        return None
    style = _style(style)
    match = _LINES[style].fullmatch(line)
    if match is None:
        return None
    kind = match.lastgroup
    return RawEvent(kind, match.groups()[_PHRASES[style][kind]])


def count_kinds(think: str, style: str) -> Counter[str]:
    """How many lines of `think` (split at newlines) parse_line reads as each kind, found
    in one pass of the line pattern: a text of many short lines costs no Python call per
    line."""
    return Counter(match.lastgroup for match in _LINES[_style(style)].finditer(think))
