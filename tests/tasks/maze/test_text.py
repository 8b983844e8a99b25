"""Maze phrasing: each style reads back what it says and nothing else, the natural style's
sentences, rendered lines that read naturally with both dead-end reasons, a wrong stated
position or goal caught, and lines shaped like maze steps never breaking the verifier."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import DeadEnd, Verdict
from searchtrace.tasks.maze.rules import WORDS, MazeMove, MazeRules
from searchtrace.tasks.maze.text import MazeCompact, MazeNatural
from searchtrace.traces.trace import BACKTRACK, DEAD_END, MOVE
from tests.tasks.maze.support import SMALL, TASK, rendered, walk

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


@pytest.mark.parametrize("style", STYLES)
def test_each_style_reads_back_what_it_says(style: str) -> None:
    rules, text = MazeRules.from_data(SMALL), TASK.phrasing(style, SMALL)
    start = rules.initial_state()
    move = MazeMove("R", 0, 1)
    assert text.parse_move(text.move_phrase(move)) == move
    for state, move_in in ((start, None), (walk(rules, "RR"), MazeMove("R", 0, 2))):
        assert text.parse_ref(text.ref_phrase(state, move_in)) == text.ref_key(state, move_in)
    for dead in (DeadEnd("cul_de_sac", (3, 2)), DeadEnd("cut_off", (1, 0))):
        assert text.parse_dead_end(text.dead_end_phrase(start, dead)) == dead
    for walked in ("", "D", "R", "RRRRR", "DDDDDRRRUUULD", "RRRRRDDDDD"):
        state = walk(rules, walked)
        assert text.state_claim_error(text.state_phrase(state), state) is None
    goal = walk(rules, "RRRRRDDDDD")
    assert text.state_claim_error(text.state_phrase(goal), start)
    assert "(1,1) is not the goal" in text.state_claim_error(
        text.state_phrase(goal).replace("(6,6)", "(1,1)"), start)
    assert text.state_claim_error(text.state_phrase(walk(rules, "R")), start)
    for garbage in ("", "R(0,1) ", "right to (1,2).", "r(1,2)", "north to (1,2)", "(1,2",
                    "open L,L,L,L,L", "From (1,2) I can go", "cul-de-sac at (x,2)"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
        assert text.parse_ref(garbage) is None
        assert text.state_claim_error(garbage, start) is not None


def test_natural_state_phrases() -> None:
    rules = MazeRules.from_data(SMALL)
    natural, compact = MazeNatural.from_data(SMALL), MazeCompact.from_data(SMALL)
    start = rules.initial_state()
    assert natural.state_phrase(start) == "From (1,1) I can go down or right"
    assert natural.state_phrase(walk(rules, "R")) == "From (1,2) I can only go right"
    assert natural.state_phrase(walk(rules, "DDDDDRRRUUULD")) == \
        "From (4,3) there is nowhere new to go"
    assert natural.state_phrase(walk(rules, "RRRRRDDDDD")) == "(6,6) is the goal"
    assert compact.state_phrase(walk(rules, "R")) == "open R"
    # any order of the ways out is accepted; a wrong position is not
    assert natural.state_claim_error("From (1,1) I can go right or down", start) is None
    assert compact.state_claim_error("open R,D", start) is None
    assert "search is at (1,1)" in natural.state_claim_error(
        "From (2,1) I can go down or right", start)


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


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    r = rendered(1, 1, style)
    text, rules = r.text, r.rules
    index = r.moves()[2]
    state = r.tree.nodes[r.trace.steps[index].node].state
    right = text.state_phrase(state)
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
def test_a_goal_line_naming_another_cell_is_rejected(style: str) -> None:
    r = rendered(0, 0, style)
    lines = list(r.lines)
    lines[-1] = lines[-1].replace(")", "5)", 1)
    assert r.verify(lines).code == "wrong_goal_statement"


_n = st.one_of(st.integers(min_value=-2, max_value=60).map(str),
               st.sampled_from(["0", "999", "1000", "²", "٣", "9" * 500, "", " 1"]))
_n = st.one_of(st.integers(min_value=-2, max_value=60).map(str),
               st.sampled_from(["0", "999", "1000", "²", "٣", "9" * 500, "", " 1"]))
_word = st.sampled_from(["up", "down", "left", "right", "north", ""])
_n = st.one_of(st.integers(min_value=-2, max_value=60).map(str),
               st.sampled_from(["0", "999", "1000", "²", "٣", "9" * 500, "", " 1"]))
_word = st.sampled_from(["up", "down", "left", "right", "north", ""])
_letter = st.sampled_from(["U", "D", "L", "R", "X", ""])
_n = st.one_of(st.integers(min_value=-2, max_value=60).map(str),
               st.sampled_from(["0", "999", "1000", "²", "٣", "9" * 500, "", " 1"]))
_word = st.sampled_from(["up", "down", "left", "right", "north", ""])
_letter = st.sampled_from(["U", "D", "L", "R", "X", ""])
_cell = st.builds("({},{})".format, _n, _n)
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
def test_maze_shaped_lines_with_odd_values_never_break_the_verifier(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Lines shaped like maze steps (cells out of range or unreadable, unknown directions)
    spliced into a real trace, so they reach the parsers and the rules deep in the search."""
    r = rendered(0, 3, style)
    think = [*r.lines[:cut], *lines, *r.lines[cut:]]
    verdict = r.verify(think, answer, backtracks=None)
    assert isinstance(verdict, Verdict)
    assert verdict.code != "verifier_error", verdict
