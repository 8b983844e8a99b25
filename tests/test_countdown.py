"""Countdown: config validation, generation, rules, traces that verify, corrupted traces and
wrong answers that are rejected, and a verifier that never raises on arbitrary text."""

from __future__ import annotations

import builtins
from collections import Counter, defaultdict
from fractions import Fraction
from functools import cache
from itertools import combinations, permutations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import STYLES, DeadEnd, GenerationSkipped, Problem, Verdict, Violation
from searchtrace.tasks.countdown.generate import PRESETS, CountdownConfig
from searchtrace.tasks.countdown.rules import CountdownMove, CountdownRules, check_answer
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE
from searchtrace.traces.tree import SearchTree
from tests.support import RenderedTrace as Rendered

TASK = get_task("countdown")
HELD_OUT = (17, 29, 43, 58, 71, 89)


def make_problem(seed: int, preset: str = "medium", **knobs: object) -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    config = TASK.make_config(preset, knobs)
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {preset} Countdown problem from seed {seed}")


def solve(problem: Problem, budget: int = 20_000) -> SearchTree:
    tree = solve_dfs(TASK.rules(problem.data), budget)
    assert tree.solution is not None, problem.data
    return tree


def canonical_answer(problem: Problem, tree: SearchTree) -> str:
    return TASK.answer(problem.data, [tree.nodes[n].move for n in tree.solution_path()[1:]])



@cache
def rendered(seed: int, k: int, style: str) -> Rendered:
    """A medium problem's exact-k trace, rendered as `build_row` renders it."""
    problem = make_problem(seed)
    return Rendered.build(TASK, problem, solve(problem), k, style, 4, salt=seed)


# The lines a completion is made of, built from the task's own phrases.


def move_line(r: Rendered, move: CountdownMove, state: tuple) -> str:
    text = TASK.step_text(r.problem.data)
    said, leaves = text.move_phrase(move, r.style), text.state_phrase(state, r.style)
    return f"try {said} -> {leaves}" if r.style == "compact" else f"Let me try {said}. {leaves}."


def dead_line(r: Rendered, state: tuple, claim: DeadEnd) -> str:
    said = TASK.step_text(r.problem.data).dead_end_phrase(state, claim, r.style)
    return f"dead: {said}" if r.style == "compact" else f"{said}, so this is a dead end."


def back_line(r: Rendered, state: tuple) -> str:
    ref = TASK.step_text(r.problem.data).ref_phrase(state, None, r.style)
    return f"back to {ref}" if r.style == "compact" else f"Let me go back to {ref}."


def without(state: tuple, *used: object) -> list:
    rest = list(state)
    for value in used:
        rest.remove(value)
    return rest


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"count": 2}, "count", "must be between 3 and 8, got 2"),
        ({"count": 9}, "count", "must be between 3 and 8, got 9"),
        ({"number_range": (0, 10)}, "number_range", "1 <= low <= high <= 10000, got [0, 10]"),
        ({"number_range": (20, 10)}, "number_range", "1 <= low <= high <= 10000, got [20, 10]"),
        ({"number_range": (1, 10_001)}, "number_range", "1 <= low <= high <= 10000"),
        ({"target_range": (0, 50)}, "target_range", "1 <= low <= high <= 1000000, got [0, 50]"),
        ({"target_range": (90, 80)}, "target_range", "1 <= low <= high <= 1000000"),
        ({"target_range": (1, 1_000_001)}, "target_range", "1 <= low <= high <= 1000000"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        CountdownConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_held_out_targets_must_lie_in_range_and_leave_train_some() -> None:
    with pytest.raises(ValidationError, match=r"test_targets must lie in target_range "
                                              r"\[10, 100\], got \[5, 101\]"):
        CountdownConfig(target_range=(10, 100), test_targets=(5, 50, 101))
    with pytest.raises(ValidationError, match="hold out every target"):
        CountdownConfig(target_range=(10, 12), test_targets=(10, 11, 12, 11))
    assert CountdownConfig(target_range=(10, 12), test_targets=(10, 12)).test_targets == (10, 12)


def test_config_is_frozen_and_rejects_unknown_knobs() -> None:
    with pytest.raises(ValidationError, match="numbers"):
        CountdownConfig(numbers=4)
    with pytest.raises(ValidationError):
        CountdownConfig().count = 5  # type: ignore[misc]


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_validate(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert isinstance(config, CountdownConfig)
    assert {key: getattr(config, key) for key in PRESETS[preset]} == PRESETS[preset]
    assert config.test_targets == () and config.allow_fractions is False


# ---- generation ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_same_seed_same_problem(preset: str) -> None:
    config = TASK.make_config(preset, {})

    def make(seed: int) -> Problem | None:
        try:
            return TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            return None

    problems = [make(seed) for seed in range(12)]
    assert problems == [make(seed) for seed in range(12)]
    made = [p for p in problems if p is not None]
    assert len(made) >= 8
    assert len({p.id for p in made}) >= len(made) - 1
    low, high = config.number_range
    for problem in made:
        assert len(problem.data["numbers"]) == config.count
        assert all(low <= n <= high for n in problem.data["numbers"])
        assert config.target_range[0] <= problem.data["target"] <= config.target_range[1]
        assert problem.knobs == config.model_dump(mode="json")


def test_problem_json_round_trip_and_prompt() -> None:
    for seed in range(5):
        problem = make_problem(seed, "medium", allow_fractions=bool(seed % 2))
        assert Problem.from_json(problem.to_json()) == problem
        assert Problem.from_json(problem.to_json()).to_json() == problem.to_json()
        listed = ", ".join(str(n) for n in problem.data["numbers"])
        assert f"Use the numbers {listed} to make {problem.data['target']}." in problem.prompt
        assert "<answer></answer>" in problem.prompt


def test_held_out_targets_only_in_test_and_never_in_train() -> None:
    config = TASK.make_config("medium", {"test_targets": HELD_OUT})
    made: dict[str, list[int]] = {"train": [], "test": []}
    for split in made:
        for seed in range(200):
            try:
                problem = TASK.generate(config, np.random.default_rng(seed), split)
            except GenerationSkipped as skipped:
                assert skipped.reason == "no_target_in_range"
                continue
            made[split].append(problem.data["target"])
    assert len(made["train"]) >= 190 and len(made["test"]) >= 100
    assert set(made["test"]) <= set(HELD_OUT)
    assert len(set(made["test"])) >= 4  # not stuck on one held-out target
    assert not set(made["train"]) & set(HELD_OUT)
    assert all(10 <= t <= 100 for t in made["train"])


@pytest.mark.parametrize(
    ("preset", "knobs", "seeds", "budget"),
    [
        ("easy", {}, 30, 20_000),
        ("medium", {}, 30, 20_000),
        ("medium", {"allow_fractions": True}, 20, 20_000),
        ("medium", {"count": 5, "test_targets": HELD_OUT}, 15, 20_000),
        ("hard", {}, 4, 200_000),
    ],
)
def test_every_problem_is_solvable_and_its_answer_checks(
    preset: str, knobs: dict, seeds: int, budget: int
) -> None:
    config = TASK.make_config(preset, knobs)
    solved = 0
    for seed in range(seeds):
        for split in ("train", "test"):
            try:
                problem = TASK.generate(config, np.random.default_rng(seed), split)
            except GenerationSkipped:
                continue
            tree = solve(problem, budget)
            assert TASK.rules(problem.data).is_goal(tree.nodes[tree.solution].state)
            answer = canonical_answer(problem, tree)
            assert check_answer(problem.data, answer).ok, (problem.data, answer)
            assert check_answer(problem.data, f"{answer} = {problem.data['target']}").ok
            solved += 1
    assert solved >= seeds


def test_id_depends_on_sorted_numbers_and_target_only() -> None:
    """Tiny ranges make the generator repeat problems in different number orders."""
    config = CountdownConfig(count=3, number_range=(1, 4), target_range=(1, 100))
    by_content: dict[tuple, set[str]] = defaultdict(set)
    orders: dict[tuple, set[tuple]] = defaultdict(set)
    for seed in range(300):
        problem = TASK.generate(config, np.random.default_rng(seed), "train")
        key = (tuple(sorted(problem.data["numbers"])), problem.data["target"])
        by_content[key].add(problem.id)
        orders[key].add(tuple(problem.data["numbers"]))
    assert all(len(ids) == 1 for ids in by_content.values())
    assert len({next(iter(ids)) for ids in by_content.values()}) == len(by_content)
    assert any(len(seen) > 1 for seen in orders.values())  # the same id despite new orders


# ---- rules -----------------------------------------------------------------------------


def brute_force_children(state: tuple, fractions: bool) -> set[tuple]:
    """Every next multiset, from first principles: any ordered pair, any op, kept when the
    result is positive (and whole unless fractions are allowed)."""
    out = set()
    for i, j in permutations(range(len(state)), 2):
        a, b = Fraction(state[i]), Fraction(state[j])
        rest = [x for n, x in enumerate(state) if n not in (i, j)]
        for value in (a + b, a - b, a * b, a / b):
            if value > 0 and (fractions or value.denominator == 1):
                out.add(tuple(sorted([*rest, value])))
    return out


def states_to_check() -> list[tuple[CountdownRules, tuple]]:
    out = []
    for seed, fractions in ((0, False), (1, False), (2, True), (3, True)):
        problem = make_problem(seed, "medium", allow_fractions=fractions)
        rules = CountdownRules.from_data(problem.data)
        tree = solve(problem)
        out += [(rules, node.state) for node in tree.nodes if len(node.state) > 1][:25]
    return out


def test_expand_gives_every_distinct_child_closest_first() -> None:
    for rules, state in states_to_check():
        children = rules.expand(state)
        keys = [rules.state_key(child) for _, child in children]
        assert len(keys) == len(set(keys)), state
        assert set(keys) == brute_force_children(state, rules.fractions), state
        distances = [abs(move.result - rules.target) for move, _ in children]
        assert distances == sorted(distances)
        assert [child[-1] for _, child in children] == [move.result for move, _ in children]
        assert list(rules.wider_moves(state)) == children


def test_apply_agrees_with_expand() -> None:
    for rules, state in states_to_check():
        for move, child in rules.expand(state):
            applied = rules.apply(state, move)
            assert not isinstance(applied, Violation), (state, move, applied)
            assert Counter(applied) == Counter(child)


@pytest.mark.parametrize(
    ("state", "move", "code"),
    [
        ((5, 3, 2), CountdownMove(7, "+", 3, 10), "number_not_available"),
        ((5, 3, 2), CountdownMove(5, "+", 5, 10), "number_not_available"),
        ((5, 3, 2), CountdownMove(5, "+", 3, 9), "wrong_result"),
        ((5, 3, 2), CountdownMove(5, "*", 3, 8), "wrong_result"),
        ((5, 3, 2), CountdownMove(3, "-", 5, -2), "not_positive"),
        ((5, 5, 2), CountdownMove(5, "-", 5, 0), "not_positive"),
        ((7, 2, 4), CountdownMove(7, "/", 2, Fraction(7, 2)), "not_integer"),
    ],
)
def test_apply_names_the_broken_rule(state: tuple, move: CountdownMove, code: str) -> None:
    rules = CountdownRules(state, 14, allow_fractions=False)
    violation = rules.apply(state, move)
    assert isinstance(violation, Violation) and violation.code == code, violation


def test_apply_uses_each_number_once_and_allows_fractions_when_asked() -> None:
    rules = CountdownRules((5, 5, 2), 14, allow_fractions=False)
    assert Counter(rules.apply((5, 5, 2), CountdownMove(5, "+", 5, 10))) == Counter((2, 10))
    fractions = CountdownRules((7, 2, 4), 14, allow_fractions=True)
    half = fractions.apply((7, 2, 4), CountdownMove(7, "/", 2, Fraction(7, 2)))
    assert Counter(half) == Counter((4, Fraction(7, 2)))
    assert Counter(fractions.apply(half, CountdownMove(Fraction(7, 2), "*", 4, 14))) == {14: 1}
    wrong = fractions.apply((7, 2, 4), CountdownMove(7, "/", 2, 3))
    assert isinstance(wrong, Violation) and wrong.code == "wrong_result"


def test_goal_and_dead_end() -> None:
    rules = CountdownRules((4, 11, 3), 44, allow_fractions=False)
    assert rules.is_goal((44,)) and not rules.is_goal((44, 1)) and not rules.is_goal((43,))
    assert rules.dead_end((44,)) is None
    assert rules.dead_end((43,)) == DeadEnd("wrong_final", (43,))
    assert rules.dead_end((3, 5)) == DeadEnd("pair_cannot_reach", (3, 5))
    assert rules.dead_end((44, 2)) is not None  # 44 is there, but every number must be used
    assert rules.dead_end((4, 11)) is None  # 4*11
    assert rules.dead_end((88, 2)) is None  # 88/2
    assert rules.dead_end((1, 2, 3)) is None  # three numbers are never judged dead
    for state in ((43,), (3, 5)):
        assert rules.confirm_dead_end(state, rules.dead_end(state)) is None
    assert "not a dead end" in rules.confirm_dead_end((4, 11), DeadEnd("pair_cannot_reach",
                                                                       (4, 11)))
    assert "not a dead end" in rules.confirm_dead_end((4, 11, 3), DeadEnd("pair_cannot_reach",
                                                                          (4, 11)))
    assert "not a dead end" in rules.confirm_dead_end((44,), DeadEnd("wrong_final", (44,)))
    assert "the claim names" in rules.confirm_dead_end((3, 5), DeadEnd("pair_cannot_reach",
                                                                       (3, 6)))
    assert rules.confirm_dead_end((3, 5), DeadEnd("wrong_final", (3,))) is not None
    one = CountdownRules((1, 2), 1, allow_fractions=False)
    assert one.dead_end((2, 2)) is None  # 2/2
    assert one.dead_end((3, 2)) is None  # 3-2
    assert one.dead_end((3, 5)) == DeadEnd("pair_cannot_reach", (3, 5))
    half = CountdownRules((1, 2), 2, allow_fractions=True)
    assert half.dead_end((Fraction(1, 2), 4)) is None  # 1/2*4
    assert CountdownRules((1, 2), 2, False).dead_end((Fraction(1, 2), 5)) is not None


# ---- traces ----------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("fractions", [False, True])
def test_solver_traces_verify(style: str, fractions: bool) -> None:
    for seed in range(6):
        problem = make_problem(seed, "medium", allow_fractions=fractions)
        tree = solve(problem)
        rules = TASK.rules(problem.data)
        traces = [linearize_natural(tree)]
        traces += [linearize_exact(tree, rules, k, "uniform", 4) for k in (0, 1, 3, 5)]
        assert [t.num_backtracks for t in traces[1:]] == [0, 1, 3, 5]
        answer = canonical_answer(problem, tree)
        for trace in traces:
            lines = render_think_lines(trace, tree, TASK.step_text(problem.data), style, seed)
            completion = format_completion(lines, answer)
            verdict = verify_completion(TASK, problem.data, completion, style,
                                        trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


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
def test_wrong_result_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    move = r.node(0).move
    wrong = CountdownMove(move.a, move.op, move.b, move.result + 1)
    lines = list(r.lines)
    lines[0] = move_line(r, wrong, (*without(r.tree.nodes[0].state, move.a, move.b),
                                    move.result + 1))
    verdict = r.verify(lines)
    assert verdict.code == "wrong_result" and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
def test_invented_and_reused_numbers_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    numbers = r.problem.data["numbers"]
    start = tuple(numbers)
    once = next(n for n in numbers if numbers.count(n) == 1)
    other = next(n for n in numbers if n != once)
    invented = max(numbers) + 1
    first = r.node(0).move
    consumed = next(x for x in (first.a, first.b) if x not in r.node(0).state)
    leftover = next(x for x in r.node(0).state if x != consumed)
    cases = [
        (0, CountdownMove(invented, "+", other, invented + other),
         (*without(start, other), invented + other)),
        (0, CountdownMove(once, "+", once, 2 * once), (*without(start, once), 2 * once)),
        (1, CountdownMove(consumed, "+", leftover, consumed + leftover),
         (*without(r.node(0).state, leftover), consumed + leftover)),
    ]
    for index, move, state in cases:
        lines = list(r.lines)
        lines[index] = move_line(r, move, state)
        verdict = r.verify(lines)
        assert verdict.code == "number_not_available" and verdict.line == index, verdict


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


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claims_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    target = r.problem.data["target"]
    path = r.tree.solution_path()
    # 1. right after a move into a three-number state, claim two of them cannot make it
    three = r.node(0).state
    assert len(three) == 3
    lines = list(r.lines)
    lines[1:1] = [dead_line(r, three, DeadEnd("pair_cannot_reach", three[:2])),
                  back_line(r, r.tree.nodes[0].state)]
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict
    # 2. the live pair on the solution path, claimed (with its own numbers) to be dead
    pair_node = path[-2]
    pair = r.tree.nodes[pair_node].state
    assert len(pair) == 2 and r.tree.nodes[pair_node].status == "expanded"
    at = r.line_of(MOVE, pair_node) + 1
    lines = list(r.lines)
    lines[at:at] = [dead_line(r, pair, DeadEnd("pair_cannot_reach", pair)),
                    back_line(r, r.tree.nodes[path[-3]].state)]
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == at, verdict
    # 3. a real dead end, but the claim names other numbers
    dead_at = r.trace.backtrack_positions[0] - 1
    dead_state = r.node(dead_at).state
    truth = r.node(dead_at).reason
    lies = DeadEnd(truth.code, (truth.detail[0] + 1, *truth.detail[1:]))
    lines = list(r.lines)
    lines[dead_at] = dead_line(r, dead_state, lies)
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == dead_at, verdict
    # 4. the goal state, claimed to be a wrong final number
    lines = list(r.lines)
    lines[-1] = dead_line(r, (target,), DeadEnd("wrong_final", (target,)))
    verdict = r.verify(lines)
    assert verdict.code == "false_dead_end" and verdict.line == len(lines) - 1, verdict


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_off_the_path_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    first, second = r.trace.backtrack_positions[:2]
    branch = r.node(first).id
    dead = r.node(first - 1).id
    abandoned = r.tree.path_to(dead)[r.tree.nodes[branch].depth + 1]  # left by backtrack 1
    for state in (r.tree.nodes[abandoned].state, (999, 1)):
        lines = list(r.lines)
        lines[second] = back_line(r, state)
        verdict = r.verify(lines)
        assert verdict.code == "backtrack_off_path" and verdict.line == second, verdict


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
    assert r.trace.steps[position + 1].kind == MOVE
    verdict = r.verify(lines)
    assert verdict.code == "move_after_dead_end" and verdict.line == position, verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("k", [1, 3])
def test_miscounted_backtracks_are_rejected(style: str, k: int) -> None:
    r = rendered(1, k, style)
    assert r.verify(backtracks=k).ok
    for wrong in (k - 1, k + 1):
        assert r.verify(backtracks=wrong).code == "backtrack_count"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_final_answer_is_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    numbers = r.problem.data["numbers"]
    assert sum(numbers) != r.problem.data["target"]
    for answer in ("+".join(map(str, numbers)), f"{r.answer}+{numbers[0]}", "",
                   f"{r.answer} = {r.problem.data['target'] + 1}"):
        verdict = r.verify(answer=answer)
        assert verdict.code == "wrong_answer", (answer, verdict)


@pytest.mark.parametrize("style", STYLES)
def test_missing_goal_and_steps_after_it_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    assert r.trace.steps[-1].kind == GOAL
    assert r.verify(list(r.lines[:-1])).code == "no_goal"
    assert r.verify([]).code == "no_goal"
    verdict = r.verify([*r.lines, r.lines[-1]])
    assert verdict.code == "step_after_goal" and verdict.line == len(r.lines), verdict
    dead_at = next(i for i, s in enumerate(r.trace.steps) if s.kind == DEAD_END)
    lines = list(r.lines[: dead_at + 1])
    lines[dead_at] = r.lines[-1]  # the goal claimed in a state that is not the goal
    assert r.verify(lines).code == "false_goal"


@pytest.mark.parametrize("style", STYLES)
def test_unreadable_completions_are_rejected(style: str) -> None:
    r = rendered(0, 3, style)
    good = format_completion(r.lines, r.answer)
    data = r.problem.data
    for bad, code in [
        (good.replace("<think>", ""), "bad_format"),
        (good.replace("</answer>", ""), "bad_format"),
        (good.replace(r.lines[0], r.lines[0].upper()), "unparsable_step"),
    ]:
        assert verify_completion(TASK, data, bad, style, 3).code == code


# ---- answers ---------------------------------------------------------------------------

DATA = {"numbers": [5, 3, 2, 4], "target": 24, "allow_fractions": False}


@pytest.mark.parametrize(
    "text",
    [
        "(5+3-2)*4",
        "4*(5+3-2)",
        " ( 5 + 3 - 2 ) * 4 ",
        "(5+3-2)*4 = 24",
        "(5+3-2)*4=24",
        "(5+3−2)×4",
        "4×(3+5−2)",
        "Thinking... <answer>5*4</answer> no, <answer>(5+3-2)*4</answer>",
    ],
)
def test_check_answer_accepts(text: str) -> None:
    assert check_answer(DATA, text).ok, check_answer(DATA, text)


def test_check_answer_accepts_division_sign() -> None:
    data = {"numbers": [8, 2, 3, 4], "target": 28, "allow_fractions": False}
    assert check_answer(data, "(8÷2+3)×4").ok
    assert check_answer(data, "(8/2+3)*4 = 28").ok


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("(5+3-2)+4", "wrong_value"),
        ("(5+3+2)*4", "wrong_value"),
        ("(5+5-2)*4", "wrong_numbers"),  # 5 twice, 3 missing
        ("(5+3)*3", "wrong_numbers"),  # 2 missing, 3 twice
        ("6*4", "wrong_numbers"),
        ("(5+3-2)*4*1", "wrong_numbers"),  # an extra number
        ("(5+3-2)*4 = 25", "wrong_target"),
        ("(5+3-2)*4 = twenty-four", "wrong_target"),
        ("(2-5+3)*4", "unparsable_answer"),  # 2-5 is not positive
        ("(5-5)*3*2*4", "unparsable_answer"),
        ("twenty-four", "unparsable_answer"),
        ("", "unparsable_answer"),
        ("((5+3-2)*4", "unparsable_answer"),
        ("(5+3-2))*4", "unparsable_answer"),
        ("(5+3-2)*4)", "unparsable_answer"),
        ("5**3-2*4", "unparsable_answer"),
        ("-5+3+2*4*4", "unparsable_answer"),
        ("__import__('os').system('echo hi')", "unparsable_answer"),
        ("(" * 60 + "5" + ")" * 60 + "*3*2*4", "unparsable_answer"),
        ("1+" * 300 + "1", "too_long"),
    ],
)
def test_check_answer_rejects(text: str, code: str) -> None:
    verdict = check_answer(DATA, text)
    assert not verdict.ok and verdict.code == code, verdict


def test_check_answer_applies_the_fraction_rule() -> None:
    strict = {"numbers": [7, 2, 4], "target": 14, "allow_fractions": False}
    loose = {**strict, "allow_fractions": True}
    for text in ("7/2*4", "4*7/2", "4/2*7"):
        assert check_answer(loose, text).ok, text
    assert check_answer(strict, "7/2*4").code == "unparsable_answer"
    assert "not an integer" in check_answer(strict, "7/2*4").message
    assert check_answer(strict, "4*7/2").ok and check_answer(strict, "4/2*7").ok
    assert check_answer(strict, "7/(2-2)*4").code == "unparsable_answer"


def test_check_answer_rejects_non_text() -> None:
    assert check_answer(DATA, None).code == "not_text"  # type: ignore[arg-type]
    assert check_answer(DATA, 24).code == "not_text"  # type: ignore[arg-type]


def test_check_answer_never_evaluates_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the answer checker evaluated text")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    assert check_answer(DATA, "(5+3-2)*4").ok
    assert not check_answer(DATA, "__import__('os').getcwd()").ok
    assert not check_answer(DATA, "24").ok


@pytest.mark.parametrize("text", ["(5+3-2)*4 = ²", "(5+3-2)*4 = ①", "(5+3-2)*4 = (²/1)"])
def test_check_answer_never_raises_on_digit_like_characters(text: str) -> None:
    """str.isdigit() is true of '²' and '①' but int() rejects them."""
    verdict = check_answer(DATA, text)
    assert not verdict.ok and verdict.code == "wrong_target", verdict


# ---- never raising on arbitrary text ---------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_check_answer_never_raises_and_rejects_random_text(text: str) -> None:
    for candidate in (text, f"<answer>{text}</answer>"):
        verdict = check_answer(DATA, candidate)
        assert isinstance(verdict, Verdict) and not verdict.ok


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300), style=st.sampled_from(STYLES))
def test_verifier_never_raises_and_rejects_random_text(text: str, style: str) -> None:
    data = make_problem(0).data
    for completion in (text, f"<think>\n{text}\n</think>\n<answer>{text}</answer>"):
        verdict = verify_completion(TASK, data, completion, style, None)
        assert isinstance(verdict, Verdict) and not verdict.ok
        assert verdict.code != "verifier_error", verdict


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
def test_verifier_never_fails_internally_on_spliced_lines(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Random lines spliced into a real trace, so they meet states deep in the search."""
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
    move = TASK.step_text(r.problem.data).move_phrase(first, style)
    lines[at] = line.format(move=move, a=first.a, b=first.b, t=r.problem.data["target"])
    verdict = r.verify(lines)
    assert not verdict.ok and verdict.code != "verifier_error", verdict
    assert verdict.line == at, verdict


def test_tree_statistics_are_consistent() -> None:
    problem = make_problem(4)
    tree = solve(problem)
    path = tree.solution_path()
    assert path[0] == 0 and path[-1] == tree.solution
    assert [tree.nodes[n].depth for n in path] == list(range(len(path)))
    assert len(path) - 1 == len(problem.data["numbers"]) - 1
    assert all(tree.nodes[c].parent == n.id for n in tree.nodes for c in n.children)
    dead = [n for n in tree.nodes if n.status == "dead_end"]
    rules = TASK.rules(problem.data)
    assert all(rules.dead_end(n.state) == n.reason for n in dead)
    assert tree.nodes_expanded == sum(1 for n in tree.nodes if n.status == "expanded")
    for a, b in combinations(tree.nodes[0].children, 2):
        assert rules.state_key(tree.nodes[a].state) != rules.state_key(tree.nodes[b].state)
