"""Graph coloring rules, step text and answer checker.

A state is the tuple of every node's color, 0 while uncolored (nodes are 1 to n, colors 1
to k). A move colors one uncolored node with a color none of its colored neighbors has,
so every fully colored state is a proper coloring. Any uncolored node may be colored
next; the solver colors them in the fixed order 1, 2, 3, ... (the generator numbers the
nodes so that this order constrains early), and the linearizer's widened search may color
a later node first. A state is a confirmed dead end when some uncolored node has no
color left: each of the k colors is held by one of its colored neighbors, and the claim
names those k neighbors and their colors, so it is checked edge by edge.

The solver tries the next node's free colors least constraining first: the color that
the fewest uncolored neighbors could still take, ties by color number. After each move
the step text states what the node that matters next can still be: a node with no color
left if there is one, else the next uncolored node in order.

Colors are named in the natural style (red, green, blue, ...) and by their initial in the
compact style (R, G, B, ...); inside, a move and a dead end hold 1-based numbers.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from searchtrace.tasks.base import OK, DeadEnd, Verdict, Violation

COLOR_NAMES = ("red", "green", "blue", "yellow", "orange", "purple", "cyan", "white")
COLOR_LETTERS = tuple(name[0].upper() for name in COLOR_NAMES)  # R G B Y O P C W: distinct
MAX_COLORS = len(COLOR_NAMES)
NO_COLOR_LEFT = "no_color_left"
START = "start"

State = tuple[int, ...]


@dataclass(frozen=True)
class ColoringMove:
    """Give `node` (1-based) the color `color` (1-based)."""

    node: int
    color: int


class Graph:
    """One instance: n nodes, k colors, and each node's neighbors (0-based, ascending)."""

    def __init__(self, nodes: int, colors: int, edges: Sequence[Sequence[int]]) -> None:
        self.n = nodes
        self.k = colors
        self.full = ((1 << colors) - 1) << 1  # bit c for color c
        neighbors: list[set[int]] = [set() for _ in range(nodes)]
        for u, v in edges:
            neighbors[u - 1].add(v - 1)
            neighbors[v - 1].add(u - 1)
        self.adj = tuple(tuple(sorted(ns)) for ns in neighbors)
        self.adj_sets = tuple(frozenset(ns) for ns in neighbors)

    @staticmethod
    def from_data(data: dict[str, Any]) -> Graph:
        return Graph(data["nodes"], data["colors"], data["edges"])

    def free(self, state: State, node: int) -> int:
        """Bitmask of the colors 0-based `node` may still take."""
        used = 0
        for u in self.adj[node]:
            used |= 1 << state[u]
        return self.full & ~used

    def dead_node(self, state: State) -> int | None:
        """The first uncolored node (0-based) with no color left, if any."""
        full, adj = self.full, self.adj
        for node, color in enumerate(state):
            if color:
                continue
            used = 0
            for u in adj[node]:
                used |= 1 << state[u]
            if not full & ~used:
                return node
        return None

    def witnesses(self, state: State, node: int) -> tuple[tuple[int, int], ...]:
        """For each color, the lowest-numbered colored neighbor holding it, as 1-based
        (neighbor, color) pairs in neighbor order; covers all k colors at a dead node."""
        first: dict[int, int] = {}
        for u in self.adj[node]:
            color = state[u]
            if color and color not in first:
                first[color] = u
        return tuple(sorted((u + 1, color) for color, u in first.items()))

    def color_name(self, color: int) -> str:
        return COLOR_NAMES[color - 1] if 1 <= color <= MAX_COLORS else f"color {color}"


def colors_of(mask: int) -> list[int]:
    """The colors (ascending) whose bits are set in `mask`."""
    return [c for c in range(1, MAX_COLORS + 1) if mask >> c & 1]


def next_node(state: State) -> int | None:
    """The next node to color (0-based): the first uncolored one; None when all are."""
    for node, color in enumerate(state):
        if not color:
            return node
    return None


class ColoringRules:
    """The state space of one coloring instance."""

    MAX_CACHE = 200_000  # solvability answers kept before the memo starts afresh

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._solvable: dict[State, bool] = {}

    @staticmethod
    def from_data(data: dict[str, Any]) -> ColoringRules:
        return ColoringRules(Graph.from_data(data))

    def initial_state(self) -> State:
        return (0,) * self.graph.n

    def expand(self, state: State) -> list[tuple[ColoringMove, State]]:
        """One child per free color of the next node, least constraining color first."""
        node = next_node(state)
        if node is None:
            return []
        graph = self.graph
        free = graph.free(state, node)
        later = [graph.free(state, u) for u in graph.adj[node] if not state[u]]
        ranked = sorted((sum(mask >> c & 1 for mask in later), c) for c in colors_of(free))
        head, tail = state[:node], state[node + 1 :]
        return [(ColoringMove(node + 1, c), (*head, c, *tail)) for _, c in ranked]

    def wider_moves(self, state: State) -> Iterator[tuple[ColoringMove, State]]:
        """Every legal move: first the next node's colors as `expand` orders them, then
        the later uncolored nodes in order, colors ascending, where moves that leave some
        node no color at once come last (so widened dead ends run a few moves). A generator:
        the later moves are only ranked once the next node's are used up."""
        first = next_node(state)
        if first is None:
            return
        yield from self.expand(state)
        graph = self.graph
        later = []
        for node in range(first + 1, graph.n):
            if state[node]:
                continue
            head, tail = state[:node], state[node + 1 :]
            for c in colors_of(graph.free(state, node)):
                child = (*head, c, *tail)
                later.append((graph.dead_node(child) is not None, node, c, child))
        later.sort(key=lambda item: item[:3])
        for _, node, c, child in later:
            yield ColoringMove(node + 1, c), child

    def apply(self, state: State, move: ColoringMove) -> State | Violation:
        graph = self.graph
        node, color = move.node, move.color
        if not 1 <= node <= graph.n:
            return Violation("unknown_node",
                             f"node {node} is not in the graph (nodes are 1 to {graph.n})")
        if not 1 <= color <= graph.k:
            allowed = ", ".join(COLOR_NAMES[: graph.k])
            return Violation("unknown_color", f"{graph.color_name(color)} is not one of the "
                             f"{graph.k} colors ({allowed})")
        index = node - 1
        if state[index]:
            return Violation("node_colored",
                             f"node {node} is already {graph.color_name(state[index])}")
        for u in graph.adj[index]:
            if state[u] == color:
                low, high = sorted((node, u + 1))
                return Violation("color_clash", f"node {node} and its neighbor {u + 1} would "
                                 f"both be {graph.color_name(color)} (edge {low}-{high})")
        return (*state[:index], color, *state[index + 1 :])

    def is_goal(self, state: State) -> bool:
        return 0 not in state

    def dead_end(self, state: State) -> DeadEnd | None:
        """The first uncolored node with no color left, with one colored neighbor per
        color as evidence: detail = (node, neighbor, color, neighbor, color, ...)."""
        node = self.graph.dead_node(state)
        if node is None:
            return None
        pairs = self.graph.witnesses(state, node)
        return DeadEnd(NO_COLOR_LEFT, (node + 1, *(x for pair in pairs for x in pair)))

    def confirm_dead_end(self, state: State, claim: DeadEnd) -> str | None:
        graph = self.graph
        detail = claim.detail
        if claim.code != NO_COLOR_LEFT:
            return f"{claim.code!r} is not a graph coloring dead end"
        if (not isinstance(detail, tuple) or len(detail) % 2 != 1
                or not all(type(x) is int for x in detail)):
            return "the claim must name a node and neighbor-color pairs"
        node = detail[0]
        if not 1 <= node <= graph.n:
            return f"node {node} is not in the graph (nodes are 1 to {graph.n})"
        if state[node - 1]:
            return f"node {node} is already {graph.color_name(state[node - 1])}"
        named: set[int] = set()
        for u, color in zip(detail[1::2], detail[2::2], strict=True):
            if not 1 <= u <= graph.n or u - 1 not in graph.adj_sets[node - 1]:
                return f"node {u} is not a neighbor of node {node}"
            if state[u - 1] != color:
                held = graph.color_name(state[u - 1]) if state[u - 1] else "uncolored"
                return f"node {u} is {held}, not {graph.color_name(color)}"
            named.add(color)
        missing = [c for c in range(1, graph.k + 1) if c not in named]
        if missing:
            return (f"the named neighbors of node {node} do not use "
                    f"{_or_list([graph.color_name(c) for c in missing])}")
        return None

    def state_key(self, state: State) -> Hashable:
        return state

    def solvable(self, state: State) -> bool:
        """Whether the partial coloring extends to a proper coloring of every node with the
        k colors (any uncolored node may be colored next, so the order of moves does not
        matter). Exact: backtracking over the uncolored nodes, most constrained first, with
        forward checking; memoised by state key."""
        found = self._solvable.get(state)
        if found is None:
            found = self._extends(state)
            if len(self._solvable) >= self.MAX_CACHE:
                self._solvable.clear()
            self._solvable[state] = found
        return found

    def _extends(self, state: State) -> bool:
        """The exact search behind `solvable`: False at once for a clash or a node with no
        color left, else a proper coloring of the rest is looked for."""
        graph = self.graph
        domains: dict[int, int] = {}
        for node, color in enumerate(state):
            if color:
                if any(state[u] == color for u in graph.adj[node]):
                    return False
                continue
            free = graph.free(state, node)
            if not free:
                return False
            domains[node] = free
        used = 0
        for color in state:
            used |= 1 << color
        return self._complete(domains, used & graph.full)

    def _complete(self, domains: dict[int, int], used: int) -> bool:
        """Whether the uncolored nodes (`domains`: node -> bitmask of its free colors) can
        all be colored. The node with the fewest free colors goes first (ties: the most
        uncolored neighbors); each choice removes its color from the neighbors' domains and
        fails as soon as one is empty. Colors no node holds yet (`used` lacks them) are
        interchangeable, so only the lowest of them is tried."""
        if not domains:
            return True
        adj = self.graph.adj
        node = min(domains, key=lambda v: (domains[v].bit_count(),
                                           -sum(u in domains for u in adj[v])))
        own = domains.pop(node)
        fresh = own & ~used
        choices = (own & used) | (fresh & -fresh)
        try:
            while choices:
                bit = choices & -choices
                choices ^= bit
                narrowed: list[int] = []
                for u in adj[node]:
                    domain = domains.get(u)
                    if domain is not None and domain & bit:
                        domains[u] = domain & ~bit
                        narrowed.append(u)
                if (all(domains[u] for u in narrowed)
                        and self._complete(domains, used | bit)):
                    return True
                for u in narrowed:
                    domains[u] |= bit
            return False
        finally:
            domains[node] = own

    def heuristic(self, state: State) -> float:
        """Each move colors one node, so a goal is exactly the uncolored nodes away."""
        return float(state.count(0))

    def move_to_json(self, move: ColoringMove) -> str:
        letter = COLOR_LETTERS[move.color - 1] if 1 <= move.color <= MAX_COLORS else "?"
        return f"{move.node}={letter}"


# ---- step text -------------------------------------------------------------------------

_NUM = r"[0-9]{1,3}"
_WORD = r"[a-z]{1,12}"
_LETTER = r"[A-Z]"
_NATURAL_MOVE = re.compile(rf"coloring node ({_NUM}) ({_WORD})")
_COMPACT_MOVE = re.compile(rf"({_NUM})=({_LETTER})")
_NATURAL_DONE = "Now every node has a color"
_COMPACT_DONE = "done"
_NATURAL_NONE = re.compile(rf"Now node ({_NUM}) has no color left")
_NATURAL_ONE = re.compile(rf"Now node ({_NUM}) must be ({_WORD})")
_NATURAL_SOME = re.compile(rf"Now node ({_NUM}) can be ({_WORD}(?:, {_WORD})* or {_WORD})")
_COMPACT_STATE = re.compile(rf"({_NUM}):\{{((?:{_LETTER}(?:,{_LETTER})*)?)\}}")
_NUM_LIST = rf"{_NUM}(?:, {_NUM})* and {_NUM}"
_WORD_LIST = rf"{_WORD}(?:, {_WORD})* and {_WORD}"
_NATURAL_DEAD = re.compile(
    rf"Node ({_NUM}) has no color left: its neighbors ({_NUM_LIST}) are ({_WORD_LIST})")
_COMPACT_DEAD = re.compile(
    rf"({_NUM}) blocked by ((?:{_NUM}={_LETTER},)*{_NUM}={_LETTER})")
_REF_START = {"natural": "the start", "compact": START}
_REF_PREFIX = {"natural": "the point where ", "compact": "after "}
_NATURAL_REF = re.compile(rf"node ({_NUM}) was colored ({_WORD})")
_NAME_TO_COLOR = {name: i + 1 for i, name in enumerate(COLOR_NAMES)}
_LETTER_TO_COLOR = {letter: i + 1 for i, letter in enumerate(COLOR_LETTERS)}
_Claim = str | tuple[int, list[int]]


def _or_list(words: Sequence[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _and_list(words: Sequence[str]) -> str:
    """`a and b`, `a, b and c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _split_list(text: str, last: str) -> list[str]:
    return text.replace(f" {last} ", ", ").split(", ")


def _style(style: str) -> str:
    """Any style other than compact reads as natural, as the shared renderer does."""
    return "compact" if style == "compact" else "natural"


class ColoringText:
    """How coloring steps are said and read back, in the natural and compact styles."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    @staticmethod
    def from_data(data: dict[str, Any]) -> ColoringText:
        return ColoringText(Graph.from_data(data))

    def _name(self, color: int, style: str) -> str:
        if not 1 <= color <= MAX_COLORS:
            return "?"
        return COLOR_LETTERS[color - 1] if style == "compact" else COLOR_NAMES[color - 1]

    def move_phrase(self, move: ColoringMove, style: str) -> str:
        if style == "compact":
            return f"{move.node}={self._name(move.color, style)}"
        return f"coloring node {move.node} {self._name(move.color, style)}"

    def parse_move(self, text: str, style: str) -> ColoringMove | None:
        if _style(style) == "compact":
            match = _COMPACT_MOVE.fullmatch(text)
            table = _LETTER_TO_COLOR
        else:
            match = _NATURAL_MOVE.fullmatch(text)
            table = _NAME_TO_COLOR
        if match is None or match.group(2) not in table:
            return None
        return ColoringMove(int(match.group(1)), table[match.group(2)])

    def _focus(self, state: State) -> int | None:
        """The node a state phrase talks about: a node with no color left, else the next."""
        dead = self.graph.dead_node(state)
        return dead if dead is not None else next_node(state)

    def state_phrase(self, state: State, style: str) -> str:
        node = self._focus(state)
        compact = style == "compact"
        if node is None:
            return _COMPACT_DONE if compact else _NATURAL_DONE
        free = colors_of(self.graph.free(state, node))
        if compact:
            return f"{node + 1}:{{{','.join(self._name(c, style) for c in free)}}}"
        names = [self._name(c, style) for c in free]
        if not names:
            return f"Now node {node + 1} has no color left"
        if len(names) == 1:
            return f"Now node {node + 1} must be {names[0]}"
        return f"Now node {node + 1} can be {_or_list(names)}"

    def state_claim_error(self, text: str, state: State, style: str) -> str | None:
        """None when the stated node is uncolored with exactly the stated free colors (any
        uncolored node, not only the one the renderer picks), or "done" of a full state."""
        claim = self._read_claim(text, style)
        if claim is None:
            return f"cannot read the stated node {text!r}"
        graph = self.graph
        if claim == _COMPACT_DONE:
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

    def _read_claim(self, text: str, style: str) -> _Claim | None:
        """`done`, or (1-based node, stated colors), or None when unreadable."""
        if _style(style) == "compact":
            if text == _COMPACT_DONE:
                return _COMPACT_DONE
            match = _COMPACT_STATE.fullmatch(text)
            if match is None:
                return None
            listed = match.group(2)
            letters = listed.split(",") if listed else []
            if any(letter not in _LETTER_TO_COLOR for letter in letters):
                return None
            return int(match.group(1)), [_LETTER_TO_COLOR[x] for x in letters]
        if text == _NATURAL_DONE:
            return _COMPACT_DONE
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

    def dead_end_phrase(self, state: State, dead: DeadEnd, style: str) -> str:
        node, rest = dead.detail[0], dead.detail[1:]
        pairs = list(zip(rest[::2], rest[1::2], strict=True))
        if style == "compact":
            listed = ",".join(f"{u}={self._name(c, style)}" for u, c in pairs)
            return f"{node} blocked by {listed}"
        return (f"Node {node} has no color left: its neighbors "
                f"{_and_list([str(u) for u, _ in pairs])} are "
                f"{_and_list([self._name(c, style) for _, c in pairs])}")

    def parse_dead_end(self, text: str, style: str) -> DeadEnd | None:
        if _style(style) == "compact":
            match = _COMPACT_DEAD.fullmatch(text)
            if match is None:
                return None
            pairs = [item.split("=") for item in match.group(2).split(",")]
            if any(letter not in _LETTER_TO_COLOR for _, letter in pairs):
                return None
            flat = [x for u, letter in pairs for x in (int(u), _LETTER_TO_COLOR[letter])]
            return DeadEnd(NO_COLOR_LEFT, (int(match.group(1)), *flat))
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

    def ref_phrase(self, state: State, move_in: ColoringMove | None, style: str) -> str:
        """A path state named by the move that made it: a path colors each node once."""
        style = _style(style)
        if move_in is None:
            return _REF_START[style]
        if style == "compact":
            return _REF_PREFIX[style] + self.move_phrase(move_in, style)
        name = self._name(move_in.color, style)
        return f"{_REF_PREFIX[style]}node {move_in.node} was colored {name}"

    def parse_ref(self, text: str, style: str) -> Hashable | None:
        style = _style(style)
        if text == _REF_START[style]:
            return START
        prefix = _REF_PREFIX[style]
        if not text.startswith(prefix):
            return None
        rest = text[len(prefix) :]
        if style == "compact":
            move = self.parse_move(rest, style)
            return None if move is None else (move.node, move.color)
        match = _NATURAL_REF.fullmatch(rest)
        if match is None or match.group(2) not in _NAME_TO_COLOR:
            return None
        return int(match.group(1)), _NAME_TO_COLOR[match.group(2)]

    def ref_key(self, state: State, move_in: ColoringMove | None) -> Hashable:
        return START if move_in is None else (move_in.node, move_in.color)

    def goal_phrase(self, state: State, style: str) -> str:
        if _style(style) == "compact":
            return "all colored"
        return (f"All {len(state)} nodes are colored and every edge joins two different "
                f"colors")


# ---- answers ---------------------------------------------------------------------------

MAX_ANSWER_CHARS = 2000
_ANSWER_IGNORED = str.maketrans({ch: " " for ch in "{}[]()\"'"})
_ANSWER_SEP = re.compile(r"(?:[\s,;.]|\band\b)*", re.IGNORECASE)
# The spaces after the separator are matched only after one (`\s*` twice in a row would
# split every run of spaces both ways: quadratic in its length).
_ANSWER_PAIR = re.compile(
    r"(?:node\s*)?([0-9]{1,4})\s*(?:(?:[:=]|->|-|\bis\b)\s*)?([A-Za-z]{1,12})\b", re.IGNORECASE)
_ANSWER_COLOR = {**{name: i + 1 for i, name in enumerate(COLOR_NAMES)},
                 **{letter.lower(): i + 1 for i, letter in enumerate(COLOR_LETTERS)}}


def format_answer(colors: Sequence[int]) -> str:
    """`1:red 2:green 3:blue ...`: every node with its color name, in node order."""
    return " ".join(f"{i}:{COLOR_NAMES[c - 1]}" for i, c in enumerate(colors, start=1))


def answer_from_moves(data: dict[str, Any], moves: Sequence[ColoringMove]) -> str:
    """The coloring the moves make, as `1:red 2:green ...`."""
    colors = [0] * data["nodes"]
    for move in moves:
        colors[move.node - 1] = move.color
    if 0 in colors:
        raise ValueError("the moves leave nodes uncolored")
    return format_answer(colors)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: every node gets one of the k colors and no edge joins two
    nodes of the same color.

    Reads the last <answer> block (else the whole text) as node-color pairs: `1:red`,
    `1=R`, `node 1 is red`, `1 - red`, separated by spaces, commas, semicolons or lines;
    colors by name or initial, any case; brackets and quotes are ignored (so JSON works).
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    from searchtrace.tasks.base import extract_answer

    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    pairs = _read_pairs(body.translate(_ANSWER_IGNORED))
    if isinstance(pairs, Verdict):
        return pairs
    graph = Graph.from_data(data)
    colors = [0] * graph.n
    for node, word in pairs:
        if not 1 <= node <= graph.n:
            return Verdict.fail("unknown_node",
                                f"node {node} is not in the graph (nodes are 1 to {graph.n})")
        color = _ANSWER_COLOR.get(word.lower(), 0)
        if not 1 <= color <= graph.k:
            allowed = ", ".join(COLOR_NAMES[: graph.k])
            return Verdict.fail("unknown_color",
                                f"{word!r} is not one of the {graph.k} colors ({allowed})")
        if colors[node - 1] and colors[node - 1] != color:
            return Verdict.fail("conflicting_colors", f"node {node} is given two colors")
        colors[node - 1] = color
    if 0 in colors:
        missing = [i + 1 for i, c in enumerate(colors) if not c]
        return Verdict.fail("missing_node", f"node {missing[0]} has no color "
                            f"({len(missing)} node(s) missing)")
    for node, neighbors in enumerate(graph.adj):
        for u in neighbors:
            if u > node and colors[u] == colors[node]:
                return Verdict.fail("color_clash", f"nodes {node + 1} and {u + 1} are joined "
                                    f"by an edge and both {COLOR_NAMES[colors[u] - 1]}")
    return OK


def _read_pairs(body: str) -> list[tuple[int, str]] | Verdict:
    """The (node, color word) pairs of the answer, or why it cannot be read."""
    pairs: list[tuple[int, str]] = []
    position = 0
    while True:
        position = _ANSWER_SEP.match(body, position).end()
        if position >= len(body):
            break
        match = _ANSWER_PAIR.match(body, position)
        if match is None:
            return Verdict.fail("unparsable_answer", "the answer must list node:color pairs, "
                                f"cannot read {body[position : position + 30]!r}")
        pairs.append((int(match.group(1)), match.group(2)))
        position = match.end()
    if not pairs:
        return Verdict.fail("unparsable_answer", "the answer lists no node:color pairs")
    return pairs


RULES = ColoringRules
TEXT = ColoringText
