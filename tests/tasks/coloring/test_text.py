"""Coloring phrasing: each style reads back what it says and nothing else, the natural style
names colors and the compact one their initials, rendered lines read naturally, a wrong
stated state is caught, and lines shaped like coloring steps never break the verifier."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.coloring.rules import COLOR_NAMES, ColoringMove
from searchtrace.tasks.coloring.text import ColoringCompact, ColoringNatural
from tests.tasks.coloring.support import (
    SMALL,
    TASK,
    path_moves,
    rendered,
    think_lines,
    verify,
    with_think,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


@pytest.mark.parametrize("style", STYLES)
def test_each_style_reads_back_what_it_says(style: str) -> None:
    text = TASK.phrasing(style, SMALL)
    start = (0,) * 5
    for move in (ColoringMove(4, 3), ColoringMove(1, 1)):
        assert text.parse_move(text.move_phrase(move)) == move
        assert text.parse_ref(text.ref_phrase(start, move)) == text.ref_key(start, move)
    assert text.parse_ref(text.ref_phrase(start, None)) == text.ref_key(start, None)
    state = (1, 2, 3, 0, 0)
    dead = DeadEnd("no_color_left", (4, 1, 1, 2, 2, 3, 3))
    assert text.parse_dead_end(text.dead_end_phrase(state, dead)) == dead
    for s in (start, (1, 0, 0, 0, 0), (1, 2, 0, 0, 0), state, (1, 2, 1, 3, 1)):
        assert text.state_claim_error(text.state_phrase(s), s) is None
    said = text.state_phrase(state)
    assert "4" in said
    assert text.state_claim_error(said, (1, 2, 1, 0, 0)) is not None
    assert "not" in text.state_claim_error(text.state_phrase((1, 2, 1, 3, 1)), state)
    for garbage in ("", "coloring node 4 red.", "4=R ", "4 = R", "coloring node 4 magenta",
                    "4=X", "4:{R,}", "Node 4 has no color left: its neighbors 1 are red",
                    "4 blocked by 1=R,2=Q", "the point where node 4 was colored teal"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
        assert text.parse_ref(garbage) is None
        assert text.state_claim_error(garbage, start) is not None


def test_natural_phrases_name_colors_and_compact_uses_initials() -> None:
    natural, compact = ColoringNatural.from_data(SMALL), ColoringCompact.from_data(SMALL)
    assert natural.move_phrase(ColoringMove(4, 3)) == "coloring node 4 blue"
    assert compact.move_phrase(ColoringMove(4, 3)) == "4=B"
    assert natural.state_phrase((1, 0, 0, 0, 0)) == "Now node 2 can be green or blue"
    assert natural.state_phrase((1, 0, 0, 3, 0)) == "Now node 2 must be green"
    assert natural.state_phrase((1, 2, 3, 0, 0)) == "Now node 4 has no color left"
    assert compact.state_phrase((1, 0, 0, 0, 0)) == "2:{G,B}"
    assert compact.state_phrase((1, 2, 1, 3, 1)) == "done"
    dead = DeadEnd("no_color_left", (4, 1, 1, 2, 2, 3, 3))
    assert natural.dead_end_phrase((1, 2, 3, 0, 0), dead) == (
        "Node 4 has no color left: its neighbors 1, 2 and 3 are red, green and blue")
    assert compact.dead_end_phrase((1, 2, 3, 0, 0), dead) == "4 blocked by 1=R,2=G,3=B"


def test_rendered_lines_read_naturally() -> None:
    problem, completion, _ = rendered("medium", 0, 1, "natural")
    lines = completion.split("\n")
    colors = "|".join(COLOR_NAMES)
    assert re.fullmatch(rf"Let me try coloring node 1 ({colors})\. Now node \d+ (can be [a-z, ]+ "
                        rf"or [a-z]+|must be [a-z]+|has no color left)\.", lines[1])
    assert any(re.fullmatch(r"Node \d+ has no color left: its neighbors [\d, ]+ and \d+ are "
                            r"[a-z, ]+ and [a-z]+, so this (is a dead end|branch fails)\.", line)
               for line in lines)
    assert any(re.fullmatch(r"(Let me go|Going) back to (the start|the point where node \d+ was "
                            r"colored [a-z]+)\.", line) for line in lines)
    n = problem.data["nodes"]
    assert (f"All {n} nodes are colored and every edge joins two different colors, so the "
            f"puzzle is solved.") in lines
    assert verify(problem, completion, "natural", 1).ok


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    problem, completion, _ = rendered("medium", 1, 0, style)
    rules, text = TASK.rules(problem.data), TASK.phrasing(style, problem.data)
    first = path_moves("medium", 1)[0]
    state = rules.apply(rules.initial_state(), first)
    lines = think_lines(completion)
    right = text.state_phrase(state)
    # Claim node 2 can take every color, though node 1's color is taken from it.
    wrong = "2:{R,G,B}" if style == "compact" else "Now node 2 can be red, green or blue"
    assert right in lines[0] and right != wrong
    lines[0] = lines[0].replace(right, wrong)
    verdict = verify(problem, with_think(completion, lines), style, 0)
    assert verdict.code == "wrong_state" and verdict.line == 0, verdict


_numbers = st.integers(min_value=-2, max_value=1200)
_words = st.sampled_from([*COLOR_NAMES, "magenta", "", "and", "or"])
_letters = st.sampled_from(list("RGBYOPCWXr,{}"))
_phrases = st.one_of(
    st.text(max_size=40),
    st.builds("try {}={} -> {}:{{{}}}".format, _numbers, _letters, _numbers,
              st.text(alphabet="RGBYX,", max_size=8)),
    st.builds("Let me try coloring node {} {}. Now node {} can be {} or {}.".format, _numbers,
              _words, _numbers, _words, _words),
    st.builds("Node {} has no color left: its neighbors {} and {} are {} and {}, so this is a "
              "dead end.".format, _numbers, _numbers, _numbers, _words, _words),
    st.builds("dead: {} blocked by {}={},{}={}".format, _numbers, _numbers, _letters, _numbers,
              _letters),
    st.builds("back to after {}={}".format, _numbers, _letters),
    st.builds("Let me go back to the point where node {} was colored {}.".format, _numbers,
              _words),
    st.sampled_from(["back to start", "goal: all colored", "try 1=R -> done",
                     "Let me go back to the start.", "Now every node has a color."]),
)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=40), lines=st.lists(_phrases, max_size=6),
       answer=st.text(max_size=120), style=st.sampled_from(STYLES))
def test_coloring_shaped_lines_with_odd_values_never_break_the_verifier(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Lines shaped like coloring steps (nodes and colors out of range, unknown names)
    spliced into a real trace, so they reach the parsers and the rules deep in the search."""
    problem, real, _ = rendered("medium", 0, 3, style)
    real_lines = think_lines(real)
    think = [*real_lines[:cut], *lines, *real_lines[cut:]]
    completion = "<think>\n" + "\n".join(think) + "\n</think>\n<answer>" + answer + "</answer>"
    verdict = verify(problem, completion, style, None)
    assert verdict.code != "verifier_error", verdict
