"""How coloring steps are said and read back: one phrasing per style.

The natural style names colors (red, green, blue, ...) and speaks in sentences; the compact
style writes a color by its initial (R, G, B, ...) in short tokens. Both read back exactly
what they write and return None on anything else; a stated state is checked against the
rules whichever node it names, and a path state is named, in both styles, by the move that
made it (a path colors each node once).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar, Self

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.coloring.rules import (
    COLOR_LETTERS,
    COLOR_NAMES,
    MAX_COLORS,
    NO_COLOR_LEFT,
    ColoringMove,
    ColoringRules,
    Graph,
    State,
    colors_of,
    next_node,
    or_list,
)

START = "start"  # the key of the start state as a backtrack target
DONE = "done"  # what `_read_claim` returns for a state phrase saying every node is colored

_NUM = r"[0-9]{1,3}"
_WORD = r"[a-z]{1,12}"
_LETTER = r"[A-Z]"
_NAME_TO_COLOR = {name: i + 1 for i, name in enumerate(COLOR_NAMES)}
_LETTER_TO_COLOR = {letter: i + 1 for i, letter in enumerate(COLOR_LETTERS)}
_NATURAL_MOVE = re.compile(rf"coloring node ({_NUM}) ({_WORD})")
_NATURAL_DONE = "Now every node has a color"
_NATURAL_NONE = re.compile(rf"Now node ({_NUM}) has no color left")
_NATURAL_ONE = re.compile(rf"Now node ({_NUM}) must be ({_WORD})")
_NATURAL_SOME = re.compile(rf"Now node ({_NUM}) can be ({_WORD}(?:, {_WORD})* or {_WORD})")
_NATURAL_DEAD = re.compile(
    rf"Node ({_NUM}) has no color left: its neighbors ({_NUM}(?:, {_NUM})* and {_NUM}) are "
    rf"({_WORD}(?:, {_WORD})* and {_WORD})")
_NATURAL_START = "the start"
_NATURAL_REF_PREFIX = "the point where "
_NATURAL_REF = re.compile(rf"node ({_NUM}) was colored ({_WORD})")
_COMPACT_MOVE = re.compile(rf"({_NUM})=({_LETTER})")
_COMPACT_STATE = re.compile(rf"({_NUM}):\{{((?:{_LETTER}(?:,{_LETTER})*)?)\}}")
_COMPACT_DEAD = re.compile(rf"({_NUM}) blocked by ((?:{_NUM}={_LETTER},)*{_NUM}={_LETTER})")
_COMPACT_REF_PREFIX = "after "
_Claim = str | tuple[int, list[int]]


class ColoringPhrasing(ABC):
    """What both styles share: the graph, the node a state phrase talks about, checking a
    stated node's free colors, and the key of a backtrack target."""

    names: ClassVar[tuple[str, ...]]  # how the style says each color, color 1 first

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        return cls(Graph.from_data(data))

    def _name(self, color: int) -> str:
        return self.names[color - 1] if 1 <= color <= MAX_COLORS else "?"

    def _focus(self, state: State) -> int | None:
        """The node a state phrase talks about: a node with no color left, else the next."""
        dead = self.graph.dead_node(state)
        return dead if dead is not None else next_node(state)

    def state_claim_error(self, text: str, state: State) -> str | None:
        """None when the stated node is uncolored with exactly the stated free colors (any
        uncolored node, not only the one the renderer picks), or "done" of a full state."""
        claim = self._read_claim(text)
        if claim is None:
            return f"cannot read the stated node {text!r}"
        graph = self.graph
        if claim == DONE:
            if 0 in state:
                return f"states every node is colored but node {state.index(0) + 1} is not"
            return None
        node, stated = claim
        if not 1 <= node <= graph.n:
            return f"node {node} is not in the graph (nodes are 1 to {graph.n})"
        if state[node - 1]:
            return f"node {node} is already {graph.color_name(state[node - 1])}"
        actual = colors_of(graph.free(state, node - 1))
        if sorted(stated) != actual:
            said = ", ".join(graph.color_name(c) for c in sorted(stated)) or "nothing"
            true = ", ".join(graph.color_name(c) for c in actual) or "nothing"
            return f"states node {node} can be {said} but it can be {true}"
        return None

    @abstractmethod
    def _read_claim(self, text: str) -> _Claim | None:
        """`DONE`, or (1-based node, stated colors), or None when unreadable."""

    def ref_key(self, state: State, move_in: ColoringMove | None) -> Hashable:
        return START if move_in is None else (move_in.node, move_in.color)


class ColoringNatural(ColoringPhrasing):
    """Sentences that name colors: "coloring node 4 blue", "Now node 2 can be green or blue"."""

    names = COLOR_NAMES

    def move_phrase(self, move: ColoringMove) -> str:
        return f"coloring node {move.node} {self._name(move.color)}"

    def parse_move(self, text: str) -> ColoringMove | None:
        match = _NATURAL_MOVE.fullmatch(text)
        if match is None or match.group(2) not in _NAME_TO_COLOR:
            return None
        return ColoringMove(int(match.group(1)), _NAME_TO_COLOR[match.group(2)])

    def state_phrase(self, state: State) -> str:
        node = self._focus(state)
        if node is None:
            return _NATURAL_DONE
        names = [self._name(c) for c in colors_of(self.graph.free(state, node))]
        if not names:
            return f"Now node {node + 1} has no color left"
        if len(names) == 1:
            return f"Now node {node + 1} must be {names[0]}"
        return f"Now node {node + 1} can be {or_list(names)}"

    def _read_claim(self, text: str) -> _Claim | None:
        if text == _NATURAL_DONE:
            return DONE
        match = _NATURAL_NONE.fullmatch(text)
        if match is not None:
            return int(match.group(1)), []
        match = _NATURAL_ONE.fullmatch(text) or _NATURAL_SOME.fullmatch(text)
        if match is None:
            return None
        names = _split_list(match.group(2), "or")
        if any(name not in _NAME_TO_COLOR for name in names):
            return None
        return int(match.group(1)), [_NAME_TO_COLOR[name] for name in names]

    def dead_end_phrase(self, state: State, dead: DeadEnd) -> str:
        node, rest = dead.detail[0], dead.detail[1:]
        pairs = list(zip(rest[::2], rest[1::2], strict=True))
        return (f"Node {node} has no color left: its neighbors "
                f"{_and_list([str(u) for u, _ in pairs])} are "
                f"{_and_list([self._name(c) for _, c in pairs])}")

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = _NATURAL_DEAD.fullmatch(text)
        if match is None:
            return None
        nodes = _split_list(match.group(2), "and")
        names = _split_list(match.group(3), "and")
        if len(nodes) != len(names) or any(name not in _NAME_TO_COLOR for name in names):
            return None
        flat = [x for u, name in zip(nodes, names, strict=True)
                for x in (int(u), _NAME_TO_COLOR[name])]
        return DeadEnd(NO_COLOR_LEFT, (int(match.group(1)), *flat))

    def ref_phrase(self, state: State, move_in: ColoringMove | None) -> str:
        if move_in is None:
            return _NATURAL_START
        return f"{_NATURAL_REF_PREFIX}node {move_in.node} was colored {self._name(move_in.color)}"

    def parse_ref(self, text: str) -> Hashable | None:
        if text == _NATURAL_START:
            return START
        if not text.startswith(_NATURAL_REF_PREFIX):
            return None
        match = _NATURAL_REF.fullmatch(text[len(_NATURAL_REF_PREFIX) :])
        if match is None or match.group(2) not in _NAME_TO_COLOR:
            return None
        return int(match.group(1)), _NAME_TO_COLOR[match.group(2)]

    def goal_phrase(self, state: State) -> str:
        return (f"All {len(state)} nodes are colored and every edge joins two different "
                f"colors")


class ColoringCompact(ColoringPhrasing):
    """Tokens with color initials: "4=B", "2:{G,B}", "4 blocked by 1=R,2=G,3=B"."""

    names = COLOR_LETTERS

    def move_phrase(self, move: ColoringMove) -> str:
        return f"{move.node}={self._name(move.color)}"

    def parse_move(self, text: str) -> ColoringMove | None:
        match = _COMPACT_MOVE.fullmatch(text)
        if match is None or match.group(2) not in _LETTER_TO_COLOR:
            return None
        return ColoringMove(int(match.group(1)), _LETTER_TO_COLOR[match.group(2)])

    def state_phrase(self, state: State) -> str:
        node = self._focus(state)
        if node is None:
            return DONE
        free = colors_of(self.graph.free(state, node))
        return f"{node + 1}:{{{','.join(self._name(c) for c in free)}}}"

    def _read_claim(self, text: str) -> _Claim | None:
        if text == DONE:
            return DONE
        match = _COMPACT_STATE.fullmatch(text)
        if match is None:
            return None
        listed = match.group(2)
        letters = listed.split(",") if listed else []
        if any(letter not in _LETTER_TO_COLOR for letter in letters):
            return None
        return int(match.group(1)), [_LETTER_TO_COLOR[x] for x in letters]

    def dead_end_phrase(self, state: State, dead: DeadEnd) -> str:
        node, rest = dead.detail[0], dead.detail[1:]
        listed = ",".join(f"{u}={self._name(c)}" for u, c in zip(rest[::2], rest[1::2],
                                                                  strict=True))
        return f"{node} blocked by {listed}"

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = _COMPACT_DEAD.fullmatch(text)
        if match is None:
            return None
        pairs = [item.split("=") for item in match.group(2).split(",")]
        if any(letter not in _LETTER_TO_COLOR for _, letter in pairs):
            return None
        flat = [x for u, letter in pairs for x in (int(u), _LETTER_TO_COLOR[letter])]
        return DeadEnd(NO_COLOR_LEFT, (int(match.group(1)), *flat))

    def ref_phrase(self, state: State, move_in: ColoringMove | None) -> str:
        return START if move_in is None else _COMPACT_REF_PREFIX + self.move_phrase(move_in)

    def parse_ref(self, text: str) -> Hashable | None:
        if text == START:
            return START
        if not text.startswith(_COMPACT_REF_PREFIX):
            return None
        move = self.parse_move(text[len(_COMPACT_REF_PREFIX) :])
        return None if move is None else (move.node, move.color)

    def goal_phrase(self, state: State) -> str:
        return "all colored"


_TOKENS_MOVE = re.compile(rf"n({_NUM}) ({_LETTER})")
_TOKENS_STATE = re.compile(rf"n({_NUM})((?: {_LETTER})+| none)")
_TOKENS_DEAD = re.compile(rf"n({_NUM}) blocked((?: n{_NUM} {_LETTER})+)")


class ColoringTokens(ColoringPhrasing):
    """Space-separated tokens with color initials, with the rules for the tokens style's
    costs: a move "n4 B", a node's free colors "n2 G B" (or "n2 none"), "done", a dead end
    "n4 blocked n1 R n2 G n3 B", a backtrack target "start" or the move that made it, the
    goal "done"."""

    names = COLOR_LETTERS
    rules: ColoringRules

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        phrasing = cls(Graph.from_data(data))
        phrasing.rules = ColoringRules(phrasing.graph)
        return phrasing

    def move_phrase(self, move: ColoringMove) -> str:
        return f"n{move.node} {self._name(move.color)}"

    def parse_move(self, text: str) -> ColoringMove | None:
        match = _TOKENS_MOVE.fullmatch(text)
        if match is None or match.group(2) not in _LETTER_TO_COLOR:
            return None
        return ColoringMove(int(match.group(1)), _LETTER_TO_COLOR[match.group(2)])

    def state_phrase(self, state: State) -> str:
        node = self._focus(state)
        if node is None:
            return DONE
        free = colors_of(self.graph.free(state, node))
        return f"n{node + 1}" + ("".join(f" {self._name(c)}" for c in free) or " none")

    def _read_claim(self, text: str) -> _Claim | None:
        if text == DONE:
            return DONE
        match = _TOKENS_STATE.fullmatch(text)
        if match is None:
            return None
        listed = match.group(2)
        letters = [] if listed == " none" else listed.split(" ")[1:]
        if any(letter not in _LETTER_TO_COLOR for letter in letters):
            return None
        return int(match.group(1)), [_LETTER_TO_COLOR[x] for x in letters]

    def dead_end_phrase(self, state: State, dead: DeadEnd) -> str:
        node, rest = dead.detail[0], dead.detail[1:]
        listed = "".join(f" n{u} {self._name(c)}" for u, c in zip(rest[::2], rest[1::2],
                                                                   strict=True))
        return f"n{node} blocked{listed}"

    def parse_dead_end(self, text: str) -> DeadEnd | None:
        match = _TOKENS_DEAD.fullmatch(text)
        if match is None:
            return None
        tokens = match.group(2).split(" ")[1:]
        pairs = list(zip(tokens[::2], tokens[1::2], strict=True))
        if any(letter not in _LETTER_TO_COLOR for _, letter in pairs):
            return None
        flat = [x for u, letter in pairs for x in (int(u[1:]), _LETTER_TO_COLOR[letter])]
        return DeadEnd(NO_COLOR_LEFT, (int(match.group(1)), *flat))

    def ref_phrase(self, state: State, move_in: ColoringMove | None) -> str:
        return START if move_in is None else self.move_phrase(move_in)

    def parse_ref(self, text: str) -> Hashable | None:
        if text == START:
            return START
        move = self.parse_move(text)
        return None if move is None else (move.node, move.color)

    def goal_phrase(self, state: State) -> str:
        return DONE


def _and_list(words: Sequence[str]) -> str:
    """`a and b`, `a, b and c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _split_list(text: str, last: str) -> list[str]:
    return text.replace(f" {last} ", ", ").split(", ")


PHRASINGS = {"natural": ColoringNatural.from_data, "compact": ColoringCompact.from_data,
             "tokens": ColoringTokens.from_data, "reflective": ColoringNatural.from_data}
