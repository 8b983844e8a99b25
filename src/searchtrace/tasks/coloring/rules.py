"""Graph coloring rules.

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

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from searchtrace.tasks.base import DeadEnd, Violation

COLOR_NAMES = ("red", "green", "blue", "yellow", "orange", "purple", "cyan", "white")
COLOR_LETTERS = tuple(name[0].upper() for name in COLOR_NAMES)  # R G B Y O P C W: distinct
MAX_COLORS = len(COLOR_NAMES)
NO_COLOR_LEFT = "no_color_left"

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


def or_list(words: Sequence[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


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
                    f"{or_list([graph.color_name(c) for c in missing])}")
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


RULES = ColoringRules
