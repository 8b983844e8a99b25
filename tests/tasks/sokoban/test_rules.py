"""Sokoban rules, against an independent brute-force model of the game: expand gives every
legal push once, the heuristic is a lower bound, every dead end is real and confirmed and
every false claim says why, each broken rule has its code, and traces verify while an
illegal push or a false dead-end claim in one is rejected."""

from __future__ import annotations

import pytest

from searchtrace.tasks.base import DeadEnd, Violation
from searchtrace.tasks.sokoban.answer import check_answer
from searchtrace.tasks.sokoban.room import draw
from searchtrace.tasks.sokoban.rules import SokobanMove, SokobanRules, SokobanState
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import DEAD_END, MOVE
from tests.tasks.sokoban.support import (
    ROOM,
    STEP,
    TASK,
    Plain,
    Rendered,
    back_line,
    dead_line,
    move_line,
    plain_state,
    rendered,
    solution_moves,
    solved,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


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
        text = TASK.phrasing(style, {"grid": grid, "max_pushes": limit})
        assert text.parse_dead_end(text.dead_end_phrase(state, dead)) == dead


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


def test_state_key_names_the_player_region_not_the_cell() -> None:
    rules = SokobanRules.from_data({"grid": ROOM, "max_pushes": 10})
    start = rules.initial_state()
    elsewhere = start._replace(player=rules.room.cell(4, 3))
    assert rules.state_key(start) == rules.state_key(elsewhere)
    assert rules.state_key(start) == rules.state_key(start._replace(pushes=3))
    beyond = start._replace(player=rules.room.cell(2, 6))
    assert rules.state_key(start) != rules.state_key(beyond)


# ---- traces ----------------------------------------------------------------------------


@pytest.mark.parametrize(("preset", "seeds"), [("easy", (1, 2)), ("medium", (0, 2, 3, 4)),
                                               ("hard", (0,))])
def test_rooms_supply_sound_dead_ends_and_their_traces_verify(
    preset: str, seeds: tuple[int, ...]
) -> None:
    """These rooms supply the ks below in sound dead-end branches, and every trace of them
    verifies in both styles."""
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
                phrasing = TASK.phrasing(style, problem.data)
                lines = get_style(style).render(trace, tree, phrasing, seed)
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
def test_a_push_into_a_wall_inside_a_dead_end_branch_is_rejected(style: str) -> None:
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
