"""What the Sokoban tests share: generated and solved problems, rendered traces whose
lines the tests corrupt and re-verify, a hand-drawn room, and an independent model of the
game read straight from the drawn grid (it shares no code with the task)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cache

import numpy as np

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import DeadEnd, GenerationSkipped, Problem
from searchtrace.tasks.sokoban.rules import SokobanMove, SokobanRules, SokobanState
from searchtrace.traces.styles.tokens import cost_token
from searchtrace.traces.tree import SearchTree
from tests.support import RenderedTrace as Rendered

TASK = get_task("sokoban")
STEP = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
LETTER = {"up": "u", "down": "d", "left": "l", "right": "r"}
ROOM = [
    "#########",
    "#@-$---.#",
    "#--$$-#.#",
    "#--#---.#",
    "#########",
]



@cache
def make_problem(seed: int, preset: str = "medium") -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    config = TASK.make_config(preset, {})
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {preset} Sokoban problem from seed {seed}")


@cache
def solved(seed: int, preset: str = "medium") -> tuple[Problem, SearchTree]:
    problem = make_problem(seed, preset)
    tree = solve_dfs(TASK.rules(problem.data), 20_000)
    assert tree.solution is not None, problem.data
    return problem, tree


def solution_moves(tree: SearchTree) -> list[SokobanMove]:
    return [tree.nodes[n].move for n in tree.solution_path()[1:]]


@cache
def rendered(seed: int, k: int, style: str) -> Rendered:
    """A medium problem's exact-k trace, rendered as `build_row` renders it."""
    problem = make_problem(seed)
    tree = solve_dfs(TASK.rules(problem.data), 20_000)  # its own tree: linearizing grows it
    return Rendered.build(TASK, problem, tree, k, style, 6, salt=seed)


def move_line(r: Rendered, move: SokobanMove, state: SokobanState) -> str:
    """A move line as `r`'s style writes it; in the tokens style with the g and h a move
    reaching `state` has."""
    said, now = r.text.move_phrase(move), r.text.state_phrase(state)
    if r.style == "tokens":
        g = state.pushes
        return f"create {said} | {now} g{g} h{cost_token(r.rules.heuristic(state))}"
    return f"try {said} -> {now}" if r.style == "compact" else f"Let me try {said}. {now}."


def dead_line(r: Rendered, state: SokobanState, claim: DeadEnd) -> str:
    said = r.text.dead_end_phrase(state, claim)
    if r.style == "tokens":
        return f"close {r.text.state_phrase(state)} dead {said}"
    return f"dead: {said}" if r.style == "compact" else f"{said}, so this is a dead end."


def back_line(r: Rendered, state: SokobanState) -> str:
    ref = r.text.ref_phrase(state, None)
    if r.style == "tokens":
        return f"back {ref}"
    return f"back to {ref}" if r.style == "compact" else f"Let me go back to {ref}."


# ---- an independent model of the game, from the drawn grid -----------------------------


@dataclass(frozen=True)
class Plain:
    """A room read straight from its characters: cells are 1-based (row, col) tuples."""

    walls: frozenset
    goals: frozenset
    boxes: frozenset
    player: tuple[int, int]

    @staticmethod
    def read(grid: list[str]) -> Plain:
        cells = {(r, c): ch for r, row in enumerate(grid, 1) for c, ch in enumerate(row, 1)}
        return Plain(frozenset(p for p, ch in cells.items() if ch == "#"),
                     frozenset(p for p, ch in cells.items() if ch in ".*+"),
                     frozenset(p for p, ch in cells.items() if ch in "$*"),
                     next(p for p, ch in cells.items() if ch in "@+"))

    def reach(self, player: tuple[int, int], boxes: frozenset) -> set[tuple[int, int]]:
        seen, todo = {player}, [player]
        while todo:
            r, c = todo.pop()
            for dr, dc in STEP.values():
                near = (r + dr, c + dc)
                if near not in seen and near not in self.walls and near not in boxes:
                    seen.add(near)
                    todo.append(near)
        return seen

    def pushes(self, player, boxes):
        """(box, direction, new player, new boxes) of every legal push."""
        reach = self.reach(player, boxes)
        for box in sorted(boxes):
            for name, (dr, dc) in STEP.items():
                target, behind = (box[0] + dr, box[1] + dc), (box[0] - dr, box[1] - dc)
                if target not in self.walls and target not in boxes and behind in reach:
                    yield box, name, box, (boxes - {box}) | {target}

    def fewest(self, player, boxes: frozenset, limit: int) -> int | None:
        """Fewest pushes to put every box on a goal, by breadth-first search; None when
        more than `limit` are needed (or it cannot be done)."""
        def key(p, b):
            return min(self.reach(p, b)), b

        frontier, seen = [(player, boxes)], {key(player, boxes)}
        for depth in range(limit + 1):
            following = []
            for p, b in frontier:
                if b <= self.goals:
                    return depth
                for *_, p2, b2 in self.pushes(p, b):
                    if key(p2, b2) not in seen:
                        seen.add(key(p2, b2))
                        following.append((p2, b2))
            frontier = following
        return None


def plain_state(rules: SokobanRules, state: SokobanState) -> tuple[tuple[int, int], frozenset]:
    room = rules.room
    return room.coords(state.player), frozenset(room.coords(b) for b in state.boxes)


def lurd(problem: Problem, moves: list[SokobanMove]) -> str:
    """The player's full move string for the pushes: lowercase walks, uppercase pushes."""
    plain = Plain.read(problem.data["grid"])
    player, boxes, letters = plain.player, set(plain.boxes), []
    for move in moves:
        dr, dc = STEP[move.direction]
        box = (move.row, move.col)
        behind = (box[0] - dr, box[1] - dc)
        came = {player: None}
        todo = deque([player])
        while todo:
            cell = todo.popleft()
            for name, (ddr, ddc) in STEP.items():
                near = (cell[0] + ddr, cell[1] + ddc)
                if near not in came and near not in plain.walls and near not in boxes:
                    came[near] = (cell, name)
                    todo.append(near)
        walk, cell = [], behind
        while came[cell] is not None:
            cell, name = came[cell]
            walk.append(LETTER[name])
        letters += [*reversed(walk), LETTER[move.direction].upper()]
        boxes.remove(box)
        boxes.add((box[0] + dr, box[1] + dc))
        player = box
    return "".join(letters)
