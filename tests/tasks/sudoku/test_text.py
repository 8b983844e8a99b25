"""Sudoku phrasing: what each style says for a placement, the candidates of the cell that
matters next, a dead end, a backtrack target and the goal, read back to the same thing;
stated candidates checked against the grid; sudoku-shaped lines rejected cleanly."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import DeadEnd
from searchtrace.tasks.sudoku.grid import geometry
from searchtrace.tasks.sudoku.rules import SudokuMove, SudokuRules, candidates
from searchtrace.tasks.sudoku.text import PHRASINGS, SudokuCompact, SudokuNatural
from searchtrace.traces.parse import split_completion
from searchtrace.traces.styles import style_names
from tests.tasks.sudoku.support import MOVE_LINE, TASK, rendered, solved, verify

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")

GRID = {"size": 4, "grid": [[1, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0], [0, 0, 0, 0]]}


@pytest.mark.parametrize(
    ("style", "said"),
    [
        ("natural", {"move": "4 at r1c4", "state": "Now r1c3 can only be 4",
                     "none": "Now r1c3 has no candidates left", "full": "Now every cell is filled",
                     "dead": "r1c3 has no candidates", "start": "the starting grid",
                     "after": "the grid after 4 at r1c4", "goal": "Every cell is filled"}),
        ("compact", {"move": "r1c4=4", "state": "r1c3:{4}", "none": "r1c3:{}", "full": "full",
                     "dead": "r1c3 empty", "start": "start", "after": "after r1c4=4",
                     "goal": "full"}),
    ],
)
def test_each_style_says_its_phrases(style: str, said: dict[str, str]) -> None:
    text = TASK.phrasing(style, GRID)
    assert isinstance(text, {"natural": SudokuNatural, "compact": SudokuCompact}[style])
    rules = SudokuRules.from_data(GRID)
    start = rules.initial_state()
    move = SudokuMove(0, 3, 4)
    assert text.move_phrase(move) == said["move"]
    assert text.state_phrase(start) == said["state"]  # r1c3 sees 1, 2 and 3
    stuck = rules.apply(start, move)
    assert text.state_phrase(stuck) == said["none"]
    assert text.state_phrase(SudokuRules(4, [[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3],
                                             [4, 3, 2, 1]]).initial_state()) == said["full"]
    assert text.dead_end_phrase(stuck, DeadEnd("no_candidates", (0, 2))) == said["dead"]
    assert text.ref_phrase(start, None) == said["start"]
    assert text.ref_phrase(stuck, move) == said["after"]
    assert text.goal_phrase(stuck) == said["goal"]
    assert set(STYLES) <= set(PHRASINGS) == set(style_names())


@pytest.mark.parametrize("style", STYLES)
def test_phrasing_reads_back_what_it_says(style: str) -> None:
    problem, tree = solved(9, 0)
    text = PHRASINGS[style](problem.data)
    start = tree.nodes[0].state
    move = SudokuMove(3, 4, 7)
    assert text.parse_move(text.move_phrase(move)) == move
    assert text.parse_ref(text.ref_phrase(start, move)) == text.ref_key(start, move)
    assert text.parse_ref(text.ref_phrase(start, None)) == text.ref_key(start, None)
    dead = DeadEnd("no_candidates", (3, 5))
    assert text.parse_dead_end(text.dead_end_phrase(start, dead)) == dead
    assert text.state_claim_error(text.state_phrase(start), start) is None
    goal = tree.nodes[tree.solution].state
    assert text.state_claim_error(text.state_phrase(goal), goal) is None
    assert "blank" in text.state_claim_error(text.state_phrase(goal), start)
    for garbage in ("", "7 at r4c5.", "r4c5=7 ", "r4c5 = 7", "seven at r4c5", "r4c5:{1,}"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
        assert text.parse_ref(garbage) is None
        assert text.state_claim_error(garbage, start) is not None


def test_rendered_lines_read_naturally() -> None:
    problem, completion, _ = rendered(9, 0, 1, "natural")
    lines = completion.split("\n")
    assert re.fullmatch(r"Let me try \d at r\dc\d\. Now r\dc\d (can only be [\d, or]+|has no "
                        r"candidates left)\.", lines[1])
    assert any(re.fullmatch(r"r\dc\d has no candidates, so this (is a dead end|branch fails)\.",
                            line) for line in lines)
    assert "Every cell is filled, so the puzzle is solved." in lines
    assert verify(problem, completion, "natural", 1).ok


def claim_phrase(cell: str, digits: list[int], style: str) -> str:
    if style == "compact":
        return f"{cell}:{{{','.join(map(str, digits))}}}"
    if not digits:
        return f"Now {cell} has no candidates left"
    words = [str(d) for d in digits]
    listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    return f"Now {cell} can only be {listed}"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_candidate_set_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(9, 1, 0, style)
    rules, text = TASK.rules(problem.data), TASK.phrasing(style, problem.data)
    geo = geometry(9)
    lines = completion.split("\n")
    match = MOVE_LINE[style].match(lines[1])
    state = rules.apply(rules.initial_state(), text.parse_move(match.group(2)))
    blank = state.cells.index(0)
    true_digits = list(geo.digits[candidates(geo, state, blank)])
    cell = f"r{blank // 9 + 1}c{blank % 9 + 1}"
    wrong = sorted(set(true_digits) ^ {next(d for d in range(1, 10) if d not in true_digits)})
    tail = " -> " if style == "compact" else ". "
    end = "" if style == "compact" else "."
    right_line = match.group(1) + match.group(2) + tail + claim_phrase(cell, true_digits, style)
    assert verify(problem, "\n".join([lines[0], right_line + end, *lines[2:]]), style, 0).ok
    wrong_line = match.group(1) + match.group(2) + tail + claim_phrase(cell, wrong, style) + end
    verdict = verify(problem, "\n".join([lines[0], wrong_line, *lines[2:]]), style, 0)
    assert verdict.code == "wrong_state" and verdict.line == 0, verdict


# ---- never raising on arbitrary text ---------------------------------------------------

_numbers = st.integers(min_value=-2, max_value=120)
_phrases = st.one_of(
    st.text(max_size=40),
    st.builds("try r{}c{}={} -> r{}c{}:{{{}}}".format, _numbers, _numbers, _numbers, _numbers,
              _numbers, st.text(alphabet="0123456789,", max_size=8)),
    st.builds("Let me try {} at r{}c{}. Now r{}c{} can only be {}.".format, _numbers, _numbers,
              _numbers, _numbers, _numbers, st.text(alphabet="0123456789, or", max_size=12)),
    st.builds("r{}c{} has no candidates, so this is a dead end.".format, _numbers, _numbers),
    st.builds("dead: r{}c{} empty".format, _numbers, _numbers),
    st.builds("back to after r{}c{}={}".format, _numbers, _numbers, _numbers),
    st.sampled_from(["back to start", "goal: full", "try r1c1=1 -> full",
                     "Every cell is filled, so the puzzle is solved.",
                     "Let me go back to the starting grid."]),
)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=60), lines=st.lists(_phrases, max_size=6),
       answer=st.text(max_size=120), style=st.sampled_from(STYLES),
       size=st.sampled_from([4, 9]))
def test_sudoku_shaped_lines_never_break_the_verifier(
    cut: int, lines: list[str], answer: str, style: str, size: int
) -> None:
    """Lines shaped like Sudoku steps, with odd cells and digits, spliced into a real
    trace, so they meet states deep in the search."""
    problem, real, _ = rendered(size, 0, 1, style)
    real_lines = split_completion(real)[0].split("\n")
    think = [*real_lines[:cut], *lines, *real_lines[cut:]]
    completion = "<think>\n" + "\n".join(think) + "\n</think>\n<answer>" + answer + "</answer>"
    verdict = verify(problem, completion, style, None)
    assert verdict.code != "verifier_error", verdict
