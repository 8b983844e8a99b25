"""Sudoku rules: the most constrained cell's digits as children, every legal placement as
wider moves, each broken rule named by `apply`, goals and confirmed dead ends; and in a
rendered trace, traces of every grid size verifying, an illegal placement (row, column,
box, given cell) and a false dead-end claim rejected on their line."""

from __future__ import annotations

import pytest

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.sudoku.grid import flatten, geometry
from searchtrace.tasks.sudoku.rules import SudokuMove, SudokuRules, candidates
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from tests.tasks.sudoku.support import (
    MOVE_LINE,
    TASK,
    completion_for,
    rendered,
    replace_move,
    solved,
    verify,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")

# ---- rules -----------------------------------------------------------------------------


def path_states(size: int, seed: int) -> list:
    _, tree = solved(size, seed)
    return [tree.nodes[n].state for n in tree.solution_path()]


@pytest.mark.parametrize("size", [4, 6, 9])
def test_expand_and_wider_moves_agree_with_apply(size: int) -> None:
    problem, _ = solved(size, 0)
    rules = SudokuRules.from_data(problem.data)
    geo = geometry(size)
    for state in path_states(size, 0)[:-1]:
        children = rules.expand(state)
        assert children
        assert len({(m.row, m.col) for m, _ in children}) == 1
        assert [m.digit for m, _ in children] == sorted(m.digit for m, _ in children)
        wider = list(rules.wider_moves(state))
        legal = sum(candidates(geo, state, i).bit_count()
                    for i, d in enumerate(state.cells) if not d)
        assert len(wider) == legal
        for move, child in children + wider:
            assert rules.apply(state, move) == child
        counts = [candidates(geo, state, m.row * size + m.col).bit_count() for m, _ in wider]
        assert counts == sorted(counts)


def test_goal_and_dead_end() -> None:
    problem, tree = solved(4, 0)
    rules = SudokuRules.from_data(problem.data)
    assert rules.is_goal(tree.nodes[tree.solution].state)
    assert not rules.is_goal(rules.initial_state())
    assert rules.dead_end(rules.initial_state()) is None
    # r1c3 sees 1, 2, 4 in its row and 3 in its column: nothing is left for it.
    state = SudokuRules(4, [[1, 2, 0, 4], [0, 0, 3, 0], [0] * 4, [0] * 4]).initial_state()
    dead = rules.dead_end(state)
    assert dead == DeadEnd("no_candidates", (0, 2))
    assert rules.confirm_dead_end(state, dead) is None
    assert "can still be" in rules.confirm_dead_end(state, DeadEnd("no_candidates", (2, 2)))
    assert "is filled" in rules.confirm_dead_end(state, DeadEnd("no_candidates", (0, 0)))
    assert "not a cell" in rules.confirm_dead_end(state, DeadEnd("no_candidates", (4, 0)))


@pytest.mark.parametrize(
    ("move", "code"),
    [
        (SudokuMove(4, 0, 1), "out_of_range"),
        (SudokuMove(0, 0, 5), "out_of_range"),
        (SudokuMove(0, 0, 3), "cell_filled"),
        (SudokuMove(1, 0, 2), "row_conflict"),
        (SudokuMove(2, 0, 1), "column_conflict"),
        (SudokuMove(1, 1, 1), "box_conflict"),
    ],
)
def test_apply_names_the_broken_rule(move: SudokuMove, code: str) -> None:
    rules = SudokuRules(4, [[1, 0, 0, 0], [0, 0, 0, 2], [0, 0, 0, 0], [0, 0, 0, 0]])
    violation = rules.apply(rules.initial_state(), move)
    assert getattr(violation, "code", None) == code, violation


# ---- traces ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [6, 9])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_traces_of_larger_grids_verify(size: int, seed: int) -> None:
    """6x6 (boxes of 2 rows by 3 columns) and 9x9 grids; presets' easy 4x4 grids are the
    contract suite's."""
    problem, tree = solved(size, seed)
    rules = TASK.rules(problem.data)
    traces = [linearize_natural(tree)]
    traces += [linearize_exact(tree, rules, k, "uniform", 4) for k in (0, 1, 3, 5)]
    assert [t.num_backtracks for t in traces[1:]] == [0, 1, 3, 5]
    for trace in traces:
        for style in STYLES:
            completion = completion_for(problem, tree, trace, style)
            verdict = verify(problem, completion, style, trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


def find_conflict(size: int, seed: int, kind: str) -> SudokuMove:
    """A placement on a blank cell of the puzzle that breaks only the rule `kind` names
    first (row, then column, then box: the order `apply` checks them)."""
    problem, _ = solved(size, seed)
    geo = geometry(size)
    state = TASK.rules(problem.data).initial_state()
    for cell, digit in enumerate(state.cells):
        if digit:
            continue
        r, c, b = geo.row_of[cell], geo.col_of[cell], geo.box_of[cell]
        for d in range(1, size + 1):
            bit = 1 << d
            in_row, in_col, in_box = (state.rows[r] & bit, state.cols[c] & bit,
                                      state.boxes[b] & bit)
            wanted = {"row": in_row, "column": in_col and not in_row,
                      "box": in_box and not in_row and not in_col}[kind]
            if wanted:
                return SudokuMove(r, c, d)
    raise AssertionError(f"no {kind} conflict in the puzzle")



@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("kind", ["row", "column", "box"])
def test_illegal_placement_is_rejected(style: str, kind: str) -> None:
    problem, completion, trace = rendered(9, 0, 1, style)
    lines = completion.split("\n")
    lines[1] = replace_move(lines[1], style, find_conflict(9, 0, kind))
    verdict = verify(problem, "\n".join(lines), style, trace.num_backtracks)
    assert verdict.code == f"{kind}_conflict" and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
def test_placement_on_a_given_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(9, 0, 0, style)
    cells = flatten(problem.data["grid"])
    given = next(i for i, d in enumerate(cells) if d)
    lines = completion.split("\n")
    lines[1] = replace_move(lines[1], style, SudokuMove(*divmod(given, 9), cells[given]))
    assert verify(problem, "\n".join(lines), style, 0).code == "cell_filled"


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claim_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(9, 0, 0, style)
    rules, text = TASK.rules(problem.data), TASK.phrasing(style, problem.data)
    lines = completion.split("\n")
    first = text.parse_move(MOVE_LINE[style].match(lines[1]).group(2))
    state = rules.apply(rules.initial_state(), first)
    blank = divmod(state.cells.index(0), 9)  # on the solution path: it has a candidate
    said = text.dead_end_phrase(state, DeadEnd("no_candidates", blank))
    dead_line = f"dead: {said}" if style == "compact" else f"{said}, so this is a dead end."
    back = text.ref_phrase(rules.initial_state(), None)
    back_line = f"back to {back}" if style == "compact" else f"Let me go back to {back}."
    lines[2:2] = [dead_line, back_line]
    verdict = verify(problem, "\n".join(lines), style, 1)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict
