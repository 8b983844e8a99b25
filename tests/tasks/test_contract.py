"""The task contract, checked for every registered task, every solver and both styles.

Per-task files test each task's own rules (its illegal moves, false dead-end claims,
answer layouts, generator guarantees); these tests hold every task to what the pipeline
relies on: a frozen config that names an unknown knob, presets that generate problems the
reference search solves, determinism per seed, JSON round trips, traces from every solver
that verify in every style, generic corruptions of a trace rejected with their codes on
their lines, unreadable completions and wrong answers rejected, disjoint splits, answer
checkers that refuse non-text and over-long text, search statistics that agree with the
tree, and a verifier and answer checker that never raise.
"""

from __future__ import annotations

import json
import re
from contextlib import suppress
from itertools import combinations, pairwise

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from searchtrace.solvers.mcts import MctsSettings
from searchtrace.solvers.registry import all_solvers, get_solver
from searchtrace.tasks import get_task, task_names
from searchtrace.tasks.base import GenerationSkipped, Problem, Violation
from searchtrace.traces.linearize import (
    NotEnoughDeadEnds,
    UnsoundTrace,
    linearize_exact,
    linearize_natural,
    require_sound,
)
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style, style_names
from searchtrace.traces.trace import DEAD_END, GOAL, MOVE
from tests.support import (
    BUDGET,
    RenderedTrace,
    completion_of,
    path_moves,
    problems,
    rendered,
    solved,
)

# the solvers that search one problem at a time (llm_mcts needs a policy)
SOLVERS = [solver.name for solver in all_solvers() if not solver.batched]

STYLES = style_names()

NAMES = task_names()
PRESETS = [(name, preset) for name in NAMES for preset in get_task(name).presets]
NODE_BUDGET = 20_000  # the default `solver.node_budget`: every preset's problems fit in it
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ANSWER_NOISE = "0123456789 \n,;:=()[]+-*/x.²①"  # added to an answer's own characters
TOKEN = re.compile(r"([A-Za-z]+|[0-9]+)")  # the words and numbers of a line (split keeps them)
ODD_NUMBERS = st.sampled_from(["0", "-3", "1.5", "7/2", "1/0", "²", "٣", "①", "", "9" * 30,
                               "9" * 5000])


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_config_is_frozen_and_names_an_unknown_knob(name: str) -> None:
    task = get_task(name)
    config = task.make_config("medium", {})
    fields = list(task.config_model.model_fields)
    for field in fields:
        with pytest.raises(ValidationError, match=rf"{field}\n\s+Instance is frozen"):
            setattr(config, field, getattr(config, field))
    typos = [f"{field}s" for field in fields if f"{field}s" not in fields] + ["no_such_knob"]
    for knob in typos:
        with pytest.raises(ValidationError) as direct:
            task.config_model(**{knob: 1})
        with pytest.raises(ValidationError) as from_preset:
            task.make_config("medium", {knob: 1})
        for error in (direct.value, from_preset.value):
            assert [(e["loc"], e["type"]) for e in error.errors()] == [((knob,),
                                                                        "extra_forbidden")]
            assert knob in str(error)


@pytest.mark.parametrize(("name", "preset"), PRESETS)
def test_every_preset_validates_and_generates_solvable_problems(name: str, preset: str) -> None:
    task = get_task(name)
    values = task.presets[preset]
    config = task.make_config(preset, {})
    assert type(config) is task.config_model
    assert {key: getattr(config, key) for key in values} == values
    assert config.model_dump(include=set(values)) == values
    assert task.config_model(**config.model_dump()) == config
    made = []
    for seed in range(20):
        try:
            made.append(task.generate(config, np.random.default_rng(seed), "train"))
        except GenerationSkipped as skipped:
            assert re.fullmatch(r"[a-z_]+", skipped.reason), skipped.reason  # a statistic key
    assert len(made) >= 17
    assert len({problem.id for problem in made}) >= len(made) // 2
    for problem in made:
        # every knob is recorded, except a knob added later while it holds its default
        dumped = config.model_dump(mode="json")
        assert problem.task == name and problem.knobs == {k: dumped[k] for k in problem.knobs}
        assert all(getattr(config, k) == task.config_model.model_fields[k].default
                   for k in set(dumped) - set(problem.knobs))
        assert "<answer></answer>" in problem.prompt
        rules = task.rules(problem.data)
        tree = get_solver("dfs").solve(rules, NODE_BUDGET, MctsSettings(), 7)
        assert tree.solution is not None, (preset, problem.data)
        assert rules.is_goal(tree.nodes[tree.solution].state)
        answer = task.answer(problem.data, path_moves(tree))
        for said in (answer, f"<answer>{answer}</answer>"):
            assert task.check_answer(problem.data, said).ok, (said, problem.data)


# ---- generation and JSON ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "preset"), PRESETS)
def test_same_seed_same_problem(name: str, preset: str) -> None:
    task = get_task(name)
    config = task.make_config(preset, {})

    def make(seed: int, split: str) -> Problem | str:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        try:
            return task.generate(config, rng, split)
        except GenerationSkipped as skipped:
            return skipped.reason

    for split in ("train", "test"):
        made = [make(seed, split) for seed in range(8)]
        assert made == [make(seed, split) for seed in range(8)]
        assert len({p.id for p in made if isinstance(p, Problem)}) > 1


@pytest.mark.parametrize(("name", "preset"), PRESETS)
def test_problems_and_trees_survive_a_json_round_trip(name: str, preset: str) -> None:
    task = get_task(name)
    for problem in problems(name, preset):
        again = Problem.from_json(problem.to_json())
        assert again == problem and again.to_json() == problem.to_json()
        data = json.loads(json.dumps(problem.data))
        assert data == problem.data  # plain JSON: a stored row rebuilds the instance
        rules = task.rules(data)
        tree = solved(task, again)
        assert tree.to_json(rules) == solved(task, problem).to_json(task.rules(problem.data))
        trace = linearize_exact(tree, rules, 0, "uniform", 6)
        for style in STYLES:  # the phrasing, too, is rebuilt from the stored data alone
            completion = completion_of(task, problem, tree, trace, style)
            assert verify_completion(task, data, completion, style, 0).ok


# ---- traces from every solver verify ---------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name", NAMES)
def test_every_solver_is_deterministic_per_seed(name: str, solver: str) -> None:
    task = get_task(name)
    for problem in problems(name):
        rules = task.rules(problem.data)
        search = get_solver(solver).solve
        first, again = (search(rules, BUDGET, MctsSettings(), 11).to_json(rules)
                        for _ in range(2))
        assert first == again


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name", NAMES)
def test_every_solvers_traces_verify_in_both_styles(name: str, solver: str) -> None:
    task = get_task(name)
    verified = 0
    for problem in problems(name, "easy") + problems(name, "medium"):
        tree = solved(task, problem, solver)
        rules = task.rules(problem.data)
        for k in (0, 1, 2):
            try:
                trace = linearize_exact(tree, rules, k, "uniform", 6)
            except NotEnoughDeadEnds:
                assert k > 0
                continue
            for style in STYLES:
                verdict = verify_completion(task, problem.data,
                                            completion_of(task, problem, tree, trace, style),
                                            style, k, get_solver(solver).shortest)
                assert verdict.ok, (problem.id, k, style, verdict)
                verified += 1
        if get_solver(solver).walk:
            trace = linearize_natural(tree)
            for style in STYLES:
                verdict = verify_completion(task, problem.data,
                                            completion_of(task, problem, tree, trace, style),
                                            style, trace.num_backtracks)
                try:
                    require_sound(trace, tree, rules)
                except UnsoundTrace:
                    # a depth limit gave up a solvable state, or the task cannot decide one (a
                    # depth-first search is otherwise sound): the row is refused
                    assert solver == "iddfs" or name == "equations"
                    assert verdict.code in ("abandoned_solvable", "abandoned_undecided")
                else:
                    assert verdict.ok, (problem.id, style, verdict)
    assert verified >= 8


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_traces_verify_at_every_count_placement_and_branch_length(name: str, style: str) -> None:
    task = get_task(name)
    most = 0
    for problem in problems(name, "medium", 3):
        tree = solved(task, problem)
        rules = task.rules(problem.data)
        for k, placement, length in ((0, "uniform", 6), (1, "uniform", 6), (3, "uniform", 6),
                                     (5, "uniform", 6), (3, "early", 6), (3, "late", 6),
                                     (3, "uniform", 4)):
            try:
                trace = linearize_exact(tree, rules, k, placement, length)
            except NotEnoughDeadEnds:
                assert k > 1
                continue
            assert trace.num_backtracks == k
            assert all(0 < n <= length for n in trace.dead_end_lengths)
            completion = completion_of(task, problem, tree, trace, style, salt=k)
            verdict = verify_completion(task, problem.data, completion, style, k)
            assert verdict.ok, (problem.id, k, placement, length, verdict)
            most = max(most, k)
    assert most == 5


# ---- corrupted traces ------------------------------------------------------------------


def retarget(r: RenderedTrace, line: int, state: object, move: object) -> list[str]:
    """`r`'s lines with the backtrack at `line` naming (state, move) instead of its target."""
    target = r.node(line)
    said = r.text.ref_phrase(target.state, target.move)
    head, found, tail = r.lines[line].rpartition(said)
    assert found, (r.lines[line], said)
    lines = list(r.lines)
    lines[line] = head + r.text.ref_phrase(state, move) + tail
    return lines


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_a_miscounted_backtrack_is_rejected(name: str, style: str, k: int) -> None:
    r = rendered(name, style, k)
    assert r.trace.num_backtracks == k and r.verify(backtracks=k).ok
    for wrong in (k - 1, k + 1):
        verdict = r.verify(backtracks=wrong)
        assert (verdict.code, verdict.line) == ("backtrack_count", None), verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_a_false_dead_end_claim_is_rejected(name: str, style: str) -> None:
    r = rendered(name, style)
    dead_line = r.lines[next(i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END)]
    rules = r.rules
    claim_at = next(index + 1 for index, step in enumerate(r.trace.steps)
                    if step.kind == MOVE and rules.dead_end(r.node(index).state) is None)
    lines = [*r.lines[:claim_at], dead_line, *r.lines[claim_at:]]
    verdict = r.verify(lines)
    assert (verdict.code, verdict.line) == ("false_dead_end", claim_at), verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_a_backtrack_to_a_later_state_is_rejected(name: str, style: str) -> None:
    """The first backtrack names a solution-path state not yet reached."""
    r = rendered(name, style)
    back = r.trace.backtrack_positions[0]
    current = {r.text.ref_key(r.tree.nodes[n].state, r.tree.nodes[n].move)
               for n in r.tree.path_to(r.trace.steps[back - 1].node)}
    later = next((r.tree.nodes[n] for n in r.tree.solution_path()[::-1]
                  if r.text.ref_key(r.tree.nodes[n].state, r.tree.nodes[n].move)
                  not in current), None)
    assert later is not None, "every solution state is on the path at the first backtrack"
    verdict = r.verify(retarget(r, back, later.state, later.move))
    assert (verdict.code, verdict.line) == ("backtrack_off_path", back), verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_a_backtrack_into_an_abandoned_branch_is_rejected(name: str, style: str) -> None:
    """A later backtrack names a state an earlier one left behind (one no move since has
    made again)."""
    r = rendered(name, style, 3)

    def ref_key(node: int) -> object:
        return r.text.ref_key(r.tree.nodes[node].state, r.tree.nodes[node].move)

    cases = []
    for earlier, later in combinations(r.trace.backtrack_positions, 2):
        current = {ref_key(n) for n in r.tree.path_to(r.trace.steps[later - 1].node)}
        branch = r.tree.path_to(r.trace.steps[earlier - 1].node)[r.node(earlier).depth + 1:]
        cases += [(later, r.tree.nodes[n]) for n in branch if ref_key(n) not in current]
    assert cases, "every abandoned state is on the path again at each later backtrack"
    for line, node in cases:
        verdict = r.verify(retarget(r, line, node.state, node.move))
        assert (verdict.code, verdict.line) == ("backtrack_off_path", line), verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_a_backtrack_needs_a_dead_end_and_a_move_needs_a_backtrack(name: str,
                                                                   style: str) -> None:
    r = rendered(name, style)
    back = r.trace.backtrack_positions[0]
    assert r.trace.steps[0].kind == MOVE
    verdict = r.verify([r.lines[0], r.lines[back], *r.lines[1:]])
    assert (verdict.code, verdict.line) == ("backtrack_without_dead_end", 1), verdict
    assert r.trace.steps[back + 1].kind == MOVE
    verdict = r.verify([*r.lines[:back], *r.lines[back + 1:]])
    assert (verdict.code, verdict.line) == ("move_after_dead_end", back), verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_an_illegal_move_inside_a_dead_end_branch_is_caught(name: str, style: str) -> None:
    r = rendered(name, style)
    rules, text, trace, tree = r.rules, r.text, r.trace, r.tree
    dead_at = next(i for i, s in enumerate(trace.steps) if s.kind == DEAD_END)
    start = max(i for i in range(dead_at) if i == 0 or trace.steps[i - 1].kind != MOVE
                or i == dead_at - trace.dead_end_lengths[0])
    target = r.node(start)
    before = tree.nodes[target.parent].state
    for node in tree.nodes[1:]:
        result = rules.apply(before, node.move)
        if isinstance(result, Violation):
            break
    else:
        pytest.fail("no move in the tree is illegal at the branch point")
    original = text.move_phrase(target.move)
    assert original in r.lines[start]
    lines = list(r.lines)
    lines[start] = lines[start].replace(original, text.move_phrase(node.move), 1)
    verdict = r.verify(lines)
    assert (verdict.code, verdict.line) == (result.code, start), verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_a_missing_goal_or_a_step_after_it_is_rejected(name: str, style: str) -> None:
    r = rendered(name, style)
    lines = list(r.lines)
    assert r.trace.steps[-1].kind == GOAL
    for cut in (lines[:-1], []):
        verdict = r.verify(cut)
        assert (verdict.code, verdict.line) == ("no_goal", None), verdict
    for extra in (lines[-1], lines[0], lines[r.trace.backtrack_positions[0]]):
        verdict = r.verify([*lines, extra])
        assert (verdict.code, verdict.line) == ("step_after_goal", len(lines)), verdict
    dead_at = next(i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END)
    for at in (0, dead_at):  # the goal claimed at the start, and in a dead end
        verdict = r.verify([*lines[:at], lines[-1]])
        assert (verdict.code, verdict.line) == ("false_goal", at), verdict
    said = r.text.goal_phrase(r.tree.nodes[r.tree.solution].state)
    assert said in lines[-1]
    lines[-1] = lines[-1].replace(said, f"{said} at last", 1)  # the goal, but misstated
    verdict = r.verify(lines)
    assert (verdict.code, verdict.line) == ("wrong_goal_statement", len(lines) - 1), verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_final_answer_is_rejected(name: str, style: str) -> None:
    r = rendered(name, style)
    task, data = r.task, r.problem.data
    others = [task.answer(o.data, path_moves(solved(task, o)))
              for o in problems(name, "medium", 4)]
    wrong = [answer for answer in (*others, r.answer[: len(r.answer) // 2])
             if not task.check_answer(data, answer).ok]
    assert len(wrong) >= 3, "other problems' answers solve this one"
    for answer in (*wrong, "", "no answer", "<answer></answer>"):
        verdict = r.verify(answer=answer)
        assert (verdict.code, verdict.line) == ("wrong_answer", None), (answer, verdict)


# ---- unreadable completions and answers ------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_unreadable_completions_are_rejected_with_a_verdict(name: str, style: str) -> None:
    r = rendered(name, style)
    good = r.completion
    think, answer = good.split("</think>")[0], f"<answer>{r.answer}</answer>"
    bad_format = {
        "no think block": good.replace("<think>", "", 1),
        "think never closed": good.replace("</think>", "", 1),
        "no answer block": think + "</think>",
        "answer never closed": good.replace("</answer>", ""),
        "answer before think": f"{answer}\n{think}</think>",
        "text after the answer": good + "\nThat is all.",
        "empty": "",
        "blank": "\n \n",
        "garbage": "I think the answer is 42.",
        "answer only": answer,
        "not text": None,
    }
    for backtracks in (r.trace.num_backtracks, None):
        for case, completion in bad_format.items():
            verdict = verify_completion(r.task, r.problem.data, completion, style, backtracks)
            assert (verdict.code, verdict.line) == ("bad_format", None), (case, verdict)
        verdict = r.verify([], backtracks=backtracks)
        assert (verdict.code, verdict.line) == ("no_goal", None), verdict
        middle = len(r.lines) // 2
        for at, line in ((0, "I am not sure what to do here."), (0, r.lines[0].upper()),
                         (middle, "Hmm."), (middle, "")):
            lines = list(r.lines)
            lines[at] = line
            verdict = r.verify(lines, backtracks=backtracks)
            assert (verdict.code, verdict.line) == ("unparsable_step", at), (line, verdict)


@pytest.mark.parametrize("name", NAMES)
def test_check_answer_rejects_non_text_and_over_long_text(name: str) -> None:
    task = get_task(name)
    for problem in problems(name, "medium"):
        answer = task.answer(problem.data, path_moves(solved(task, problem)))
        assert task.check_answer(problem.data, answer).ok
        for value in (None, 24, 2.5, answer.encode(), [answer], {"answer": answer}):
            verdict = task.check_answer(problem.data, value)  # type: ignore[arg-type]
            assert (verdict.ok, verdict.code) == (False, "not_text"), (value, verdict)
        long = (answer + " ") * (50_000 // len(answer) + 1)
        for text in (long, f"<answer>{long}</answer>", "1 " * 50_000):
            verdict = task.check_answer(problem.data, text)
            assert (verdict.ok, verdict.code) == (False, "too_long"), verdict


# ---- never raising ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(text=st.text(max_size=400), style=st.sampled_from(STYLES))
def test_checkers_never_raise_on_fuzzed_text(name: str, text: str, style: str) -> None:
    task = get_task(name)
    problem = problems(name)[0]
    for answer in (text, f"<answer>{text}</answer>"):
        assert not task.check_answer(problem.data, answer).ok
    wrapped = f"<think>\n{text}\n</think>\n<answer>{text}</answer>"
    for completion in (text, wrapped):
        for backtracks in (0, None):
            verdict = verify_completion(task, problem.data, completion, style, backtracks)
            assert not verdict.ok and verdict.code != "verifier_error", verdict


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data(), style=st.sampled_from(STYLES))
def test_answer_like_text_never_breaks_the_checkers(name: str, data: st.DataObject,
                                                    style: str) -> None:
    """Text made of the characters answers are made of, so it gets deep into the parsers."""
    r = rendered(name, style)
    text = data.draw(st.text(alphabet=sorted(set(r.answer + ANSWER_NOISE)), max_size=200))
    for answer in (text, f"<answer>{text}</answer>"):
        assert isinstance(r.task.check_answer(r.problem.data, answer).ok, bool)
    for backtracks in (r.trace.num_backtracks, None):
        assert r.verify(answer=text, backtracks=backtracks).code != "verifier_error"


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(junk=st.text(min_size=1, max_size=120).filter(lambda s: "\n" not in s),
       position=st.integers(min_value=0, max_value=40), style=st.sampled_from(STYLES))
def test_a_spliced_junk_line_fails_where_it_stands(name: str, junk: str, position: int,
                                                   style: str) -> None:
    r = rendered(name, style)
    at = min(position, len(r.lines))
    lines = [*r.lines[:at], junk, *r.lines[at:]]
    verdict = r.verify(lines)
    assert verdict.code != "verifier_error"
    if get_style(style).parse_line(junk) is None:
        assert not verdict.ok and verdict.line == at
        assert verdict.code in ("unparsable_step", "step_after_goal")


@st.composite
def mutated_line(draw: st.DrawFn, lines: tuple[str, ...]) -> str:
    """One of `lines` with a few of its words and numbers swapped for other lines' words,
    other numbers or odd ones (digit-like characters, fractions, numbers too long for
    int()), so it still reads as a step and meets the task's phrase parsers."""
    words = sorted({word for line in lines for word in TOKEN.findall(line)})
    pieces = TOKEN.split(draw(st.sampled_from(lines)))
    for index in range(1, len(pieces), 2):  # the odd pieces are the tokens
        if draw(st.integers(0, 3)) == 0:
            pieces[index] = draw(st.one_of(st.sampled_from(words), ODD_NUMBERS,
                                           st.integers(-5, 150).map(str)))
    return "".join(pieces)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data(), count=st.integers(min_value=1, max_value=4),
       style=st.sampled_from(STYLES))
def test_mutated_lines_never_break_the_verifier(name: str, data: st.DataObject, count: int,
                                                style: str) -> None:
    """Lines that almost read, spliced into a real trace, so they meet states deep in
    the search; the real lines before them still verify."""
    r = rendered(name, style, 3)
    cut = data.draw(st.integers(min_value=0, max_value=len(r.lines) - 1))
    junk = [data.draw(mutated_line(r.lines)) for _ in range(count)]
    answer = data.draw(st.one_of(st.just(r.answer), st.text(max_size=80)))
    lines = [*r.lines[:cut], *junk, *r.lines[cut:]]
    for backtracks in (r.trace.num_backtracks, None):
        verdict = r.verify(lines, answer, backtracks)
        assert verdict.code != "verifier_error", verdict
        assert verdict.line is None or verdict.line >= cut, verdict


# ---- search statistics -----------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name", NAMES)
def test_every_solvers_tree_is_well_formed(name: str, solver: str) -> None:
    """Ids in visit order, parents and children that agree, children the rules' moves
    make (each a distinct state), dead ends and the solution as the rules judge them."""
    task = get_task(name)
    for problem in problems(name, "easy") + problems(name, "medium"):
        rules = task.rules(problem.data)
        tree = solved(task, problem, solver)
        nodes = tree.nodes
        assert [n.id for n in nodes] == list(range(len(nodes)))
        assert (nodes[0].parent, nodes[0].move, nodes[0].depth) == (None, None, 0)
        assert rules.state_key(nodes[0].state) == rules.state_key(rules.initial_state())
        children: dict[int, list[int]] = {n.id: [] for n in nodes}
        for node in nodes[1:]:
            children[node.parent].append(node.id)
        for node in nodes:
            assert node.children == children[node.id] and not node.widened
            keys = []
            for child in (nodes[c] for c in node.children):
                assert child.depth == node.depth + 1
                applied = rules.apply(node.state, child.move)
                assert not isinstance(applied, Violation), applied
                keys.append(rules.state_key(applied))
                assert keys[-1] == rules.state_key(child.state)
            assert len(set(keys)) == len(keys)
            if node.reason is not None:
                assert node.status == "dead_end" and rules.dead_end(node.state) == node.reason
                assert rules.confirm_dead_end(node.state, node.reason) is None
            assert (node.status == "solution") <= rules.is_goal(node.state)
        path = tree.solution_path()
        assert path[0] == 0 and nodes[path[-1]].status == "solution"
        assert [nodes[n].depth for n in path] == list(range(len(path)))
        assert sum(n.status == "expanded" for n in nodes) <= tree.nodes_expanded
        assert tree.branching() == tree.children_generated / tree.nodes_expanded
        assert tree.guesses() == sum(len(n.children) > 1 for n in nodes)


@pytest.mark.parametrize(("name", "preset"), PRESETS)
def test_reference_search_statistics_agree_with_the_tree(name: str, preset: str) -> None:
    """The depth-first tree rows measure difficulty by: every expansion is a node it
    expanded (or found stuck), its children are the rules' moves in order, and the
    statistics stay when the linearizer widens the tree."""
    task = get_task(name)
    for problem in problems(name, preset):
        rules = task.rules(problem.data)
        tree = solved(task, problem)
        nodes = tree.nodes
        counted = {n.id for n in nodes
                   if n.status == "expanded" or (n.status == "dead_end" and n.reason is None)}
        assert tree.nodes_expanded == len(counted)
        generated = 0
        for node in nodes:
            moves = [move for move, _ in rules.expand(node.state)] if node.id in counted else []
            generated += len(moves)
            assert [nodes[c].move for c in node.children] == moves[:len(node.children)]
            if node.status == "dead_end" and node.reason is None:
                assert moves == []  # stuck: no move, and no rule to say why
        assert tree.children_generated == generated
        path = tree.solution_path()
        assert all(nodes[parent].children[-1] == child
                   for parent, child in pairwise(path))
        statistics = (tree.nodes_expanded, tree.children_generated, tree.guesses(),
                      tree.branching())
        assert tree.branching() == tree.children_generated / tree.nodes_expanded
        assert tree.guesses() == sum(len(n.children) > 1 for n in nodes) <= tree.nodes_expanded
        assert (tree.guesses() == 0) == (len(nodes) == len(path))
        with suppress(NotEnoughDeadEnds):  # widens the tree with the dead ends it adds
            linearize_exact(tree, rules, 3, "uniform", 6)
        assert (tree.nodes_expanded, tree.children_generated, tree.guesses(),
                tree.branching()) == statistics


# ---- builds ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_splits_of_a_build_share_no_problem(name: str, tmp_path) -> None:
    config = parse_config({"task": {"name": name, "preset": "easy"},
                           "traces": {"k_mix": {0: 0.5, 1: 0.5}},
                           "splits": {"train": 8, "test": 4}, "seed": 2})
    run_build(config, tmp_path / name)
    ids = {split: [] for split in ("train", "test")}
    for path in sorted((tmp_path / name / "data").glob("*.parquet")):
        for row in pq.read_table(path, columns=["split", "problem_id"]).to_pylist():
            ids[row["split"]].append(row["problem_id"])
    assert len(ids["train"]) == 8 and len(ids["test"]) == 4
    assert not set(ids["train"]) & set(ids["test"])
    assert len(set(ids["train"])) == 8
