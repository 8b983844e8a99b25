"""Equations phrasing: every phrase of each style fits the line templates and reads back,
backtrack targets are unique along a path, rendered traces say what they should, and
misstated states, goals and line structure are rejected; near-valid equation lines
spliced into a trace never break the verifier."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import DeadEnd, Verdict
from searchtrace.tasks.equations.algebra import ONE, add_to_side
from searchtrace.tasks.equations.expressions import fmt_equation
from searchtrace.tasks.equations.rules import READ, EqMove, EqState
from searchtrace.tasks.equations.text import (
    EquationsCompact,
    EquationsNatural,
    EquationsTokens,
)
from searchtrace.traces.linearize import linearize_exact
from searchtrace.traces.trace import DEAD_END, GOAL
from tests.tasks.equations.support import (
    TASK,
    back_line,
    explored_states,
    make_problem,
    move_line,
    number,
    rendered,
    solve,
)

# The styles whose lines this file's helpers write by hand; every registered style is
# covered by tests/tasks/test_contract.py and tests/traces/styles/.
STYLES = ("natural", "compact")


def test_each_style_has_its_phrasing() -> None:
    data = make_problem(0, "hard").data
    assert isinstance(TASK.phrasing("natural", data), EquationsNatural)
    assert isinstance(TASK.phrasing("compact", data), EquationsCompact)


@pytest.mark.parametrize("style", STYLES)
def test_phrases_fit_the_line_templates_and_parse_back(style: str) -> None:
    for preset in ("easy", "medium", "hard"):
        text = TASK.phrasing(style, make_problem(0, preset).data)
        for rules, state in explored_states(preset, seeds=2):
            for move in [m for m, _ in rules.wider_moves(state)]:
                said = text.move_phrase(move)
                assert text.parse_move(said) == move, said
                assert ". " not in said and "\n" not in said and not said.endswith(".")
            ref = text.ref_phrase(state, None)
            assert text.parse_ref(ref) == text.ref_key(state, None), ref
            said = text.state_phrase(state)
            assert text.state_claim_error(said, state) is None, said
            assert ". " not in said and not said.endswith(".")
            dead = rules.dead_end(state)
            if dead is not None:
                phrase = text.dead_end_phrase(state, dead)
                assert text.parse_dead_end(phrase) == dead
                assert rules.confirm_dead_end(state, dead) is None


def test_backtrack_targets_are_unique_along_a_path() -> None:
    for preset in ("medium", "hard"):
        problem = make_problem(1, preset)
        text = TASK.phrasing("natural", problem.data)
        tree = solve(problem)
        linearize_exact(tree, TASK.rules(problem.data), 5, "uniform", 6)
        for node in tree.nodes:
            keys = [text.ref_key(tree.nodes[n].state, tree.nodes[n].move)
                    for n in tree.path_to(node.id)]
            assert len(keys) == len(set(keys))
    solved = EqState((), ((Fraction(-3),), (Fraction(2),)), 0)
    data = make_problem(0).data
    for style in STYLES:
        text = TASK.phrasing(style, data)
        said = text.ref_phrase(solved, READ)
        assert text.parse_ref(said) == text.ref_key(solved, READ)
    assert TASK.phrasing("natural", data).parse_ref("the solution x = 1/0") is None


def test_rendered_trace_says_what_it_should() -> None:
    natural, compact = rendered(0, 3, "natural"), rendered(0, 3, "compact")
    assert natural.verify().ok and compact.verify().ok
    equation = natural.problem.data["equations"][0]
    assert natural.lines[0].startswith("Let me try ")
    assert ", with " in natural.lines[0] and natural.lines[0].endswith(" left.")
    back = natural.lines[natural.trace.backtrack_positions[0]]
    assert back.startswith(("Let me go back to the equation ", "Going back to the equation "))
    assert natural.lines[-1].startswith("The solutions are x = ")
    assert natural.lines[-1].endswith(", so the puzzle is solved.")
    assert compact.lines[-1] == f"goal: {compact.answer.replace(' = ', '=')}"
    assert compact.lines[0].startswith("try ") and " -> " in compact.lines[0]
    assert equation == fmt_equation(natural.tree.nodes[0].state.eqs[0])
    hard = rendered(0, 1, "natural", "hard")
    assert hard.verify().ok
    assert "Now the equations are " in hard.lines[0]


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    move, true_state = r.node(0).move, r.node(0).state
    assert move_line(r, move, true_state) == r.lines[0]
    left, right = true_state.eqs[0]
    wrong_eq = (left, add_to_side(right, number(1)))
    reordered = (right, left)
    for stated in (true_state._replace(eqs=(wrong_eq,)),
                   true_state._replace(eqs=(reordered,)),
                   true_state._replace(steps_left=true_state.steps_left + 1)):
        lines = list(r.lines)
        lines[0] = move_line(r, move, stated)
        verdict = r.verify(lines)
        assert verdict.code == "wrong_state" and verdict.line == 0, (stated, verdict)
    read_at = len(r.lines) - 2
    solved = r.node(read_at).state
    wrong = solved._replace(solution=(solved.solution[0], (Fraction(99),)))
    lines = list(r.lines)
    lines[read_at] = move_line(r, READ, wrong)
    verdict = r.verify(lines)
    assert verdict.code == "wrong_state" and "reading off gives" in verdict.message, verdict


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
    verdict = r.verify(lines)
    assert verdict.code == "move_after_dead_end" and verdict.line == position, verdict


@pytest.mark.parametrize("style", STYLES)
def test_a_false_or_misstated_goal_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    assert r.trace.steps[-1].kind == GOAL
    dead_at = next(i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END)
    lines = list(r.lines[: dead_at + 1])
    lines[dead_at] = r.lines[-1]
    assert r.verify(lines).code == "false_goal"
    lines = list(r.lines)
    lines[-1] = {"natural": lines[-1].replace("x = ", "x=", 1),
                 "tokens": "goal x = 1"}.get(style, "goal: x = 1")
    assert r.verify(lines).code == "wrong_goal_statement"


_expr = st.one_of(
    st.sampled_from(["x", "2x", "x^2", "(x + 6)", "0", "1/0", "-1", "3/2", "y", "x^4",
                     "x^9", "(((x)))", "2(x - 3)", "9" * 40, "x/x", "²", "٣", "1.5",
                     "(x-2)^2", "x y", "((", "-"]),
    st.text(alphabet="0123456789xy+-*/^() .", max_size=12),
)
_equation = st.builds("{} = {}".format, _expr, _expr)
_count = st.one_of(st.integers(-1, 9).map(str), st.sampled_from(["①", "99999"]))
_phrases = st.one_of(
    st.text(max_size=40),
    st.builds("Let me try adding {} to both sides. Now {}, with {} steps left.".format,
              _expr, _equation, _count),
    st.builds("Next, try dividing both sides by {}. Now {}, with {} step left.".format,
              _expr, _equation, _count),
    st.builds("Then try {} the {} side. Now {}, with {} steps left.".format,
              st.sampled_from(["expanding", "factoring", "collecting like terms on"]),
              st.sampled_from(["left", "right", "middle"]), _equation, _count),
    st.sampled_from(["Let me try reading off the solution. So x = 2.",
                     "Let me try reading off the solution. So x = 1/0 or x = ².",
                     "Let me try solving equation 2 for x. Now x = 1, with 2 steps left.",
                     "Let me try substituting equation 1 into equation 9. Now x = 1, with 1 "
                     "step left."]),
    st.builds("It needs at least {} more steps and only {} steps are left, so this is a dead "
              "end.".format, _count, _count),
    st.builds("The number {} is beyond the limit of {}, so this branch fails.".format,
              _expr, _count),
    st.builds("Let me go back to the equation {} with {} steps left.".format, _equation,
              _count),
    st.builds("The solutions are {}, so the puzzle is solved.".format, _equation),
    st.builds("try {} {} -> {} ({} left)".format, st.sampled_from(["add", "sub", "mul", "div",
                                                                   "eq1: solve", "factor"]),
              _expr, _equation, _count),
    st.builds("dead: needs {} steps, {} left".format, _count, _count),
    st.builds("dead: {} exceeds {}".format, _expr, _count),
    st.builds("back to {} ({} left)".format, _equation, _count),
    st.builds("goal: {}".format, _equation),
)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=20), lines=st.lists(_phrases, max_size=5),
       answer=st.text(max_size=80), style=st.sampled_from(STYLES))
@example(cut=1, lines=["Let me try dividing both sides by x. Now x = 1, with 1 step left."],
         answer="", style="natural")
@example(cut=0, lines=["try mul " + "9" * 12 + "^4 -> x=1 (1 left)"], answer="",
         style="compact")
@example(cut=3, lines=["dead: 1/0 exceeds 100"], answer="", style="compact")
def test_verifier_never_fails_internally_on_spliced_equation_phrases(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Lines shaped like equation steps (with odd expressions, counts and numbers) spliced
    into a real trace, so they meet states deep in the search."""
    for preset in ("medium", "hard"):
        r = rendered(0, 3, style, preset)
        think = [*r.lines[:cut], *lines, *r.lines[cut:]]
        verdict = r.verify(think, answer, backtracks=None)
        assert isinstance(verdict, Verdict)
        assert verdict.code != "verifier_error", verdict


def test_tokens_phrases_are_exact_and_read_back() -> None:
    r = rendered(0, 3, "tokens")
    text = r.text
    assert isinstance(text, EquationsTokens)
    three = ((ONE, Fraction(3)),)
    for move, said in ((EqMove("add", three), "add 3 both"),
                       (EqMove("subtract", three, eq=2), "eq2 sub 3 both"),
                       (EqMove("expand", side="left"), "expand left"),
                       (EqMove("solve", eq=1, var="x"), "eq1 solve x"),
                       (EqMove("substitute", eq=2, target=1), "eq2 into eq1"),
                       (READ, "read")):
        assert text.move_phrase(move) == said and text.parse_move(said) == move
    assert text.parse_dead_end("need 3 left 1") == DeadEnd("out_of_steps", (1, 3))
    start = r.tree.nodes[0].state
    said = text.state_phrase(start)
    assert said.endswith(f" left {start.steps_left}") and " = " in said
    assert text.state_claim_error(said, start) is None
    assert text.parse_ref(said) == text.ref_key(start, None)
    assert text.state_claim_error(said.replace(" ", "", 1), start) is not None  # spacing
    assert r.lines[-1] == "goal " + " ".join(re.findall(r"[0-9]+|or|\S", r.answer))
    for garbage in ("add 3", "add 3 both ", "eq2: sub 3", "2x=4 (2 left)", "add 2 3 both",
                    "read off", "need x left 1"):
        assert text.parse_move(garbage) is None
        assert text.parse_dead_end(garbage) is None
