"""What a style is, and the machinery its line templates share.

A style writes a trace as think lines, one line per step, putting a task's phrases (its
`Phrasing` for that style) into the style's line templates; and it cuts a line back into
its kind and those phrases. The task's phrasing reads the phrases and the replay checks
them against the rules. Nothing here raises on input.

Everything here reads model output and dataset text, so it runs in time linear in the
input: patterns that try one cut per place at most, never lazy or repeated wildcards whose
backtracking turns quadratic on `". "` repeated. A line over MAX_LINE_CHARS is not read
at all: the verifier fails it with its own code (`line_too_long`) instead of parsing it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar, Protocol

from searchtrace.tasks.base import Phrasing
from searchtrace.traces.parse import MAX_LINE_CHARS
from searchtrace.traces.trace import BACKTRACK, CHECK, DEAD_END, MOVE, Trace
from searchtrace.traces.tree import SearchTree


@dataclass(frozen=True)
class RawEvent:
    """A line cut by its template: `kind` and the phrases it holds, still as text.

    A style whose lines say more than the phrases every style says fills the extras, which
    the replay then checks too: `costs`, a move line's stated (g, h) — the moves made so
    far and the rules' heuristic of the state reached; `stated`, a dead-end line's stated
    state. Other styles leave them None and are judged exactly as before."""

    kind: str
    phrases: tuple[str, ...]
    costs: tuple[str, str] | None = None
    stated: str | None = None


class Style(Protocol):
    """A way of saying a trace: `render` writes one line per step (`salt` varies the
    wording deterministically per row, where the style has choices); `parse_line` reads
    one line back; `count_kinds` counts the lines of a think body by kind in one pass;
    `line_template` blanks a line's phrases, leaving the shape of the template it used;
    `states_costs`: its move lines state the g/h costs, so one without them is refused
    unless the row's build dropped them."""

    name: str
    states_costs: bool

    def render(self, trace: Trace, tree: SearchTree, phrasing: Phrasing,
               salt: int) -> list[str]: ...

    def parse_line(self, line: str) -> RawEvent | None: ...

    def count_kinds(self, think: str) -> Counter[str]: ...

    def line_template(self, line: str) -> str | None: ...


def alternatives(options: Iterable[str]) -> str:
    """A pattern that matches any of `options`, each literally."""
    return "|".join(re.escape(option) for option in options)


def step_phrases(trace: Trace, tree: SearchTree,
                 phrasing: Phrasing) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each step's kind and the phrases its line holds, in trace order: a move's move and
    the state it reaches; a dead end's claim; a backtrack's target (the state and the move
    into it); a check's restatement of the current state; the goal's statement."""
    for step in trace.steps:
        node = tree.nodes[step.node]
        if step.kind == MOVE:
            phrases = (phrasing.move_phrase(node.move), phrasing.state_phrase(node.state))
        elif step.kind == DEAD_END:
            phrases = (phrasing.dead_end_phrase(node.state, node.reason),)
        elif step.kind == BACKTRACK:
            phrases = (phrasing.ref_phrase(node.state, node.move),)
        elif step.kind == CHECK:
            phrases = (phrasing.state_phrase(node.state),)
        else:  # GOAL
            phrases = (phrasing.goal_phrase(node.state),)
        yield step.kind, phrases


class TemplateStyle(ABC):
    """A style whose lines follow templates, read back by one pattern.

    A subclass names itself (`name`), writes its lines (`render`), and lists its line
    templates (`templates`): (kind, pattern body) in the order a line is tried, each
    phrase a group; a kind may have several templates. Each template has at most one
    phrase that can grow at both ends; a move's first phrase is tempered to stop at the
    first separator after it (`. `, ` -> `), the leftmost cut the template allows, so no
    match tries more than one cut and every match is linear in the line. `.` never
    matches a newline. A style with many templates may set `lead`, a pattern that the
    start of every line it writes matches: checked before any template, it refuses a
    line no template can start in one step, so counting a text of many short lines costs
    one step per line rather than one per template.
    """

    name: ClassVar[str]
    templates: ClassVar[tuple[tuple[str, str], ...]]
    lead: ClassVar[str] = ""
    states_costs: ClassVar[bool] = False

    def __init__(self) -> None:
        self._lines = _line_pattern(self.templates, self.lead)
        # Per template group (`t<index>`): its kind, and the slice of the line pattern's
        # groups that hold its phrases.
        self._kinds = {f"t{index}": kind for index, (kind, _) in enumerate(self.templates)}
        self._phrases = {
            name: slice(self._lines.groupindex[name],
                        self._lines.groupindex[name] + re.compile(body).groups)
            for name, (_, body) in zip(self._kinds, self.templates, strict=True)}

    @abstractmethod
    def render(self, trace: Trace, tree: SearchTree, phrasing: Phrasing,
               salt: int) -> list[str]:
        """One line per step of `trace`."""

    def parse_line(self, line: str) -> RawEvent | None:
        """The kind and phrases of one think line, or None: unrecognised, holding a
        newline, or over MAX_LINE_CHARS."""
        match = self._match(line)
        if match is None:
            return None
        return RawEvent(self._kinds[match.lastgroup],
                        match.groups()[self._phrases[match.lastgroup]])

    def line_template(self, line: str) -> str | None:
        """The shape of `line`: the line with each phrase its template cut out replaced by
        `{}` ("Let me try {}. {}."), or None where parse_line reads nothing. Two lines
        share a shape exactly when the same template wrote them with the same wording."""
        match = self._match(line)
        if match is None:
            return None
        phrases = self._phrases[match.lastgroup]
        parts, end = [], 0
        for group in range(phrases.start + 1, phrases.stop + 1):
            start, stop = match.span(group)
            parts += [line[end:start], "{}"]
            end = stop
        return "".join([*parts, line[end:]])

    def count_kinds(self, think: str) -> Counter[str]:
        """How many lines of `think` (split at newlines) parse_line reads as each kind,
        found in one pass of the line pattern: a text of many short lines costs no Python
        call per line."""
        return Counter(self._kinds[match.lastgroup] for match in self._lines.finditer(think))

    def _match(self, line: str) -> re.Match[str] | None:
        if not isinstance(line, str) or len(line) > MAX_LINE_CHARS:
            return None
        return self._lines.fullmatch(line)


def _line_pattern(templates: tuple[tuple[str, str], ...], lead: str) -> re.Pattern[str]:
    """One pattern for every line of a text: a line of at most MAX_LINE_CHARS, starting
    as `lead` says (where it says anything), that one template matches whole, the first
    in order winning, in a group named `t<index>` by the template's place in
    `templates`."""
    bodies = "|".join(f"(?P<t{index}>{body})" for index, (_, body) in enumerate(templates))
    start = f"(?={lead})" if lead else ""
    return re.compile(rf"^{start}(?=.{{0,{MAX_LINE_CHARS}}}$)(?:{bodies})$", re.MULTILINE)

