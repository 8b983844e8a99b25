"""N-Queens rules: the next column's safe rows as children in their order, every stuck
state a confirmed dead end with no completion, each broken rule named by `apply`, goals
and dead ends; and in a rendered trace, traces on other boards verifying, too few sound
dead ends refused, an illegal move (also inside a dead-end branch) and a false dead-end
claim rejected on their line."""

from __future__ import annotations

from itertools import pairwise

import pytest

from searchtrace.tasks.base import DeadEnd, Violation
from searchtrace.tasks.nqueens.generate import count_solutions
from searchtrace.tasks.nqueens.rules import (
    EMPTY,
    QueensMove,
    QueensRules,
    QueensState,
    safe_rows,
    state_from_rows,
)
from searchtrace.tasks.nqueens.text import NQueensPhrasing
from searchtrace.traces.linearize import (
    NotEnoughSoundDeadEnds,
    linearize_exact,
    linearize_natural,
)
from searchtrace.traces.trace import BACKTRACK, DEAD_END
from tests.tasks.nqueens.support import (
    MOVE_LINE,
    TASK,
    completion_for,
    line_state,
    rendered,
    solved,
    verify,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")

# ---- rules -----------------------------------------------------------------------------


def path_states(n: int, preplaced: int, seed: int) -> list[QueensState]:
    _, tree = solved(n, preplaced, seed)
    return [tree.nodes[i].state for i in tree.solution_path()]


def attacked_by_any(state: QueensState, col: int, row: int) -> bool:
    return any(r != EMPTY and (r == row or abs(r - row) == abs(c - col))
               for c, r in enumerate(state.rows))


@pytest.mark.parametrize(("n", "preplaced"), [(8, 2), (8, 0), (12, 2)])
def test_expand_and_wider_moves_agree_with_apply(n: int, preplaced: int) -> None:
    problem, _ = solved(n, preplaced, 0)
    rules = QueensRules.from_data(problem.data)
    for state in path_states(n, preplaced, 0)[:-1]:
        children = rules.expand(state)
        col = state.rows.index(EMPTY)
        assert {m.col for m, _ in children} == {col}
        assert sorted(m.row for m, _ in children) == [
            r for r in range(n) if not attacked_by_any(state, col, r)]
        assert len({rules.state_key(s) for _, s in children}) == len(children)
        wider = list(rules.wider_moves(state))
        for move, child in children + wider:
            assert rules.state_key(rules.apply(state, move)) == rules.state_key(child)
            assert rules.apply(state, move) == child
        keys = [(rules.dead_end(child) is not None,
                 -sum(len(safe_rows(n, child, c)) for c in range(n) if child.rows[c] == EMPTY))
                for _, child in children]
        assert keys == sorted(keys)


def test_every_stuck_state_is_a_confirmed_dead_end_with_no_completion() -> None:
    """Walk the whole 6x6 state space: a state without moves is a dead end, and a dead
    end really has no completion."""
    rules = QueensRules(6, [0] * 6)
    stack, seen = [rules.initial_state()], 0
    while stack:
        state = stack.pop()
        seen += 1
        children = rules.expand(state)
        dead = rules.dead_end(state)
        if not children and not rules.is_goal(state):
            assert dead is not None
        if dead is not None:
            assert rules.confirm_dead_end(state, dead) is None
            given = [r + 1 if r != EMPTY else 0 for r in state.rows]
            assert count_solutions(6, given) == 0
            continue
        assert rules.heuristic(state) == state.rows.count(EMPTY)
        stack.extend(child for _, child in children)
    assert seen > 20


def test_goal_and_dead_end() -> None:
    problem, tree = solved(8, 2, 0)
    rules = QueensRules.from_data(problem.data)
    goal = tree.nodes[tree.solution].state
    assert rules.is_goal(goal) and rules.heuristic(goal) == 0
    assert not rules.is_goal(rules.initial_state())
    assert rules.dead_end(rules.initial_state()) is None
    # Queens at c1=r1 and c2=r3 on 4x4 attack every row of column 3: r1 along c1's row,
    # r3 along c1's diagonal and c2's row, r2 and r4 along c2's diagonals. Column 4 keeps r2.
    state = state_from_rows(4, [0, 2, EMPTY, EMPTY])
    small = QueensRules(4, [0] * 4)
    dead = small.dead_end(state)
    assert dead == DeadEnd("no_safe_square", (2,))
    assert small.confirm_dead_end(state, dead) is None
    assert "is still safe at" in small.confirm_dead_end(state, DeadEnd("no_safe_square", (3,)))
    assert "already has a queen" in small.confirm_dead_end(state, DeadEnd("no_safe_square", (0,)))
    assert "not a column" in small.confirm_dead_end(state, DeadEnd("no_safe_square", (4,)))
    assert "not an N-Queens" in small.confirm_dead_end(state, DeadEnd("other", (2,)))


@pytest.mark.parametrize(
    ("move", "code"),
    [
        (QueensMove(8, 0), "out_of_board"),
        (QueensMove(2, -1), "out_of_board"),
        (QueensMove(0, 4), "column_taken"),
        (QueensMove(3, 4), "wrong_column"),
        (QueensMove(2, 1), "row_attack"),
        (QueensMove(2, 6), "diagonal_attack"),
        (QueensMove(2, 2), "diagonal_attack"),
        (QueensMove(2, 0), "diagonal_attack"),
    ],
)
def test_apply_names_the_broken_rule(move: QueensMove, code: str) -> None:
    # Queens at c1=r5 and c2=r2: column 3 is next; c1 sees r3 and r7 of it diagonally,
    # c2 sees r1 and r3.
    rules = QueensRules(8, [5, 2, 0, 0, 0, 0, 0, 0])
    violation = rules.apply(rules.initial_state(), move)
    assert isinstance(violation, Violation) and violation.code == code, violation


def test_legal_move_is_applied() -> None:
    rules = QueensRules(8, [5, 2, 0, 0, 0, 0, 0, 0])
    state = rules.apply(rules.initial_state(), QueensMove(2, 7))
    assert isinstance(state, QueensState) and state.rows[:3] == (4, 1, 7)


# ---- traces ----------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "preplaced", "seed"),
                         [(8, 2, 4), (8, 2, 5), (8, 2, 7), (8, 0, 0), (12, 2, 0), (6, 1, 0)])
def test_traces_on_other_boards_verify(n: int, preplaced: int, seed: int) -> None:
    """Boards of 6, 8 and 12, and the empty board; the easy preset's are the contract
    suite's."""
    problem, tree = solved(n, preplaced, seed)
    rules = TASK.rules(problem.data)
    traces = [linearize_natural(tree)]
    ks = (0, 1, 3, 5) if n >= 8 else (0, 1, 3)
    traces += [linearize_exact(tree, rules, k, "uniform", 6) for k in ks]
    assert [t.num_backtracks for t in traces[1:]] == list(ks)
    for trace in traces:
        for style in STYLES:
            completion = completion_for(problem, tree, trace, style)
            verdict = verify(problem, completion, style, trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


def test_too_few_alternatives_means_not_enough_dead_ends() -> None:
    """k is never padded: seed 1's solution path offers only 4 other rows in all, and one
    of them can still be completed, so only 3 make sound dead-end branches."""
    problem, tree = solved(8, 2, 1)
    rules = TASK.rules(problem.data)
    path = tree.solution_path()
    alternatives = [child for here, there in pairwise(path)
                    for _, child in rules.expand(tree.nodes[here].state)
                    if child != tree.nodes[there].state]
    assert len(alternatives) == 4
    assert sum(not rules.solvable(child) for child in alternatives) == 3
    assert linearize_exact(tree, rules, 3, "uniform", 6).num_backtracks == 3
    with pytest.raises(NotEnoughSoundDeadEnds):
        linearize_exact(tree, rules, 4, "uniform", 6)


def replace_move(line: str, style: str, move: QueensMove) -> str:
    phrase = TASK.phrasing(style, {"n": 8, "preplaced": [1] + [0] * 7}).move_phrase(move)
    return MOVE_LINE[style].sub(lambda m: m.group(1) + phrase + m.group(3), line)


def illegal_move(state: QueensState, code: str) -> QueensMove:
    """A move from `state` that breaks the rule `code` first."""
    rules = QueensRules(8, [0] * 8)
    col = state.rows.index(EMPTY)
    later = next((c for c in range(col + 1, 8) if state.rows[c] == EMPTY), None)
    taken = next((c for c in range(8) if state.rows[c] != EMPTY), None)
    options = [QueensMove(col, row) for row in range(8)] + [QueensMove(8, 0), QueensMove(col, 8)]
    if later is not None:
        options.append(QueensMove(later, 0))
    if taken is not None:
        options.append(QueensMove(taken, 0))
    for move in options:
        result = rules.apply(state, move)
        if isinstance(result, Violation) and result.code == code:
            return move
    raise AssertionError(f"no {code} move from {state.rows}")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", ["out_of_board", "column_taken", "wrong_column", "row_attack",
                                  "diagonal_attack"])
def test_illegal_move_is_rejected(style: str, code: str) -> None:
    problem, completion, trace = rendered(0, 1, style)
    state = line_state(problem, completion, style, 0)
    lines = completion.split("\n")
    lines[1] = replace_move(lines[1], style, illegal_move(state, code))
    verdict = verify(problem, "\n".join(lines), style, trace.num_backtracks)
    assert verdict.code == code and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", ["row_attack", "diagonal_attack"])
def test_illegal_move_inside_a_dead_end_branch_is_rejected(style: str, code: str) -> None:
    problem, completion, trace = rendered(1, 3, style)
    dead_line = next(i for i, s in enumerate(trace.steps) if s.kind == DEAD_END)
    assert trace.steps[dead_line - 1].kind not in (BACKTRACK, DEAD_END)
    index = dead_line - 1  # the last move of the first dead-end branch
    state = line_state(problem, completion, style, index)
    lines = completion.split("\n")
    lines[index + 1] = replace_move(lines[index + 1], style, illegal_move(state, code))
    verdict = verify(problem, "\n".join(lines), style, trace.num_backtracks)
    assert verdict.code == code and verdict.line == index, verdict


def dead_and_back(text: NQueensPhrasing, state: QueensState, col: int, style: str
                  ) -> list[str]:
    said = text.dead_end_phrase(state, DeadEnd("no_safe_square", (col,)))
    back = text.ref_phrase(state, None)
    if style == "compact":
        return [f"dead: {said}", f"back to {back}"]
    return [f"{said}, so this is a dead end.", f"Let me go back to {back}."]


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claim_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(0, 0, style)
    text = TASK.phrasing(style, problem.data)
    state = line_state(problem, completion, style, 1)
    col = state.rows.index(EMPTY)  # on the solution path: it has a safe row
    lines = completion.split("\n")
    lines[2:2] = dead_and_back(text, state, col, style)
    verdict = verify(problem, "\n".join(lines), style, 1)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict
    assert "is still safe at" in verdict.message
