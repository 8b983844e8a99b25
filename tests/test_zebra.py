"""Zebra puzzles: config validation, unique puzzles, rules, traces that verify, and rejections."""

from __future__ import annotations

import re
from functools import cache
from itertools import permutations, product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import (
    STYLES,
    DeadEnd,
    GenerationSkipped,
    Problem,
    Violation,
    canonical_json,
    problem_id,
)
from searchtrace.tasks.zebra.generate import PRESETS, ZebraConfig, solve_grids
from searchtrace.tasks.zebra.rules import (
    KINDS,
    Puzzle,
    ZebraMove,
    ZebraRules,
    ZebraText,
    check_answer,
)
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import DEAD_END, MOVE, Trace
from searchtrace.traces.tree import SearchTree

TASK = get_task("zebra")


@cache
def make_problem(seed: int, preset: str = "medium", **knobs: object) -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    config = TASK.make_config(preset, dict(knobs))
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {preset} zebra puzzle from seed {seed}")


@cache
def solved(seed: int, preset: str = "medium") -> tuple[Problem, SearchTree]:
    problem = make_problem(seed, preset)
    return problem, solve_dfs(TASK.rules(problem.data), 20_000)


def solution_moves(tree: SearchTree) -> list[ZebraMove]:
    return [tree.nodes[n].move for n in tree.solution_path()[1:]]


def completion_for(problem: Problem, tree: SearchTree, trace: Trace, style: str) -> str:
    think = render_think_lines(trace, tree, TASK.step_text(problem.data), style, salt=0)
    return format_completion(think, TASK.answer(problem.data, solution_moves(tree)))


@cache
def rendered(seed: int, k: int, style: str) -> tuple[Problem, str, Trace]:
    problem, tree = solved(seed)
    trace = linearize_exact(tree, TASK.rules(problem.data), k, "uniform", 6)
    return problem, completion_for(problem, tree, trace, style), trace


def verify(problem: Problem, completion: str, style: str, backtracks: int | None):
    return verify_completion(TASK, problem.data, completion, style, backtracks)


def lines_of(completion: str) -> tuple[list[str], str]:
    think, answer = split_completion(completion)
    return think.split("\n"), answer


def rebuild(lines: list[str], answer: str) -> str:
    return format_completion(lines, answer)


# A small hand-made puzzle: 1. the Brit lives in the red house; 2. the green
# house is immediately left of the blue house; 3. the Dane lives in house 1.
SMALL = {
    "houses": 3,
    "attributes": [{"name": "colour", "values": ["red", "green", "blue"]},
                   {"name": "nationality", "values": ["Brit", "Swede", "Dane"]}],
    "clues": [["same", "nationality", "Brit", "colour", "red"],
              ["left_of", "colour", "green", "colour", "blue"],
              ["position", "nationality", "Dane", 1]],
}


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"houses": 2}, "houses", "must be between 3 and 6, got 2"),
        ({"houses": 7}, "houses", "must be between 3 and 6, got 7"),
        ({"attributes": 1}, "attributes", "must be between 2 and 5, got 1"),
        ({"attributes": 6}, "attributes", "must be between 2 and 5, got 6"),
        ({"clue_types": ["same", "above"]}, "clue_types", "unknown clue type 'above'; "
         "allowed: same, not_same, next_to, left_of, position"),
        ({"clue_types": ["same", "next_to"]}, "clue_types", "must include 'position' or "
         "'left_of'"),
        ({"clue_types": ["position", "position"]}, "clue_types", "must not name a clue type "
         "twice"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        ZebraConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_config_is_frozen_and_rejects_unknown_knobs() -> None:
    with pytest.raises(ValidationError, match="colours"):
        ZebraConfig(houses=4, colours=3)
    with pytest.raises(ValidationError):
        ZebraConfig().houses = 5  # type: ignore[misc]
    assert ZebraConfig(clue_types=["position", "same"]).clue_types == ("same", "position")


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_validate_generate_and_solve_within_the_budget(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert config.model_dump(include=set(PRESETS[preset])) == PRESETS[preset]
    for seed in range(3):
        problem = make_problem(seed, preset)
        assert problem.data["houses"] == config.houses
        assert len(problem.data["attributes"]) == config.attributes
        tree = solve_dfs(TASK.rules(problem.data), 20_000)
        assert tree.solution is not None
        assert tree.nodes_expanded < 20_000


# ---- generation ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_same_seed_same_problem(preset: str) -> None:
    config = TASK.make_config(preset, {})

    def make(seed: int) -> Problem:
        return TASK.generate(config, np.random.default_rng(np.random.SeedSequence(seed)), "train")

    assert make(11) == make(11)
    assert len({make(seed).id for seed in range(5)}) == 5


def brute_force(data: dict) -> list[dict[tuple[str, str], int]]:
    """Every grid that satisfies the clues, by trying all permutations (no solver used):
    each as a map (attribute, value) -> house (1-based)."""
    n = data["houses"]
    attributes = data["attributes"]
    found = []
    for perms in product(permutations(range(n)), repeat=len(attributes)):
        house = {(attr["name"], attr["values"][v]): h + 1
                 for attr, perm in zip(attributes, perms, strict=True)
                 for h, v in enumerate(perm)}
        if all(clue_true(clue, house) for clue in data["clues"]):
            found.append(house)
    return found


def clue_true(clue: list, house: dict[tuple[str, str], int]) -> bool:
    x = house[clue[1], clue[2]]
    if clue[0] == "position":
        return x == clue[3]
    y = house[clue[3], clue[4]]
    return {"same": x == y, "not_same": x != y, "next_to": abs(x - y) == 1,
            "left_of": x + 1 == y}[clue[0]]


@pytest.mark.parametrize(("houses", "attributes", "seeds"), [(3, 3, 5), (4, 3, 2), (3, 4, 2)])
def test_uniqueness_agrees_with_brute_force(houses: int, attributes: int, seeds: int) -> None:
    for seed in range(seeds):
        problem = make_problem(seed, "easy", houses=houses, attributes=attributes)
        found = brute_force(problem.data)
        assert len(found) == 1
        tree = solve_dfs(TASK.rules(problem.data), 20_000)
        assert {(m.attribute, m.value): m.house + 1 for m in solution_moves(tree)} == found[0]


def test_every_clue_is_needed_unless_redundancy_is_kept() -> None:
    for seed in range(3):
        problem = make_problem(seed)
        clues = Puzzle(problem.data).clues
        assert len(solve_grids(4, 4, clues, limit=2)) == 1
        for index in range(len(clues)):
            assert len(solve_grids(4, 4, clues[:index] + clues[index + 1 :], limit=2)) == 2
    kept = [len(make_problem(s, remove_redundant=False).data["clues"]) for s in range(3)]
    pruned = [len(make_problem(s).data["clues"]) for s in range(3)]
    assert sum(kept) > sum(pruned)


def test_solution_counter_sees_many_and_none() -> None:
    assert len(solve_grids(3, 2, [], limit=100)) == 36
    assert len(solve_grids(4, 2, [], limit=2)) == 2
    puzzle = Puzzle(SMALL)
    assert len(solve_grids(3, 2, puzzle.clues, limit=100)) == len(brute_force(SMALL)) == 1
    contradiction = (*puzzle.clues, (KINDS.index("position"), 0, 0, -1, -1, 0))  # red in 1
    assert solve_grids(3, 2, contradiction, limit=2) == []


def test_clue_types_are_respected() -> None:
    for seed in range(3):
        problem = make_problem(seed, clue_types=("left_of", "not_same"))
        assert {clue[0] for clue in problem.data["clues"]} <= {"left_of", "not_same"}
        assert len(solve_grids(4, 4, Puzzle(problem.data).clues, limit=2)) == 1


def test_clues_read_as_english() -> None:
    data = {
        "houses": 5,
        "attributes": [{"name": "colour", "values": ["red", "green", "white", "yellow", "blue"]},
                       {"name": "nationality",
                        "values": ["Brit", "Swede", "Dane", "Norwegian", "German"]},
                       {"name": "pet", "values": ["dog", "cat", "bird", "fish", "horse"]},
                       {"name": "drink", "values": ["tea", "coffee", "milk", "beer", "water"]}],
        "clues": [["same", "colour", "red", "nationality", "Brit"],
                  ["next_to", "pet", "cat", "pet", "dog"],
                  ["left_of", "colour", "green", "colour", "white"],
                  ["position", "drink", "milk", 3],
                  ["not_same", "nationality", "Swede", "colour", "yellow"],
                  ["same", "pet", "dog", "drink", "tea"],
                  ["position", "colour", "blue", 2]],
    }
    assert Puzzle(data).texts == (
        "The Brit lives in the red house",
        "The cat owner lives next to the dog owner",
        "The green house is immediately left of the white house",
        "The milk drinker lives in house 3",
        "The Swede does not live in the yellow house",
        "The dog owner is the tea drinker",
        "The blue house is house 2",
    )


def test_problem_json_round_trip_prompt_and_id() -> None:
    problem = make_problem(0)
    assert Problem.from_json(problem.to_json()) == problem
    assert problem.knobs == ZebraConfig().model_dump(mode="json")
    puzzle = Puzzle(problem.data)
    for index, text in enumerate(puzzle.texts):
        assert f"\n{index + 1}. {text}.\n" in problem.prompt + "\n"
    for name, values in zip(puzzle.names, puzzle.values, strict=True):
        assert f"- {name}: {', '.join(values)}" in problem.prompt
    assert "<answer></answer>" in problem.prompt
    assert "immediately left of" in problem.prompt.lower()
    shuffled = {**problem.data, "clues": problem.data["clues"][::-1]}
    key = {**shuffled, "clues": sorted(shuffled["clues"], key=canonical_json)}
    assert problem_id("zebra", key) == problem.id


# ---- rules -----------------------------------------------------------------------------


def all_legal_moves(rules: ZebraRules, state: tuple) -> dict[ZebraMove, tuple]:
    """Every move `apply` accepts, found by trying every house, attribute and value."""
    puzzle = rules.puzzle
    legal = {}
    for a, name in enumerate(puzzle.names):
        for h in range(puzzle.n):
            for value in puzzle.values[a]:
                move = ZebraMove(h, name, value)
                result = rules.apply(state, move)
                if not isinstance(result, Violation):
                    legal[move] = result
    return legal


@pytest.mark.parametrize("seed", [0, 1])
def test_expand_and_wider_moves_agree_with_apply(seed: int) -> None:
    problem, tree = solved(seed)
    rules = ZebraRules.from_data(problem.data)
    for node_id in tree.solution_path()[:-1]:
        state = tree.nodes[node_id].state
        children = rules.expand(state)
        assert children
        assert len({(m.house, m.attribute) for m, _ in children}) == 1
        wider = list(rules.wider_moves(state))
        legal = all_legal_moves(rules, state)
        assert {m: s for m, s in wider} == legal
        assert len(wider) == len(legal)
        for move, child in children + wider:
            assert rules.state_key(rules.apply(state, move)) == rules.state_key(child)
        assert rules.heuristic(state) == state.count(-1)


def test_states_without_children_are_dead_ends() -> None:
    for seed in range(3):
        problem, tree = solved(seed)
        rules = TASK.rules(problem.data)
        linearize_exact(tree, rules, 5, "uniform", 6)  # grafts widened branches too
        for node in tree.nodes:
            if not rules.is_goal(node.state) and not rules.expand(node.state):
                dead = rules.dead_end(node.state)
                assert dead is not None
                assert rules.confirm_dead_end(node.state, dead) is None
            if node.status == "dead_end":
                assert rules.confirm_dead_end(node.state, node.reason) is None
                # the puzzle is unique: a dead state must disagree with its one solution
                solution = tree.nodes[tree.solution].state
                assert any(0 <= v != w for v, w in zip(node.state, solution, strict=True))


def small_dead_state() -> tuple[ZebraRules, tuple]:
    rules = ZebraRules.from_data(SMALL)
    state = rules.apply(rules.initial_state(), ZebraMove(0, "colour", "red"))
    assert not isinstance(state, Violation)
    return rules, state


def test_goal_and_dead_end() -> None:
    problem, tree = solved(0)
    rules = ZebraRules.from_data(problem.data)
    assert rules.is_goal(tree.nodes[tree.solution].state)
    assert not rules.is_goal(rules.initial_state())
    assert rules.dead_end(rules.initial_state()) is None
    # Red in house 1 puts the Brit there (clue 1), yet the Dane must live there (clue 3).
    small, state = small_dead_state()
    dead = small.dead_end(state)
    assert dead == DeadEnd("no_value_fits", (1, "nationality", "Brit", "clue", 3,
                                             "Swede", "clue", 1, "Dane", "clue", 1))
    assert small.confirm_dead_end(state, dead) is None
    assert small.expand(state) == []


@pytest.mark.parametrize(
    ("detail", "complaint"),
    [
        ((1, "nationality", "Brit", "clue", 2, "Swede", "clue", 1, "Dane", "clue", 1),
         "does not break clue 2"),
        ((1, "nationality", "Brit", "clue", 3, "Swede", "clue", 1), "does not rule out Dane"),
        ((1, "nationality", "Brit", "house", 2, "Swede", "clue", 1, "Dane", "clue", 1),
         "Brit is not the nationality of house 2"),
        ((1, "nationality", "Brit", "clue", 3, "Brit", "clue", 3, "Dane", "clue", 1),
         "names Brit twice"),
        ((1, "nationality", "Brit", "clue", 9, "Swede", "clue", 1, "Dane", "clue", 1),
         "no clue 9"),
        ((2, "nationality", "Brit", "clue", 3, "Swede", "clue", 1, "Dane", "clue", 1),
         "does not break clue 3"),
        ((1, "colour", "red", "clue", 1, "green", "clue", 1, "blue", "clue", 1),
         "already has the colour red"),
        ((1, "pet", "dog", "clue", 1), "not an attribute"),
        ((4, "nationality"), "no house 4"),
        ((1, "nationality", "Brit", "clue"), "must name a house"),
    ],
)
def test_false_dead_end_claims_say_why(detail: tuple, complaint: str) -> None:
    rules, state = small_dead_state()
    assert complaint in rules.confirm_dead_end(state, DeadEnd("no_value_fits", detail))


def test_other_dead_end_codes_are_refused() -> None:
    rules, state = small_dead_state()
    assert "not a zebra dead end" in rules.confirm_dead_end(state, DeadEnd("no_candidates", (1,)))


@pytest.mark.parametrize(
    ("moves", "move", "code", "said"),
    [
        ([], ZebraMove(3, "colour", "red"), "unknown_house", "no house 4"),
        ([], ZebraMove(-1, "colour", "red"), "unknown_house", "no house 0"),
        ([], ZebraMove(0, "pet", "dog"), "unknown_attribute", "'pet'"),
        ([], ZebraMove(0, "colour", "Brit"), "unknown_value", "a nationality, not a colour"),
        ([], ZebraMove(0, "colour", "yellow"), "unknown_value", "not a colour"),
        ([ZebraMove(0, "colour", "red")], ZebraMove(0, "colour", "green"), "cell_filled",
         "house 1 already has the colour red"),
        ([ZebraMove(0, "colour", "red")], ZebraMove(1, "colour", "red"), "value_used",
         "red is already the colour of house 1"),
        ([], ZebraMove(2, "colour", "green"), "clue_violation",
         "clue 2 (The green house is immediately left of the blue house)"),
        ([], ZebraMove(1, "nationality", "Dane"), "clue_violation", "clue 3"),
    ],
)
def test_apply_names_the_broken_rule(moves: list, move: ZebraMove, code: str, said: str) -> None:
    rules = ZebraRules.from_data(SMALL)
    state = rules.initial_state()
    for earlier in moves:
        state = rules.apply(state, earlier)
    violation = rules.apply(state, move)
    assert isinstance(violation, Violation) and violation.code == code, violation
    assert said in violation.message
    assert rules.apply(state, ZebraMove(0, "COLOUR", "Red")) != state  # names: any case


@pytest.mark.parametrize("style", STYLES)
def test_step_text_reads_back_what_it_says(style: str) -> None:
    problem, tree = solved(0)
    text = ZebraText.from_data(problem.data)
    start = tree.nodes[0].state
    move = solution_moves(tree)[0]
    assert text.parse_move(text.move_phrase(move, style), style) == move
    assert text.parse_ref(text.ref_phrase(start, move, style), style) == text.ref_key(start, move)
    assert text.parse_ref(text.ref_phrase(start, None, style), style) == text.ref_key(start, None)
    small_text = ZebraText.from_data(SMALL)
    rules, state = small_dead_state()
    dead = rules.dead_end(state)
    phrase = small_text.dead_end_phrase(state, dead, style)
    assert small_text.parse_dead_end(phrase, style) == dead
    assert small_text.state_claim_error(small_text.state_phrase(state, style), state, style) \
        is None
    assert text.state_claim_error(text.state_phrase(start, style), start, style) is None
    goal = tree.nodes[tree.solution].state
    assert text.state_claim_error(text.state_phrase(goal, style), goal, style) is None
    assert "empty" in text.state_claim_error(text.state_phrase(goal, style), start, style)
    for garbage in ("", "the colour red for house 2.", "h2 colour = red", "h2 colour=red ",
                    "the colour red for house two", "h2 colour:{red,}", "No fits house 1 ()"):
        assert text.parse_move(garbage, style) is None
        assert text.parse_dead_end(garbage, style) is None
        assert text.parse_ref(garbage, style) is None
        assert text.state_claim_error(garbage, start, style) is not None


# ---- traces ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solver_traces_verify(seed: int) -> None:
    problem, tree = solved(seed)
    rules = TASK.rules(problem.data)
    traces = [linearize_natural(tree)]
    traces += [linearize_exact(tree, rules, k, "uniform", 6) for k in (0, 1, 3, 5)]
    assert [t.num_backtracks for t in traces[1:]] == [0, 1, 3, 5]
    for trace in traces:
        for style in STYLES:
            completion = completion_for(problem, tree, trace, style)
            verdict = verify(problem, completion, style, trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


def test_hard_and_easy_traces_verify() -> None:
    for preset in ("easy", "hard"):
        problem, tree = solved(0, preset)
        trace = linearize_exact(tree, TASK.rules(problem.data), 3, "uniform", 6)
        for style in STYLES:
            completion = completion_for(problem, tree, trace, style)
            assert verify(problem, completion, style, 3).ok, completion


def test_dead_end_branches_run_several_moves() -> None:
    lengths = []
    for seed in range(4):
        _, _, trace = rendered(seed, 5, "compact")
        lengths += trace.dead_end_lengths
    assert max(lengths) >= 3
    assert sum(length > 1 for length in lengths) >= len(lengths) // 3


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


_MOVE_LINE = {
    "natural": re.compile(
        r"^((?:Let me try|Next, try|Then try|Instead, let me try) )(.+?)(\. .+)$"),
    "compact": re.compile(r"^(try )(.+?)( -> .+)$"),
}


def replace_move(line: str, style: str, move: ZebraMove) -> str:
    phrase = ZebraText.from_data(SMALL).move_phrase(move, style)
    replaced = _MOVE_LINE[style].sub(lambda m: m.group(1) + phrase + m.group(3), line)
    assert replaced != line
    return replaced


def state_before(problem: Problem, lines: list[str], style: str, index: int) -> tuple:
    """The state after the move lines before line `index` (no backtrack among them)."""
    rules, text = TASK.rules(problem.data), TASK.step_text(problem.data)
    state = rules.initial_state()
    for line in lines[:index]:
        state = rules.apply(state, text.parse_move(_MOVE_LINE[style].match(line).group(2), style))
    return state


def illegal_move(problem: Problem, state: tuple, code: str) -> ZebraMove:
    """A move `apply` rejects with `code` in `state` (names outside the puzzle made up)."""
    puzzle = Puzzle(problem.data)
    rules = ZebraRules(puzzle)
    if code == "unknown_house":
        return ZebraMove(puzzle.n, puzzle.names[0], puzzle.values[0][0])
    if code == "unknown_attribute":
        return ZebraMove(0, "shoe", puzzle.values[0][0])
    if code == "unknown_value":
        return ZebraMove(0, puzzle.names[0], puzzle.values[1][0])
    for a, name in enumerate(puzzle.names):
        for h in range(puzzle.n):
            for value in puzzle.values[a]:
                move = ZebraMove(h, name, value)
                result = rules.apply(state, move)
                if isinstance(result, Violation) and result.code == code:
                    return move
    raise AssertionError(f"no {code} move in this state")


RULE_CODES = ["unknown_house", "unknown_attribute", "unknown_value", "cell_filled",
              "value_used", "clue_violation"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", RULE_CODES)
def test_each_broken_rule_is_rejected(style: str, code: str) -> None:
    problem, completion, trace = rendered(0, 1, style)
    lines, answer = lines_of(completion)
    after_first = state_before(problem, lines, style, 1)
    lines[1] = replace_move(lines[1], style, illegal_move(problem, after_first, code))
    verdict = verify(problem, rebuild(lines, answer), style, trace.num_backtracks)
    assert verdict.code == code and verdict.line == 1, verdict


@pytest.mark.parametrize("style", STYLES)
def test_an_illegal_move_inside_a_dead_end_branch_is_rejected(style: str) -> None:
    problem, completion, trace = rendered(0, 3, style)
    lines, answer = lines_of(completion)
    dead_at = next(i for i, s in enumerate(trace.steps) if s.kind == DEAD_END)
    assert trace.dead_end_lengths[0] >= 2  # so the line before the dead end is inside it
    assert all(trace.steps[i].kind == MOVE for i in range(dead_at))
    state = state_before(problem, lines, style, dead_at - 1)
    lines[dead_at - 1] = replace_move(lines[dead_at - 1], style,
                                      illegal_move(problem, state, "clue_violation"))
    verdict = verify(problem, rebuild(lines, answer), style, trace.num_backtracks)
    assert verdict.code == "clue_violation" and verdict.line == dead_at - 1, verdict


def dead_line(style: str, phrase: str) -> str:
    return f"dead: {phrase}" if style == "compact" else f"{phrase}, so this is a dead end."


def back_line(style: str, phrase: str) -> str:
    return f"back to {phrase}" if style == "compact" else f"Let me go back to {phrase}."


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claim_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(0, 0, style)
    rules, text = TASK.rules(problem.data), TASK.step_text(problem.data)
    lines, answer = lines_of(completion)
    state = state_before(problem, lines, style, 1)
    assert rules.dead_end(state) is None
    cell = state.index(-1)
    puzzle = Puzzle(problem.data)
    a, h = divmod(cell, puzzle.n)
    detail = (h + 1, puzzle.names[a],
              *(x for value in puzzle.values[a] for x in (value, "clue", 1)))
    said = text.dead_end_phrase(state, DeadEnd("no_value_fits", detail), style)
    back = text.ref_phrase(rules.initial_state(), None, style)
    lines[1:1] = [dead_line(style, said), back_line(style, back)]
    verdict = verify(problem, rebuild(lines, answer), style, 1)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(1, 0, style)
    text = TASK.step_text(problem.data)
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
    else:
        claim = f"Now house {h + 1}'s {puzzle.names[a]} can only be {', '.join(wrong[:-1])} " \
                f"or {wrong[-1]}"
    assert text.state_claim_error(claim, state, style) is not None
    match = _MOVE_LINE[style].match(lines[0])
    tail = " -> " if style == "compact" else ". "
    lines[0] = match.group(1) + match.group(2) + tail + claim + ("" if style == "compact" else ".")
    verdict = verify(problem, rebuild(lines, answer), style, 0)
    assert verdict.code == "wrong_state" and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_off_the_path_is_rejected(style: str) -> None:
    problem, completion, trace = rendered(0, 1, style)
    _, tree = solved(0)
    text = TASK.step_text(problem.data)
    lines, answer = lines_of(completion)
    index = trace.backtrack_positions[0]
    on_path = {text.ref_key(tree.nodes[n].state, tree.nodes[n].move)
               for n in tree.path_to(trace.steps[index - 1].node)}
    later = next(tree.nodes[n] for n in tree.solution_path()[::-1]
                 if text.ref_key(tree.nodes[n].state, tree.nodes[n].move) not in on_path)
    lines[index] = back_line(style, text.ref_phrase(later.state, later.move, style))
    verdict = verify(problem, rebuild(lines, answer), style, 1)
    assert verdict.code == "backtrack_off_path" and verdict.line == index, verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("k", [1, 3])
def test_miscounted_backtracks_are_rejected(style: str, k: int) -> None:
    problem, completion, _ = rendered(2, k, style)
    assert verify(problem, completion, style, k).ok
    for wrong in (k - 1, k + 1):
        assert verify(problem, completion, style, wrong).code == "backtrack_count"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_final_answer_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(0, 0, style)
    head, _, rest = completion.partition("<answer>")
    rows = rest.removesuffix("</answer>").split("\n")
    first, second = rows[0].split(": ")[1].split(", "), rows[1].split(": ")[1].split(", ")
    first[0], second[0] = second[0], first[0]
    rows[0], rows[1] = "House 1: " + ", ".join(first), "House 2: " + ", ".join(second)
    verdict = verify(problem, head + "<answer>" + "\n".join(rows) + "</answer>", style, 0)
    assert verdict.code == "wrong_answer", verdict


# ---- answers ---------------------------------------------------------------------------


def answer_rows(seed: int) -> tuple[Problem, list[list[str]]]:
    problem, tree = solved(seed)
    text = TASK.answer(problem.data, solution_moves(tree))
    return problem, [line.split(": ")[1].split(", ") for line in text.split("\n")]


def test_check_answer_accepts_the_solution_in_several_layouts() -> None:
    problem, rows = answer_rows(0)
    names = [a["name"] for a in problem.data["attributes"]]
    layouts = [
        "\n".join(f"House {h + 1}: {', '.join(row)}" for h, row in enumerate(rows)),
        "\n".join(f"house {h + 1} - {' | '.join(row[::-1]).lower()}" for h, row in
                  enumerate(rows)),
        "| house | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
        + "\n".join(f"| {h + 1} | " + " | ".join(row) + " |" for h, row in enumerate(rows)),
        "\n".join(f"{h + 1}. " + ", ".join(f"{n}={v}" for n, v in zip(names, row, strict=True))
                  for h, row in reversed(list(enumerate(rows)))),
        "\n".join(" ".join(row) for row in rows),
        "Thinking.\n<answer>not yet</answer>\n<answer>\n"
        + "\n".join(f"House {h + 1}: {', '.join(row)}" for h, row in enumerate(rows))
        + "\n</answer>",
    ]
    for text in layouts:
        assert check_answer(problem.data, text).ok, text


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        ("swap", "clue_broken"),
        ("drop", "incomplete"),
        ("repeat", "value_repeated"),
        ("two_in_a_cell", "cell_conflict"),
        ("house_9", "unknown_house"),
        ("house_twice", "house_repeated"),
        ("garbage", "unparsable_answer"),
    ],
)
def test_check_answer_rejects(edit: str, code: str) -> None:
    problem, rows = answer_rows(0)
    numbers = list(range(1, len(rows) + 1))
    if edit == "swap":
        rows[0][1], rows[1][1] = rows[1][1], rows[0][1]
    elif edit == "drop":
        rows[2].pop()
    elif edit == "repeat":
        rows[1][0] = rows[0][0]
    elif edit == "two_in_a_cell":
        rows[1].append(rows[0][0])
        rows[0].pop(0)
    elif edit == "house_9":
        numbers[-1] = 9
    elif edit == "house_twice":
        numbers[-1] = 1
    text = "\n".join(f"House {h}: {', '.join(row)}" for h, row in zip(numbers, rows, strict=True))
    if edit == "garbage":
        text = "I do not know"
    assert check_answer(problem.data, f"<answer>{text}</answer>").code == code


def test_check_answer_rejects_non_text_and_long_text() -> None:
    problem, _ = solved(0)
    assert check_answer(problem.data, None).code == "not_text"  # type: ignore[arg-type]
    assert check_answer(problem.data, "red " * 2000).code == "too_long"


# ---- never raising on arbitrary text ---------------------------------------------------

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
def test_verifier_never_raises_on_random_text(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Random lines spliced into a real trace, so they meet states deep in the search."""
    problem, real, _ = rendered(0, 1, style)
    real_lines = split_completion(real)[0].split("\n")
    think = [*real_lines[:cut], *lines, *real_lines[cut:]]
    completion = "<think>\n" + "\n".join(think) + "\n</think>\n<answer>" + answer + "</answer>"
    verdict = verify(problem, completion, style, None)
    assert verdict.code != "verifier_error", verdict


_answer_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(_words, _numbers.map(str), st.sampled_from([":", ",", "|", "\n",
                                                                    "House"])),
             max_size=40).map(" ".join),
)


@settings(max_examples=150, deadline=None)
@given(text=_answer_text)
def test_check_answer_never_raises(text: str) -> None:
    problem, _ = solved(0)
    assert isinstance(check_answer(problem.data, text).ok, bool)
    assert isinstance(check_answer(problem.data, f"<answer>{text}</answer>").ok, bool)
