"""Maze rules: moves ordered by distance to the goal, paths telling states apart, each
broken rule named, cul-de-sacs and cut-offs and their claims, an admissible heuristic,
search trees that keep their dead ends, and the verifier rejecting this task's illegal
moves and false dead-end claims in both styles."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks.base import DeadEnd, Problem, Violation
from searchtrace.tasks.maze.rules import POCKET, MazeMove, MazeRules, MazeState
from tests.tasks.maze.support import (
    SMALL,
    TASK,
    Rendered,
    find,
    make_problem,
    rendered,
    shortest,
    solved,
    step,
    walk,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


def path_cells(state: MazeState, width: int) -> frozenset:
    return frozenset(divmod(i, width) for i in range(state.visited.bit_length())
                     if state.visited >> i & 1)


def dead_line(problem: Problem, style: str, state: MazeState, claim: DeadEnd) -> str:
    said = TASK.phrasing(style, problem.data).dead_end_phrase(state, claim)
    return f"dead: {said}" if style == "compact" else f"{said}, so this is a dead end."


def back_line(problem: Problem, style: str, state: MazeState) -> str:
    ref = TASK.phrasing(style, problem.data).ref_phrase(state, None)
    return f"back to {ref}" if style == "compact" else f"Let me go back to {ref}."


# ---- rules ----------------------------------------------------------------------------


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


# ---- the verifier on this task's rules ------------------------------------------------


def replace_move(r: Rendered, index: int, move: MazeMove) -> list[str]:
    """The think lines with the move of line `index` replaced (its stated state kept)."""
    lines = list(r.lines)
    text = r.text
    old = text.move_phrase(r.tree.nodes[r.trace.steps[index].node].move)
    new = text.move_phrase(move)
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
