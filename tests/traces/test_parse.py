"""Reading completions: the think/answer split, and parsing stays linear in its input
while the size caps hold.

Every parser that reads model or dataset text gets 1 MB inputs of the shapes that made a
backtracking regex quadratic (or worse): `<answer>` repeated, a `</think><answer>` ladder,
`". "` repeated in one move line, runs of spaces in answer grammars, ` and ` repeated in a
system of equations. Each must finish well under a second (a quadratic parser takes
minutes on these). Over the caps the verifier fails with its own codes, fast; the reward
functions judge conversational completions and score anything else that is not text 0.
The line templates and answer blocks are also checked against the regular expressions
they replace, on short texts, so normal text reads exactly as before.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.solvers.llm_mcts import Rejection, read_proposal
from searchtrace.solvers.mcts import MctsSettings
from searchtrace.solvers.registry import get_solver
from searchtrace.tasks import Task, get_task, task_names
from searchtrace.tasks.base import GenerationSkipped, Problem, Verdict, extract_answer
from searchtrace.tasks.coloring import answer as coloring
from searchtrace.tasks.equations import answer as equations
from searchtrace.tasks.equations.text import EquationsCompact, EquationsNatural
from searchtrace.tasks.sokoban import answer as sokoban
from searchtrace.traces.linearize import NotEnoughDeadEnds, linearize_exact
from searchtrace.traces.parse import MAX_COMPLETION_CHARS, MAX_LINE_CHARS, split_completion
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style, style_names
from searchtrace.traces.styles.natural import (
    AFTER_BACKTRACK,
    BACK_OPENERS,
    DEAD_ENDINGS,
    GOAL_ENDING,
    OPENERS,
)
from searchtrace.trainer.behaviour import (
    analyse,
    answer_reward,
    format_reward,
    step_validity_reward,
)

MB = 1_000_000
STYLES = style_names()
NATURAL, COMPACT = get_style("natural"), get_style("compact")
LIMIT_S = 1.0  # a linear parser takes milliseconds here; a quadratic one, minutes


def fast(call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)`'s result, asserting it took under LIMIT_S."""
    start = time.perf_counter()
    result = call(*args)
    elapsed = time.perf_counter() - start
    assert elapsed < LIMIT_S, f"took {elapsed:.2f} s"
    return result


def fill(head: str, unit: str, tail: str = "", size: int = MB - 1000) -> str:
    """`head`, then `unit` repeated, then `tail`: about `size` characters."""
    return head + unit * ((size - len(head) - len(tail)) // len(unit)) + tail


@cache
def rendered(name: str, style: str, preset: str = "easy") -> tuple[Task, Problem, list[str], str]:
    """(task, problem, think lines, answer) of a real verified trace with one backtrack."""
    task = get_task(name)
    config = task.make_config(preset, {})
    for seed in range(60):
        try:
            problem = task.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            continue
        tree = get_solver("dfs").solve(task.rules(problem.data), 50_000, MctsSettings(), 7)
        if tree.solution is None:
            continue
        try:
            trace = linearize_exact(tree, task.rules(problem.data), 1, "uniform", 6)
        except NotEnoughDeadEnds:
            continue
        lines = get_style(style).render(trace, tree, task.phrasing(style, problem.data), salt=0)
        moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
        return task, problem, lines, task.answer(problem.data, moves)
    raise AssertionError(f"{name}: no {preset} problem with a backtrack in 60 seeds")


# ---- the three shapes of the issue, at 1 MB --------------------------------------------

SLOW_COMPLETIONS = {
    "answer tags": "<answer>" * (MB // 8),
    "think-answer ladder": fill("<think>", "</think><answer>"),
    "spaced ladder": fill("<think>\n", "\n</think> \n <answer>"),
    "closing tags": fill("<think></think><answer>", "</answer>x"),
    "space runs": fill("<think>", " ", "</think>" + " " * 1000 + "<answer>x"),
    "dotted move line": fill("<think>\nLet me try ", "a. ", "\n</think>\n<answer>1</answer>"),
    "near-cap move lines": fill("<think>\n", "Let me try " + "a. " * 600 + "\n",
                                "</think>\n<answer>1</answer>"),
    "near-cap compact lines": fill("<think>\n", "try " + "a -> " * 360 + "\n",
                                   "</think>\n<answer>1</answer>"),
    "empty lines": fill("<think>\n", "\n", "</think>\n<answer>1</answer>"),
}


@pytest.mark.parametrize("shape", SLOW_COMPLETIONS)
def test_completion_parsers_are_linear_on_1mb(shape: str) -> None:
    text = SLOW_COMPLETIONS[shape]
    assert len(text) <= MAX_COMPLETION_CHARS
    fast(extract_answer, text)
    fast(split_completion, text)
    for style in STYLES:
        fast(get_style(style).count_kinds, text)


def test_the_issue_examples_answer_at_once() -> None:
    assert fast(extract_answer, "<answer>" * 8000) == "<answer>" * 8000
    assert fast(extract_answer, "<answer>" * (MB // 8) + "1</answer>") == (
        "<answer>" * (MB // 8 - 1) + "1")
    assert fast(split_completion, fill("<think>", "</think><answer>")) is None
    long_move = "Let me try " + "a. " * 333_000
    assert fast(NATURAL.parse_line, long_move) is None
    at_cap = "Let me try " + "a. " * ((MAX_LINE_CHARS - 13) // 3) + "b."
    assert len(at_cap) <= MAX_LINE_CHARS
    assert fast(NATURAL.parse_line, at_cap).phrases == (
        "a", "a. " * ((MAX_LINE_CHARS - 13) // 3 - 1) + "b")


@pytest.mark.parametrize("name", task_names())
@pytest.mark.parametrize("style", STYLES)
def test_verifier_and_answer_checker_answer_1mb_at_once(name: str, style: str) -> None:
    task, problem, lines, answer = rendered(name, style)

    def verify(completion: str) -> Verdict:
        return fast(verify_completion, task, problem.data, completion, style, 1)

    assert verify(format_completion(lines, answer)).ok
    over = format_completion(lines, answer + " " * MB)
    assert verify(over).code == "completion_too_long"
    long_line = fill("Let me try ", "a. ", size=MAX_COMPLETION_CHARS - 50_000)
    verdict = verify(format_completion([*lines[:2], long_line, *lines[2:]], answer))
    assert (verdict.code, verdict.line) == ("line_too_long", 2)
    assert "most 2000" in verdict.message
    for completion in SLOW_COMPLETIONS.values():
        assert not verify(completion).ok
    for body in (answer * (MB // len(answer)), "<answer>" * (MB // 8),
                 fill("<answer>", "1 \n", "</answer>")):
        assert fast(task.check_answer, problem.data, body).code == "too_long"


def test_every_line_cut_at_the_cap_is_read_and_longer_ones_fail() -> None:
    task, problem, lines, answer = rendered("countdown", "compact")
    assert len(max(lines, key=len)) < MAX_LINE_CHARS
    padded = lines[0] + " " * (MAX_LINE_CHARS - len(lines[0]))
    assert COMPACT.parse_line(padded) is not None  # at the cap: read (then judged)
    assert COMPACT.parse_line(padded + " ") is None
    verdict = verify_completion(task, problem.data, format_completion(
        [*lines[:3], padded + " ", *lines[3:]], answer), "compact", 1)
    assert (verdict.code, verdict.line) == ("line_too_long", 3)


# ---- task parsers that were quadratic, called directly with 1 MB phrases ---------------

SYSTEM = EquationsNatural(["x", "y"], 2, 1000)
SYSTEM_COMPACT = EquationsCompact(["x", "y"], 2, 1000)
SINGLE_COMPACT = EquationsCompact(["x"], 1, 1000)


def test_equation_solutions_and_systems_read_in_linear_time() -> None:
    spaces = " " * MB
    for variables in (["x"], ["x", "y"]):
        assert isinstance(fast(equations.parse_solution, spaces + "x", variables), str)
        assert isinstance(fast(equations.parse_solution, "x = 1" + spaces + "!", variables),
                          str)
    assert fast(SYSTEM_COMPACT.parse_ref, "(" + spaces + "1") is None
    assert fast(SYSTEM_COMPACT.parse_ref, "(" + spaces + "1, 2" + spaces) is None
    assert fast(SYSTEM_COMPACT.parse_ref, "(" + spaces + "1, 2" + spaces + ")") == (
        "solved", frozenset({(1, 2)}))
    assert fast(SINGLE_COMPACT.parse_ref, "x = 1" + spaces + " or") == (
        "solved", frozenset({(1,)}))
    ands = fill("the equations ", "x and ", "x with 3 steps left")
    assert fast(SYSTEM.parse_ref, ands) is None
    assert fast(SYSTEM.parse_ref, ands[:-1]) is None
    stated = fill("Now the equations are ", "x and ", "y = 1, with 3 steps left")
    assert fast(SYSTEM._read_state, stated) is None


def test_equation_readings_of_normal_text_are_unchanged() -> None:
    half = Fraction(1, 2)
    assert equations.parse_solution("(1, -1/2)", ["x", "y"]) == frozenset({(1, -half)})
    assert equations.parse_solution("{(1 , 2)}", ["x", "y"]) == frozenset({(1, 2)})
    assert equations.parse_solution("{ ( 1 , 2 ) }", ["x", "y"]) == (
        "say which variable ' ( 1' is")
    assert equations.parse_solution("x = 1, y = 2.", ["x", "y"]) == frozenset({(1, 2)})
    assert equations.parse_solution("x = -3 or x = 2", ["x"]) == frozenset({(-3,), (2,)})
    assert equations.parse_solution("{-3 ; 2 and 1/2}", ["x"]) == frozenset(
        {(-3,), (2,), (half,)})
    assert equations.parse_solution("(  , 2)", ["x", "y"]) == (
        "cannot read the values in '(  , 2)'")
    assert equations.parse_solution("{ x = 1 }", ["x"]) == (
        "cannot read the value ' x = 1 '")  # spaces inside `{}` but off a separator stay
    read = SYSTEM.parse_ref("the equations x + y = 3 and x - y = 1 with 2 steps left")
    assert read is not None and read[2] == 2
    assert SYSTEM.parse_ref("the equations x + y = 3 and  with 2 steps left") is None


def test_coloring_and_sokoban_answer_grammars_are_linear() -> None:
    """The answer caps bound these today; the grammars themselves stay linear, so a cap
    raised later stays safe."""
    assert isinstance(fast(coloring._read_pairs, "1" + " " * MB + "!"), Verdict)
    assert fast(coloring._read_pairs, "1 - red, 2 is green 3:blue") == [
        (1, "red"), (2, "green"), (3, "blue")]
    assert fast(sokoban._LIST_MARK.sub, "", "\n" * MB + "1. x") == "\n" * MB + "x"
    assert fast(sokoban._LIST_MARK.sub, "", " \n" * (MB // 2)) == " \n" * (MB // 2)


# ---- the rewards ------------------------------------------------------------------------

def rewards(completions: list[Any], task: Task, problem: Problem, style: str) -> list[
        list[float]]:
    """The three rewards of `completions`, each timed."""
    n = len(completions)
    columns = ([task.name] * n, [json.dumps(problem.data)] * n, [style] * n)
    return [fast(answer_reward, completions, *columns), fast(format_reward, completions),
            fast(step_validity_reward, completions, *columns)]


@pytest.mark.parametrize("style", STYLES)
def test_rewards_are_linear_on_1mb_completions(style: str) -> None:
    task, problem, lines, answer = rendered("countdown", style)
    for shape, completion in SLOW_COMPLETIONS.items():
        scores = rewards([completion], task, problem, style)
        assert scores[2] == [0.0], shape
    over = format_completion(lines, answer) + " " * MB
    assert rewards([over], task, problem, style) == [[0.0], [0.0], [0.0]]
    behaviour = fast(analyse, task.name, problem.data, SLOW_COMPLETIONS["near-cap move lines"],
                     style)
    assert behaviour.format_ok and behaviour.unparsable == behaviour.steps > 400


def test_non_text_completions_score_zero_and_conversational_ones_are_judged() -> None:
    task, problem, lines, answer = rendered("countdown", "natural")
    good = format_completion(lines, answer)
    assert rewards([good], task, problem, "natural") == [[1.0], [1.0], [1.0]]
    junk: list[Any] = [None, 7, b"<think>", {"role": "assistant", "content": good}, [],
                       [{"role": "user", "content": good}],
                       [{"role": "assistant", "content": None}],
                       [{"role": "assistant", "content": [{"type": "text", "text": good}]}],
                       ["<think>"]]
    assert rewards(junk, task, problem, "natural") == [[0.0] * len(junk)] * 3
    chat = [[{"role": "assistant", "content": good}],
            [{"role": "user", "content": "solve"}, {"role": "assistant", "content": good}],
            [{"role": "assistant", "content": "no"}, {"role": "assistant", "content": good},
             {"role": "user", "content": "thanks"}]]
    assert rewards(chat, task, problem, "natural") == [[1.0] * 3] * 3
    last_wrong = [[{"role": "assistant", "content": good},
                   {"role": "assistant", "content": "<answer>1</answer>"}]]
    assert rewards(last_wrong, task, problem, "natural") == [[0.0], [0.0], [0.0]]
    assert analyse(task.name, problem.data, None, "natural").chars == 0


def test_a_proposal_over_the_line_cap_is_rejected_by_its_own_code() -> None:
    task, problem, lines, _ = rendered("countdown", "compact")
    rules, text = task.rules(problem.data), task.phrasing("compact", problem.data)
    state = rules.initial_state()
    assert isinstance(read_proposal(rules, text, COMPACT, state, lines[0]), tuple)
    rejected = fast(read_proposal, rules, text, COMPACT, state, lines[0] + "0" * MB)
    assert isinstance(rejected, Rejection) and rejected.code == "line_too_long"


# ---- the same readings as the regular expressions they replace -------------------------

def _alternatives(options: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(o) for o in options)


REFERENCE_LINES = {
    "natural": [
        ("move", re.compile(rf"^(?:{_alternatives([*OPENERS, AFTER_BACKTRACK])})"
                            r" (.+?)\. (.+)\.$")),
        ("dead_end", re.compile(rf"^(.+), (?:{_alternatives(DEAD_ENDINGS)})\.$")),
        ("backtrack", re.compile(rf"^(?:{_alternatives(BACK_OPENERS)}) (.+)\.$")),
        ("goal", re.compile(rf"^(.+), {re.escape(GOAL_ENDING)}\.$")),
    ],
    "compact": [
        ("move", re.compile(r"^try (.+?) -> (.+)$")),
        ("dead_end", re.compile(r"^dead: (.+)$")),
        ("backtrack", re.compile(r"^back to (.+)$")),
        ("goal", re.compile(r"^goal: (.+)$")),
    ],
}
REFERENCE_THINK = re.compile(r"^\s*<think>\n?(.*?)\n?</think>\s*<answer>(.*?)</answer>\s*$",
                             re.DOTALL)
REFERENCE_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
PIECES = ["<think>", "</think>", "<answer>", "</answer>", "\n", " ", "\t", "\u2003", "a",
          ".", ". ", ", ", "try ", " -> ", "->", "dead: ", "back to ", "goal: ", "x",
          *OPENERS, AFTER_BACKTRACK, *DEAD_ENDINGS, *BACK_OPENERS, GOAL_ENDING]
texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=texts)
def test_completion_and_answer_reading_match_the_old_patterns(text: str) -> None:
    match = REFERENCE_THINK.match(text)
    assert split_completion(text) == (None if match is None else (
        match.group(1), match.group(2).strip()))
    found = REFERENCE_ANSWER.findall(text)
    assert extract_answer(text) == (found[-1].strip() if found else text.strip())


@settings(max_examples=400, deadline=None)
@given(text=texts.filter(lambda s: "\n" not in s), style=st.sampled_from(list(REFERENCE_LINES)))
def test_line_reading_matches_the_old_patterns(text: str, style: str) -> None:
    expected = next(((kind, m.groups()) for kind, pattern in REFERENCE_LINES[style]
                     if (m := pattern.match(text))), None)
    event = get_style(style).parse_line(text)
    assert (None if event is None else (event.kind, event.phrases)) == expected


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(texts.filter(lambda s: "\n" not in s), max_size=6),
       style=st.sampled_from(STYLES))
def test_counted_kinds_are_the_kinds_of_the_lines(lines: list[str], style: str) -> None:
    events = [get_style(style).parse_line(line) for line in lines]
    expected = {kind: sum(1 for e in events if e is not None and e.kind == kind)
                for kind in ("move", "dead_end", "backtrack", "goal")}
    counted = get_style(style).count_kinds("\n".join(lines))
    assert {kind: counted[kind] for kind in expected} == expected


# ---- the think/answer split ------------------------------------------------------------

_line = st.text(alphabet=st.characters(exclude_characters="<\n"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_line, max_size=8), answer=_line)
def test_split_completion_round_trip(lines: list[str], answer: str) -> None:
    completion = format_completion(lines, answer)
    assert split_completion(completion) == ("\n".join(lines), answer.strip())


def test_split_completion_rejects_malformed() -> None:
    good = format_completion(["a", "b"], "42")
    assert split_completion(good) == ("a\nb", "42")
    assert split_completion(f"  {good}\n") == ("a\nb", "42")
    for bad in (good.replace("<think>", ""), good.replace("</think>", ""),
                good.replace("<answer>", ""), good + " trailing", "text " + good, "", None, 42):
        assert split_completion(bad) is None, bad  # type: ignore[arg-type]
