"""Coloring rules: legal moves and their order, each broken rule named, dead ends with
checkable evidence, and the verifier rejecting this task's illegal moves and false dead-end
claims in both styles."""

from __future__ import annotations

import numpy as np
import pytest

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.coloring.rules import ColoringMove, ColoringRules
from searchtrace.traces.trace import DEAD_END, MOVE
from tests.tasks.coloring.support import (
    SMALL,
    TASK,
    make_problem,
    path_moves,
    rendered,
    replace_move,
    solved,
    think_lines,
    verify,
    with_think,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


def reachable_states(data: dict, seed: int, walks: int = 30) -> list:
    """States met on random walks through every legal move, from the start."""
    rules = ColoringRules.from_data(data)
    rng = np.random.default_rng(seed)
    states = []
    for _ in range(walks):
        state = rules.initial_state()
        while True:
            states.append(state)
            moves = list(rules.wider_moves(state))
            if not moves:
                break
            state = moves[int(rng.integers(len(moves)))][1]
    return states


@pytest.mark.parametrize("preset", ["easy", "medium"])
def test_expand_and_wider_moves_agree_with_apply(preset: str) -> None:
    data = make_problem(preset, 0).data
    rules = ColoringRules.from_data(data)
    n, k = data["nodes"], data["colors"]
    for state in reachable_states(data, 0):
        children = rules.expand(state)
        wider = list(rules.wider_moves(state))
        assert wider[: len(children)] == children
        legal = [(node, c) for node in range(1, n + 1) for c in range(1, k + 1)
                 if isinstance(rules.apply(state, ColoringMove(node, c)), tuple)]
        assert sorted((m.node, m.color) for m, _ in wider) == legal
        if children:
            assert {m.node for m, _ in children} == {state.index(0) + 1}
        for move, child in children + wider:
            assert rules.state_key(rules.apply(state, move)) == rules.state_key(child)
        if not children and not rules.is_goal(state):
            assert rules.dead_end(state) is not None
        assert rules.heuristic(state) == state.count(0)


def test_expand_tries_least_constraining_colors_first() -> None:
    rules = ColoringRules.from_data(SMALL)
    # Node 2 (neighbors 1 and 4) may be green or blue. With node 3 green, node 4 can only
    # be blue: green for node 2 costs node 4 nothing, so it comes first; with node 3 blue,
    # the other way round.
    state = (1, 0, 2, 0, 0)
    assert [m.color for m, _ in rules.expand(state)] == [2, 3]
    state = (1, 0, 3, 0, 0)
    assert [m.color for m, _ in rules.expand(state)] == [3, 2]


def test_goal_dead_end_and_heuristic_along_the_path() -> None:
    problem, tree = solved("medium", 0)
    rules = ColoringRules.from_data(problem.data)
    path = [tree.nodes[n].state for n in tree.solution_path()]
    assert rules.is_goal(path[-1]) and not rules.is_goal(path[0])
    assert [rules.heuristic(s) for s in path] == list(range(len(path) - 1, -1, -1))
    assert all(rules.dead_end(s) is None for s in path)


def test_dead_end_names_checkable_evidence() -> None:
    rules = ColoringRules.from_data(SMALL)
    state = (1, 2, 3, 0, 0)
    dead = rules.dead_end(state)
    assert dead == DeadEnd("no_color_left", (4, 1, 1, 2, 2, 3, 3))
    assert rules.confirm_dead_end(state, dead) is None
    assert rules.expand(state) == []
    assert rules.dead_end((1, 2, 1, 0, 0)) is None
    claims = {
        (4, 1, 1, 2, 2, 3, 3): None,
        (4, 2, 2, 3, 3, 1, 1): None,  # any order of the same evidence
        (5, 1, 1, 2, 2, 3, 3): "not a neighbor",
        (1, 2, 2, 4, 1, 3, 3): "already red",
        (4, 1, 1, 2, 3, 3, 3): "node 2 is green, not blue",
        (4, 1, 1, 2, 2): "do not use blue",
        (4, 1, 1, 5, 2, 3, 3): "node 5 is uncolored, not green",
        (4, 1, 1, 2, 2, 9, 3): "node 9 is not a neighbor",
        (9, 1, 1): "not in the graph",
        (4, 1): "must name a node",
    }
    for detail, why in claims.items():
        said = rules.confirm_dead_end(state, DeadEnd("no_color_left", detail))
        assert (said is None) if why is None else (why in said), (detail, said)
    assert "not a graph coloring dead end" in rules.confirm_dead_end(
        state, DeadEnd("no_candidates", (4,)))
    uncolored_neighbor = rules.confirm_dead_end((1, 2, 0, 0, 0),
                                                DeadEnd("no_color_left", (4, 1, 1, 2, 2, 3, 3)))
    assert "node 3 is uncolored" in uncolored_neighbor


@pytest.mark.parametrize(
    ("move", "code", "says"),
    [
        (ColoringMove(6, 1), "unknown_node", "node 6 is not in the graph"),
        (ColoringMove(0, 1), "unknown_node", "node 0"),
        (ColoringMove(2, 4), "unknown_color", "yellow is not one of the 3 colors"),
        (ColoringMove(2, 0), "unknown_color", "not one of the 3 colors"),
        (ColoringMove(1, 2), "node_colored", "node 1 is already red"),
        (ColoringMove(2, 1), "color_clash", "edge 1-2"),
        (ColoringMove(5, 3), "color_clash", "neighbor 4 would both be blue (edge 4-5)"),
    ],
)
def test_apply_names_the_broken_rule(move: ColoringMove, code: str, says: str) -> None:
    rules = ColoringRules.from_data(SMALL)
    violation = rules.apply((1, 0, 0, 3, 0), move)
    assert getattr(violation, "code", None) == code, violation
    assert says in violation.message


def test_any_uncolored_node_may_be_colored_next() -> None:
    rules = ColoringRules.from_data(SMALL)
    assert rules.apply(rules.initial_state(), ColoringMove(5, 2)) == (0, 0, 0, 0, 2)


# ---- the verifier on this task's rules -------------------------------------------------


def illegal_second_moves(preset: str, seed: int) -> dict[str, ColoringMove]:
    """One illegal replacement for the solution's second move per rule, after its first."""
    data = make_problem(preset, seed).data
    first = path_moves(preset, seed)[0]
    neighbor = next(v if u == first.node else u for u, v in data["edges"]
                    if first.node in (u, v))
    return {
        "unknown_node": ColoringMove(data["nodes"] + 1, 1),
        "unknown_color": ColoringMove(2, data["colors"] + 1),
        "node_colored": ColoringMove(first.node, first.color % data["colors"] + 1),
        "color_clash": ColoringMove(neighbor, first.color),
    }


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", ["unknown_node", "unknown_color", "node_colored", "color_clash"])
def test_illegal_move_is_rejected(style: str, code: str) -> None:
    problem, completion, _ = rendered("medium", 0, 0, style)
    text = TASK.phrasing(style, problem.data)
    lines = think_lines(completion)
    move = illegal_second_moves("medium", 0)[code]
    lines[1] = replace_move(lines[1], style, text.move_phrase(move))
    verdict = verify(problem, with_think(completion, lines), style, 0)
    assert verdict.code == code and verdict.line == 1, verdict


@pytest.mark.parametrize("style", STYLES)
def test_illegal_move_inside_a_dead_end_branch_is_rejected(style: str) -> None:
    problem, tree = solved("medium", 0)
    _, completion, trace = rendered("medium", 0, 5, style)
    text = TASK.phrasing(style, problem.data)
    for index, step in enumerate(trace.steps):
        if step.kind != DEAD_END:
            continue
        parent_state = tree.nodes[tree.nodes[trace.steps[index - 1].node].parent].state
        if any(parent_state):
            break
    else:
        raise AssertionError("no dead end after a colored node")
    assert trace.steps[index - 1].kind == MOVE
    colored = next(i for i, c in enumerate(parent_state) if c)
    bad = ColoringMove(colored + 1, parent_state[colored])
    lines = think_lines(completion)
    lines[index - 1] = replace_move(lines[index - 1], style, text.move_phrase(bad))
    verdict = verify(problem, with_think(completion, lines), style, 5)
    assert verdict.code == "node_colored" and verdict.line == index - 1, verdict


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claim_is_rejected(style: str) -> None:
    problem, completion, _ = rendered("medium", 0, 0, style)
    rules, text = TASK.rules(problem.data), TASK.phrasing(style, problem.data)
    first = path_moves("medium", 0)[0]
    state = rules.apply(rules.initial_state(), first)
    # Node 2 is uncolored after the first move, and only one color is used: never dead.
    fake = DeadEnd("no_color_left", (2, first.node, first.color, 3, 2, 4, 3))
    said = text.dead_end_phrase(state, fake)
    dead_line = f"dead: {said}" if style == "compact" else f"{said}, so this is a dead end."
    back = text.ref_phrase(rules.initial_state(), None)
    back_line = f"back to {back}" if style == "compact" else f"Let me go back to {back}."
    lines = think_lines(completion)
    lines[1:1] = [dead_line, back_line]
    verdict = verify(problem, with_think(completion, lines), style, 1)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict
