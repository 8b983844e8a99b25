"""Countdown rules: the children a state has, each broken rule named by `apply`, goals and
confirmed dead ends; and in a rendered trace, a wrong result, an invented or reused number
and a false dead-end claim rejected on their line, with the replay's order of steps."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from itertools import permutations

import pytest

from searchtrace.tasks.base import DeadEnd, Violation
from searchtrace.tasks.countdown.rules import CountdownMove, CountdownRules
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import DEAD_END, GOAL, MOVE
from tests.tasks.countdown.support import (
    TASK,
    back_line,
    canonical_answer,
    dead_line,
    make_problem,
    move_line,
    rendered,
    solve,
    without,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")

# ---- rules -----------------------------------------------------------------------------


def brute_force_children(state: tuple, fractions: bool) -> set[tuple]:
    """Every next multiset, from first principles: any ordered pair, any op, kept when the
    result is positive (and whole unless fractions are allowed)."""
    out = set()
    for i, j in permutations(range(len(state)), 2):
        a, b = Fraction(state[i]), Fraction(state[j])
        rest = [x for n, x in enumerate(state) if n not in (i, j)]
        for value in (a + b, a - b, a * b, a / b):
            if value > 0 and (fractions or value.denominator == 1):
                out.add(tuple(sorted([*rest, value])))
    return out


def states_to_check() -> list[tuple[CountdownRules, tuple]]:
    out = []
    for seed, fractions in ((0, False), (1, False), (2, True), (3, True)):
        problem = make_problem(seed, "medium", allow_fractions=fractions)
        rules = CountdownRules.from_data(problem.data)
        tree = solve(problem)
        out += [(rules, node.state) for node in tree.nodes if len(node.state) > 1][:25]
    return out


def test_expand_gives_every_distinct_child_closest_first() -> None:
    for rules, state in states_to_check():
        children = rules.expand(state)
        keys = [rules.state_key(child) for _, child in children]
        assert len(keys) == len(set(keys)), state
        assert set(keys) == brute_force_children(state, rules.fractions), state
        distances = [abs(move.result - rules.target) for move, _ in children]
        assert distances == sorted(distances)
        assert [child[-1] for _, child in children] == [move.result for move, _ in children]
        assert list(rules.wider_moves(state)) == children


def test_apply_agrees_with_expand() -> None:
    for rules, state in states_to_check():
        for move, child in rules.expand(state):
            applied = rules.apply(state, move)
            assert not isinstance(applied, Violation), (state, move, applied)
            assert Counter(applied) == Counter(child)


@pytest.mark.parametrize(
    ("state", "move", "code"),
    [
        ((5, 3, 2), CountdownMove(7, "+", 3, 10), "number_not_available"),
        ((5, 3, 2), CountdownMove(5, "+", 5, 10), "number_not_available"),
        ((5, 3, 2), CountdownMove(5, "+", 3, 9), "wrong_result"),
        ((5, 3, 2), CountdownMove(5, "*", 3, 8), "wrong_result"),
        ((5, 3, 2), CountdownMove(3, "-", 5, -2), "not_positive"),
        ((5, 5, 2), CountdownMove(5, "-", 5, 0), "not_positive"),
        ((7, 2, 4), CountdownMove(7, "/", 2, Fraction(7, 2)), "not_integer"),
    ],
)
def test_apply_names_the_broken_rule(state: tuple, move: CountdownMove, code: str) -> None:
    rules = CountdownRules(state, 14, allow_fractions=False)
    violation = rules.apply(state, move)
    assert isinstance(violation, Violation) and violation.code == code, violation


def test_apply_uses_each_number_once_and_allows_fractions_when_asked() -> None:
    rules = CountdownRules((5, 5, 2), 14, allow_fractions=False)
    assert Counter(rules.apply((5, 5, 2), CountdownMove(5, "+", 5, 10))) == Counter((2, 10))
    fractions = CountdownRules((7, 2, 4), 14, allow_fractions=True)
    half = fractions.apply((7, 2, 4), CountdownMove(7, "/", 2, Fraction(7, 2)))
    assert Counter(half) == Counter((4, Fraction(7, 2)))
    assert Counter(fractions.apply(half, CountdownMove(Fraction(7, 2), "*", 4, 14))) == {14: 1}
    wrong = fractions.apply((7, 2, 4), CountdownMove(7, "/", 2, 3))
    assert isinstance(wrong, Violation) and wrong.code == "wrong_result"


def test_goal_and_dead_end() -> None:
    rules = CountdownRules((4, 11, 3), 44, allow_fractions=False)
    assert rules.is_goal((44,)) and not rules.is_goal((44, 1)) and not rules.is_goal((43,))
    assert rules.dead_end((44,)) is None
    assert rules.dead_end((43,)) == DeadEnd("wrong_final", (43,))
    assert rules.dead_end((3, 5)) == DeadEnd("pair_cannot_reach", (3, 5))
    assert rules.dead_end((44, 2)) is not None  # 44 is there, but every number must be used
    assert rules.dead_end((4, 11)) is None  # 4*11
    assert rules.dead_end((88, 2)) is None  # 88/2
    assert rules.dead_end((1, 2, 3)) is None  # three numbers are never judged dead
    for state in ((43,), (3, 5)):
        assert rules.confirm_dead_end(state, rules.dead_end(state)) is None
    assert "not a dead end" in rules.confirm_dead_end((4, 11), DeadEnd("pair_cannot_reach",
                                                                       (4, 11)))
    assert "not a dead end" in rules.confirm_dead_end((4, 11, 3), DeadEnd("pair_cannot_reach",
                                                                          (4, 11)))
    assert "not a dead end" in rules.confirm_dead_end((44,), DeadEnd("wrong_final", (44,)))
    assert "the claim names" in rules.confirm_dead_end((3, 5), DeadEnd("pair_cannot_reach",
                                                                       (3, 6)))
    assert rules.confirm_dead_end((3, 5), DeadEnd("wrong_final", (3,))) is not None
    one = CountdownRules((1, 2), 1, allow_fractions=False)
    assert one.dead_end((2, 2)) is None  # 2/2
    assert one.dead_end((3, 2)) is None  # 3-2
    assert one.dead_end((3, 5)) == DeadEnd("pair_cannot_reach", (3, 5))
    half = CountdownRules((1, 2), 2, allow_fractions=True)
    assert half.dead_end((Fraction(1, 2), 4)) is None  # 1/2*4
    assert CountdownRules((1, 2), 2, False).dead_end((Fraction(1, 2), 5)) is not None


# ---- traces ----------------------------------------------------------------------------



@pytest.mark.parametrize("style", STYLES)
def test_traces_with_fractions_verify(style: str) -> None:
    """Fractional intermediate results (no preset allows them) survive rendering and replay."""
    for seed in range(6):
        problem = make_problem(seed, "medium", allow_fractions=True)
        tree = solve(problem)
        rules = TASK.rules(problem.data)
        traces = [linearize_natural(tree)]
        traces += [linearize_exact(tree, rules, k, "uniform", 4) for k in (0, 1, 3, 5)]
        assert [t.num_backtracks for t in traces[1:]] == [0, 1, 3, 5]
        answer = canonical_answer(problem, tree)
        for trace in traces:
            lines = get_style(style).render(trace, tree, TASK.phrasing(style, problem.data),
                                            seed)
            completion = format_completion(lines, answer)
            verdict = verify_completion(TASK, problem.data, completion, style,
                                        trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


@pytest.mark.parametrize("style", STYLES)
def test_wrong_result_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    move = r.node(0).move
    wrong = CountdownMove(move.a, move.op, move.b, move.result + 1)
    lines = list(r.lines)
    lines[0] = move_line(r, wrong, (*without(r.tree.nodes[0].state, move.a, move.b),
                                    move.result + 1))
    verdict = r.verify(lines)
    assert verdict.code == "wrong_result" and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
def test_invented_and_reused_numbers_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    numbers = r.problem.data["numbers"]
    start = tuple(numbers)
    once = next(n for n in numbers if numbers.count(n) == 1)
    other = next(n for n in numbers if n != once)
    invented = max(numbers) + 1
    first = r.node(0).move
    consumed = next(x for x in (first.a, first.b) if x not in r.node(0).state)
    leftover = next(x for x in r.node(0).state if x != consumed)
    cases = [
        (0, CountdownMove(invented, "+", other, invented + other),
         (*without(start, other), invented + other)),
        (0, CountdownMove(once, "+", once, 2 * once), (*without(start, once), 2 * once)),
        (1, CountdownMove(consumed, "+", leftover, consumed + leftover),
         (*without(r.node(0).state, leftover), consumed + leftover)),
    ]
    for index, move, state in cases:
        lines = list(r.lines)
        lines[index] = move_line(r, move, state)
        verdict = r.verify(lines)
        assert verdict.code == "number_not_available" and verdict.line == index, verdict


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claims_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    target = r.problem.data["target"]
    path = r.tree.solution_path()
    # 1. right after a move into a three-number state, claim two of them cannot make it
    three = r.node(0).state
    assert len(three) == 3
    lines = list(r.lines)
    lines[1:1] = [dead_line(r, three, DeadEnd("pair_cannot_reach", three[:2])),
                  back_line(r, r.tree.nodes[0].state)]
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict
    # 2. the live pair on the solution path, claimed (with its own numbers) to be dead
    pair_node = path[-2]
    pair = r.tree.nodes[pair_node].state
    assert len(pair) == 2 and r.tree.nodes[pair_node].status == "expanded"
    at = r.line_of(MOVE, pair_node) + 1
    lines = list(r.lines)
    lines[at:at] = [dead_line(r, pair, DeadEnd("pair_cannot_reach", pair)),
                    back_line(r, r.tree.nodes[path[-3]].state)]
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == at, verdict
    # 3. a real dead end, but the claim names other numbers
    dead_at = r.trace.backtrack_positions[0] - 1
    dead_state = r.node(dead_at).state
    truth = r.node(dead_at).reason
    lies = DeadEnd(truth.code, (truth.detail[0] + 1, *truth.detail[1:]))
    lines = list(r.lines)
    lines[dead_at] = dead_line(r, dead_state, lies)
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == dead_at, verdict
    # 4. the goal state, claimed to be a wrong final number
    lines = list(r.lines)
    lines[-1] = dead_line(r, (target,), DeadEnd("wrong_final", (target,)))
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == len(lines) - 1, verdict



@pytest.mark.parametrize("style", STYLES)
def test_backtrack_needs_a_dead_end_and_a_move_needs_a_backtrack(style: str) -> None:
    r = rendered(0, 3, style)
    lines = list(r.lines)
    lines.insert(1, back_line(r, r.tree.nodes[0].state))
    verdict = r.verify(lines)
    assert verdict.code == "backtrack_without_dead_end" and verdict.line == 1, verdict
    position = r.trace.backtrack_positions[0]
    lines = list(r.lines)
    del lines[position]
    assert r.trace.steps[position + 1].kind == MOVE
    verdict = r.verify(lines)
    assert verdict.code == "move_after_dead_end" and verdict.line == position, verdict



@pytest.mark.parametrize("style", STYLES)
def test_goal_claimed_where_it_is_not_reached_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    assert r.trace.steps[-1].kind == GOAL
    dead_at = next(i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END)
    lines = list(r.lines[: dead_at + 1])
    lines[dead_at] = r.lines[-1]  # the goal claimed in a state that is not the goal
    assert r.verify(lines).code == "false_goal"
