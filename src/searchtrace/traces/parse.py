"""Read a rendered completion back into raw events: the inverse of the line templates.

This layer only cuts lines into a kind and the task's phrases; the task's StepText reads
the phrases and the replay checks them against the rules. Nothing here raises on input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from searchtrace.traces.render import (
    NATURAL_AFTER_BACKTRACK,
    NATURAL_BACK,
    NATURAL_DEAD,
    NATURAL_GOAL,
    NATURAL_OPENERS,
)
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE


def _alternatives(options: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(o) for o in options)


_NATURAL = [
    (MOVE, re.compile(
        rf"^(?:{_alternatives([*NATURAL_OPENERS, NATURAL_AFTER_BACKTRACK])}) (.+?)\. (.+)\.$")),
    (DEAD_END, re.compile(rf"^(.+), (?:{_alternatives(NATURAL_DEAD)})\.$")),
    (BACKTRACK, re.compile(rf"^(?:{_alternatives(NATURAL_BACK)}) (.+)\.$")),
    (GOAL, re.compile(rf"^(.+), {re.escape(NATURAL_GOAL)}\.$")),
]
_COMPACT = [
    (MOVE, re.compile(r"^try (.+?) -> (.+)$")),
    (DEAD_END, re.compile(r"^dead: (.+)$")),
    (BACKTRACK, re.compile(r"^back to (.+)$")),
    (GOAL, re.compile(r"^goal: (.+)$")),
]
_THINK = re.compile(r"^\s*<think>\n?(.*?)\n?</think>\s*<answer>(.*?)</answer>\s*$", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


@dataclass(frozen=True)
class RawEvent:
    """A line cut by its template: `kind` and the phrases it holds, still as text."""

    kind: str
    phrases: tuple[str, ...]


def split_completion(completion: str) -> tuple[str, str] | None:
    """(think body, answer text) of a well-formed completion, else None."""
    if not isinstance(completion, str):
        return None
    match = _THINK.match(completion)
    if match is None:
        return None
    return match.group(1), match.group(2).strip()


def extract_answer(output: str) -> str:
    """The last `<answer>` block of free-form output, else the whole text stripped."""
    if not isinstance(output, str):
        return ""
    found = _ANSWER.findall(output)
    return found[-1].strip() if found else output.strip()


def parse_line(line: str, style: str) -> RawEvent | None:
    patterns = _COMPACT if style == "compact" else _NATURAL
    for kind, pattern in patterns:
        match = pattern.match(line)
        if match:
            return RawEvent(kind, match.groups())
    return None
