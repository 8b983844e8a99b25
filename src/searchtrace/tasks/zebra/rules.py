"""Zebra (logic-grid) puzzle rules, step text and answer checker.

A puzzle has n houses in a row, numbered 1 to n from the left, and a few attributes
(colour, nationality, pet, ...), each with n values that are a permutation over the
houses. Clues, numbered from 1, are of five kinds:

- same: two values of different attributes are in one house ("The Brit lives in the red
  house");
- not_same: two values of different attributes are in different houses;
- next_to: two values are in neighbouring houses (house numbers differ by exactly 1);
- left_of: the first value is IMMEDIATELY left of the second (its house number is exactly
  one lower), not merely somewhere to the left;
- position: a value is in a given house.

A state is the grid: one cell per (attribute, house), holding a value index or -1 while
empty (cell `a * n + h`, 0-based inside, 1-based houses in text). A move fills one empty
cell with one value. Each clue is judged on a partial grid by the houses still open to its
two values: a placed value's own house, an unplaced value's any house whose cell for that
attribute is empty. A clue is BROKEN when no choice of open houses for its values makes it
true (so "the Brit lives in the red house" is broken as soon as the Brit's house has another
colour, or red is placed where the Brit cannot be).

Design choice: `apply` REJECTS a move that breaks a clue (code `clue_violation`, naming the
clue's number and text), as well as a value already used by another house (`value_used`),
a filled cell (`cell_filled`) and an unknown house, attribute or value. So every state the
rules reach keeps every clue possible, and no legal move breaks a clue outright. A state is
a confirmed dead end when some empty cell has no value left: every value of its attribute
is either in another house or would break a clue; the claim names, value by value, the
house holding it or the clue it would break, and `confirm_dead_end` re-checks each reason.
A wrong but legal move leads to such a cell within a few moves, which gives the exact-k
linearizer genuine dead-end branches; `wider_moves` offers first the moves that do not
empty a cell at once, so widened branches mostly run more than one move.

The solver fills the most constrained empty cell first (fewest values left; ties by
attribute, then house) and tries its values in the puzzle's order; after each move the step
text states what that next cell can still be.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from searchtrace.tasks.base import OK, DeadEnd, Verdict, Violation

KINDS = ("same", "not_same", "next_to", "left_of", "position")
SAME, NOT_SAME, NEXT_TO, LEFT_OF, POSITION = range(len(KINDS))

# The attributes a puzzle draws from, with their values (distinct across attributes, one
# ASCII word each) and how a value is named as a person or house in a clue.
ATTRIBUTE_POOL: dict[str, tuple[str, ...]] = {
    "colour": ("red", "green", "white", "yellow", "blue", "ivory"),
    "nationality": ("Brit", "Swede", "Dane", "Norwegian", "German", "Spaniard"),
    "pet": ("dog", "cat", "bird", "fish", "horse", "zebra"),
    "drink": ("tea", "coffee", "milk", "beer", "water", "juice"),
    "job": ("teacher", "doctor", "baker", "pilot", "farmer", "painter"),
    "sport": ("tennis", "chess", "golf", "rugby", "hockey", "cricket"),
}
_NOUNS = {
    "colour": "the {} house",
    "nationality": "the {}",
    "pet": "the {} owner",
    "drink": "the {} drinker",
    "job": "the {}",
    "sport": "the {} player",
}
HOUSE_ATTRIBUTE = "colour"  # its values name houses, not people ("the red house")

NO_VALUE_FITS = "no_value_fits"
START = "start"
IN_HOUSE, BREAKS_CLUE = "house", "clue"

State = tuple[int, ...]
# A clue inside: (kind, attr1, value1, attr2, value2, house); attr2 = value2 = -1 for a
# position clue, house = -1 for the others. All 0-based.
Clue = tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class ZebraMove:
    """Give house `house` (0-based) the value `value` of attribute `attribute`, both as
    written (matched case-insensitively by `apply`)."""

    house: int
    attribute: str
    value: str


def can_hold(kind: int, x: int, y: int, house: int) -> bool:
    """Whether a clue can still hold, given the house bitmasks open to its two values."""
    if kind == SAME:
        return bool(x & y)
    if kind == NOT_SAME:
        return not (x == y and not x & (x - 1))
    if kind == NEXT_TO:
        return bool(((x << 1) | (x >> 1)) & y)
    if kind == LEFT_OF:
        return bool((x << 1) & y)
    return bool(x >> house & 1)


def holds_in_grid(clue: Clue, grid: Sequence[Sequence[int]]) -> bool:
    """Whether a clue is true of a full grid (`grid[a][h]` = value index of house h)."""
    kind, a1, v1, a2, v2, house = clue
    p1 = list(grid[a1]).index(v1)
    if kind == POSITION:
        return p1 == house
    p2 = list(grid[a2]).index(v2)
    return can_hold(kind, 1 << p1, 1 << p2, house)


class Puzzle:
    """One instance: houses, attributes and their values, and the clues (as index tuples).

    `data` = {"houses": n, "attributes": [{"name", "values"}, ...], "clues": [...]} where a
    clue is [kind, attribute, value, attribute, value] or ["position", attribute, value,
    house (1-based)].
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.n: int = int(data["houses"])
        self.names: tuple[str, ...] = tuple(a["name"] for a in data["attributes"])
        self.values: tuple[tuple[str, ...], ...] = tuple(
            tuple(a["values"]) for a in data["attributes"])
        self.attr_index = {name.lower(): a for a, name in enumerate(self.names)}
        self.value_index = [{v.lower(): i for i, v in enumerate(vs)} for vs in self.values]
        self.owner = {v.lower(): a for a, vs in enumerate(self.values) for v in vs}
        self.clues: tuple[Clue, ...] = tuple(self._read_clue(c) for c in data["clues"])
        by_attr: list[list[tuple[int, int, int, int, int]]] = [[] for _ in self.names]
        n = self.n
        for index, (kind, a1, v1, a2, v2, house) in enumerate(self.clues):
            entry = (index, kind, a1 * n + v1, a2 * n + v2 if a2 >= 0 else a1 * n + v1, house)
            by_attr[a1].append(entry)
            if a2 >= 0 and a2 != a1:
                by_attr[a2].append(entry)
        self.by_attr = tuple(tuple(entries) for entries in by_attr)
        self.texts = tuple(clue_text(self, c) for c in self.clues)

    def _read_clue(self, raw: Sequence[Any]) -> Clue:
        kind = KINDS.index(raw[0])
        a1 = self.attr_index[raw[1].lower()]
        v1 = self.value_index[a1][raw[2].lower()]
        if kind == POSITION:
            return (kind, a1, v1, -1, -1, int(raw[3]) - 1)
        a2 = self.attr_index[raw[3].lower()]
        return (kind, a1, v1, a2, self.value_index[a2][raw[4].lower()], -1)

    @property
    def cells(self) -> int:
        return len(self.names) * self.n

    def masks(self, grid: State) -> tuple[list[int], list[int], list[list[int]]]:
        """Per item (a * n + v) the houses open to it, per attribute the empty houses as a
        bitmask, and per attribute its unplaced values."""
        n = self.n
        open_houses = [0] * len(grid)
        empty = [0] * len(self.names)
        unplaced: list[list[int]] = []
        for a in range(len(self.names)):
            base = a * n
            placed = 0
            for h in range(n):
                v = grid[base + h]
                if v < 0:
                    empty[a] |= 1 << h
                else:
                    open_houses[base + v] = 1 << h
                    placed |= 1 << v
            free = [v for v in range(n) if not placed >> v & 1]
            for v in free:
                open_houses[base + v] = empty[a]
            unplaced.append(free)
        return open_houses, empty, unplaced

    def broken_by(self, masks: tuple, a: int, h: int, v: int, only: int = -1) -> int:
        """The first clue (0-based index) that placing unplaced value `v` of attribute `a`
        in empty house `h` would break, else -1; `only` restricts the check to one clue."""
        open_houses, empty, unplaced = masks
        base = a * self.n
        bit = 1 << h
        rest = empty[a] & ~bit
        free = unplaced[a]
        for w in free:
            open_houses[base + w] = rest
        open_houses[base + v] = bit
        found = -1
        for index, kind, i1, i2, house in self.by_attr[a]:
            if only >= 0 and index != only:
                continue
            if not can_hold(kind, open_houses[i1], open_houses[i2], house):
                found = index
                break
        whole = empty[a]
        for w in free:
            open_houses[base + w] = whole
        return found

    def candidates(self, grid: State, masks: tuple, cell: int) -> list[int]:
        """The values an empty cell can take: unused in its attribute, breaking no clue."""
        a, h = divmod(cell, self.n)
        return [v for v in masks[2][a] if self.broken_by(masks, a, h, v) < 0]

    def noun(self, a: int, v: int) -> str:
        template = _NOUNS.get(self.names[a], "the one whose " + self.names[a] + " is {}")
        return template.format(self.values[a][v])

    def cell_name(self, cell: int) -> str:
        a, h = divmod(cell, self.n)
        return f"house {h + 1}'s {self.names[a]}"


def clue_text(puzzle: Puzzle, clue: Clue) -> str:
    """A clue as an English sentence, e.g. `The Brit lives in the red house`."""
    kind, a1, v1, a2, v2, house = clue
    first = puzzle.noun(a1, v1)
    is_house = puzzle.names[a1] == HOUSE_ATTRIBUTE
    if kind == POSITION:
        verb = "is" if is_house else "lives in"
        text = f"{first} {verb} house {house + 1}"
    elif kind in (SAME, NOT_SAME):
        if is_house:  # say the person first: "the Brit lives in the red house"
            a1, v1, a2, v2 = a2, v2, a1, v1
            first = puzzle.noun(a1, v1)
        second = puzzle.noun(a2, v2)
        if puzzle.names[a2] == HOUSE_ATTRIBUTE:
            verb = "lives in" if kind == SAME else "does not live in"
        else:
            verb = "is" if kind == SAME else "is not"
        text = f"{first} {verb} {second}"
    else:
        where = "next to" if kind == NEXT_TO else "immediately left of"
        verb = "is" if is_house else "lives"
        text = f"{first} {verb} {where} {puzzle.noun(a2, v2)}"
    return text[0].upper() + text[1:]


def _or_list(words: Sequence[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


class ZebraRules:
    """The state space of one zebra puzzle."""

    def __init__(self, puzzle: Puzzle) -> None:
        self.puzzle = puzzle
        self._analysed: dict[State, tuple[int, tuple[int, ...]] | None] = {}
        self._solvable: dict[State, bool] = {}

    @staticmethod
    def from_data(data: dict[str, Any]) -> ZebraRules:
        return ZebraRules(Puzzle(data))

    def initial_state(self) -> State:
        return (-1,) * self.puzzle.cells

    def focus(self, state: State) -> tuple[int, tuple[int, ...]] | None:
        """(cell, values) of the empty cell the solver fills next: the fewest values left,
        first in cell order among ties (so the first cell with none when there is one);
        None when the grid is full."""
        cached = self._analysed.get(state, False)
        if cached is not False:
            return cached
        puzzle = self.puzzle
        masks = puzzle.masks(state)
        best: tuple[int, tuple[int, ...]] | None = None
        best_count = puzzle.n + 1
        for cell, value in enumerate(state):
            if value >= 0:
                continue
            values = puzzle.candidates(state, masks, cell)
            if len(values) < best_count:
                best, best_count = (cell, tuple(values)), len(values)
                if not values:
                    break
        if len(self._analysed) > 50_000:
            self._analysed.clear()
        self._analysed[state] = best
        return best

    def solvable(self, state: State) -> bool:
        """Whether the grid can still be filled: a depth-first search over `expand`,
        memoised on the grid. `expand` is complete: a completion's value for the most
        constrained cell breaks no clue now (a clue judged on fewer filled cells has more
        open houses, so it can only be easier to keep), and the rest of that completion
        stays legal after it, so no solution is missed."""
        known = self._solvable.get(state)
        if known is None:
            known = self.is_goal(state) or any(
                self.solvable(child) for _, child in self.expand(state))
            self._solvable[state] = known
        return known

    def _child(self, state: State, cell: int, value: int) -> tuple[ZebraMove, State]:
        puzzle = self.puzzle
        a, h = divmod(cell, puzzle.n)
        move = ZebraMove(h, puzzle.names[a], puzzle.values[a][value])
        return move, (*state[:cell], value, *state[cell + 1 :])

    def expand(self, state: State) -> list[tuple[ZebraMove, State]]:
        """One child per value left for the most constrained empty cell, in value order."""
        focus = self.focus(state)
        if focus is None:
            return []
        cell, values = focus
        return [self._child(state, cell, v) for v in values]

    def wider_moves(self, state: State) -> Iterator[tuple[ZebraMove, State]]:
        """Every legal move, lazily: cells with the fewest values left first (ties in cell
        order), values in the puzzle's order, except that moves leaving some cell with no
        value at once come last (so widened dead-end branches run a few moves)."""
        puzzle = self.puzzle
        masks = puzzle.masks(state)
        ranked = []
        for cell, value in enumerate(state):
            if value < 0:
                values = puzzle.candidates(state, masks, cell)
                ranked.append((len(values), cell, values))
        ranked.sort(key=lambda item: item[:2])
        instant = []
        for _, cell, values in ranked:
            for v in values:
                move, child = self._child(state, cell, v)
                if self.dead_end(child) is None:
                    yield move, child
                else:
                    instant.append((move, child))
        yield from instant

    def resolve(self, move: ZebraMove) -> tuple[int, int, int] | Violation:
        """(attribute, house, value) indices of a move, or why it names nothing real."""
        puzzle = self.puzzle
        n = puzzle.n
        if not isinstance(move.house, int) or not 0 <= move.house < n:
            return Violation("unknown_house", f"there is no house {_shown(move.house)}; houses "
                             f"are numbered 1 to {n}")
        a = puzzle.attr_index.get(str(move.attribute).lower())
        if a is None:
            return Violation("unknown_attribute", f"{move.attribute!r} is not an attribute of "
                             f"this puzzle ({', '.join(puzzle.names)})")
        v = puzzle.value_index[a].get(str(move.value).lower())
        if v is None:
            other = puzzle.owner.get(str(move.value).lower())
            where = (f"a {puzzle.names[other]}, not a {puzzle.names[a]}" if other is not None
                     else f"not a {puzzle.names[a]} of this puzzle")
            return Violation("unknown_value", f"{move.value!r} is {where} "
                             f"({', '.join(puzzle.values[a])})")
        return a, move.house, v

    def apply(self, state: State, move: ZebraMove) -> State | Violation:
        puzzle = self.puzzle
        resolved = self.resolve(move)
        if isinstance(resolved, Violation):
            return resolved
        a, h, v = resolved
        n = puzzle.n
        name, value = puzzle.names[a], puzzle.values[a][v]
        cell = a * n + h
        if state[cell] >= 0:
            return Violation("cell_filled", f"house {h + 1} already has the {name} "
                             f"{puzzle.values[a][state[cell]]}")
        for other in range(n):
            if state[a * n + other] == v:
                return Violation("value_used", f"{value} is already the {name} of house "
                                 f"{other + 1}")
        broken = puzzle.broken_by(puzzle.masks(state), a, h, v)
        if broken >= 0:
            return Violation("clue_violation", f"the {name} {value} for house {h + 1} breaks "
                             f"clue {broken + 1} ({puzzle.texts[broken]})")
        return (*state[:cell], v, *state[cell + 1 :])

    def is_goal(self, state: State) -> bool:
        return -1 not in state

    def dead_end(self, state: State) -> DeadEnd | None:
        """The first empty cell with no value left, with each value's reason as evidence:
        detail = (house, attribute, value, "house"|"clue", number, value, ...)."""
        focus = self.focus(state)
        if focus is None or focus[1]:
            return None
        return DeadEnd(NO_VALUE_FITS, self.evidence(state, focus[0]))

    def evidence(self, state: State, cell: int) -> tuple[Any, ...]:
        """Why each value of a cell's attribute cannot go there (the cell has none left)."""
        puzzle = self.puzzle
        n = puzzle.n
        a, h = divmod(cell, n)
        masks = puzzle.masks(state)
        detail: list[Any] = [h + 1, puzzle.names[a]]
        row = state[a * n : (a + 1) * n]
        for v, value in enumerate(puzzle.values[a]):
            if v in row:
                detail += [value, IN_HOUSE, row.index(v) + 1]
            else:
                detail += [value, BREAKS_CLUE, puzzle.broken_by(masks, a, h, v) + 1]
        return tuple(detail)

    def confirm_dead_end(self, state: State, claim: DeadEnd) -> str | None:
        puzzle = self.puzzle
        n = puzzle.n
        detail = claim.detail
        if claim.code != NO_VALUE_FITS:
            return f"{claim.code!r} is not a zebra dead end"
        if (not isinstance(detail, tuple) or len(detail) < 2 or (len(detail) - 2) % 3
                or type(detail[0]) is not int or not isinstance(detail[1], str)):
            return "the claim must name a house, an attribute and a reason per value"
        house, attribute = detail[0], detail[1]
        if not 1 <= house <= n:
            return f"there is no house {house}; houses are numbered 1 to {n}"
        a = puzzle.attr_index.get(attribute.lower())
        if a is None:
            return f"{attribute!r} is not an attribute of this puzzle"
        h = house - 1
        name = puzzle.names[a]
        if state[a * n + h] >= 0:
            return f"house {house} already has the {name} {puzzle.values[a][state[a * n + h]]}"
        masks = puzzle.masks(state)
        row = state[a * n : (a + 1) * n]
        named: set[int] = set()
        for value, kind, number in zip(detail[2::3], detail[3::3], detail[4::3], strict=True):
            v = puzzle.value_index[a].get(str(value).lower())
            if v is None:
                return f"{value!r} is not a {name} of this puzzle"
            if v in named:
                return f"the claim names {puzzle.values[a][v]} twice"
            named.add(v)
            shown = puzzle.values[a][v]
            if type(number) is not int:
                return f"the reason for {shown} must name a number"
            if kind == IN_HOUSE:
                if not 1 <= number <= n or row[number - 1] != v:
                    return f"{shown} is not the {name} of house {number}"
            elif kind == BREAKS_CLUE:
                if v in row:
                    return f"{shown} is already the {name} of house {row.index(v) + 1}"
                if not 1 <= number <= len(puzzle.clues):
                    return f"there is no clue {number}"
                if puzzle.broken_by(masks, a, h, v, only=number - 1) < 0:
                    return (f"the {name} {shown} for house {house} does not break clue "
                            f"{number} ({puzzle.texts[number - 1]})")
            else:
                return f"{kind!r} is not a reason a value cannot go in a house"
        missing = [puzzle.values[a][v] for v in range(n) if v not in named]
        if missing:
            return f"the claim does not rule out {_or_list(missing)} for house {house}"
        return None

    def state_key(self, state: State) -> Hashable:
        return state

    def heuristic(self, state: State) -> float:
        """Each move fills one cell, so a goal is exactly the empty cells away."""
        return float(state.count(-1))

    def move_to_json(self, move: ZebraMove) -> str:
        return f"h{_shown(move.house)} {move.attribute}={move.value}"


def _shown(house: Any) -> str:
    """A 0-based house number as text (1-based); anything else as it is."""
    return str(house + 1) if isinstance(house, int) else repr(house)


# ---- step text -------------------------------------------------------------------------

_NUM = r"[0-9]{1,3}"
_WORD = r"[A-Za-z]{1,20}"
_WORD_LIST = rf"{_WORD}(?:, {_WORD})*(?: or {_WORD})?"
_MOVES = {
    "natural": re.compile(rf"the ({_WORD}) ({_WORD}) for house ({_NUM})"),
    "compact": re.compile(rf"h({_NUM}) ({_WORD})=({_WORD})"),
}
_NATURAL_FULL = "Now every house is filled in"
_COMPACT_FULL = "full"
_NATURAL_NONE = re.compile(rf"Now house ({_NUM})'s ({_WORD}) has no option left")
_NATURAL_ONE = re.compile(rf"Now house ({_NUM})'s ({_WORD}) must be ({_WORD})")
_NATURAL_SOME = re.compile(rf"Now house ({_NUM})'s ({_WORD}) can only be ({_WORD_LIST})")
_COMPACT_STATE = re.compile(rf"h({_NUM}) ({_WORD}):\{{((?:{_WORD}(?:,{_WORD}){{0,11}})?)\}}")
_NATURAL_REASONS = rf"{_WORD} (?:is in house|breaks clue) {_NUM}"
_NATURAL_DEAD = re.compile(
    rf"No ({_WORD}) fits house ({_NUM}) \(((?:{_NATURAL_REASONS}, ){{0,11}}{_NATURAL_REASONS})\)")
_NATURAL_REASON = re.compile(rf"({_WORD}) (is in house|breaks clue) ({_NUM})")
_COMPACT_DEAD = re.compile(
    rf"h({_NUM}) ({_WORD}) none:((?: {_WORD}(?:@h{_NUM}|!c{_NUM})){{1,12}})")
_COMPACT_REASON = re.compile(rf" ({_WORD})(@h|!c)({_NUM})")
_REF_START = {"natural": "the empty grid", "compact": START}
_NATURAL_REF = re.compile(rf"where house ({_NUM}) got the ({_WORD}) ({_WORD})")
_COMPACT_REF_PREFIX = "after "
_GOAL = {"natural": "Every house is filled in and every clue holds", "compact": "solved"}
_Claim = str | tuple[int, str, list[str]]


def _style(style: str) -> str:
    """Any style other than compact reads as natural, as the shared renderer does."""
    return "compact" if style == "compact" else "natural"


class ZebraText:
    """How zebra steps are said and read back, in the natural and compact styles."""

    def __init__(self, puzzle: Puzzle) -> None:
        self.puzzle = puzzle
        self.rules = ZebraRules(puzzle)

    @staticmethod
    def from_data(data: dict[str, Any]) -> ZebraText:
        return ZebraText(Puzzle(data))

    def move_phrase(self, move: ZebraMove, style: str) -> str:
        if style == "compact":
            return f"h{_shown(move.house)} {move.attribute}={move.value}"
        return f"the {move.attribute} {move.value} for house {_shown(move.house)}"

    def parse_move(self, text: str, style: str) -> ZebraMove | None:
        compact = _style(style) == "compact"
        match = _MOVES["compact" if compact else "natural"].fullmatch(text)
        if match is None:
            return None
        if compact:
            house, attribute, value = match.groups()
        else:
            attribute, value, house = match.groups()
        return ZebraMove(int(house) - 1, attribute, value)

    def state_phrase(self, state: State, style: str) -> str:
        """What the cell the solver fills next can still be."""
        puzzle = self.puzzle
        focus = self.rules.focus(state)
        compact = style == "compact"
        if focus is None:
            return _COMPACT_FULL if compact else _NATURAL_FULL
        cell, values = focus
        a, h = divmod(cell, puzzle.n)
        names = [puzzle.values[a][v] for v in values]
        if compact:
            return f"h{h + 1} {puzzle.names[a]}:{{{','.join(names)}}}"
        where = puzzle.cell_name(cell)
        if not names:
            return f"Now {where} has no option left"
        if len(names) == 1:
            return f"Now {where} must be {names[0]}"
        return f"Now {where} can only be {_or_list(names)}"

    def state_claim_error(self, text: str, state: State, style: str) -> str | None:
        """None when the stated cell is empty with exactly the stated values left (any
        cell, not only the one the solver fills next), or when a full grid is stated full."""
        claim = self._read_claim(text, style)
        if claim is None:
            return f"cannot read the stated cell {text[:80]!r}"
        puzzle = self.puzzle
        n = puzzle.n
        if claim == _COMPACT_FULL:
            if -1 in state:
                return f"states every house is filled in but {puzzle.cell_name(state.index(-1))}" \
                       " is empty"
            return None
        house, attribute, stated = claim
        if not 1 <= house <= n:
            return f"there is no house {house}; houses are numbered 1 to {n}"
        a = puzzle.attr_index.get(attribute.lower())
        if a is None:
            return f"{attribute!r} is not an attribute of this puzzle"
        cell = a * n + house - 1
        if state[cell] >= 0:
            return f"{puzzle.cell_name(cell)} is already {puzzle.values[a][state[cell]]}"
        indices = []
        for word in stated:
            v = puzzle.value_index[a].get(word.lower())
            if v is None:
                return f"{word!r} is not a {puzzle.names[a]} of this puzzle"
            indices.append(v)
        actual = puzzle.candidates(state, puzzle.masks(state), cell)
        if sorted(indices) != actual:
            said = ", ".join(puzzle.values[a][v] for v in sorted(indices)) or "nothing"
            real = ", ".join(puzzle.values[a][v] for v in actual) or "nothing"
            return f"states {puzzle.cell_name(cell)} can be {said} but it can be {real}"
        return None

    def _read_claim(self, text: str, style: str) -> _Claim | None:
        """`full`, or (house, attribute, stated values), or None when unreadable."""
        if _style(style) == "compact":
            if text == _COMPACT_FULL:
                return _COMPACT_FULL
            match = _COMPACT_STATE.fullmatch(text)
            if match is None:
                return None
            listed = match.group(3)
            return int(match.group(1)), match.group(2), listed.split(",") if listed else []
        if text == _NATURAL_FULL:
            return _COMPACT_FULL
        match = _NATURAL_NONE.fullmatch(text)
        if match is not None:
            return int(match.group(1)), match.group(2), []
        match = _NATURAL_ONE.fullmatch(text) or _NATURAL_SOME.fullmatch(text)
        if match is None:
            return None
        listed = match.group(3).replace(" or ", ", ").split(", ")
        return int(match.group(1)), match.group(2), listed

    def dead_end_phrase(self, state: State, dead: DeadEnd, style: str) -> str:
        house, attribute = dead.detail[0], dead.detail[1]
        triples = list(zip(dead.detail[2::3], dead.detail[3::3], dead.detail[4::3],
                           strict=True))
        if style == "compact":
            parts = "".join(f" {value}{'@h' if kind == IN_HOUSE else '!c'}{number}"
                            for value, kind, number in triples)
            return f"h{house} {attribute} none:{parts}"
        parts = ", ".join(
            f"{value} {'is in house' if kind == IN_HOUSE else 'breaks clue'} {number}"
            for value, kind, number in triples)
        return f"No {attribute} fits house {house} ({parts})"

    def parse_dead_end(self, text: str, style: str) -> DeadEnd | None:
        if _style(style) == "compact":
            match = _COMPACT_DEAD.fullmatch(text)
            if match is None:
                return None
            house, attribute, listed = match.groups()
            reasons = [(value, IN_HOUSE if mark == "@h" else BREAKS_CLUE, int(number))
                       for value, mark, number in _COMPACT_REASON.findall(listed)]
        else:
            match = _NATURAL_DEAD.fullmatch(text)
            if match is None:
                return None
            attribute, house, listed = match.groups()
            reasons = [(value, IN_HOUSE if how == "is in house" else BREAKS_CLUE, int(number))
                       for value, how, number in _NATURAL_REASON.findall(listed)]
        return DeadEnd(NO_VALUE_FITS, (int(house), attribute,
                                       *(x for reason in reasons for x in reason)))

    def ref_phrase(self, state: State, move_in: ZebraMove | None, style: str) -> str:
        """A path state named by the move that made it: a cell is filled once per path."""
        style = _style(style)
        if move_in is None:
            return _REF_START[style]
        if style == "compact":
            return _COMPACT_REF_PREFIX + self.move_phrase(move_in, style)
        return (f"where house {_shown(move_in.house)} got the {move_in.attribute} "
                f"{move_in.value}")

    def parse_ref(self, text: str, style: str) -> Hashable | None:
        style = _style(style)
        if text == _REF_START[style]:
            return START
        if style == "compact":
            if not text.startswith(_COMPACT_REF_PREFIX):
                return None
            move = self.parse_move(text[len(_COMPACT_REF_PREFIX) :], style)
            return None if move is None else _ref(move)
        match = _NATURAL_REF.fullmatch(text)
        if match is None:
            return None
        house, attribute, value = match.groups()
        return _ref(ZebraMove(int(house) - 1, attribute, value))

    def ref_key(self, state: State, move_in: ZebraMove | None) -> Hashable:
        return START if move_in is None else _ref(move_in)

    def goal_phrase(self, state: State, style: str) -> str:
        return _GOAL[_style(style)]


def _ref(move: ZebraMove) -> tuple[int, str, str]:
    return move.house, str(move.attribute).lower(), str(move.value).lower()


# ---- answers ---------------------------------------------------------------------------

MAX_ANSWER_CHARS = 4000
MAX_ANSWER_LINES = 60
_TOKEN = re.compile(r"[A-Za-z]{1,30}|[0-9]{1,6}")


def format_answer(puzzle: Puzzle, grid: Sequence[Sequence[int]]) -> str:
    """One line per house, values in attribute order: `House 1: red, Brit, dog, tea`."""
    return "\n".join(
        f"House {h + 1}: " + ", ".join(puzzle.values[a][grid[a][h]]
                                       for a in range(len(puzzle.names)))
        for h in range(puzzle.n))


def answer_from_moves(data: dict[str, Any], moves: Sequence[ZebraMove]) -> str:
    """The full grid that the moves fill in, one line per house."""
    puzzle = Puzzle(data)
    n = puzzle.n
    grid = [[-1] * n for _ in puzzle.names]
    for move in moves:
        a = puzzle.attr_index[move.attribute.lower()]
        grid[a][move.house] = puzzle.value_index[a][move.value.lower()]
    if any(-1 in row for row in grid):
        raise ValueError("the moves leave empty cells")
    return format_answer(puzzle, grid)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: a full grid in which every clue holds.

    Reads the last <answer> block (else the whole text). Each line that names values of
    the puzzle is one house: its first number is the house (a line without a number is
    the next house in order), its values may come in any order with any separators and
    words around them ("House 2: red, Swede, cat", "| 2 | red | Swede | cat |",
    "2. colour=red pet=cat"). Lines naming no value (headers, prose) are ignored. Every
    value must be in exactly one house and every clue must hold: under the puzzle's
    uniqueness that is exactly its one solution.
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    from searchtrace.tasks.base import extract_answer

    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    puzzle = Puzzle(data)
    grid = _read_grid(puzzle, body)
    if isinstance(grid, Verdict):
        return grid
    for index, clue in enumerate(puzzle.clues):
        if not holds_in_grid(clue, grid):
            return Verdict.fail("clue_broken",
                                f"clue {index + 1} ({puzzle.texts[index]}) does not hold")
    return OK


def _read_grid(puzzle: Puzzle, body: str) -> list[list[int]] | Verdict:
    """grid[a][h] from the answer's lines, or why it is not one full grid."""
    n = puzzle.n
    grid = [[-1] * n for _ in puzzle.names]
    where: dict[tuple[int, int], int] = {}  # (attribute, value) -> house
    seen_houses: set[int] = set()
    house_lines = 0
    for line in body.splitlines()[:MAX_ANSWER_LINES]:
        tokens = _TOKEN.findall(line)
        items = [(puzzle.owner[t.lower()], t) for t in tokens if t.lower() in puzzle.owner]
        if not items:
            continue
        house_lines += 1
        number = next((int(t) for t in tokens if t.isdigit()), house_lines)
        if not 1 <= number <= n:
            return Verdict.fail("unknown_house", f"there is no house {number}; houses are "
                                f"numbered 1 to {n}")
        if number in seen_houses:
            return Verdict.fail("house_repeated", f"house {number} is given twice")
        seen_houses.add(number)
        h = number - 1
        for a, token in items:
            v = puzzle.value_index[a][token.lower()]
            name, value = puzzle.names[a], puzzle.values[a][v]
            if (a, v) in where:
                return Verdict.fail("value_repeated", f"{value} is in house {where[a, v] + 1} "
                                    f"and house {number}")
            if grid[a][h] >= 0:
                return Verdict.fail("cell_conflict", f"house {number} has two {name} values, "
                                    f"{puzzle.values[a][grid[a][h]]} and {value}")
            grid[a][h] = v
            where[a, v] = h
    if not house_lines:
        return Verdict.fail("unparsable_answer", "the answer names no value of the puzzle")
    for a, row in enumerate(grid):
        if -1 in row:
            return Verdict.fail("incomplete", f"house {row.index(-1) + 1} has no "
                                f"{puzzle.names[a]}")
    return grid


RULES = ZebraRules
TEXT = ZebraText
