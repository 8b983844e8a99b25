"""N-Queens phrasing: what each style says for a move, the safe rows of the column that
matters next, a dead end, a backtrack target and the goal, read back to the same thing;
stated safe rows checked against the board; nqueens-shaped lines rejected cleanly."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.nqueens.rules import EMPTY, QueensMove, QueensRules, safe_rows
from searchtrace.tasks.nqueens.text import PHRASINGS, NQueensCompact, NQueensNatural
from searchtrace.traces.parse import split_completion
from searchtrace.traces.styles import style_names
from tests.tasks.nqueens.support import (
    MOVE_LINE,
    TASK,
    line_state,
    make_problem,
    rendered,
    solved,
    verify,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")

FOUR = {"n": 4, "preplaced": [0, 0, 0, 0]}


@pytest.mark.parametrize(
    ("style", "said"),
    [
        ("natural", {"move": "a queen in column 1 at row 1",
                     "state": "That leaves rows 3 and 4 safe in column 2",
                     "one": "That leaves only row 2 safe in column 3",
                     "none": "That leaves no safe row in column 3",
                     "full": "That places all 4 queens",
                     "dead": "Every row of column 3 is attacked", "start": "the empty board",
                     "after": "the board after a queen in column 1 at row 1",
                     "goal": "All 4 queens are placed and none attacks another"}),
        ("compact", {"move": "c1=r1", "state": "c2:{3,4}", "one": "c3:{2}", "none": "c3:{}",
                     "full": "full", "dead": "c3 blocked", "start": "start",
                     "after": "after c1=r1", "goal": "4 queens placed"}),
    ],
)
def test_each_style_says_its_phrases(style: str, said: dict[str, str]) -> None:
    text = TASK.phrasing(style, FOUR)
    assert isinstance(text, {"natural": NQueensNatural, "compact": NQueensCompact}[style])
    rules = QueensRules.from_data(FOUR)
    move = QueensMove(0, 0)
    corner = rules.apply(rules.initial_state(), move)
    assert text.move_phrase(move) == said["move"]
    assert text.state_phrase(corner) == said["state"]
    assert text.state_phrase(rules.apply(corner, QueensMove(1, 3))) == said["one"]
    blocked = rules.apply(corner, QueensMove(1, 2))
    assert text.state_phrase(blocked) == said["none"]
    full = QueensRules(4, [2, 4, 1, 3]).initial_state()
    assert text.state_phrase(full) == said["full"]
    assert text.dead_end_phrase(blocked, DeadEnd("no_safe_square", (2,))) == said["dead"]
    assert text.ref_phrase(corner, None) == said["start"]
    assert text.ref_phrase(corner, move) == said["after"]
    assert text.goal_phrase(full) == said["goal"]
    assert set(STYLES) <= set(PHRASINGS) == set(style_names())


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("preplaced", [0, 2])
def test_phrasing_reads_back_what_it_says(style: str, preplaced: int) -> None:
    problem, tree = solved(8, preplaced, 0)
    text = PHRASINGS[style](problem.data)
    start = tree.nodes[0].state
    move = QueensMove(3, 6)
    assert text.parse_move(text.move_phrase(move)) == move
    assert text.parse_ref(text.ref_phrase(start, move)) == text.ref_key(start, move)
    assert text.parse_ref(text.ref_phrase(start, None)) == text.ref_key(start, None)
    dead = DeadEnd("no_safe_square", (5,))
    assert text.parse_dead_end(text.dead_end_phrase(start, dead)) == dead
    for state in (tree.nodes[i].state for i in tree.solution_path()):
        assert text.state_claim_error(text.state_phrase(state), state) is None
    goal = tree.nodes[tree.solution].state
    assert "is empty" in text.state_claim_error(text.state_phrase(goal), start)
    for garbage in ("", "c3=r5.", "c3 = r5", "a queen in column 3 at row five", "c4:{1,}",
                    "That leaves rows 2 safe in column 4", "c99999=r1"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
        assert text.parse_ref(garbage) is None
        assert text.state_claim_error(garbage, start) is not None


def test_start_reference_names_the_board() -> None:
    empty = TASK.phrasing("natural", make_problem(8, 0, 0).data)
    assert empty.ref_phrase(None, None) == "the empty board"
    given = TASK.phrasing("natural", make_problem(8, 2, 0).data)
    assert given.ref_phrase(None, None) == "the starting board"
    assert given.parse_ref("the empty board") is None


def test_rendered_lines_read_naturally() -> None:
    problem, completion, _ = rendered(0, 1, "natural")
    lines = completion.split("\n")
    safe = r"(rows [\d, ]+ and \d+|only row \d+|no safe row) (safe )?in column \d"
    assert re.fullmatch(rf"Let me try a queen in column \d at row \d\. That leaves {safe}\.",
                        lines[1]), lines[1]
    assert any(re.fullmatch(r"Every row of column \d is attacked, so this (is a dead end|"
                            r"branch fails)\.", line) for line in lines)
    assert "All 8 queens are placed and none attacks another, so the puzzle is solved." in lines
    assert verify(problem, completion, "natural", 1).ok



def claim_phrase(col: int, rows: list[int], style: str) -> str:
    """Stated safe rows, 0-based in, as the step text would say them."""
    if style == "compact":
        return f"c{col + 1}:{{{','.join(str(r + 1) for r in rows)}}}"
    if not rows:
        return f"That leaves no safe row in column {col + 1}"
    words = [str(r + 1) for r in rows]
    listed = (f"only row {words[0]}" if len(words) == 1
              else f"rows {', '.join(words[:-1])} and {words[-1]}")
    return f"That leaves {listed} safe in column {col + 1}"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(1, 0, style)
    state = line_state(problem, completion, style, 1)
    lines = completion.split("\n")
    match = MOVE_LINE[style].match(lines[1])
    tail, end = (" -> ", "") if style == "compact" else (". ", ".")
    col = max(c for c in range(8) if state.rows[c] == EMPTY)  # any empty column may be stated
    true_rows = safe_rows(8, state, col)
    right = match.group(1) + match.group(2) + tail + claim_phrase(col, true_rows, style) + end
    assert verify(problem, "\n".join([lines[0], right, *lines[2:]]), style, 0).ok
    wrong_rows = sorted(set(true_rows) ^ {next(r for r in range(8) if r not in true_rows)})
    wrong = match.group(1) + match.group(2) + tail + claim_phrase(col, wrong_rows, style) + end
    verdict = verify(problem, "\n".join([lines[0], wrong, *lines[2:]]), style, 0)
    assert verdict.code == "wrong_state" and verdict.line == 0, verdict



# ---- never raising on arbitrary text ---------------------------------------------------

_numbers = st.integers(min_value=-2, max_value=120)
_phrases = st.one_of(
    st.text(max_size=40),
    st.builds("try c{}=r{} -> c{}:{{{}}}".format, _numbers, _numbers, _numbers,
              st.text(alphabet="0123456789,", max_size=8)),
    st.builds("Let me try a queen in column {} at row {}. That leaves {} safe in column {}."
              .format, _numbers, _numbers, st.text(alphabet="0123456789, andonlyrow", max_size=14),
              _numbers),
    st.builds("Every row of column {} is attacked, so this is a dead end.".format, _numbers),
    st.builds("dead: c{} blocked".format, _numbers),
    st.builds("back to after c{}=r{}".format, _numbers, _numbers),
    st.builds("Let me go back to the board after a queen in column {} at row {}.".format,
              _numbers, _numbers),
    st.sampled_from(["back to start", "goal: 8 queens placed", "try c1=r1 -> full",
                     "All 8 queens are placed and none attacks another, so the puzzle is solved.",
                     "Let me go back to the starting board."]),
)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=40), lines=st.lists(_phrases, max_size=6),
       answer=st.text(max_size=120), style=st.sampled_from(STYLES))
def test_nqueens_shaped_lines_never_break_the_verifier(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Lines shaped like N-Queens steps, with odd columns and rows, spliced into a real
    trace, so they meet states deep in the search."""
    problem, real, _ = rendered(0, 3, style)
    real_lines = split_completion(real)[0].split("\n")
    think = [*real_lines[:cut], *lines, *real_lines[cut:]]
    completion = "<think>\n" + "\n".join(think) + "\n</think>\n<answer>" + answer + "</answer>"
    verdict = verify(problem, completion, style, None)
    assert verdict.code != "verifier_error", verdict
