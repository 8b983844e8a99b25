"""Graph coloring: config validation, colorable graphs, rules, traces that verify, rejections."""

from __future__ import annotations

import json
import re
from functools import cache
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import STYLES, DeadEnd, Problem, problem_id
from searchtrace.tasks.coloring.generate import PRESETS, ColoringConfig
from searchtrace.tasks.coloring.rules import (
    COLOR_NAMES,
    ColoringMove,
    ColoringRules,
    ColoringText,
    check_answer,
)
from searchtrace.traces.linearize import NotEnoughDeadEnds, linearize_exact, linearize_natural
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import DEAD_END, MOVE, Trace
from searchtrace.traces.tree import SearchTree

TASK = get_task("coloring")
TRACE_SEEDS = {"easy": [1, 3, 5], "medium": [0, 1, 2, 4], "hard": [0]}  # 5 sound dead ends


@cache
def make_problem(preset: str, seed: int) -> Problem:
    """The problem the generator makes from `seed` (it never skips one)."""
    config = TASK.make_config(preset, {})
    return TASK.generate(config, np.random.default_rng(np.random.SeedSequence(seed)), "train")


@cache
def solved(preset: str, seed: int) -> tuple[Problem, SearchTree]:
    problem = make_problem(preset, seed)
    return problem, solve_dfs(TASK.rules(problem.data), 20_000)


def completion_for(problem: Problem, tree: SearchTree, trace: Trace, style: str) -> str:
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    think = render_think_lines(trace, tree, TASK.step_text(problem.data), style, salt=0)
    return format_completion(think, TASK.answer(problem.data, moves))


@cache
def rendered(preset: str, seed: int, k: int, style: str) -> tuple[Problem, str, Trace]:
    problem, tree = solved(preset, seed)
    trace = linearize_exact(tree, TASK.rules(problem.data), k, "uniform", 6)
    return problem, completion_for(problem, tree, trace, style), trace


def verify(problem: Problem, completion: str, style: str, backtracks: int | None):
    return verify_completion(TASK, problem.data, completion, style, backtracks)


def is_proper(data: dict, colors: list[int]) -> bool:
    return (len(colors) == data["nodes"] and all(1 <= c <= data["colors"] for c in colors)
            and all(colors[u - 1] != colors[v - 1] for u, v in data["edges"]))


def brute_force_colorable(data: dict) -> bool:
    """Whether any assignment of k colors to the n nodes is proper (no search involved)."""
    k = data["colors"]
    return any(is_proper(data, list(colors))
               for colors in product(range(1, k + 1), repeat=data["nodes"]))


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"nodes": 3}, "nodes", "must be between 4 and 40, got 3"),
        ({"nodes": 41}, "nodes", "must be between 4 and 40, got 41"),
        ({"density": 0}, "density", "must be greater than 0 and at most 1, got 0"),
        ({"density": 1.5}, "density", "must be greater than 0 and at most 1, got 1.5"),
        ({"colors": 1}, "colors", "must be between 2 and 8, got 1"),
        ({"colors": 9}, "colors", "must be between 2 and 8, got 9"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        ColoringConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_config_is_frozen_and_rejects_unknown_knobs() -> None:
    with pytest.raises(ValidationError, match="colours"):
        ColoringConfig(colours=3)
    with pytest.raises(ValidationError):
        ColoringConfig().nodes = 20  # type: ignore[misc]
    assert ColoringConfig(density=1).density == 1


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_validate_and_generate_from_every_seed(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert config.model_dump() == PRESETS[preset]
    for seed in range(20):
        TASK.generate(config, np.random.default_rng(seed), "test")  # never skipped


# ---- generation ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_same_seed_same_problem(preset: str) -> None:
    config = TASK.make_config(preset, {"density": 0.2})

    def make(seed: int) -> Problem:
        return TASK.generate(config, np.random.default_rng(np.random.SeedSequence(seed)), "train")

    assert make(11) == make(11)
    assert len({make(seed).id for seed in range(5)}) > 1


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_graphs_are_well_formed_and_colorable(preset: str) -> None:
    for seed in range(4):
        problem = make_problem(preset, seed)
        data = problem.data
        n = data["nodes"]
        assert (n, data["colors"]) == (PRESETS[preset]["nodes"], PRESETS[preset]["colors"])
        edges = [tuple(e) for e in data["edges"]]
        assert edges == sorted(set(edges))
        assert all(1 <= u < v <= n for u, v in edges)
        assert problem.id == problem_id("coloring", data)
        assert problem.knobs == PRESETS[preset]
        _, tree = solved(preset, seed)
        final = list(tree.nodes[tree.solution].state)
        assert is_proper(data, final)


def test_every_graph_is_colorable_by_construction() -> None:
    """Dense small graphs, where most random graphs would need more colors, all color, as
    trying every assignment shows; so does the densest graph a planted coloring allows."""
    for knobs in ({"nodes": 7, "density": 0.9, "colors": 3},
                  {"nodes": 8, "density": 1, "colors": 2},
                  {"nodes": 6, "density": 1, "colors": 4}):
        config = ColoringConfig(**knobs)
        for seed in range(15):
            data = TASK.generate(config, np.random.default_rng(seed), "train").data
            assert brute_force_colorable(data), data
    big = ColoringConfig(nodes=40, density=1, colors=8)
    data = TASK.generate(big, np.random.default_rng(0), "train").data
    assert TASK.rules(data).solvable((0,) * 40)


def test_planted_classes_are_balanced_and_never_joined_inside() -> None:
    """At density 1 every pair of nodes in different hidden classes is joined: with classes
    as even as possible (7 nodes, 3 colors: sizes 3, 2, 2), that is 21 - 3 - 1 - 1 edges,
    and the graph's complement is exactly those classes' cliques."""
    for seed in range(10):
        data = TASK.generate(ColoringConfig(nodes=7, density=1, colors=3),
                             np.random.default_rng(seed), "train").data
        assert len(data["edges"]) == 16
        joined = {tuple(e) for e in data["edges"]}
        apart = [(u, v) for u in range(1, 8) for v in range(u + 1, 8) if (u, v) not in joined]
        classes: list[set[int]] = []
        for u, v in apart:
            home = next((c for c in classes if u in c or v in c), None)
            if home is None:
                classes.append({u, v})
            else:
                home |= {u, v}
        assert sorted(len(c) for c in classes) == [2, 2, 3]


def test_easy_has_room_for_a_default_build() -> None:
    """1,500 easy draws (more than the default 1,000 + 100 rows) repeat under 5% of the
    time, so deduplication costs a default build little."""
    config = TASK.make_config("easy", {})
    ids = {TASK.generate(config, np.random.default_rng(np.random.SeedSequence(0, spawn_key=(i,))),
                         "train").id for i in range(1_500)}
    assert len(ids) > 0.95 * 1_500


def test_nodes_are_numbered_in_maximum_cardinality_order() -> None:
    """Node 1 has the highest degree; every later node has at least as many lower-numbered
    neighbors as any node after it."""
    for seed in range(4):
        data = make_problem("medium", seed).data
        n = data["nodes"]
        adj = {v: set() for v in range(1, n + 1)}
        for u, v in data["edges"]:
            adj[u].add(v)
            adj[v].add(u)
        assert len(adj[1]) == max(len(a) for a in adj.values())
        for i in range(2, n + 1):
            earlier = set(range(1, i))
            assert all(len(adj[i] & earlier) >= len(adj[j] & earlier) for j in range(i, n + 1))


def test_problem_json_round_trip_and_prompt() -> None:
    problem = make_problem("medium", 0)
    assert Problem.from_json(problem.to_json()) == problem
    u, v = problem.data["edges"][0]
    assert f"{u}-{v}" in problem.prompt
    assert "red (R), green (G), blue (B)." in problem.prompt
    assert "yellow" not in problem.prompt
    assert "<answer></answer>" in problem.prompt
    json.dumps(problem.data)


# ---- rules -----------------------------------------------------------------------------

# Node 4 touches 1, 2 and 3; 1-2 is an edge: with 1, 2, 3 colored red, green, blue, node 4
# has no color left.
SMALL = {"nodes": 5, "colors": 3, "edges": [[1, 2], [1, 4], [2, 4], [3, 4], [4, 5]]}


def reachable_states(data: dict, seed: int, walks: int = 30) -> list:
    """States met on random walks through every legal move, from the start."""
    rules = ColoringRules.from_data(data)
    rng = np.random.default_rng(seed)
    states = []
    for _ in range(walks):
        state = rules.initial_state()
        while True:
            states.append(state)
            moves = list(rules.wider_moves(state))
            if not moves:
                break
            state = moves[int(rng.integers(len(moves)))][1]
    return states


@pytest.mark.parametrize("preset", ["easy", "medium"])
def test_expand_and_wider_moves_agree_with_apply(preset: str) -> None:
    data = make_problem(preset, 0).data
    rules = ColoringRules.from_data(data)
    n, k = data["nodes"], data["colors"]
    for state in reachable_states(data, 0):
        children = rules.expand(state)
        wider = list(rules.wider_moves(state))
        assert wider[: len(children)] == children
        legal = [(node, c) for node in range(1, n + 1) for c in range(1, k + 1)
                 if isinstance(rules.apply(state, ColoringMove(node, c)), tuple)]
        assert sorted((m.node, m.color) for m, _ in wider) == legal
        if children:
            assert {m.node for m, _ in children} == {state.index(0) + 1}
        for move, child in children + wider:
            assert rules.state_key(rules.apply(state, move)) == rules.state_key(child)
        if not children and not rules.is_goal(state):
            assert rules.dead_end(state) is not None
        assert rules.heuristic(state) == state.count(0)


def test_expand_tries_least_constraining_colors_first() -> None:
    rules = ColoringRules.from_data(SMALL)
    # Node 2 (neighbors 1 and 4) may be green or blue. With node 3 green, node 4 can only
    # be blue: green for node 2 costs node 4 nothing, so it comes first; with node 3 blue,
    # the other way round.
    state = (1, 0, 2, 0, 0)
    assert [m.color for m, _ in rules.expand(state)] == [2, 3]
    state = (1, 0, 3, 0, 0)
    assert [m.color for m, _ in rules.expand(state)] == [3, 2]


def test_goal_dead_end_and_heuristic_along_the_path() -> None:
    problem, tree = solved("medium", 0)
    rules = ColoringRules.from_data(problem.data)
    path = [tree.nodes[n].state for n in tree.solution_path()]
    assert rules.is_goal(path[-1]) and not rules.is_goal(path[0])
    assert [rules.heuristic(s) for s in path] == list(range(len(path) - 1, -1, -1))
    assert all(rules.dead_end(s) is None for s in path)


def test_dead_end_names_checkable_evidence() -> None:
    rules = ColoringRules.from_data(SMALL)
    state = (1, 2, 3, 0, 0)
    dead = rules.dead_end(state)
    assert dead == DeadEnd("no_color_left", (4, 1, 1, 2, 2, 3, 3))
    assert rules.confirm_dead_end(state, dead) is None
    assert rules.expand(state) == []
    assert rules.dead_end((1, 2, 1, 0, 0)) is None
    claims = {
        (4, 1, 1, 2, 2, 3, 3): None,
        (4, 2, 2, 3, 3, 1, 1): None,  # any order of the same evidence
        (5, 1, 1, 2, 2, 3, 3): "not a neighbor",
        (1, 2, 2, 4, 1, 3, 3): "already red",
        (4, 1, 1, 2, 3, 3, 3): "node 2 is green, not blue",
        (4, 1, 1, 2, 2): "do not use blue",
        (4, 1, 1, 5, 2, 3, 3): "node 5 is uncolored, not green",
        (4, 1, 1, 2, 2, 9, 3): "node 9 is not a neighbor",
        (9, 1, 1): "not in the graph",
        (4, 1): "must name a node",
    }
    for detail, why in claims.items():
        said = rules.confirm_dead_end(state, DeadEnd("no_color_left", detail))
        assert (said is None) if why is None else (why in said), (detail, said)
    assert "not a graph coloring dead end" in rules.confirm_dead_end(
        state, DeadEnd("no_candidates", (4,)))
    uncolored_neighbor = rules.confirm_dead_end((1, 2, 0, 0, 0),
                                                DeadEnd("no_color_left", (4, 1, 1, 2, 2, 3, 3)))
    assert "node 3 is uncolored" in uncolored_neighbor


@pytest.mark.parametrize(
    ("move", "code", "says"),
    [
        (ColoringMove(6, 1), "unknown_node", "node 6 is not in the graph"),
        (ColoringMove(0, 1), "unknown_node", "node 0"),
        (ColoringMove(2, 4), "unknown_color", "yellow is not one of the 3 colors"),
        (ColoringMove(2, 0), "unknown_color", "not one of the 3 colors"),
        (ColoringMove(1, 2), "node_colored", "node 1 is already red"),
        (ColoringMove(2, 1), "color_clash", "edge 1-2"),
        (ColoringMove(5, 3), "color_clash", "neighbor 4 would both be blue (edge 4-5)"),
    ],
)
def test_apply_names_the_broken_rule(move: ColoringMove, code: str, says: str) -> None:
    rules = ColoringRules.from_data(SMALL)
    violation = rules.apply((1, 0, 0, 3, 0), move)
    assert getattr(violation, "code", None) == code, violation
    assert says in violation.message


def test_any_uncolored_node_may_be_colored_next() -> None:
    rules = ColoringRules.from_data(SMALL)
    assert rules.apply(rules.initial_state(), ColoringMove(5, 2)) == (0, 0, 0, 0, 2)


@pytest.mark.parametrize("style", STYLES)
def test_step_text_reads_back_what_it_says(style: str) -> None:
    text = ColoringText.from_data(SMALL)
    start = (0,) * 5
    for move in (ColoringMove(4, 3), ColoringMove(1, 1)):
        assert text.parse_move(text.move_phrase(move, style), style) == move
        assert text.parse_ref(text.ref_phrase(start, move, style), style) == text.ref_key(
            start, move)
    assert text.parse_ref(text.ref_phrase(start, None, style), style) == text.ref_key(start, None)
    state = (1, 2, 3, 0, 0)
    dead = DeadEnd("no_color_left", (4, 1, 1, 2, 2, 3, 3))
    assert text.parse_dead_end(text.dead_end_phrase(state, dead, style), style) == dead
    for s in (start, (1, 0, 0, 0, 0), (1, 2, 0, 0, 0), state, (1, 2, 1, 3, 1)):
        assert text.state_claim_error(text.state_phrase(s, style), s, style) is None
    said = text.state_phrase(state, style)
    assert "4" in said
    assert text.state_claim_error(said, (1, 2, 1, 0, 0), style) is not None
    assert "not" in text.state_claim_error(text.state_phrase((1, 2, 1, 3, 1), style), state,
                                           style)
    for garbage in ("", "coloring node 4 red.", "4=R ", "4 = R", "coloring node 4 magenta",
                    "4=X", "4:{R,}", "Node 4 has no color left: its neighbors 1 are red",
                    "4 blocked by 1=R,2=Q", "the point where node 4 was colored teal"):
        assert text.parse_move(garbage, style) is None
        assert text.parse_dead_end(garbage, style) is None
        assert text.parse_ref(garbage, style) is None
        assert text.state_claim_error(garbage, start, style) is not None


def test_natural_phrases_name_colors_and_compact_uses_initials() -> None:
    text = ColoringText.from_data(SMALL)
    assert text.move_phrase(ColoringMove(4, 3), "natural") == "coloring node 4 blue"
    assert text.move_phrase(ColoringMove(4, 3), "compact") == "4=B"
    assert text.state_phrase((1, 0, 0, 0, 0), "natural") == "Now node 2 can be green or blue"
    assert text.state_phrase((1, 0, 0, 3, 0), "natural") == "Now node 2 must be green"
    assert text.state_phrase((1, 2, 3, 0, 0), "natural") == "Now node 4 has no color left"
    assert text.state_phrase((1, 0, 0, 0, 0), "compact") == "2:{G,B}"
    assert text.state_phrase((1, 2, 1, 3, 1), "compact") == "done"
    dead = DeadEnd("no_color_left", (4, 1, 1, 2, 2, 3, 3))
    assert text.dead_end_phrase((1, 2, 3, 0, 0), dead, "natural") == (
        "Node 4 has no color left: its neighbors 1, 2 and 3 are red, green and blue")
    assert text.dead_end_phrase((1, 2, 3, 0, 0), dead, "compact") == "4 blocked by 1=R,2=G,3=B"


# ---- traces ----------------------------------------------------------------------------


@pytest.mark.parametrize(("preset", "seed"),
                         [(p, s) for p, seeds in TRACE_SEEDS.items() for s in seeds])
def test_solver_traces_verify(preset: str, seed: int) -> None:
    problem, tree = solved(preset, seed)
    rules = TASK.rules(problem.data)
    traces = [linearize_natural(tree)]
    traces += [linearize_exact(tree, rules, k, "uniform", 6) for k in (0, 1, 3, 5)]
    traces += [linearize_exact(tree, rules, 3, placement, 6) for placement in ("early", "late")]
    assert [t.num_backtracks for t in traces[1:5]] == [0, 1, 3, 5]
    for trace in traces:
        for style in STYLES:
            completion = completion_for(problem, tree, trace, style)
            verdict = verify(problem, completion, style, trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


def test_hard_graphs_solve_within_the_budget() -> None:
    for seed in range(6):
        _, tree = solved("hard", seed)
        assert tree.solution is not None and tree.nodes_expanded < 20_000


def test_medium_graphs_supply_five_dead_ends() -> None:
    config = TASK.make_config("medium", {})
    short = 0
    for seed in range(60):
        problem = TASK.generate(config, np.random.default_rng(seed), "train")
        rules = TASK.rules(problem.data)
        try:
            linearize_exact(solve_dfs(rules, 20_000), rules, 5, "uniform", 6)
        except NotEnoughDeadEnds:
            short += 1
    assert short <= 6


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


_MOVE_LINE = {
    "natural": re.compile(
        r"^((?:Let me try|Next, try|Then try|Instead, let me try) )(.+?)(\. .+)$"),
    "compact": re.compile(r"^(try )(.+?)( -> .+)$"),
}


def think_lines(completion: str) -> list[str]:
    return split_completion(completion)[0].split("\n")


def with_think(completion: str, lines: list[str]) -> str:
    answer = split_completion(completion)[1]
    return format_completion(lines, answer)


def replace_move(line: str, style: str, phrase: str) -> str:
    return _MOVE_LINE[style].sub(lambda m: m.group(1) + phrase + m.group(3), line)


def path_moves(preset: str, seed: int) -> list[ColoringMove]:
    _, tree = solved(preset, seed)
    return [tree.nodes[n].move for n in tree.solution_path()[1:]]


def illegal_second_moves(preset: str, seed: int) -> dict[str, ColoringMove]:
    """One illegal replacement for the solution's second move per rule, after its first."""
    data = make_problem(preset, seed).data
    first = path_moves(preset, seed)[0]
    neighbor = next(v if u == first.node else u for u, v in data["edges"]
                    if first.node in (u, v))
    return {
        "unknown_node": ColoringMove(data["nodes"] + 1, 1),
        "unknown_color": ColoringMove(2, data["colors"] + 1),
        "node_colored": ColoringMove(first.node, first.color % data["colors"] + 1),
        "color_clash": ColoringMove(neighbor, first.color),
    }


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", ["unknown_node", "unknown_color", "node_colored", "color_clash"])
def test_illegal_move_is_rejected(style: str, code: str) -> None:
    problem, completion, _ = rendered("medium", 0, 0, style)
    text = TASK.step_text(problem.data)
    lines = think_lines(completion)
    move = illegal_second_moves("medium", 0)[code]
    lines[1] = replace_move(lines[1], style, text.move_phrase(move, style))
    verdict = verify(problem, with_think(completion, lines), style, 0)
    assert verdict.code == code and verdict.line == 1, verdict


@pytest.mark.parametrize("style", STYLES)
def test_illegal_move_inside_a_dead_end_branch_is_rejected(style: str) -> None:
    problem, tree = solved("medium", 0)
    _, completion, trace = rendered("medium", 0, 5, style)
    text = TASK.step_text(problem.data)
    for index, step in enumerate(trace.steps):
        if step.kind != DEAD_END:
            continue
        parent_state = tree.nodes[tree.nodes[trace.steps[index - 1].node].parent].state
        if any(parent_state):
            break
    else:
        raise AssertionError("no dead end after a colored node")
    assert trace.steps[index - 1].kind == MOVE
    colored = next(i for i, c in enumerate(parent_state) if c)
    bad = ColoringMove(colored + 1, parent_state[colored])
    lines = think_lines(completion)
    lines[index - 1] = replace_move(lines[index - 1], style, text.move_phrase(bad, style))
    verdict = verify(problem, with_think(completion, lines), style, 5)
    assert verdict.code == "node_colored" and verdict.line == index - 1, verdict


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claim_is_rejected(style: str) -> None:
    problem, completion, _ = rendered("medium", 0, 0, style)
    rules, text = TASK.rules(problem.data), TASK.step_text(problem.data)
    first = path_moves("medium", 0)[0]
    state = rules.apply(rules.initial_state(), first)
    # Node 2 is uncolored after the first move, and only one color is used: never dead.
    fake = DeadEnd("no_color_left", (2, first.node, first.color, 3, 2, 4, 3))
    said = text.dead_end_phrase(state, fake, style)
    dead_line = f"dead: {said}" if style == "compact" else f"{said}, so this is a dead end."
    back = text.ref_phrase(rules.initial_state(), None, style)
    back_line = f"back to {back}" if style == "compact" else f"Let me go back to {back}."
    lines = think_lines(completion)
    lines[1:1] = [dead_line, back_line]
    verdict = verify(problem, with_think(completion, lines), style, 1)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict


@pytest.mark.parametrize("style", STYLES)
def test_wrong_stated_state_is_rejected(style: str) -> None:
    problem, completion, _ = rendered("medium", 1, 0, style)
    rules, text = TASK.rules(problem.data), TASK.step_text(problem.data)
    first = path_moves("medium", 1)[0]
    state = rules.apply(rules.initial_state(), first)
    lines = think_lines(completion)
    right = text.state_phrase(state, style)
    # Claim node 2 can take every color, though node 1's color is taken from it.
    wrong = "2:{R,G,B}" if style == "compact" else "Now node 2 can be red, green or blue"
    assert right in lines[0] and right != wrong
    lines[0] = lines[0].replace(right, wrong)
    verdict = verify(problem, with_think(completion, lines), style, 0)
    assert verdict.code == "wrong_state" and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_off_the_path_is_rejected(style: str) -> None:
    problem, completion, trace = rendered("medium", 0, 1, style)
    text = TASK.step_text(problem.data)
    first = path_moves("medium", 0)[0]
    other = ColoringMove(first.node, first.color % problem.data["colors"] + 1)
    ref = text.ref_phrase(None, other, style)
    lines = think_lines(completion)
    index = trace.backtrack_positions[0]
    lines[index] = f"back to {ref}" if style == "compact" else f"Let me go back to {ref}."
    verdict = verify(problem, with_think(completion, lines), style, 1)
    assert verdict.code == "backtrack_off_path" and verdict.line == index, verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("k", [1, 3])
def test_miscounted_backtracks_are_rejected(style: str, k: int) -> None:
    problem, completion, _ = rendered("medium", 2, k, style)
    assert verify(problem, completion, style, k).ok
    for wrong in (k - 1, k + 1):
        assert verify(problem, completion, style, wrong).code == "backtrack_count"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_final_answer_is_rejected(style: str) -> None:
    problem, completion, _ = rendered("medium", 0, 0, style)
    u, v = problem.data["edges"][0]
    answer = split_completion(completion)[1]
    colors = dict(pair.split(":") for pair in answer.split())
    colors[str(v)] = colors[str(u)]
    wrong = " ".join(f"{node}:{color}" for node, color in colors.items())
    verdict = verify(problem, completion.replace(answer, wrong), style, 0)
    assert verdict.code == "wrong_answer" and "both" in verdict.message, verdict


# ---- answers ---------------------------------------------------------------------------


def solution_colors(preset: str, seed: int) -> tuple[Problem, list[str]]:
    problem, tree = solved(preset, seed)
    return problem, [COLOR_NAMES[c - 1] for c in tree.nodes[tree.solution].state]


def test_answer_is_every_node_with_its_color_name() -> None:
    problem, names = solution_colors("medium", 0)
    expected = " ".join(f"{i}:{name}" for i, name in enumerate(names, start=1))
    assert TASK.answer(problem.data, path_moves("medium", 0)) == expected
    with pytest.raises(ValueError, match="uncolored"):
        TASK.answer(problem.data, path_moves("medium", 0)[:-1])


def test_check_answer_accepts_the_solution_in_several_formats() -> None:
    problem, names = solution_colors("medium", 0)
    pairs = list(enumerate(names, start=1))
    formats = [
        " ".join(f"{i}:{c}" for i, c in pairs),
        ", ".join(f"{i}={c[0].upper()}" for i, c in pairs),
        "\n".join(f"Node {i}: {c.capitalize()}" for i, c in pairs),
        "; ".join(f"node {i} is {c}" for i, c in reversed(pairs)),
        json.dumps({str(i): c for i, c in pairs}),
        "\n".join(f"{i} - {c.upper()}" for i, c in pairs) + ".",
    ]
    for body in formats:
        for text in (body, f"<answer>{body}</answer>",
                     f"I think.\n<answer>1:red</answer> so <answer>\n{body}\n</answer>"):
            assert check_answer(problem.data, text).ok, text


def test_check_answer_rejects() -> None:
    problem, names = solution_colors("medium", 0)
    data = problem.data
    n = data["nodes"]
    u, v = data["edges"][0]

    def answer(colors: dict[int, str]) -> str:
        return " ".join(f"{i}:{c}" for i, c in colors.items())

    right = dict(enumerate(names, start=1))
    cases = {
        "color_clash": answer({**right, v: right[u]}),
        "missing_node": answer({i: c for i, c in right.items() if i != n}),
        "unknown_node": answer({**right, n + 1: "red"}),
        "unknown_color": answer({**right, 1: "yellow"}),
        "conflicting_colors": answer(right) + f" 1:{'green' if right[1] != 'green' else 'red'}",
        "unparsable_answer": "I could not find a coloring",
    }
    for code, text in cases.items():
        verdict = check_answer(data, f"<answer>{text}</answer>")
        assert verdict.code == code, (code, verdict)
    assert check_answer(data, answer({**right, 1: "magenta"})).code == "unknown_color"
    assert check_answer(data, "<answer></answer>").code == "unparsable_answer"
    assert check_answer(data, None).code == "not_text"  # type: ignore[arg-type]
    assert check_answer(data, "1:red " * 500).code == "too_long"
    assert check_answer(data, answer(right) + " " + answer(right)).ok  # repeats agree


# ---- never raising on arbitrary text ---------------------------------------------------

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
def test_verifier_never_raises_on_random_text(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Random lines spliced into a real trace, so they meet states deep in the search."""
    problem, real, _ = rendered("medium", 0, 3, style)
    real_lines = think_lines(real)
    think = [*real_lines[:cut], *lines, *real_lines[cut:]]
    completion = "<think>\n" + "\n".join(think) + "\n</think>\n<answer>" + answer + "</answer>"
    verdict = verify(problem, completion, style, None)
    assert verdict.code != "verifier_error", verdict


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(max_size=200),
                      st.lists(st.tuples(_numbers, _words), max_size=14).map(
                          lambda pairs: " ".join(f"{i}:{c}" for i, c in pairs))))
def test_check_answer_never_raises(text: str) -> None:
    problem, _ = solved("medium", 0)
    assert isinstance(check_answer(problem.data, text).ok, bool)
    assert isinstance(check_answer(problem.data, f"<answer>{text}</answer>").ok, bool)
