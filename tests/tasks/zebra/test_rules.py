"""Zebra rules: every legal move offered and in order, stuck states that are dead ends,
dead-end claims checked reason by reason, each broken rule named, clues read as English,
widened dead-end branches that run several moves, and the verifier rejecting this task's
illegal moves and false dead-end claims in both styles."""

from __future__ import annotations

import pytest

from searchtrace.tasks.base import DeadEnd, Problem, Violation
from searchtrace.tasks.zebra.rules import Puzzle, ZebraMove, ZebraRules
from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.trace import DEAD_END, MOVE
from tests.tasks.zebra.support import (
    MOVE_LINE,
    SMALL,
    TASK,
    lines_of,
    rebuild,
    rendered,
    small_dead_state,
    solved,
    state_before,
    verify,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


def all_legal_moves(rules: ZebraRules, state: tuple) -> dict[ZebraMove, tuple]:
    """Every move `apply` accepts, found by trying every house, attribute and value."""
    puzzle = rules.puzzle
    legal = {}
    for a, name in enumerate(puzzle.names):
        for h in range(puzzle.n):
            for value in puzzle.values[a]:
                move = ZebraMove(h, name, value)
                result = rules.apply(state, move)
                if not isinstance(result, Violation):
                    legal[move] = result
    return legal


@pytest.mark.parametrize("seed", [0, 1])
def test_expand_and_wider_moves_agree_with_apply(seed: int) -> None:
    problem, tree = solved(seed)
    rules = ZebraRules.from_data(problem.data)
    for node_id in tree.solution_path()[:-1]:
        state = tree.nodes[node_id].state
        children = rules.expand(state)
        assert children
        assert len({(m.house, m.attribute) for m, _ in children}) == 1
        wider = list(rules.wider_moves(state))
        legal = all_legal_moves(rules, state)
        assert {m: s for m, s in wider} == legal
        assert len(wider) == len(legal)
        for move, child in children + wider:
            assert rules.state_key(rules.apply(state, move)) == rules.state_key(child)
        assert rules.heuristic(state) == state.count(-1)


def test_states_without_children_are_dead_ends() -> None:
    for seed in range(3):
        problem, tree = solved(seed)
        rules = TASK.rules(problem.data)
        linearize_exact(tree, rules, 5, "uniform", 6)  # grafts widened branches too
        for node in tree.nodes:
            if not rules.is_goal(node.state) and not rules.expand(node.state):
                dead = rules.dead_end(node.state)
                assert dead is not None
                assert rules.confirm_dead_end(node.state, dead) is None
            if node.status == "dead_end":
                assert rules.confirm_dead_end(node.state, node.reason) is None
                # the puzzle is unique: a dead state must disagree with its one solution
                solution = tree.nodes[tree.solution].state
                assert any(0 <= v != w for v, w in zip(node.state, solution, strict=True))


def test_goal_and_dead_end() -> None:
    problem, tree = solved(0)
    rules = ZebraRules.from_data(problem.data)
    assert rules.is_goal(tree.nodes[tree.solution].state)
    assert not rules.is_goal(rules.initial_state())
    assert rules.dead_end(rules.initial_state()) is None
    # Red in house 1 puts the Brit there (clue 1), yet the Dane must live there (clue 3).
    small, state = small_dead_state()
    dead = small.dead_end(state)
    assert dead == DeadEnd("no_value_fits", (1, "nationality", "Brit", "clue", 3,
                                             "Swede", "clue", 1, "Dane", "clue", 1))
    assert small.confirm_dead_end(state, dead) is None
    assert small.expand(state) == []


@pytest.mark.parametrize(
    ("detail", "complaint"),
    [
        ((1, "nationality", "Brit", "clue", 2, "Swede", "clue", 1, "Dane", "clue", 1),
         "does not break clue 2"),
        ((1, "nationality", "Brit", "clue", 3, "Swede", "clue", 1), "does not rule out Dane"),
        ((1, "nationality", "Brit", "house", 2, "Swede", "clue", 1, "Dane", "clue", 1),
         "Brit is not the nationality of house 2"),
        ((1, "nationality", "Brit", "clue", 3, "Brit", "clue", 3, "Dane", "clue", 1),
         "names Brit twice"),
        ((1, "nationality", "Brit", "clue", 9, "Swede", "clue", 1, "Dane", "clue", 1),
         "no clue 9"),
        ((2, "nationality", "Brit", "clue", 3, "Swede", "clue", 1, "Dane", "clue", 1),
         "does not break clue 3"),
        ((1, "colour", "red", "clue", 1, "green", "clue", 1, "blue", "clue", 1),
         "already has the colour red"),
        ((1, "pet", "dog", "clue", 1), "not an attribute"),
        ((4, "nationality"), "no house 4"),
        ((1, "nationality", "Brit", "clue"), "must name a house"),
    ],
)
def test_false_dead_end_claims_say_why(detail: tuple, complaint: str) -> None:
    rules, state = small_dead_state()
    assert complaint in rules.confirm_dead_end(state, DeadEnd("no_value_fits", detail))


def test_other_dead_end_codes_are_refused() -> None:
    rules, state = small_dead_state()
    assert "not a zebra dead end" in rules.confirm_dead_end(state, DeadEnd("no_candidates", (1,)))


@pytest.mark.parametrize(
    ("moves", "move", "code", "said"),
    [
        ([], ZebraMove(3, "colour", "red"), "unknown_house", "no house 4"),
        ([], ZebraMove(-1, "colour", "red"), "unknown_house", "no house 0"),
        ([], ZebraMove(0, "pet", "dog"), "unknown_attribute", "'pet'"),
        ([], ZebraMove(0, "colour", "Brit"), "unknown_value", "a nationality, not a colour"),
        ([], ZebraMove(0, "colour", "yellow"), "unknown_value", "not a colour"),
        ([ZebraMove(0, "colour", "red")], ZebraMove(0, "colour", "green"), "cell_filled",
         "house 1 already has the colour red"),
        ([ZebraMove(0, "colour", "red")], ZebraMove(1, "colour", "red"), "value_used",
         "red is already the colour of house 1"),
        ([], ZebraMove(2, "colour", "green"), "clue_violation",
         "clue 2 (The green house is immediately left of the blue house)"),
        ([], ZebraMove(1, "nationality", "Dane"), "clue_violation", "clue 3"),
    ],
)
def test_apply_names_the_broken_rule(moves: list, move: ZebraMove, code: str, said: str) -> None:
    rules = ZebraRules.from_data(SMALL)
    state = rules.initial_state()
    for earlier in moves:
        state = rules.apply(state, earlier)
    violation = rules.apply(state, move)
    assert isinstance(violation, Violation) and violation.code == code, violation
    assert said in violation.message
    assert rules.apply(state, ZebraMove(0, "COLOUR", "Red")) != state  # names: any case


def test_clues_read_as_english() -> None:
    data = {
        "houses": 5,
        "attributes": [{"name": "colour", "values": ["red", "green", "white", "yellow", "blue"]},
                       {"name": "nationality",
                        "values": ["Brit", "Swede", "Dane", "Norwegian", "German"]},
                       {"name": "pet", "values": ["dog", "cat", "bird", "fish", "horse"]},
                       {"name": "drink", "values": ["tea", "coffee", "milk", "beer", "water"]}],
        "clues": [["same", "colour", "red", "nationality", "Brit"],
                  ["next_to", "pet", "cat", "pet", "dog"],
                  ["left_of", "colour", "green", "colour", "white"],
                  ["position", "drink", "milk", 3],
                  ["not_same", "nationality", "Swede", "colour", "yellow"],
                  ["same", "pet", "dog", "drink", "tea"],
                  ["position", "colour", "blue", 2]],
    }
    assert Puzzle(data).texts == (
        "The Brit lives in the red house",
        "The cat owner lives next to the dog owner",
        "The green house is immediately left of the white house",
        "The milk drinker lives in house 3",
        "The Swede does not live in the yellow house",
        "The dog owner is the tea drinker",
        "The blue house is house 2",
    )


def test_dead_end_branches_run_several_moves() -> None:
    lengths = []
    for seed in range(4):
        _, _, trace = rendered(seed, 5, "compact")
        lengths += trace.dead_end_lengths
    assert max(lengths) >= 3
    assert sum(length > 1 for length in lengths) >= len(lengths) // 3


# ---- the verifier on this task's rules ------------------------------------------------


def replace_move(line: str, style: str, move: ZebraMove) -> str:
    phrase = TASK.phrasing(style, SMALL).move_phrase(move)
    replaced = MOVE_LINE[style].sub(lambda m: m.group(1) + phrase + m.group(3), line)
    assert replaced != line
    return replaced


def illegal_move(problem: Problem, state: tuple, code: str) -> ZebraMove:
    """A move `apply` rejects with `code` in `state` (names outside the puzzle made up)."""
    puzzle = Puzzle(problem.data)
    rules = ZebraRules(puzzle)
    if code == "unknown_house":
        return ZebraMove(puzzle.n, puzzle.names[0], puzzle.values[0][0])
    if code == "unknown_attribute":
        return ZebraMove(0, "shoe", puzzle.values[0][0])
    if code == "unknown_value":
        return ZebraMove(0, puzzle.names[0], puzzle.values[1][0])
    for a, name in enumerate(puzzle.names):
        for h in range(puzzle.n):
            for value in puzzle.values[a]:
                move = ZebraMove(h, name, value)
                result = rules.apply(state, move)
                if isinstance(result, Violation) and result.code == code:
                    return move
    raise AssertionError(f"no {code} move in this state")


RULE_CODES = ["unknown_house", "unknown_attribute", "unknown_value", "cell_filled",
              "value_used", "clue_violation"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", RULE_CODES)
def test_each_broken_rule_is_rejected(style: str, code: str) -> None:
    problem, completion, trace = rendered(0, 1, style)
    lines, answer = lines_of(completion)
    after_first = state_before(problem, lines, style, 1)
    lines[1] = replace_move(lines[1], style, illegal_move(problem, after_first, code))
    verdict = verify(problem, rebuild(lines, answer), style, trace.num_backtracks)
    assert verdict.code == code and verdict.line == 1, verdict


@pytest.mark.parametrize("style", STYLES)
def test_an_illegal_move_inside_a_dead_end_branch_is_rejected(style: str) -> None:
    problem, completion, trace = rendered(0, 3, style)
    lines, answer = lines_of(completion)
    dead_at = next(i for i, s in enumerate(trace.steps) if s.kind == DEAD_END)
    assert trace.dead_end_lengths[0] >= 2  # so the line before the dead end is inside it
    assert all(trace.steps[i].kind == MOVE for i in range(dead_at))
    state = state_before(problem, lines, style, dead_at - 1)
    lines[dead_at - 1] = replace_move(lines[dead_at - 1], style,
                                      illegal_move(problem, state, "clue_violation"))
    verdict = verify(problem, rebuild(lines, answer), style, trace.num_backtracks)
    assert verdict.code == "clue_violation" and verdict.line == dead_at - 1, verdict


def dead_line(style: str, phrase: str) -> str:
    return f"dead: {phrase}" if style == "compact" else f"{phrase}, so this is a dead end."


def back_line(style: str, phrase: str) -> str:
    return f"back to {phrase}" if style == "compact" else f"Let me go back to {phrase}."


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claim_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(0, 0, style)
    rules, text = TASK.rules(problem.data), TASK.phrasing(style, problem.data)
    lines, answer = lines_of(completion)
    state = state_before(problem, lines, style, 1)
    assert rules.dead_end(state) is None
    cell = state.index(-1)
    puzzle = Puzzle(problem.data)
    a, h = divmod(cell, puzzle.n)
    detail = (h + 1, puzzle.names[a],
              *(x for value in puzzle.values[a] for x in (value, "clue", 1)))
    said = text.dead_end_phrase(state, DeadEnd("no_value_fits", detail))
    back = text.ref_phrase(rules.initial_state(), None)
    lines[1:1] = [dead_line(style, said), back_line(style, back)]
    verdict = verify(problem, rebuild(lines, answer), style, 1)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict
