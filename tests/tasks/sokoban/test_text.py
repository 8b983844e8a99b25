"""Sokoban phrasing: every phrase of each style reads back as said, rendered lines read as
they should, and misstated positions, goals and line structure are rejected; near-valid
Sokoban lines spliced into a trace never break the verifier."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import DeadEnd, Verdict
from searchtrace.tasks.sokoban.rules import SokobanMove
from searchtrace.tasks.sokoban.text import SokobanCompact, SokobanNatural, SokobanTokens
from searchtrace.traces.trace import BACKTRACK, DEAD_END
from tests.tasks.sokoban.support import TASK, back_line, move_line, rendered, solved

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


def test_each_style_has_its_phrasing() -> None:
    data = solved(0)[0].data
    assert isinstance(TASK.phrasing("natural", data), SokobanNatural)
    assert isinstance(TASK.phrasing("compact", data), SokobanCompact)



@pytest.mark.parametrize("style", STYLES)
def test_phrasing_reads_back_what_it_says(style: str) -> None:
    problem, tree = solved(0)
    text = TASK.phrasing(style, problem.data)
    rules = TASK.rules(problem.data)
    for node in tree.nodes[:30]:
        state = node.state
        if node.move is not None:
            assert text.parse_move(text.move_phrase(node.move)) == node.move
        assert text.state_claim_error(text.state_phrase(state), state) is None
        ref = text.ref_phrase(state, node.move)
        assert text.parse_ref(ref) == text.ref_key(state, node.move)
        if node.reason is not None:
            said = text.dead_end_phrase(state, node.reason)
            assert text.parse_dead_end(said) == node.reason
            assert rules.confirm_dead_end(state, node.reason) is None
    start = rules.initial_state()
    later = tree.nodes[tree.solution].state
    assert "states boxes at" in text.state_claim_error(text.state_phrase(later), start)
    for garbage in ("", "pushing the box at (2,3) sideways", "(2,3) right ", "(2, 3) right",
                    "push (2,3) right.", "(²,3) right", "(2,3)"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
        assert text.parse_ref(garbage) is None
        assert text.state_claim_error(garbage, start) is not None


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
def test_a_goal_stated_at_a_dead_end_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    dead_at = next(i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END)
    lines = list(r.lines[: dead_at + 1])
    lines[dead_at] = r.lines[-1]
    assert r.verify(lines).code == "false_goal"
    assert r.trace.steps[-1].kind != BACKTRACK


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
def test_verifier_never_fails_internally_on_spliced_sokoban_phrases(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Lines shaped like Sokoban steps (with odd cells, directions and counts) spliced into
    a real trace, so they meet states deep in the search."""
    r = rendered(0, 3, style)
    think = [*r.lines[:cut], *lines, *r.lines[cut:]]
    verdict = r.verify(think, answer, backtracks=None)
    assert isinstance(verdict, Verdict)
    assert verdict.code != "verifier_error", verdict


def test_tokens_phrases_are_exact_and_read_back() -> None:
    text = TASK.phrasing("tokens", solved(0)[0].data)
    assert isinstance(text, SokobanTokens)
    move = SokobanMove(2, 3, "right")
    assert text.move_phrase(move) == "r2 c3 R" and text.parse_move("r2 c3 R") == move
    said = {DeadEnd("corner", (2, 3)): "corner r2 c3",
            DeadEnd("frozen", (2, 3, 1, 2)): "frozen r2 c3 block r1 c2",
            DeadEnd("dead_square", (2, 3)): "dead-square r2 c3",
            DeadEnd("out_of_pushes", (3, 1)): "need 3 left 1",
            DeadEnd("no_push", ()): "no-push"}
    for dead, phrase in said.items():
        assert text.dead_end_phrase(None, dead) == phrase
        assert text.parse_dead_end(phrase) == dead
    assert text.parse_ref("pushes 2 boxes r3 c3 r2 c4") == (2, ((2, 4), (3, 3)))
    assert text.parse_ref("start boxes r2 c4") == (0, ((2, 4),))
    for garbage in ("r2 c3 right", "r2 c3  R", "(2,3) right", "boxes (2,4); 5 left",
                    "pushes x boxes r2 c4", "frozen r2 c3 block", "corner r² c3"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
        assert text.parse_ref(garbage) is None


def test_tokens_lines_are_short_tokens() -> None:
    r = rendered(0, 3, "tokens")
    assert re.fullmatch(r"create r\d c\d [UDLR] \| boxes r\d c\d r\d c\d left \d+ g1 h\d+",
                        r.lines[0]), r.lines[0]
    assert r.lines[-1] == "goal solved"
    assert r.verify().ok
