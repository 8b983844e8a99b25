"""Countdown phrasing: what each style says for a move, the numbers left, a dead end, a
backtrack target and the goal, read back to the same thing; the stated numbers checked
against the state; odd numbers and countdown-shaped lines rejected cleanly."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import DeadEnd, Verdict
from searchtrace.tasks.countdown.rules import CountdownMove
from searchtrace.tasks.countdown.text import PHRASINGS, CountdownCompact, CountdownNatural
from searchtrace.traces.trace import BACKTRACK, DEAD_END, MOVE
from tests.tasks.countdown.support import TASK, move_line, rendered

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")

DATA = {"numbers": [5, 3, 2, 4], "target": 24, "allow_fractions": True}
MOVE_ = CountdownMove(7, "/", 2, Fraction(7, 2))
STATE = (5, Fraction(7, 2))


@pytest.mark.parametrize(
    ("style", "said"),
    [
        ("natural", {"move": "7/2=(7/2)", "state": "That leaves 5, (7/2)",
                     "pair": "3 and 5 cannot make 24", "final": "23 is not 24",
                     "ref": "the numbers 5, (7/2)", "goal": "24 is the target"}),
        ("compact", {"move": "7/2=(7/2)", "state": "[5, (7/2)]",
                     "pair": "3,5 cannot make 24", "final": "23 != 24",
                     "ref": "[5, (7/2)]", "goal": "24 = 24"}),
    ],
)
def test_each_style_says_its_phrases(style: str, said: dict[str, str]) -> None:
    text = TASK.phrasing(style, DATA)
    assert isinstance(text, {"natural": CountdownNatural, "compact": CountdownCompact}[style])
    assert text.move_phrase(MOVE_) == said["move"]
    assert text.state_phrase(STATE) == said["state"]
    assert text.dead_end_phrase((3, 5), DeadEnd("pair_cannot_reach", (3, 5))) == said["pair"]
    assert text.dead_end_phrase((23,), DeadEnd("wrong_final", (23,))) == said["final"]
    assert text.ref_phrase(STATE, MOVE_) == said["ref"]
    assert text.goal_phrase((24,)) == said["goal"]


@pytest.mark.parametrize("style", STYLES)
def test_phrasing_reads_back_what_it_says(style: str) -> None:
    text = PHRASINGS[style](DATA)
    assert text.parse_move(text.move_phrase(MOVE_)) == MOVE_
    assert text.parse_move(" 7 / 2 = (7/2) ") == MOVE_
    assert text.state_claim_error(text.state_phrase(STATE), STATE) is None
    assert text.state_claim_error(text.state_phrase(STATE), (Fraction(7, 2), 5)) is None
    for dead in (DeadEnd("pair_cannot_reach", (3, 5)), DeadEnd("wrong_final", (23,))):
        assert text.parse_dead_end(text.dead_end_phrase((), dead)) == dead
    assert text.parse_ref(text.ref_phrase(STATE, MOVE_)) == text.ref_key(STATE, MOVE_)
    assert text.ref_key(STATE, None) == text.ref_key((Fraction(7, 2), 5), MOVE_)
    other = PHRASINGS["compact" if style == "natural" else "natural"](DATA)
    assert text.parse_ref(other.ref_phrase(STATE, None)) is None
    assert "cannot read" in text.state_claim_error(other.state_phrase(STATE), STATE)
    for garbage in ("", "7/2", "7 % 2 = 3", "seven/2=(7/2)", "1/0=(1/0)",
                    "² and 3 cannot make 24"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
        assert text.parse_ref(garbage) is None
        assert text.state_claim_error(garbage, STATE) is not None


@pytest.mark.parametrize("style", STYLES)
def test_rendered_trace_verifies_and_says_what_it_should(style: str) -> None:
    r = rendered(0, 3, style)
    assert r.verify().ok
    assert r.verify(backtracks=None).ok
    assert r.trace.num_backtracks == 3
    target = r.problem.data["target"]
    if style == "natural":
        assert r.lines[0].startswith("Let me try ") and ". That leaves " in r.lines[0]
        assert r.lines[-1] == f"{target} is the target, so the puzzle is solved."
    else:
        assert r.lines[0].startswith("try ") and " -> [" in r.lines[0]
        assert r.lines[-1] == f"goal: {target} = {target}"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    move, true_state = r.node(0).move, r.node(0).state
    assert move_line(r, move, true_state) == r.lines[0]  # the builder says what render says
    for stated in ((*true_state[:-1], true_state[-1] + 1), true_state[:-1],
                   (*true_state, 1)):
        lines = list(r.lines)
        lines[0] = move_line(r, move, stated)
        verdict = r.verify(lines)
        assert verdict.code == "wrong_state" and verdict.line == 0, (stated, verdict)


_number = st.one_of(
    st.integers(min_value=0, max_value=120).map(str),
    st.sampled_from(["(7/2)", "(1/0)", "(0/3)", "-3", "1.5", "²", "٣", "①", "9" * 5000]),
    st.text(alphabet="0123456789()/ ", max_size=6),
)
_op = st.sampled_from(["+", "-", "*", "/", "x", "%"])
_listing = st.lists(_number, max_size=4).map(", ".join)
_phrases = st.one_of(
    st.text(max_size=40),
    st.builds("try {}{}{}={} -> [{}]".format, _number, _op, _number, _number, _listing),
    st.builds("Let me try {}{}{}={}. That leaves {}.".format, _number, _op, _number, _number,
              _listing),
    st.builds("{} and {} cannot make {}, so this is a dead end.".format, _number, _number,
              _number),
    st.builds("{} is not {}, so this branch fails.".format, _number, _number),
    st.builds("dead: {},{} cannot make {}".format, _number, _number, _number),
    st.builds("dead: {} != {}".format, _number, _number),
    st.builds("back to [{}]".format, _listing),
    st.builds("Going back to the numbers {}.".format, _listing),
    st.builds("goal: {} = {}".format, _number, _number),
    st.builds("{} is the target, so the puzzle is solved.".format, _number),
)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=20), lines=st.lists(_phrases, max_size=5),
       answer=st.text(max_size=80), style=st.sampled_from(STYLES))
@example(cut=1, lines=["Let me try 1+2=3. That leaves ²."], answer="", style="natural")
@example(cut=1, lines=["try 1+2=3 -> [²]"], answer="", style="compact")
@example(cut=0, lines=["try 1+2=" + "9" * 5000 + " -> [1]"], answer="", style="compact")
def test_countdown_shaped_lines_never_break_the_verifier(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Lines shaped like Countdown steps, with odd numbers and operators, spliced into a
    real trace, so they meet states deep in the search."""
    r = rendered(0, 3, style)
    think = [*r.lines[:cut], *lines, *r.lines[cut:]]
    verdict = r.verify(think, answer, backtracks=None)
    assert isinstance(verdict, Verdict)
    assert verdict.code != "verifier_error", verdict


@pytest.mark.parametrize(
    ("style", "kind", "line"),
    [
        ("natural", MOVE, "Let me try {move}. That leaves ²."),
        ("compact", MOVE, "try {move} -> [²]"),
        ("compact", MOVE, "try {a}+{b}=" + "1" * 5000 + " -> [1]"),
        ("natural", DEAD_END, "² and 3 cannot make {t}, so this is a dead end."),
        ("compact", DEAD_END, "dead: ① != {t}"),
        ("natural", BACKTRACK, "Let me go back to the numbers ²."),
        ("compact", BACKTRACK, "back to [①]"),
    ],
)
def test_verifier_rejects_odd_numbers_cleanly(style: str, kind: str, line: str) -> None:
    """Digit-like characters ('²'.isdigit() is true, int('²') fails) and numbers too long
    for int() must be rejections, not internal errors."""
    r = rendered(0, 3, style)
    first = r.node(0).move
    at = next(i for i, step in enumerate(r.trace.steps) if step.kind == kind)
    lines = list(r.lines)
    move = r.text.move_phrase(first)
    lines[at] = line.format(move=move, a=first.a, b=first.b, t=r.problem.data["target"])
    verdict = r.verify(lines)
    assert not verdict.ok and verdict.code != "verifier_error", verdict
    assert verdict.line == at, verdict
