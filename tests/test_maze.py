"""Maze: config validation, reachable goals, rules, traces that verify, corrupted traces and
wrong answers that are rejected, and a verifier that never raises on arbitrary text."""

from __future__ import annotations

import json
import re
from collections import deque
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
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
from searchtrace.tasks.maze.generate import PRESETS, MazeConfig
from searchtrace.tasks.maze.rules import (
    DELTAS,
    POCKET,
    WORDS,
    MazeMove,
    MazeRules,
    MazeState,
    MazeText,
    check_answer,
)
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import BACKTRACK, DEAD_END, MOVE
from searchtrace.traces.tree import SearchTree
from tests.support import RenderedTrace as Rendered

TASK = get_task("maze")
OPPOSITE = {"U": "D", "D": "U", "L": "R", "R": "L"}

# A hand-drawn maze: the left column opens into a closed-off area of 13 cells (so a first
# step down is a cut-off), which holds a cul-de-sac at (4,3); the route runs along the top
# and down the right side: R R R R R D D D D D.
SMALL = {"grid": [
    "S.....",
    ".####.",
    ".#..#.",
    ".#..#.",
    ".##.#.",
    "....#G",
]}


def make_problem(seed: int, preset: str = "medium", **knobs: object) -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    return _make_problem(seed, preset, tuple(sorted(knobs.items())))


@cache
def _make_problem(seed: int, preset: str, knobs: tuple) -> Problem:
    config = TASK.make_config(preset, dict(knobs))
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {preset} maze from seed {seed}")


@cache
def solved(seed: int, preset: str = "medium") -> tuple[Problem, SearchTree]:
    problem = make_problem(seed, preset)
    tree = solve_dfs(TASK.rules(problem.data), 20_000)
    assert tree.solution is not None, problem.data
    return problem, tree


def answer_of(problem: Problem, tree: SearchTree) -> str:
    return TASK.answer(problem.data, [tree.nodes[n].move for n in tree.solution_path()[1:]])



@cache
def rendered(seed: int, k: int, style: str, preset: str = "medium") -> Rendered:
    """A problem's exact-k trace, rendered as `build_row` renders it."""
    problem, tree = solved(seed, preset)
    return Rendered.build(TASK, problem, tree, k, style, 6, salt=seed)


# The lines a completion is made of, built from the task's own phrases.


def move_line(problem: Problem, style: str, move: MazeMove, state: MazeState) -> str:
    text = TASK.step_text(problem.data)
    said, now = text.move_phrase(move, style), text.state_phrase(state, style)
    return f"try {said} -> {now}" if style == "compact" else f"Let me try {said}. {now}."


def dead_line(problem: Problem, style: str, state: MazeState, claim: DeadEnd) -> str:
    said = TASK.step_text(problem.data).dead_end_phrase(state, claim, style)
    return f"dead: {said}" if style == "compact" else f"{said}, so this is a dead end."


def back_line(problem: Problem, style: str, state: MazeState) -> str:
    ref = TASK.step_text(problem.data).ref_phrase(state, None, style)
    return f"back to {ref}" if style == "compact" else f"Let me go back to {ref}."


def step(direction: str, cell: tuple[int, int]) -> MazeMove:
    """The move `direction` from the 0-based `cell`, naming the cell it reaches."""
    dr, dc = DELTAS[direction]
    return MazeMove(direction, cell[0] + dr, cell[1] + dc)


def walk(rules: MazeRules, directions: str) -> MazeState:
    """The state after the legal moves `directions` from the start."""
    state = rules.initial_state()
    for direction in directions:
        state = rules.apply(state, step(direction, divmod(state.cell, rules.maze.width)))
        assert isinstance(state, MazeState), state
    return state


def shortest(grid: list[str], start: tuple[int, int], blocked: frozenset = frozenset()) -> \
        int | None:
    """Moves on the shortest route from `start` to G over open cells not in `blocked`, by
    breadth-first search on the drawn grid (independent of the task's code)."""
    seen = {start: 0}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if grid[r][c] == "G":
            return seen[(r, c)]
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if (0 <= nr < len(grid) and 0 <= nc < len(grid[0]) and grid[nr][nc] != "#"
                    and (nr, nc) not in seen and (nr, nc) not in blocked):
                seen[(nr, nc)] = seen[(r, c)] + 1
                queue.append((nr, nc))
    return None


def find(grid: list[str], mark: str) -> tuple[int, int]:
    row = next(r for r, line in enumerate(grid) if mark in line)
    return row, grid[row].index(mark)


def path_cells(state: MazeState, width: int) -> frozenset:
    return frozenset(divmod(i, width) for i in range(state.visited.bit_length())
                     if state.visited >> i & 1)


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"height": 4}, "height", "must be between 5 and 41, got 4"),
        ({"height": 42}, "height", "must be between 5 and 41, got 42"),
        ({"width": 3}, "width", "must be between 5 and 41, got 3"),
        ({"wall_density": 0.6}, "wall_density", "must be between 0 and 0.5, got 0.6"),
        ({"wall_density": -0.1}, "wall_density", "must be between 0 and 0.5, got -0.1"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        MazeConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_config_is_frozen_and_rejects_unknown_knobs() -> None:
    with pytest.raises(ValidationError, match="density"):
        MazeConfig(density=0.3)
    with pytest.raises(ValidationError):
        MazeConfig().height = 9  # type: ignore[misc]


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_validate_and_generate_reliably(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert config.model_dump() == PRESETS[preset]
    made = 0
    for seed in range(20):
        try:
            problem = TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            continue
        made += 1
        assert len(problem.data["grid"]) == config.height
        assert problem.knobs == config.model_dump(mode="json")
    assert made >= 17


# ---- generation ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_same_seed_same_problem(preset: str) -> None:
    config = TASK.make_config(preset, {})

    def make(seed: int) -> Problem | str:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped as skipped:
            return skipped.reason

    assert make(11) == make(11)
    assert make(12) == make(12)
    assert len({getattr(make(seed), "id", None) for seed in range(6)} - {None}) > 3


@pytest.mark.parametrize(("height", "width", "density"),
                         [(5, 5, 0.0), (7, 7, 0.2), (11, 11, 0.35), (9, 23, 0.3), (21, 21, 0.35)])
def test_mazes_have_the_walls_and_a_reachable_distant_goal(
    height: int, width: int, density: float
) -> None:
    for seed in range(4):
        problem = make_problem(seed, height=height, width=width, wall_density=density)
        grid = problem.data["grid"]
        assert len(grid) == height and {len(row) for row in grid} == {width}
        cells = "".join(grid)
        assert set(cells) <= set("#.SG")
        assert cells.count("S") == 1 and cells.count("G") == 1
        assert cells.count("#") == round(density * height * width)
        (sr, sc), (gr, gc) = find(grid, "S"), find(grid, "G")
        assert abs(sr - gr) + abs(sc - gc) >= (height + width - 2) // 2
        assert shortest(grid, (sr, sc)) is not None
        assert problem.id == problem_id("maze", problem.data)


def test_unreachable_goals_are_skipped_with_a_reason() -> None:
    config = MazeConfig(height=9, width=9, wall_density=0.5)
    reasons = []
    for seed in range(30):
        try:
            problem = TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped as skipped:
            reasons.append(skipped.reason)
            continue
        assert shortest(problem.data["grid"], find(problem.data["grid"], "S")) is not None
    assert reasons and set(reasons) <= {"goal_unreachable", "no_distant_cell"}


def test_problem_json_round_trip_and_prompt() -> None:
    problem = make_problem(0)
    assert Problem.from_json(problem.to_json()) == problem
    grid = problem.data["grid"]
    for row in grid:
        assert " ".join(row) in problem.prompt
    (sr, sc), (gr, gc) = find(grid, "S"), find(grid, "G")
    assert f"S is at ({sr + 1},{sc + 1}) and G is at ({gr + 1},{gc + 1})" in problem.prompt
    assert "(1,1) is the top-left cell" in problem.prompt
    assert "<answer></answer>" in problem.prompt
    assert problem.data == {"grid": grid}


# ---- rules -----------------------------------------------------------------------------


def test_expand_orders_by_distance_and_agrees_with_apply_and_wider_moves() -> None:
    for seed in range(3):
        problem, tree = solved(seed)
        rules = TASK.rules(problem.data)
        grid, width = problem.data["grid"], len(problem.data["grid"][0])
        goal = find(grid, "G")
        for node in tree.nodes:
            state = node.state
            children = rules.expand(state)
            assert list(rules.wider_moves(state)) == children
            here = divmod(state.cell, width)
            legal = []
            for direction in "UDLR":
                result = rules.apply(state, step(direction, here))
                if not isinstance(result, Violation):
                    legal.append(result)
            assert sorted(legal) == sorted(child for _, child in children)
            for move, child in children:
                assert rules.state_key(rules.apply(state, move)) == rules.state_key(child)
                assert child.visited == state.visited | 1 << child.cell
            far = [abs(m.row - goal[0]) + abs(m.col - goal[1]) for m, _ in children]
            assert far == sorted(far)


def test_state_key_tells_paths_to_the_same_cell_apart() -> None:
    rules = MazeRules.from_data({"grid": ["S...", "....", "...G", "...."]})
    around = walk(rules, "RDDL")  # (1,1) (1,2) (2,2) (3,2) (3,1)
    straight = walk(rules, "DD")  # (1,1) (2,1) (3,1)
    assert around.cell == straight.cell
    assert rules.state_key(around) != rules.state_key(straight)
    # and what may come next differs: each path blocks a different neighbour
    assert {m.direction for m, _ in rules.expand(straight)} == {"D", "R"}
    assert {m.direction for m, _ in rules.expand(around)} == {"U", "D"}


@pytest.mark.parametrize(
    ("walked", "direction", "named", "code"),
    [
        ("", "U", None, "off_grid"),
        ("", "L", None, "off_grid"),
        ("RRRRR", "R", None, "off_grid"),
        ("R", "D", None, "into_wall"),
        ("D", "U", None, "revisit"),
        ("RR", "L", None, "revisit"),
        ("", "D", (2, 0), "not_adjacent"),
        ("", "R", (1, 0), "not_adjacent"),
    ],
)
def test_apply_names_the_broken_rule(
    walked: str, direction: str, named: tuple[int, int] | None, code: str
) -> None:
    rules = MazeRules.from_data(SMALL)
    state = walk(rules, walked)
    here = divmod(state.cell, 6)
    move = step(direction, here) if named is None else MazeMove(direction, *named)
    violation = rules.apply(state, move)
    assert isinstance(violation, Violation) and violation.code == code, violation


def test_goal_cul_de_sac_and_cut_off() -> None:
    rules = MazeRules.from_data(SMALL)
    start = rules.initial_state()
    assert not rules.is_goal(start) and rules.dead_end(start) is None
    assert rules.is_goal(walk(rules, "RRRRRDDDDD"))
    assert rules.dead_end(walk(rules, "RRRRRDDDDD")) is None
    # one step down closes the left area (13 cells, no goal) off behind the start
    down = walk(rules, "D")
    assert rules.dead_end(down) == DeadEnd("cut_off", (1, 0))
    assert rules.confirm_dead_end(down, DeadEnd("cut_off", (1, 0))) is None
    assert "still go down" in rules.confirm_dead_end(down, DeadEnd("cul_de_sac", (1, 0)))
    # deep inside it, a cul-de-sac
    stuck = walk(rules, "DDDDDRRRUUULD")
    assert divmod(stuck.cell, 6) == (3, 2)
    assert rules.expand(stuck) == []
    assert rules.dead_end(stuck) == DeadEnd("cul_de_sac", (3, 2))
    assert rules.confirm_dead_end(stuck, DeadEnd("cul_de_sac", (3, 2))) is None
    assert rules.confirm_dead_end(stuck, DeadEnd("cut_off", (3, 2))) is None
    assert "at (4,3), not at (4,4)" in rules.confirm_dead_end(
        stuck, DeadEnd("cul_de_sac", (3, 3)))
    # a pocket smaller than POCKET cells is walked into, not called a cut-off, though a
    # cut-off claim about it is true
    pocket = walk(rules, "DDDDDRRRUU")
    assert rules.dead_end(pocket) is None and POCKET > 3
    assert rules.confirm_dead_end(pocket, DeadEnd("cut_off", (3, 3))) is None
    # on the route the goal is still reachable
    right = walk(rules, "R")
    assert "can still be reached" in rules.confirm_dead_end(right, DeadEnd("cut_off", (0, 1)))
    assert "is the goal" in rules.confirm_dead_end(
        walk(rules, "RRRRRDDDDD"), DeadEnd("cul_de_sac", (5, 5)))
    assert "not a maze dead end" in rules.confirm_dead_end(right, DeadEnd("wall", (0, 1)))


def test_dfs_on_the_small_maze_cuts_off_the_left_area_first() -> None:
    rules = MazeRules.from_data(SMALL)
    tree = solve_dfs(rules, 1000)
    first = tree.nodes[tree.nodes[0].children[0]]
    assert first.move == MazeMove("D", 1, 0) and first.reason == DeadEnd("cut_off", (1, 0))
    assert TASK.answer(SMALL, [tree.nodes[n].move for n in tree.solution_path()[1:]]) == \
        "R R R R R D D D D D"


def test_heuristic_is_manhattan_admissible_and_consistent() -> None:
    for seed in range(3):
        problem, tree = solved(seed)
        rules = TASK.rules(problem.data)
        grid, width = problem.data["grid"], len(problem.data["grid"][0])
        goal = find(grid, "G")
        for node in tree.nodes:
            state = node.state
            here = divmod(state.cell, width)
            h = rules.heuristic(state)
            assert h == abs(here[0] - goal[0]) + abs(here[1] - goal[1])
            remaining = shortest(grid, here, path_cells(state, width) - {here})
            assert remaining is None or h <= remaining
            assert all(abs(rules.heuristic(child) - h) == 1 for _, child in rules.expand(state))


def test_every_stuck_state_is_a_confirmed_dead_end() -> None:
    """Random walks until stuck: a non-goal state without moves is a dead end."""
    problem = make_problem(1)
    rules = TASK.rules(problem.data)
    rng = np.random.default_rng(0)
    for _ in range(200):
        state = rules.initial_state()
        while True:
            if rules.is_goal(state):
                break
            children = rules.expand(state)
            if not children:
                dead = rules.dead_end(state)
                assert dead is not None and dead.code == "cul_de_sac"
                assert rules.confirm_dead_end(state, dead) is None
                break
            state = children[int(rng.integers(len(children)))][1]


def test_hard_mazes_are_solved_by_dfs_well_within_the_budget() -> None:
    for seed in range(6):
        problem = make_problem(seed, "hard")
        tree = solve_dfs(TASK.rules(problem.data), 20_000)
        assert tree.solution is not None and tree.nodes_expanded < 2000


@pytest.mark.parametrize("style", STYLES)
def test_step_text_reads_back_what_it_says(style: str) -> None:
    rules, text = MazeRules.from_data(SMALL), MazeText.from_data(SMALL)
    start = rules.initial_state()
    move = MazeMove("R", 0, 1)
    assert text.parse_move(text.move_phrase(move, style), style) == move
    for state, move_in in ((start, None), (walk(rules, "RR"), MazeMove("R", 0, 2))):
        assert text.parse_ref(text.ref_phrase(state, move_in, style), style) == \
            text.ref_key(state, move_in)
    for dead in (DeadEnd("cul_de_sac", (3, 2)), DeadEnd("cut_off", (1, 0))):
        assert text.parse_dead_end(text.dead_end_phrase(start, dead, style), style) == dead
    for walked in ("", "D", "R", "RRRRR", "DDDDDRRRUUULD", "RRRRRDDDDD"):
        state = walk(rules, walked)
        assert text.state_claim_error(text.state_phrase(state, style), state, style) is None
    goal = walk(rules, "RRRRRDDDDD")
    assert text.state_claim_error(text.state_phrase(goal, style), start, style)
    assert "(1,1) is not the goal" in text.state_claim_error(
        text.state_phrase(goal, style).replace("(6,6)", "(1,1)"), start, style)
    assert text.state_claim_error(text.state_phrase(walk(rules, "R"), style), start, style)
    for garbage in ("", "R(0,1) ", "right to (1,2).", "r(1,2)", "north to (1,2)", "(1,2",
                    "open L,L,L,L,L", "From (1,2) I can go", "cul-de-sac at (x,2)"):
        assert text.parse_move(garbage, style) is None
        assert text.parse_dead_end(garbage, style) is None
        assert text.parse_ref(garbage, style) is None
        assert text.state_claim_error(garbage, start, style) is not None


def test_natural_state_phrases() -> None:
    rules, text = MazeRules.from_data(SMALL), MazeText.from_data(SMALL)
    start = rules.initial_state()
    assert text.state_phrase(start, "natural") == "From (1,1) I can go down or right"
    assert text.state_phrase(walk(rules, "R"), "natural") == "From (1,2) I can only go right"
    assert text.state_phrase(walk(rules, "DDDDDRRRUUULD"), "natural") == \
        "From (4,3) there is nowhere new to go"
    assert text.state_phrase(walk(rules, "RRRRRDDDDD"), "natural") == "(6,6) is the goal"
    assert text.state_phrase(walk(rules, "R"), "compact") == "open R"
    # any order of the ways out is accepted; a wrong position is not
    assert text.state_claim_error("From (1,1) I can go right or down", start, "natural") is None
    assert text.state_claim_error("open R,D", start, "compact") is None
    assert "search is at (1,1)" in text.state_claim_error(
        "From (2,1) I can go down or right", start, "natural")


# ---- traces ----------------------------------------------------------------------------


# Seeds whose mazes supply the ks below in sound dead-end branches: a small maze has few
# side branches from which the goal can no longer be reached (most loop back).
TRACE_SEEDS = {"easy": (10, 15, 17), "medium": (0, 2, 3), "hard": (0, 1, 2)}


@pytest.mark.parametrize(("preset", "seed"),
                         [(p, s) for p, seeds in TRACE_SEEDS.items() for s in seeds])
def test_solver_traces_verify(preset: str, seed: int) -> None:
    problem, tree = solved(seed, preset)
    rules = TASK.rules(problem.data)
    ks = [0, 1, 3] if preset == "easy" else [0, 1, 3, 5]
    traces = [linearize_natural(tree)]
    traces += [linearize_exact(tree, rules, k, "uniform", 6) for k in ks]
    assert [t.num_backtracks for t in traces[1:]] == ks
    text = TASK.step_text(problem.data)
    for trace in traces:
        for style in STYLES:
            lines = render_think_lines(trace, tree, text, style, salt=seed)
            completion = format_completion(lines, answer_of(problem, tree))
            verdict = verify_completion(TASK, problem.data, completion, style,
                                        trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


@pytest.mark.parametrize("style", STYLES)
def test_both_dead_end_reasons_are_rendered_and_verified(style: str) -> None:
    said = {"cul_de_sac": "cul-de-sac at", "cut_off": "cut off"}
    seen = set()
    for seed in (0, 2, 3, 4, 7, 11, 12, 13):  # mazes with five sound dead-end branches
        r = rendered(seed, 5, style)
        assert r.verify().ok
        for index in (i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END):
            code = r.tree.nodes[r.trace.steps[index].node].reason.code
            assert said[code] in r.lines[index]
            seen.add(code)
    assert seen == {"cul_de_sac", "cut_off"}


def test_rendered_lines_read_naturally() -> None:
    r = rendered(0, 3, "natural")
    coord = r"\(\d+,\d+\)"
    ways = r"(up|down|left|right)"
    for line, s in zip(r.lines, r.trace.steps, strict=True):
        if s.kind == MOVE:
            assert re.fullmatch(
                rf"(Let me try|Next, try|Then try|Instead, let me try) {ways} to {coord}\. "
                rf"(From {coord} (I can (only )?go {ways}((, {ways})* or {ways})?|there is "
                rf"nowhere new to go)|{coord} is the goal)\.", line), line
        elif s.kind == BACKTRACK:
            assert re.fullmatch(rf"(Let me go back|Going back) to {coord}\.", line), line
    assert re.fullmatch(rf"I have reached the goal at {coord}, so the puzzle is solved\.",
                        r.lines[-1])
    compact = rendered(0, 3, "compact")
    assert re.fullmatch(r"try [UDLR]\(\d+,\d+\) -> (open (none|[UDLR](,[UDLR])*)|goal)",
                        compact.lines[0])


# ---- corrupted traces ------------------------------------------------------------------


def replace_move(r: Rendered, index: int, move: MazeMove) -> list[str]:
    """The think lines with the move of line `index` replaced (its stated state kept)."""
    lines = list(r.lines)
    text = TASK.step_text(r.problem.data)
    old = text.move_phrase(r.tree.nodes[r.trace.steps[index].node].move, r.style)
    new = text.move_phrase(move, r.style)
    lines[index] = re.sub(rf"((?:try|Let me try|Next, try|Then try|Instead, let me try) )"
                          rf"{re.escape(old)}", lambda m: m.group(1) + new, lines[index])
    return lines


def illegal_step(r: Rendered, code: str, lines_from: list[int]) -> tuple[int, MazeMove]:
    """The first move line among `lines_from` and a move from its start state that `apply`
    rejects with `code`."""
    rules = TASK.rules(r.problem.data)
    width = rules.maze.width
    for index in lines_from:
        state = r.before(index)
        here = divmod(state.cell, width)
        true_move = r.tree.nodes[r.trace.steps[index].node].move
        if code == "not_adjacent":
            candidates = [MazeMove(true_move.direction, true_move.row + (true_move.row - here[0]),
                                   true_move.col + (true_move.col - here[1]))]
        else:
            candidates = [step(d, here) for d in "UDLR"]
        for move in candidates:
            result = rules.apply(state, move)
            if isinstance(result, Violation) and result.code == code:
                return index, move
    raise LookupError(code)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", ["into_wall", "off_grid", "revisit", "not_adjacent"])
def test_illegal_moves_are_rejected(style: str, code: str) -> None:
    for seed in range(10):
        r = rendered(seed, 1, style)
        try:
            index, move = illegal_step(r, code, r.moves())
        except LookupError:
            continue
        verdict = r.verify(replace_move(r, index, move))
        assert verdict.code == code and verdict.line == index, verdict
        return
    raise AssertionError(f"no path state allows a {code} move")


@pytest.mark.parametrize("style", STYLES)
def test_illegal_move_inside_a_dead_end_branch_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    path = set(r.tree.solution_path())
    branch = [i for i in r.moves() if r.trace.steps[i].node not in path]
    index, move = illegal_step(r, "revisit", branch)
    verdict = r.verify(replace_move(r, index, move))
    assert verdict.code == "revisit" and verdict.line == index, verdict
    index, move = illegal_step(r, "into_wall", branch)
    assert r.verify(replace_move(r, index, move)).code == "into_wall"


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", ["cul_de_sac", "cut_off"])
def test_false_dead_end_claim_is_rejected(style: str, code: str) -> None:
    r = rendered(0, 0, style)
    state = r.tree.nodes[r.trace.steps[0].node].state  # after the first move of the route
    claim = DeadEnd(code, divmod(state.cell, len(r.problem.data["grid"][0])))
    start = r.tree.nodes[0].state
    lines = list(r.lines)
    lines[1:1] = [dead_line(r.problem, style, state, claim), back_line(r.problem, style, start),
                  r.lines[0].replace("Let me try", "Instead, let me try")]
    verdict = r.verify(lines, backtracks=1)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict
    # and a true claim named at the wrong cell
    wrong = DeadEnd(code, (claim.detail[0] + 1, claim.detail[1]))
    lines[1] = dead_line(r.problem, style, state, wrong)
    assert r.verify(lines, backtracks=1).code == "false_dead_end"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    r = rendered(1, 1, style)
    text, rules = TASK.step_text(r.problem.data), TASK.rules(r.problem.data)
    index = r.moves()[2]
    state = r.tree.nodes[r.trace.steps[index].node].state
    right = text.state_phrase(state, style)
    exits = rules.maze.exits(state)
    more = [d for d in "UDLR" if d in exits or d == next(e for e in "UDLR" if e not in exits)]
    words = [WORDS[d] for d in more]
    here = rules.maze.name(state.cell)
    wrong_ways = (f"open {','.join(more)}" if style == "compact" else
                  f"From {here} I can go {', '.join(words[:-1])} or {words[-1]}"
                  if len(words) > 1 else f"From {here} I can only go {words[0]}")
    elsewhere = rules.maze.name(r.tree.nodes[0].state.cell)
    for wrong in (wrong_ways, right.replace(here, elsewhere), "goal"):
        if wrong == right:  # compact states no position
            continue
        lines = list(r.lines)
        lines[index] = lines[index].replace(right, wrong)
        verdict = r.verify(lines)
        assert verdict.code == "wrong_state" and verdict.line == index, (verdict, wrong)


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_off_the_path_is_rejected(style: str) -> None:
    r = rendered(0, 1, style)
    index = r.trace.backtrack_positions[0]
    goal = find(r.problem.data["grid"], "G")  # never on the path before the goal
    lines = list(r.lines)
    ref = f"({goal[0] + 1},{goal[1] + 1})"
    lines[index] = f"back to {ref}" if style == "compact" else f"Let me go back to {ref}."
    verdict = r.verify(lines)
    assert verdict.code == "backtrack_off_path" and verdict.line == index, verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("k", [1, 3])
def test_miscounted_backtracks_are_rejected(style: str, k: int) -> None:
    r = rendered(2, k, style)
    assert r.verify().ok
    for wrong in (k - 1, k + 1):
        assert r.verify(backtracks=wrong).code == "backtrack_count"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_final_answer_is_rejected(style: str) -> None:
    r = rendered(0, 0, style)
    for answer in (r.answer.rsplit(" ", 1)[0], "", "U U U U U U U U U U U U"):
        verdict = r.verify(answer=answer)
        assert verdict.code == "wrong_answer", verdict


@pytest.mark.parametrize("style", STYLES)
def test_missing_goal_and_steps_after_it_are_rejected(style: str) -> None:
    r = rendered(0, 0, style)
    assert r.verify(list(r.lines[:-1])).code == "no_goal"
    assert r.verify([*r.lines, r.lines[0]]).code == "step_after_goal"
    lines = list(r.lines)
    lines[-1] = lines[-1].replace(")", "5)", 1)
    assert r.verify(lines).code == "wrong_goal_statement"


# ---- answers ---------------------------------------------------------------------------


def test_check_answer_accepts_several_formats_and_revisits() -> None:
    problem, tree = solved(0)
    answer = answer_of(problem, tree)
    letters = answer.split()
    words = {"U": "up", "D": "down", "L": "left", "R": "right"}
    first = letters[0]
    for text in (answer, "".join(letters), ", ".join(letters), " -> ".join(letters),
                 ", ".join(words[d] for d in letters), " ".join(words[d].upper() for d in letters),
                 "Moves: " + answer.lower(), f"[{', '.join(repr(d) for d in letters)}]",
                 f"I think.\n<answer>U</answer> no: <answer>\n{answer}\n</answer>",
                 " ".join([first, OPPOSITE[first], *letters])):  # a step back and forth
        assert check_answer(problem.data, text).ok, text


def test_check_answer_rejects() -> None:
    assert check_answer(SMALL, "R R R R R D D D D D").ok
    cases = {
        "R R R R R D D D D": "not_at_goal",
        "D D D D D R R R R R": "into_wall",
        "R R R R R R D D D D D": "off_grid",
        "U": "off_grid",
        "go north": "unparsable_answer",
        "R R 3 D": "unparsable_answer",
        "": "unparsable_answer",
        "<answer></answer>": "unparsable_answer",
    }
    for text, code in cases.items():
        assert check_answer(SMALL, text).code == code, text
    assert check_answer(SMALL, "R " * 20_000).code == "too_long"
    assert check_answer(SMALL, None).code == "not_text"  # type: ignore[arg-type]


# ---- never raising on arbitrary text ---------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_check_answer_never_raises(text: str) -> None:
    problem, _ = solved(0)
    for candidate in (text, f"<answer>{text}</answer>"):
        assert isinstance(check_answer(problem.data, candidate), Verdict)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300), style=st.sampled_from(STYLES))
def test_verifier_never_raises_and_rejects_random_text(text: str, style: str) -> None:
    problem, _ = solved(0)
    for completion in (text, f"<think>\n{text}\n</think>\n<answer>{text}</answer>"):
        verdict = verify_completion(TASK, problem.data, completion, style, None)
        assert not verdict.ok and verdict.code != "verifier_error", verdict


_n = st.one_of(st.integers(min_value=-2, max_value=60).map(str),
               st.sampled_from(["0", "999", "1000", "²", "٣", "9" * 500, "", " 1"]))
_word = st.sampled_from(["up", "down", "left", "right", "north", ""])
_letter = st.sampled_from(["U", "D", "L", "R", "X", ""])
_cell = st.builds("({},{})".format, _n, _n)
_phrases = st.one_of(
    st.text(max_size=40),
    st.builds("Let me try {} to {}. From {} I can go {}.".format, _word, _cell, _cell,
              st.lists(_word, max_size=4).map(" or ".join)),
    st.builds("Next, try {} to {}. From {} there is nowhere new to go.".format, _word, _cell,
              _cell),
    st.builds("Then try {} to {}. {} is the goal.".format, _word, _cell, _cell),
    st.builds("try {}{} -> open {}".format, _letter, _cell,
              st.lists(_letter, max_size=5).map(",".join)),
    st.builds("try {}{} -> goal".format, _letter, _cell),
    st.builds("I am stuck in a cul-de-sac at {}, so this is a dead end.".format, _cell),
    st.builds("The walls and my path cut off the goal from {}, so this branch fails.".format,
              _cell),
    st.builds("dead: cul-de-sac at {}".format, _cell),
    st.builds("dead: goal cut off at {}".format, _cell),
    st.builds("back to {}".format, _cell),
    st.builds("Going back to {}.".format, _cell),
    st.builds("goal: {}".format, _cell),
    st.builds("I have reached the goal at {}, so the puzzle is solved.".format, _cell),
)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=30), lines=st.lists(_phrases, max_size=5),
       answer=st.text(max_size=60), style=st.sampled_from(STYLES))
def test_verifier_never_fails_internally_on_spliced_lines(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Random lines spliced into a real trace, so they meet states deep in the search."""
    r = rendered(0, 3, style)
    think = [*r.lines[:cut], *lines, *r.lines[cut:]]
    verdict = r.verify(think, answer, backtracks=None)
    assert isinstance(verdict, Verdict)
    assert verdict.code != "verifier_error", verdict


def test_search_trees_serialize_with_their_dead_ends() -> None:
    reasons = set()
    for seed in range(40):
        if len(reasons) == 2:
            break
        problem, tree = solved(seed)
        rules = TASK.rules(problem.data)
        stored = json.loads(tree.to_json(rules))
        assert stored["nodes"][1]["move"] == rules.move_to_json(tree.nodes[1].move)
        for node, saved in zip(tree.nodes, stored["nodes"], strict=True):
            if node.status == "dead_end":
                assert rules.dead_end(node.state) == node.reason
                assert saved["reason"] == [node.reason.code, list(node.reason.detail)]
                reasons.add(node.reason.code)
    assert reasons == {"cul_de_sac", "cut_off"}
    assert MazeRules.from_data(SMALL).move_to_json(MazeMove("D", 2, 3)) == "D(3,4)"
