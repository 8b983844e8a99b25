"""Sokoban: config validation, solvable rooms, exact dead ends, traces that verify, corrupted
traces and wrong answers that are rejected, and a verifier that never raises on any text.

Solvability, dead ends and the heuristic are checked against an independent brute-force
breadth-first search written here from the drawn grid alone."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import (
    STYLES,
    DeadEnd,
    GenerationSkipped,
    Problem,
    Verdict,
    Violation,
    problem_id,
)
from searchtrace.tasks.sokoban.generate import PRESETS, SokobanConfig
from searchtrace.tasks.sokoban.rules import (
    SokobanMove,
    SokobanRules,
    SokobanState,
    SokobanText,
    check_answer,
    draw,
    lowest_cell,
)
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import BACKTRACK, DEAD_END, MOVE
from searchtrace.traces.tree import SearchTree
from tests.support import RenderedTrace as Rendered

TASK = get_task("sokoban")
STEP = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
LETTER = {"up": "u", "down": "d", "left": "l", "right": "r"}


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
    said, now = r.text.move_phrase(move, r.style), r.text.state_phrase(state, r.style)
    return f"try {said} -> {now}" if r.style == "compact" else f"Let me try {said}. {now}."


def dead_line(r: Rendered, state: SokobanState, claim: DeadEnd) -> str:
    said = r.text.dead_end_phrase(state, claim, r.style)
    return f"dead: {said}" if r.style == "compact" else f"{said}, so this is a dead end."


def back_line(r: Rendered, state: SokobanState) -> str:
    ref = r.text.ref_phrase(state, None, r.style)
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


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"height": 2}, "height", "must be between 3 and 10, got 2"),
        ({"width": 11}, "width", "must be between 3 and 10, got 11"),
        ({"boxes": 0}, "boxes", "must be between 1 and 3, got 0"),
        ({"boxes": 4}, "boxes", "must be between 1 and 3, got 4"),
        ({"pulls": 0}, "pulls", "must be between 1 and 300, got 0"),
        ({"min_pushes": 61}, "min_pushes", "must be between 1 and 60, got 61"),
        ({"slack": -1}, "slack", "must be between 0 and 10, got -1"),
        ({"slack": 11}, "slack", "must be between 0 and 10, got 11"),
        ({"walls": -1}, "walls", "must be between 0 and a third of height * width, got -1"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        SokobanConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_walls_must_fit_the_room() -> None:
    with pytest.raises(ValidationError, match=r"walls must be between 0 and 8 \(a third of the "
                                              r"5x5 floor\), got 9"):
        SokobanConfig(height=5, width=5, walls=9)
    assert SokobanConfig(height=5, width=5, walls=8).walls == 8


def test_config_is_frozen_and_rejects_unknown_knobs() -> None:
    with pytest.raises(ValidationError, match="goals"):
        SokobanConfig(goals=2)
    with pytest.raises(ValidationError):
        SokobanConfig().boxes = 3  # type: ignore[misc]


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_validate(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert config.model_dump() == PRESETS[preset]
    assert config.boxes == {"easy": 1, "medium": 2, "hard": 3}[preset]


# ---- generation ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_same_seed_same_problem(preset: str) -> None:
    config = TASK.make_config(preset, {})

    def make(seed: int) -> Problem | None:
        try:
            return TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            return None

    problems = [make(seed) for seed in range(6)]
    assert problems == [make(seed) for seed in range(6)]
    made = [p for p in problems if p is not None]
    assert len(made) >= 5
    assert len({p.id for p in made}) == len(made)
    for problem in made:
        grid = problem.data["grid"]
        assert len(grid) == config.height + 2 and {len(row) for row in grid} == {config.width + 2}
        assert set(grid[0]) == set(grid[-1]) == {"#"}
        plain = Plain.read(grid)
        assert len(plain.boxes) == len(plain.goals) == config.boxes
        assert not plain.boxes <= plain.goals
        assert problem.knobs == config.model_dump(mode="json")


def test_problem_json_round_trip_prompt_and_id() -> None:
    for seed in range(3):
        problem = make_problem(seed)
        assert Problem.from_json(problem.to_json()) == problem
        assert Problem.from_json(problem.to_json()).to_json() == problem.to_json()
        assert "\n".join(problem.data["grid"]) in problem.prompt
        assert f"at most {problem.data['max_pushes']} pushes" in problem.prompt
        assert "<answer></answer>" in problem.prompt
        for char in "#-.$*@+":
            assert f"{char} is" in problem.prompt
        # the id names the position, not where in its region the player happens to stand
        rules = TASK.rules(problem.data)
        start = rules.initial_state()
        canonical = draw(rules.room, start.boxes, lowest_cell(rules.region(start)))
        assert problem.id == problem_id("sokoban", {"grid": canonical,
                                                    "max_pushes": problem.data["max_pushes"]})


@pytest.mark.parametrize(("preset", "seeds"), [("easy", 6), ("medium", 5), ("hard", 1)])
def test_every_problem_is_solvable_within_its_limit(preset: str, seeds: int) -> None:
    """Brute-force BFS finds the fewest pushes: the limit is exactly that plus slack."""
    config = TASK.make_config(preset, {})
    for seed in range(seeds):
        problem = make_problem(seed, preset)
        plain = Plain.read(problem.data["grid"])
        limit = problem.data["max_pushes"]
        fewest = plain.fewest(plain.player, plain.boxes, limit)
        assert fewest == limit - config.slack, problem.data
        assert fewest >= config.min_pushes


def test_hard_problems_solve_within_the_budget() -> None:
    for seed in range(4):
        problem, tree = solved(seed, "hard")
        assert tree.nodes_expanded < 20_000
        assert check_answer(problem.data, TASK.answer(problem.data, solution_moves(tree))).ok


def test_rooms_that_are_too_easy_are_skipped_with_a_reason() -> None:
    config = SokobanConfig(height=4, width=4, boxes=1, walls=0, pulls=3, min_pushes=40)
    reasons = set()
    for seed in range(4):
        with pytest.raises(GenerationSkipped) as skipped:
            TASK.generate(config, np.random.default_rng(seed), "train")
        reasons.add(skipped.value.reason)
    assert reasons <= {"too_easy", "no_box_moved"} and "too_easy" in reasons


# ---- rules -----------------------------------------------------------------------------


def tree_states(seeds: tuple[int, ...] = (0, 2, 3), count: int = 60
                ) -> list[tuple[SokobanRules, SokobanState]]:
    """States the solver met and the dead-end branches widened for k=5 reached (on
    rooms with five sound dead-end branches)."""
    out = []
    for seed in seeds:
        r = rendered(seed, 5, "compact")
        out += [(r.rules, node.state) for node in r.tree.nodes[:count]]
    return out


def test_expand_gives_every_legal_push_once_and_agrees_with_apply() -> None:
    for rules, state in tree_states():
        grid = draw(rules.room, rules.room.boxes, rules.room.player)
        plain = Plain.read(grid)
        player, boxes = plain_state(rules, state)
        expected = {(box, name) for box, name, *_ in plain.pushes(player, boxes)}
        children = rules.expand(state)
        if state.pushes >= rules.room.max_pushes:
            assert children == []
            continue
        said = {((m.row, m.col), m.direction) for m, _ in children}
        assert said == expected and len(said) == len(children)
        keys = [rules.state_key(child) for _, child in children]
        assert len(set(keys)) == len(keys)
        needs = [rules.room.needed(child.boxes) for _, child in children]
        assert needs == sorted(needs)
        assert list(rules.wider_moves(state)) == children
        for move, child in children:
            applied = rules.apply(state, move)
            assert not isinstance(applied, Violation), (move, applied)
            assert rules.state_key(applied) == rules.state_key(child)
            assert applied == child


def test_heuristic_is_a_lower_bound_and_dead_ends_are_real() -> None:
    """Against brute force: the heuristic never exceeds the fewest pushes, every claimed
    dead end cannot be solved within the pushes left, and states with no child are dead."""
    checked = {"live": 0}
    for rules, state in tree_states((0, 2, 3, 4, 5, 6), 100):
        grid = draw(rules.room, rules.room.boxes, rules.room.player)
        plain = Plain.read(grid)
        player, boxes = plain_state(rules, state)
        left = rules.room.max_pushes - state.pushes
        fewest = plain.fewest(player, boxes, left)
        dead = rules.dead_end(state)
        if dead is not None:
            assert fewest is None, (state, dead)
            assert rules.confirm_dead_end(state, dead) is None
            checked[dead.code] = checked.get(dead.code, 0) + 1
        else:
            assert rules.heuristic(state) <= (fewest if fewest is not None else 10**9)
            assert rules.expand(state) or rules.is_goal(state)
            checked["live"] += 1
        if fewest is not None:
            assert rules.heuristic(state) <= fewest
    # sound dead-end branches start where no solution is left, mostly a stuck box, so
    # few of them run out of pushes
    assert checked["live"] >= 50 and checked.get("out_of_pushes", 0) >= 3, checked
    assert len(checked) >= 4, checked  # box-based dead ends too, not only the push count


ROOM = [
    "#########",
    "#@-$---.#",
    "#--$$-#.#",
    "#--#---.#",
    "#########",
]


@pytest.mark.parametrize(
    ("move", "code", "words"),
    [
        (SokobanMove(0, 4, "up"), "off_grid", "outside the 5x9 grid"),
        (SokobanMove(2, 10, "left"), "off_grid", "outside"),
        (SokobanMove(2, 3, "right"), "no_box", "no box at (2,3): it is empty"),
        (SokobanMove(1, 1, "right"), "no_box", "it is a wall"),
        (SokobanMove(2, 4, "up"), "blocked_by_wall", "wall at (1,4)"),
        (SokobanMove(3, 4, "down"), "blocked_by_wall", "wall at (4,4)"),
        (SokobanMove(2, 4, "down"), "blocked_by_box", "box at (3,4)"),
        (SokobanMove(2, 4, "left"), "player_cannot_reach", "cannot walk there from (2,2)"),
        (SokobanMove(3, 5, "right"), "player_cannot_reach", "(3,4), which holds a box"),
        (SokobanMove(3, 5, "up"), "player_cannot_reach", "(4,5) but cannot walk there"),
        (SokobanMove(2, 4, "sideways"), "unknown_direction", "'sideways'"),
    ],
)
def test_apply_names_the_broken_rule(move: SokobanMove, code: str, words: str) -> None:
    rules = SokobanRules.from_data({"grid": ROOM, "max_pushes": 10})
    violation = rules.apply(rules.initial_state(), move)
    assert isinstance(violation, Violation) and violation.code == code, violation
    assert words in violation.message, violation


def test_apply_enforces_the_push_limit_and_moves_the_player() -> None:
    rules = SokobanRules.from_data({"grid": ROOM, "max_pushes": 1})
    start = rules.initial_state()
    pushed = rules.apply(start, SokobanMove(2, 4, "right"))
    assert isinstance(pushed, SokobanState)
    assert rules.room.coords(pushed.player) == (2, 4) and pushed.pushes == 1
    assert sorted(rules.room.coords(b) for b in pushed.boxes) == [(2, 5), (3, 4), (3, 5)]
    again = rules.apply(pushed, SokobanMove(2, 5, "right"))
    assert isinstance(again, Violation) and again.code == "push_limit"
    assert rules.expand(pushed) == []
    assert rules.dead_end(pushed) is not None  # a state with no child is a dead end


@pytest.mark.parametrize(
    ("grid", "limit", "dead"),
    [
        (["#######", "#$--.@#", "#-----#", "#######"], 9, DeadEnd("corner", (2, 2))),
        (["########", "#-$$-..#", "#-----@#", "########"], 9, DeadEnd("frozen", (2, 3, 1, 3))),
        (["#######", "#-$---#", "#-----#", "#@--.-#", "#######"], 9,
         DeadEnd("dead_square", (2, 3))),
        (["#######", "#-----#", "#-$-.-#", "#@----#", "#######"], 1,
         DeadEnd("out_of_pushes", (2, 1))),
        (["########", "#@#----#", "###-$-.#", "#------#", "########"], 9, DeadEnd("no_push", ())),
    ],
)
def test_each_dead_end_is_found_confirmed_and_true(grid: list[str], limit: int,
                                                   dead: DeadEnd) -> None:
    rules = SokobanRules.from_data({"grid": grid, "max_pushes": limit})
    state = rules.initial_state()
    assert rules.dead_end(state) == dead
    assert rules.confirm_dead_end(state, dead) is None
    plain = Plain.read(grid)
    assert plain.fewest(plain.player, plain.boxes, limit) is None
    for style in STYLES:
        text = SokobanText.from_data({"grid": grid, "max_pushes": limit})
        assert text.parse_dead_end(text.dead_end_phrase(state, dead, style), style) == dead


def test_false_dead_end_claims_say_why() -> None:
    open_room = {"grid": ["#######", "#-----#", "#-$-.-#", "#@----#", "#######"],
                 "max_pushes": 4}
    rules = SokobanRules.from_data(open_room)
    state = rules.initial_state()
    assert rules.dead_end(state) is None
    cases = [
        (DeadEnd("corner", (3, 3)), "not in a corner"),
        (DeadEnd("corner", (3, 4)), "no box at (3,4)"),
        (DeadEnd("corner", (3, 5)), "no box"),
        (DeadEnd("dead_square", (3, 3)), "can still reach a goal in 2 pushes"),
        (DeadEnd("frozen", (3, 3, 2, 2)), "neither a wall nor a box"),
        (DeadEnd("frozen", (3, 3, 5, 5)), "does not hold the box"),
        (DeadEnd("out_of_pushes", (2, 4)), "would fit in the 4 left"),
        (DeadEnd("out_of_pushes", (5, 3)), "4 pushes are left, not 3"),
        (DeadEnd("no_push", ()), "can be pushed"),
        (DeadEnd("corner", (3,)), "names 2 numbers"),
        (DeadEnd("corner", ("3", 3)), "whole numbers"),
        (DeadEnd("stuck", ()), "not a Sokoban dead end"),
    ]
    for claim, words in cases:
        why = rules.confirm_dead_end(state, claim)
        assert why is not None and words in why, (claim, why)
    tight = SokobanRules.from_data({**open_room, "max_pushes": 1})
    assert tight.confirm_dead_end(tight.initial_state(), DeadEnd("out_of_pushes", (2, 1))) is None
    why = tight.confirm_dead_end(tight.initial_state(), DeadEnd("out_of_pushes", (3, 1)))
    assert "need at least 2 pushes, not 3" in why
    goal = SokobanRules.from_data({"grid": ["#####", "#@*-#", "#####"], "max_pushes": 3})
    assert goal.is_goal(goal.initial_state()) and goal.dead_end(goal.initial_state()) is None
    assert "every box is on a goal" in goal.confirm_dead_end(goal.initial_state(),
                                                             DeadEnd("no_push", ()))


@pytest.mark.parametrize(
    ("grid", "words"),
    [
        (["#####", "#@$x#", "#####"], "unknown character 'x' at (2,4)"),
        (["#####", "#@$.#", "#@--#", "#####"], "exactly one player, found 2"),
        (["#####", "#@$-#", "#####"], "found 0 goals and 1 boxes"),
        (["#####", "#@--#", "#####"], "found 0 goals and 0 boxes"),
        ([], "1 to 30 rows"),
    ],
)
def test_bad_grids_are_refused(grid: list[str], words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        SokobanRules.from_data({"grid": grid, "max_pushes": 5})


def test_state_key_names_the_player_region_not_the_cell() -> None:
    rules = SokobanRules.from_data({"grid": ROOM, "max_pushes": 10})
    start = rules.initial_state()
    elsewhere = start._replace(player=rules.room.cell(4, 3))
    assert rules.state_key(start) == rules.state_key(elsewhere)
    assert rules.state_key(start) == rules.state_key(start._replace(pushes=3))
    beyond = start._replace(player=rules.room.cell(2, 6))
    assert rules.state_key(start) != rules.state_key(beyond)


@pytest.mark.parametrize("style", STYLES)
def test_step_text_reads_back_what_it_says(style: str) -> None:
    problem, tree = solved(0)
    text = SokobanText.from_data(problem.data)
    rules = TASK.rules(problem.data)
    for node in tree.nodes[:30]:
        state = node.state
        if node.move is not None:
            assert text.parse_move(text.move_phrase(node.move, style), style) == node.move
        assert text.state_claim_error(text.state_phrase(state, style), state, style) is None
        ref = text.ref_phrase(state, node.move, style)
        assert text.parse_ref(ref, style) == text.ref_key(state, node.move)
        if node.reason is not None:
            said = text.dead_end_phrase(state, node.reason, style)
            assert text.parse_dead_end(said, style) == node.reason
            assert rules.confirm_dead_end(state, node.reason) is None
    start = rules.initial_state()
    later = tree.nodes[tree.solution].state
    assert "states boxes at" in text.state_claim_error(text.state_phrase(later, style), start,
                                                       style)
    for garbage in ("", "pushing the box at (2,3) sideways", "(2,3) right ", "(2, 3) right",
                    "push (2,3) right.", "(²,3) right", "(2,3)"):
        assert text.parse_move(garbage, style) is None
        assert text.parse_dead_end(garbage, style) is None
        assert text.parse_ref(garbage, style) is None
        assert text.state_claim_error(garbage, start, style) is not None


def test_rendered_lines_read_naturally() -> None:
    r = rendered(0, 3, "natural")
    assert re.fullmatch(r"Let me try pushing the box at \(\d,\d\) (up|down|left|right)\. Now "
                        r"the boxes are at \(\d,\d\) and \(\d,\d\), with (\d+ push(es)?|no "
                        r"pushes) left\.", r.lines[0]), r.lines[0]
    backs = [r.lines[i] for i in r.trace.backtrack_positions]
    assert all(re.fullmatch(r"(Let me go|Going) back to the (start|position after \d+ push(es)?)"
                            r", with the boxes at \(\d,\d\) and \(\d,\d\)\.", b) for b in backs)
    assert r.lines[-1] == "Every box is on a goal, so the puzzle is solved."
    compact = rendered(0, 3, "compact")
    assert re.fullmatch(r"try \(\d,\d\) \w+ -> \(\d,\d\) \(\d,\d\); \d+ left", compact.lines[0])
    assert compact.lines[-1] == "goal: all boxes on goals"


# ---- traces ----------------------------------------------------------------------------


# Rooms that supply the ks below in sound dead-end branches.
@pytest.mark.parametrize(("preset", "seeds"), [("easy", (1, 2)), ("medium", (0, 2, 3, 4)),
                                               ("hard", (0,))])
def test_solver_traces_verify(preset: str, seeds: tuple[int, ...]) -> None:
    for seed in seeds:
        problem, tree = solved(seed, preset)
        rules = TASK.rules(problem.data)
        traces = [linearize_natural(tree)]
        ks = (0, 1, 3) if preset == "easy" else (0, 1, 3, 5)
        traces += [linearize_exact(tree, rules, k, "uniform", 6) for k in ks]
        assert [t.num_backtracks for t in traces[1:]] == list(ks)
        answer = TASK.answer(problem.data, solution_moves(tree))
        assert check_answer(problem.data, answer).ok
        for trace in traces:
            for style in STYLES:
                lines = render_think_lines(trace, tree, TASK.step_text(problem.data), style, seed)
                verdict = verify_completion(TASK, problem.data, format_completion(lines, answer),
                                            style, trace.num_backtracks)
                assert verdict.ok, (verdict, lines)


def find_violation(r: Rendered, code: str, inside_branch: bool = False) -> tuple[int, SokobanMove]:
    """The first MOVE line (inside a dead-end branch if asked) from whose state some push
    breaks exactly the rule `code`, and that push."""
    rules = r.rules
    on_path = set(r.tree.solution_path())
    room = rules.room
    for line, step in enumerate(r.trace.steps):
        if step.kind != MOVE or (inside_branch and step.node in on_path):
            continue
        state = r.before(line)
        for row in range(room.height + 2):
            for col in range(room.width + 2):
                for direction in STEP:
                    move = SokobanMove(row, col, direction)
                    found = rules.apply(state, move)
                    if isinstance(found, Violation) and found.code == code:
                        return line, move
    raise AssertionError(f"no {code} push in the trace")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", ["off_grid", "no_box", "blocked_by_wall", "blocked_by_box",
                                  "player_cannot_reach"])
def test_illegal_pushes_are_rejected(style: str, code: str) -> None:
    for seed in range(6):
        r = rendered(seed, 3, style)
        try:
            line, move = find_violation(r, code)
        except AssertionError:
            continue
        lines = list(r.lines)
        lines[line] = move_line(r, move, r.node(line).state)
        verdict = r.verify(lines)
        assert verdict.code == code and verdict.line == line, verdict
        return
    raise AssertionError(f"no seed has a {code} push")


@pytest.mark.parametrize("style", STYLES)
def test_illegal_push_inside_a_dead_end_branch_is_rejected(style: str) -> None:
    r = rendered(1, 3, style)
    line, move = find_violation(r, "blocked_by_wall", inside_branch=True)
    assert r.trace.steps[line].node not in r.tree.solution_path()
    lines = list(r.lines)
    lines[line] = move_line(r, move, r.node(line).state)
    verdict = r.verify(lines)
    assert verdict.code == "blocked_by_wall" and verdict.line == line, verdict


@pytest.mark.parametrize("style", STYLES)
def test_pushing_past_the_limit_is_rejected(style: str) -> None:
    r = rendered(0, 0, style)
    rules = r.rules
    limit = rules.room.max_pushes

    def walk(state: SokobanState, moves: list) -> list | None:
        """Any `limit` legal pushes that leave one more legal push (depth first)."""
        if state.pushes == limit:
            extra = next(rules.pushes(state), None)
            return None if extra is None else [*moves, extra]
        for move, child in rules.pushes(state):
            found = walk(child, [*moves, (move, child)])
            if found is not None:
                return found
        return None

    steps = walk(rules.initial_state(), [])
    assert steps is not None and len(steps) == limit + 1
    lines = [move_line(r, move, child) for move, child in steps]
    verdict = r.verify(lines, backtracks=None)
    assert verdict.code == "push_limit" and verdict.line == limit, verdict


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claims_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    rules = r.rules
    start, first = rules.initial_state(), r.node(0).state
    assert rules.dead_end(first) is None
    box = rules.room.coords(first.boxes[0])
    left = rules.room.max_pushes - first.pushes
    for claim in (DeadEnd("no_push", ()), DeadEnd("out_of_pushes", (left + 1, left)),
                  DeadEnd("corner", box), DeadEnd("dead_square", box)):
        lines = list(r.lines)
        lines[1:1] = [dead_line(r, first, claim), back_line(r, start)]
        verdict = r.verify(lines, backtracks=r.trace.num_backtracks + 1)
        assert verdict.code == "false_dead_end" and verdict.line == 1, (claim, verdict)
    # a real dead end, but the claim names the wrong evidence
    at = next(i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END)
    truth = r.node(at).reason
    if truth.code == "out_of_pushes":
        lie = DeadEnd(truth.code, (truth.detail[0], truth.detail[1] + 1))
    else:
        lie = DeadEnd(truth.code, (truth.detail[0] + 1, *truth.detail[1:]))
    lines = list(r.lines)
    lines[at] = dead_line(r, r.node(at).state, lie)
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == at, verdict


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    move, true_state = r.node(0).move, r.node(0).state
    assert move_line(r, move, true_state) == r.lines[0]  # the builder says what render says
    room = r.rules.room
    shifted = next(b + 1 for b in true_state.boxes if not room.is_wall(b + 1)
                   and b + 1 not in true_state.boxes)
    wrong_boxes = tuple(sorted((*true_state.boxes[:-1], shifted)))
    for stated in (true_state._replace(pushes=true_state.pushes + 1),
                   true_state._replace(boxes=wrong_boxes),
                   true_state._replace(boxes=true_state.boxes[:-1])):
        lines = list(r.lines)
        lines[0] = move_line(r, move, stated)
        verdict = r.verify(lines)
        assert verdict.code == "wrong_state" and verdict.line == 0, (stated, verdict)


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_off_the_path_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    first, second = r.trace.backtrack_positions[:2]
    abandoned = r.node(first - 2).state  # the last move of the first dead-end branch
    start = r.rules.initial_state()
    moved = tuple(sorted((*start.boxes[1:], start.boxes[0] + 1)))
    for state in (abandoned, start._replace(boxes=moved)):
        lines = list(r.lines)
        lines[second] = back_line(r, state)
        verdict = r.verify(lines)
        assert verdict.code == "backtrack_off_path" and verdict.line == second, verdict


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_needs_a_dead_end_and_a_move_needs_a_backtrack(style: str) -> None:
    r = rendered(0, 3, style)
    lines = list(r.lines)
    lines.insert(1, back_line(r, r.rules.initial_state()))
    verdict = r.verify(lines)
    assert verdict.code == "backtrack_without_dead_end" and verdict.line == 1, verdict
    position = r.trace.backtrack_positions[0]
    lines = list(r.lines)
    del lines[position]
    verdict = r.verify(lines)
    assert verdict.code == "move_after_dead_end" and verdict.line == position, verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("k", [1, 3])
def test_miscounted_backtracks_are_rejected(style: str, k: int) -> None:
    r = rendered(1, k, style)
    assert r.verify(backtracks=k).ok
    for wrong in (k - 1, k + 1):
        assert r.verify(backtracks=wrong).code == "backtrack_count"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_final_answer_is_rejected(style: str) -> None:
    r = rendered(0, 1, style)
    pushes = r.answer.split("; ")
    for answer in ("; ".join(pushes[:-1]), "; ".join(pushes[1:]), "", "push (2,2) up"):
        verdict = r.verify(answer=answer)
        assert verdict.code == "wrong_answer", (answer, verdict)


@pytest.mark.parametrize("style", STYLES)
def test_missing_goal_and_false_goal_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    assert r.verify(list(r.lines[:-1])).code == "no_goal"
    dead_at = next(i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END)
    lines = list(r.lines[: dead_at + 1])
    lines[dead_at] = r.lines[-1]
    assert r.verify(lines).code == "false_goal"
    assert r.trace.steps[-1].kind != BACKTRACK


# ---- answers ---------------------------------------------------------------------------


def test_check_answer_accepts_pushes_in_several_layouts_and_lurd() -> None:
    problem, tree = solved(2)
    moves = solution_moves(tree)
    canonical = TASK.answer(problem.data, moves)
    assert canonical.startswith("push (") and canonical.count("; ") == len(moves) - 1
    pairs = [(f"({m.row},{m.col})", m.direction) for m in moves]
    texts = [
        canonical,
        f"Thinking... <answer>push (2,2) up</answer> no: <answer>\n{canonical}\n</answer>",
        ", ".join(f"{cell} {d[0].upper()}" for cell, d in pairs),
        "\n".join(f"{i}. Push the box at {cell} to the {d}" for i, (cell, d) in
                  enumerate(pairs, 1)),
        " then ".join(f"push ( {cell[1:-1].replace(',', ' , ')} ) {d.upper()}"
                      for cell, d in pairs),
        lurd(problem, moves),
        lurd(problem, moves).lower(),
    ]
    for text in texts:
        assert check_answer(problem.data, text).ok, (text, check_answer(problem.data, text))


def test_check_answer_rejects_with_the_reason() -> None:
    problem, tree = solved(2)
    moves = solution_moves(tree)
    data = problem.data
    answer = TASK.answer(data, moves)
    pushes = answer.split("; ")
    cases = [
        ("; ".join(pushes[:-1]), "not_solved"),
        ("; ".join(reversed(pushes)), None),  # some rule breaks: the code names which
        ("push (0,0) up", "off_grid"),
        ("the boxes go right", "unparsable_answer"),
        (f"{answer}; and then celebrate", "unparsable_answer"),
        ("", "unparsable_answer"),
        ("__import__('os').system('ls')", "unparsable_answer"),
        ("push (2,2) up" * 400, "too_long"),
        (lurd(problem, moves)[:-1], "not_solved"),
    ]
    for text, code in cases:
        verdict = check_answer(data, text)
        assert not verdict.ok, text
        if code is not None:
            assert verdict.code == code, (text, verdict)
    assert check_answer(data, None).code == "not_text"  # type: ignore[arg-type]
    tight = {**data, "max_pushes": len(moves) - 1}
    assert check_answer(tight, answer).code == "push_limit"
    assert check_answer(tight, lurd(problem, moves)).code == "push_limit"
    walled = {"grid": ROOM, "max_pushes": 9}
    assert check_answer(walled, "ulll").code == "walks_into_wall"
    assert check_answer(walled, "drR").code == "blocked_by_box"
    cornered = {"grid": ["#######", "#$--.@#", "#-----#", "#######"], "max_pushes": 9}
    assert check_answer(cornered, "lllL").code == "blocked_by_wall"
    assert check_answer(cornered, "lll").code == "not_solved"


# ---- never raising on arbitrary text ---------------------------------------------------

_num = st.one_of(st.integers(min_value=-1, max_value=12).map(str),
                 st.sampled_from(["²", "①", "9" * 400, "", "03"]))
_cell = st.builds("({},{})".format, _num, _num)
_direction = st.sampled_from(["up", "down", "left", "right", "sideways", "UP"])
_cells = st.lists(_cell, min_size=1, max_size=4)
_phrases = st.one_of(
    st.text(max_size=40),
    st.builds("Let me try pushing the box at {} {}. Now the boxes are at {}, with {} pushes "
              "left.".format, _cell, _direction, _cells.map(" and ".join), _num),
    st.builds("try {} {} -> {}; {} left".format, _cell, _direction, _cells.map(" ".join), _num),
    st.builds("The box at {} is stuck in a corner off the goals, so this is a dead end.".format,
              _cell),
    st.builds("The box at {} is off the goals and frozen in the block of walls and boxes from "
              "{} to {}, so this branch fails.".format, _cell, _cell, _cell),
    st.builds("The goals are at least {} pushes away, but only {} are left, so this is a dead "
              "end.".format, _num, _num),
    st.builds("dead: {} frozen in {}-{}".format, _cell, _cell, _cell),
    st.builds("dead: need {} > {} left".format, _num, _num),
    st.builds("dead: {} cornered".format, _cell),
    st.builds("back to push {}: {}".format, _num, _cells.map(" ".join)),
    st.builds("Let me go back to the position after {} pushes, with the boxes at {}.".format,
              _num, _cells.map(" and ".join)),
    st.sampled_from(["dead: no push", "No box can be pushed, so this is a dead end.",
                     "goal: all boxes on goals", "back to start: (1,1)",
                     "Every box is on a goal, so the puzzle is solved."]),
)


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(min_value=0, max_value=40), lines=st.lists(_phrases, max_size=5),
       answer=st.text(max_size=80), style=st.sampled_from(STYLES))
@example(cut=1, lines=["try (99,99) up -> (1,1); 0 left"], answer="", style="compact")
@example(cut=2, lines=["dead: (2,2) frozen in (0,0)-(1,1)"], answer="", style="compact")
def test_verifier_never_fails_internally_on_spliced_lines(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Random lines spliced into a real trace, so they meet states deep in the search."""
    r = rendered(0, 3, style)
    think = [*r.lines[:cut], *lines, *r.lines[cut:]]
    verdict = r.verify(think, answer, backtracks=None)
    assert isinstance(verdict, Verdict)
    assert verdict.code != "verifier_error", verdict


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300), style=st.sampled_from(STYLES))
def test_verifier_never_raises_and_rejects_random_text(text: str, style: str) -> None:
    data = make_problem(0).data
    for completion in (text, f"<think>\n{text}\n</think>\n<answer>{text}</answer>"):
        verdict = verify_completion(TASK, data, completion, style, None)
        assert not verdict.ok and verdict.code != "verifier_error", verdict


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=200), st.text(alphabet="lurdLURD(),; 0123456789",
                                                      max_size=60)))
def test_check_answer_never_raises(text: str) -> None:
    data = make_problem(0).data
    for candidate in (text, f"<answer>{text}</answer>"):
        verdict = check_answer(data, candidate)
        assert isinstance(verdict, Verdict)
