"""Zebra phrasing: each style reads back what it says and nothing else, rendered lines read
naturally, a wrong stated cell is caught, and lines shaped like zebra steps never break the
verifier."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.tasks.zebra.rules import Puzzle, ZebraMove
from searchtrace.tasks.zebra.text import ZebraTokens
from searchtrace.traces.parse import split_completion
from tests.tasks.zebra.support import (
    MOVE_LINE,
    SMALL,
    TASK,
    lines_of,
    rebuild,
    rendered,
    small_dead_state,
    solution_moves,
    solved,
    state_before,
    verify,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


@pytest.mark.parametrize("style", STYLES)
def test_each_style_reads_back_what_it_says(style: str) -> None:
    problem, tree = solved(0)
    text = TASK.phrasing(style, problem.data)
    start = tree.nodes[0].state
    move = solution_moves(tree)[0]
    assert text.parse_move(text.move_phrase(move)) == move
    assert text.parse_ref(text.ref_phrase(start, move)) == text.ref_key(start, move)
    assert text.parse_ref(text.ref_phrase(start, None)) == text.ref_key(start, None)
    small_text = TASK.phrasing(style, SMALL)
    rules, state = small_dead_state()
    dead = rules.dead_end(state)
    phrase = small_text.dead_end_phrase(state, dead)
    assert small_text.parse_dead_end(phrase) == dead
    assert small_text.state_claim_error(small_text.state_phrase(state), state) is None
    assert text.state_claim_error(text.state_phrase(start), start) is None
    goal = tree.nodes[tree.solution].state
    assert text.state_claim_error(text.state_phrase(goal), goal) is None
    assert "empty" in text.state_claim_error(text.state_phrase(goal), start)
    for garbage in ("", "the colour red for house 2.", "h2 colour = red", "h2 colour=red ",
                    "the colour red for house two", "h2 colour:{red,}", "No fits house 1 ()"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
        assert text.parse_ref(garbage) is None
        assert text.state_claim_error(garbage, start) is not None


def test_rendered_lines_read_naturally() -> None:
    problem, completion, _ = rendered(0, 1, "natural")
    lines, _ = lines_of(completion)
    assert re.fullmatch(r"Let me try the [a-z]+ [A-Za-z]+ for house \d\. Now house \d's [a-z]+ "
                        r"(must be [A-Za-z]+|can only be [A-Za-z, ]+ or [A-Za-z]+|has no option "
                        r"left)\.", lines[0])
    assert any(re.fullmatch(r"No [a-z]+ fits house \d \(([A-Za-z]+ (is in house|breaks clue) "
                            r"\d+(, )?)+\), so this (is a dead end|branch fails)\.", line)
               for line in lines)
    assert any(re.fullmatch(r"(Let me go|Going) back to (the empty grid|where house \d got the "
                            r"[a-z]+ [A-Za-z]+)\.", line) for line in lines)
    assert lines[-1] == "Every house is filled in and every clue holds, so the puzzle is solved."
    assert verify(problem, completion, "natural", 1).ok


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(1, 0, style)
    text = TASK.phrasing(style, problem.data)
    lines, answer = lines_of(completion)
    state = state_before(problem, lines, style, 1)
    focus = TASK.rules(problem.data).focus(state)
    puzzle = Puzzle(problem.data)
    a, h = divmod(focus[0], puzzle.n)
    right = [puzzle.values[a][v] for v in focus[1]]
    extra = [v for v in puzzle.values[a] if v not in right]
    wrong = extra[:1] + right if extra else right[1:]
    if style == "compact":
        claim = f"h{h + 1} {puzzle.names[a]}:{{{','.join(wrong)}}}"
    elif style == "tokens":
        claim = f"h{h + 1} {puzzle.names[a]} can {' '.join(wrong)}"
    else:
        claim = f"Now house {h + 1}'s {puzzle.names[a]} can only be {', '.join(wrong[:-1])} " \
                f"or {wrong[-1]}"
    assert text.state_claim_error(claim, state) is not None
    match = MOVE_LINE[style].match(lines[0])
    if style == "tokens":  # the costs are the true state's: the claim fails first
        lines[0] = match.group(1) + match.group(2) + " | " + claim + match.group(3)
    else:
        tail = " -> " if style == "compact" else ". "
        lines[0] = (match.group(1) + match.group(2) + tail + claim
                    + ("" if style == "compact" else "."))
    verdict = verify(problem, rebuild(lines, answer), style, 0)
    assert verdict.code == "wrong_state" and verdict.line == 0, verdict


_numbers = st.integers(min_value=-2, max_value=1200)
_numbers = st.integers(min_value=-2, max_value=1200)
_words = st.sampled_from(["red", "Brit", "colour", "pet", "dog", "zebra", "x", "tea", "clue"])
_numbers = st.integers(min_value=-2, max_value=1200)
_words = st.sampled_from(["red", "Brit", "colour", "pet", "dog", "zebra", "x", "tea", "clue"])
_phrases = st.one_of(
    st.text(max_size=40),
    st.builds("try h{} {}={} -> h{} {}:{{{}}}".format, _numbers, _words, _words, _numbers,
              _words, st.text(alphabet="abcdert,", max_size=10)),
    st.builds("Let me try the {} {} for house {}. Now house {}'s {} can only be {} or {}.".format,
              _words, _words, _numbers, _numbers, _words, _words, _words),
    st.builds("No {} fits house {} ({} breaks clue {}, {} is in house {}), so this is a dead end."
              .format, _words, _numbers, _words, _numbers, _words, _numbers),
    st.builds("dead: h{} {} none: {}!c{} {}@h{}".format, _numbers, _words, _words, _numbers,
              _words, _numbers),
    st.builds("back to after h{} {}={}".format, _numbers, _words, _words),
    st.builds("Let me go back to where house {} got the {} {}.".format, _numbers, _words, _words),
    st.sampled_from(["back to start", "goal: solved", "try h1 colour=red -> full",
                     "Every house is filled in and every clue holds, so the puzzle is solved.",
                     "Let me go back to the empty grid."]),
)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=40), lines=st.lists(_phrases, max_size=6),
       answer=st.text(max_size=120), style=st.sampled_from(STYLES))
def test_zebra_shaped_lines_with_odd_values_never_break_the_verifier(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Lines shaped like zebra steps (houses out of range, names of other attributes or none)
    spliced into a real trace, so they reach the parsers and the rules deep in the search."""
    problem, real, _ = rendered(0, 1, style)
    real_lines = split_completion(real)[0].split("\n")
    think = [*real_lines[:cut], *lines, *real_lines[cut:]]
    completion = "<think>\n" + "\n".join(think) + "\n</think>\n<answer>" + answer + "</answer>"
    verdict = verify(problem, completion, style, None)
    assert verdict.code != "verifier_error", verdict


def test_tokens_phrases_are_exact_and_read_back() -> None:
    text = TASK.phrasing("tokens", SMALL)
    assert isinstance(text, ZebraTokens)
    move = ZebraMove(1, "colour", "green")
    assert text.move_phrase(move) == "h2 colour green"
    assert text.parse_move("h2 colour green") == move
    assert text.ref_phrase(None, move) == "after h2 colour green"
    assert text.parse_ref("after h2 colour green") == (1, "colour", "green")
    assert text.parse_ref("start") == "start"
    dead = text.parse_dead_end("h1 colour none red h2 blue c2")
    assert dead is not None and text.dead_end_phrase(None, dead) == "h1 colour none red h2 blue c2"
    start = text.rules.initial_state()
    said = text.state_phrase(start)
    assert re.fullmatch(r"h\d \w+ (none|can( \w+)+)", said) and \
        text.state_claim_error(said, start) is None
    for garbage in ("h2 colour=green", "h2 colour", "h2  colour green", "hx colour green",
                    "h1 colour none red x2", "h1 colour none red", "after h2 colour=green"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
        assert text.parse_ref(garbage) is None
