"""N-Queens: config validation, solvable puzzles, rules, traces that verify, and rejections."""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise, permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import STYLES, DeadEnd, Problem, Violation, problem_id
from searchtrace.tasks.nqueens.generate import (
    PRESETS,
    NQueensConfig,
    all_solutions,
    count_solutions,
)
from searchtrace.tasks.nqueens.rules import (
    EMPTY,
    QueensMove,
    QueensRules,
    QueensState,
    QueensText,
    check_answer,
    safe_rows,
    state_from_rows,
)
from searchtrace.traces.linearize import (
    NotEnoughSoundDeadEnds,
    linearize_exact,
    linearize_natural,
)
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import BACKTRACK, DEAD_END, Trace
from searchtrace.traces.tree import SearchTree

TASK = get_task("nqueens")
KNOWN_COUNTS = {4: 2, 5: 10, 6: 4, 7: 40, 8: 92, 9: 352, 10: 724, 11: 2680, 12: 14200}


def make_problem(n: int, preplaced: int, seed: int) -> Problem:
    config = NQueensConfig(n=n, preplaced=preplaced)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, 0)))
    return TASK.generate(config, rng, "train")


@cache
def solved(n: int, preplaced: int, seed: int) -> tuple[Problem, SearchTree]:
    problem = make_problem(n, preplaced, seed)
    return problem, solve_dfs(TASK.rules(problem.data), 100_000)


def completion_for(problem: Problem, tree: SearchTree, trace: Trace, style: str) -> str:
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    think = render_think_lines(trace, tree, TASK.step_text(problem.data), style, salt=0)
    return format_completion(think, TASK.answer(problem.data, moves))


def rendered(seed: int, k: int, style: str, n: int = 8, preplaced: int = 2
             ) -> tuple[Problem, str, Trace]:
    problem, tree = solved(n, preplaced, seed)
    trace = linearize_exact(tree, TASK.rules(problem.data), k, "uniform", 6)
    return problem, completion_for(problem, tree, trace, style), trace


def verify(problem: Problem, completion: str, style: str, backtracks: int | None):
    return verify_completion(TASK, problem.data, completion, style, backtracks)


def brute_force(n: int, preplaced: list[int]) -> set[tuple[int, ...]]:
    """Every placement keeping `preplaced` (1-based rows, 0 = empty), by permutations."""
    return {
        rows for rows in permutations(range(n))
        if all(r == 0 or rows[c] == r - 1 for c, r in enumerate(preplaced))
        and all(abs(rows[a] - rows[b]) != b - a for b in range(n) for a in range(b))
    }


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"n": 3}, "n", "must be between 4 and 12, got 3"),
        ({"n": 13}, "n", "must be between 4 and 12, got 13"),
        ({"n": 8, "preplaced": 8}, "preplaced", "preplaced for n=8 must be between 0 and 7, got 8"),
        ({"n": 5, "preplaced": -1}, "preplaced", "preplaced for n=5 must be between 0 and 4, "
         "got -1"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        NQueensConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_config_is_frozen_and_rejects_unknown_knobs() -> None:
    with pytest.raises(ValidationError, match="queens"):
        NQueensConfig(n=8, queens=2)
    with pytest.raises(ValidationError):
        NQueensConfig().n = 9  # type: ignore[misc]


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_validate_and_generate(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert config.model_dump() == PRESETS[preset]
    for seed in range(3):
        problem = TASK.generate(config, np.random.default_rng(seed), "train")
        assert sum(1 for r in problem.data["preplaced"] if r) == config.preplaced
        assert problem.knobs == PRESETS[preset]


# ---- generation ------------------------------------------------------------------------


def test_same_seed_same_problem() -> None:
    config = TASK.make_config("medium", {})

    def make(seed: int) -> Problem:
        return TASK.generate(config, np.random.default_rng(np.random.SeedSequence(seed)), "train")

    assert make(11) == make(11)
    assert len({make(seed).id for seed in range(8)}) > 1


def test_solution_counts_match_brute_force_and_known_values() -> None:
    for n, known in KNOWN_COUNTS.items():
        assert len(all_solutions(n)) == known
    for n in (4, 5, 6, 7, 8):
        assert set(all_solutions(n)) == brute_force(n, [0] * n)


@pytest.mark.parametrize(("n", "preplaced"), [(5, 1), (6, 2), (8, 2), (8, 4)])
def test_puzzles_keep_a_solution_and_are_solvable(n: int, preplaced: int) -> None:
    for seed in range(4):
        problem = make_problem(n, preplaced, seed)
        given = problem.data["preplaced"]
        assert problem.data == {"n": n, "preplaced": given}
        assert len(given) == n and sum(1 for r in given if r) == preplaced
        completions = brute_force(n, given)
        assert completions
        assert count_solutions(n, given, limit=None) == len(completions)
        assert problem.id == problem_id("nqueens", problem.data)


def test_no_preplaced_queens_is_one_problem_per_size() -> None:
    ids = {make_problem(8, 0, seed).id for seed in range(5)}
    assert len(ids) == 1
    assert "The board starts empty." in make_problem(8, 0, 0).prompt


def test_count_solutions_sees_attacking_preplaced_queens() -> None:
    assert count_solutions(4, [1, 2, 0, 0]) == 0  # diagonal neighbours
    assert count_solutions(4, [0, 0, 0, 0]) == 2
    assert count_solutions(4, [2, 0, 0, 0]) == 1


def test_problem_json_round_trip_and_prompt() -> None:
    problem = make_problem(8, 2, 0)
    assert Problem.from_json(problem.to_json()) == problem
    col = next(c for c, r in enumerate(problem.data["preplaced"]) if r)
    row = problem.data["preplaced"][col]
    assert f"column {col + 1} at row {row}" in problem.prompt
    board_row = "".join("Q" if problem.data["preplaced"][c] == row else "." for c in range(8))
    assert board_row in problem.prompt
    assert "an 8x8 chessboard" in problem.prompt and "<answer></answer>" in problem.prompt


# ---- rules -----------------------------------------------------------------------------


def path_states(n: int, preplaced: int, seed: int) -> list[QueensState]:
    _, tree = solved(n, preplaced, seed)
    return [tree.nodes[i].state for i in tree.solution_path()]


def attacked_by_any(state: QueensState, col: int, row: int) -> bool:
    return any(r != EMPTY and (r == row or abs(r - row) == abs(c - col))
               for c, r in enumerate(state.rows))


@pytest.mark.parametrize(("n", "preplaced"), [(8, 2), (8, 0), (12, 2)])
def test_expand_and_wider_moves_agree_with_apply(n: int, preplaced: int) -> None:
    problem, _ = solved(n, preplaced, 0)
    rules = QueensRules.from_data(problem.data)
    for state in path_states(n, preplaced, 0)[:-1]:
        children = rules.expand(state)
        col = state.rows.index(EMPTY)
        assert {m.col for m, _ in children} == {col}
        assert sorted(m.row for m, _ in children) == [
            r for r in range(n) if not attacked_by_any(state, col, r)]
        assert len({rules.state_key(s) for _, s in children}) == len(children)
        wider = list(rules.wider_moves(state))
        for move, child in children + wider:
            assert rules.state_key(rules.apply(state, move)) == rules.state_key(child)
            assert rules.apply(state, move) == child
        keys = [(rules.dead_end(child) is not None,
                 -sum(len(safe_rows(n, child, c)) for c in range(n) if child.rows[c] == EMPTY))
                for _, child in children]
        assert keys == sorted(keys)


def test_every_stuck_state_is_a_confirmed_dead_end_with_no_completion() -> None:
    """Walk the whole 6x6 state space: a state without moves is a dead end, and a dead
    end really has no completion."""
    rules = QueensRules(6, [0] * 6)
    stack, seen = [rules.initial_state()], 0
    while stack:
        state = stack.pop()
        seen += 1
        children = rules.expand(state)
        dead = rules.dead_end(state)
        if not children and not rules.is_goal(state):
            assert dead is not None
        if dead is not None:
            assert rules.confirm_dead_end(state, dead) is None
            given = [r + 1 if r != EMPTY else 0 for r in state.rows]
            assert count_solutions(6, given) == 0
            continue
        assert rules.heuristic(state) == state.rows.count(EMPTY)
        stack.extend(child for _, child in children)
    assert seen > 20


def test_goal_and_dead_end() -> None:
    problem, tree = solved(8, 2, 0)
    rules = QueensRules.from_data(problem.data)
    goal = tree.nodes[tree.solution].state
    assert rules.is_goal(goal) and rules.heuristic(goal) == 0
    assert not rules.is_goal(rules.initial_state())
    assert rules.dead_end(rules.initial_state()) is None
    # Queens at c1=r1 and c2=r3 on 4x4 attack every row of column 3: r1 along c1's row,
    # r3 along c1's diagonal and c2's row, r2 and r4 along c2's diagonals. Column 4 keeps r2.
    state = state_from_rows(4, [0, 2, EMPTY, EMPTY])
    small = QueensRules(4, [0] * 4)
    dead = small.dead_end(state)
    assert dead == DeadEnd("no_safe_square", (2,))
    assert small.confirm_dead_end(state, dead) is None
    assert "is still safe at" in small.confirm_dead_end(state, DeadEnd("no_safe_square", (3,)))
    assert "already has a queen" in small.confirm_dead_end(state, DeadEnd("no_safe_square", (0,)))
    assert "not a column" in small.confirm_dead_end(state, DeadEnd("no_safe_square", (4,)))
    assert "not an N-Queens" in small.confirm_dead_end(state, DeadEnd("other", (2,)))


@pytest.mark.parametrize(
    ("move", "code"),
    [
        (QueensMove(8, 0), "out_of_board"),
        (QueensMove(2, -1), "out_of_board"),
        (QueensMove(0, 4), "column_taken"),
        (QueensMove(3, 4), "wrong_column"),
        (QueensMove(2, 1), "row_attack"),
        (QueensMove(2, 6), "diagonal_attack"),
        (QueensMove(2, 2), "diagonal_attack"),
        (QueensMove(2, 0), "diagonal_attack"),
    ],
)
def test_apply_names_the_broken_rule(move: QueensMove, code: str) -> None:
    # Queens at c1=r5 and c2=r2: column 3 is next; c1 sees r3 and r7 of it diagonally,
    # c2 sees r1 and r3.
    rules = QueensRules(8, [5, 2, 0, 0, 0, 0, 0, 0])
    violation = rules.apply(rules.initial_state(), move)
    assert isinstance(violation, Violation) and violation.code == code, violation


def test_legal_move_is_applied() -> None:
    rules = QueensRules(8, [5, 2, 0, 0, 0, 0, 0, 0])
    state = rules.apply(rules.initial_state(), QueensMove(2, 7))
    assert isinstance(state, QueensState) and state.rows[:3] == (4, 1, 7)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("preplaced", [0, 2])
def test_step_text_reads_back_what_it_says(style: str, preplaced: int) -> None:
    problem, tree = solved(8, preplaced, 0)
    text = QueensText.from_data(problem.data)
    start = tree.nodes[0].state
    move = QueensMove(3, 6)
    assert text.parse_move(text.move_phrase(move, style), style) == move
    assert text.parse_ref(text.ref_phrase(start, move, style), style) == text.ref_key(start, move)
    assert text.parse_ref(text.ref_phrase(start, None, style), style) == text.ref_key(start, None)
    dead = DeadEnd("no_safe_square", (5,))
    assert text.parse_dead_end(text.dead_end_phrase(start, dead, style), style) == dead
    for state in path_states(8, preplaced, 0):
        assert text.state_claim_error(text.state_phrase(state, style), state, style) is None
    goal = tree.nodes[tree.solution].state
    assert "is empty" in text.state_claim_error(text.state_phrase(goal, style), start, style)
    for garbage in ("", "c3=r5.", "c3 = r5", "a queen in column 3 at row five", "c4:{1,}",
                    "That leaves rows 2 safe in column 4", "c99999=r1"):
        assert text.parse_move(garbage, style) is None
        assert text.parse_dead_end(garbage, style) is None
        assert text.parse_ref(garbage, style) is None
        assert text.state_claim_error(garbage, start, style) is not None


def test_start_reference_names_the_board() -> None:
    empty = QueensText.from_data(make_problem(8, 0, 0).data)
    assert empty.ref_phrase(None, None, "natural") == "the empty board"
    given = QueensText.from_data(make_problem(8, 2, 0).data)
    assert given.ref_phrase(None, None, "natural") == "the starting board"
    assert given.parse_ref("the empty board", "natural") is None


# ---- traces ----------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "preplaced", "seed"),
                         [(8, 2, 4), (8, 2, 5), (8, 2, 7), (8, 0, 0), (12, 2, 0), (6, 1, 0)])
def test_solver_traces_verify(n: int, preplaced: int, seed: int) -> None:
    problem, tree = solved(n, preplaced, seed)
    rules = TASK.rules(problem.data)
    traces = [linearize_natural(tree)]
    ks = (0, 1, 3, 5) if n >= 8 else (0, 1, 3)
    traces += [linearize_exact(tree, rules, k, "uniform", 6) for k in ks]
    assert [t.num_backtracks for t in traces[1:]] == list(ks)
    for trace in traces:
        for style in STYLES:
            completion = completion_for(problem, tree, trace, style)
            verdict = verify(problem, completion, style, trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


def test_too_few_alternatives_means_not_enough_dead_ends() -> None:
    """k is never padded: seed 1's solution path offers only 4 other rows in all, and one
    of them can still be completed, so only 3 make sound dead-end branches."""
    problem, tree = solved(8, 2, 1)
    rules = TASK.rules(problem.data)
    path = tree.solution_path()
    alternatives = [child for here, there in pairwise(path)
                    for _, child in rules.expand(tree.nodes[here].state)
                    if child != tree.nodes[there].state]
    assert len(alternatives) == 4
    assert sum(not rules.solvable(child) for child in alternatives) == 3
    assert linearize_exact(tree, rules, 3, "uniform", 6).num_backtracks == 3
    with pytest.raises(NotEnoughSoundDeadEnds):
        linearize_exact(tree, rules, 4, "uniform", 6)


def test_hard_preset_is_solved_fast_by_dfs() -> None:
    config = TASK.make_config("hard", {})
    for seed in range(5):
        problem = TASK.generate(config, np.random.default_rng(seed), "train")
        tree = solve_dfs(TASK.rules(problem.data), 20_000)
        assert tree.solution is not None and tree.nodes_expanded < 2000


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


_MOVE_LINE = {
    "natural": re.compile(
        r"^((?:Let me try|Next, try|Then try|Instead, let me try) )(.+?)(\. .+)$"),
    "compact": re.compile(r"^(try )(.+?)( -> .+)$"),
}


def line_state(problem: Problem, completion: str, style: str, index: int) -> QueensState:
    """The state before think line `index`, replaying the lines before it."""
    rules, text = TASK.rules(problem.data), TASK.step_text(problem.data)
    path = [(rules.initial_state(), None)]
    for line in split_completion(completion)[0].split("\n")[:index]:
        match = _MOVE_LINE[style].match(line)
        if match:
            move = text.parse_move(match.group(2), style)
            path.append((rules.apply(path[-1][0], move), move))
        elif line.startswith(("back to ", "Let me go back to ", "Going back to ")):
            ref = text.parse_ref(line.removesuffix(".").split(" back to ", 1)[-1]
                                 .removeprefix("back to "), style)
            target = max(i for i, entry in enumerate(path[:-1]) if text.ref_key(*entry) == ref)
            del path[target + 1 :]
    return path[-1][0]


def replace_move(line: str, style: str, move: QueensMove) -> str:
    phrase = QueensText(8, True).move_phrase(move, style)
    return _MOVE_LINE[style].sub(lambda m: m.group(1) + phrase + m.group(3), line)


def illegal_move(state: QueensState, code: str) -> QueensMove:
    """A move from `state` that breaks the rule `code` first."""
    rules = QueensRules(8, [0] * 8)
    col = state.rows.index(EMPTY)
    later = next((c for c in range(col + 1, 8) if state.rows[c] == EMPTY), None)
    taken = next((c for c in range(8) if state.rows[c] != EMPTY), None)
    options = [QueensMove(col, row) for row in range(8)] + [QueensMove(8, 0), QueensMove(col, 8)]
    if later is not None:
        options.append(QueensMove(later, 0))
    if taken is not None:
        options.append(QueensMove(taken, 0))
    for move in options:
        result = rules.apply(state, move)
        if isinstance(result, Violation) and result.code == code:
            return move
    raise AssertionError(f"no {code} move from {state.rows}")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", ["out_of_board", "column_taken", "wrong_column", "row_attack",
                                  "diagonal_attack"])
def test_illegal_move_is_rejected(style: str, code: str) -> None:
    problem, completion, trace = rendered(0, 1, style)
    state = line_state(problem, completion, style, 0)
    lines = completion.split("\n")
    lines[1] = replace_move(lines[1], style, illegal_move(state, code))
    verdict = verify(problem, "\n".join(lines), style, trace.num_backtracks)
    assert verdict.code == code and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("code", ["row_attack", "diagonal_attack"])
def test_illegal_move_inside_a_dead_end_branch_is_rejected(style: str, code: str) -> None:
    problem, completion, trace = rendered(1, 3, style)
    dead_line = next(i for i, s in enumerate(trace.steps) if s.kind == DEAD_END)
    assert trace.steps[dead_line - 1].kind not in (BACKTRACK, DEAD_END)
    index = dead_line - 1  # the last move of the first dead-end branch
    state = line_state(problem, completion, style, index)
    lines = completion.split("\n")
    lines[index + 1] = replace_move(lines[index + 1], style, illegal_move(state, code))
    verdict = verify(problem, "\n".join(lines), style, trace.num_backtracks)
    assert verdict.code == code and verdict.line == index, verdict


def dead_and_back(text: QueensText, state: QueensState, col: int, style: str) -> list[str]:
    said = text.dead_end_phrase(state, DeadEnd("no_safe_square", (col,)), style)
    back = text.ref_phrase(state, None, style)
    if style == "compact":
        return [f"dead: {said}", f"back to {back}"]
    return [f"{said}, so this is a dead end.", f"Let me go back to {back}."]


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claim_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(0, 0, style)
    text = TASK.step_text(problem.data)
    state = line_state(problem, completion, style, 1)
    col = state.rows.index(EMPTY)  # on the solution path: it has a safe row
    lines = completion.split("\n")
    lines[2:2] = dead_and_back(text, state, col, style)
    verdict = verify(problem, "\n".join(lines), style, 1)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict
    assert "is still safe at" in verdict.message


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
    match = _MOVE_LINE[style].match(lines[1])
    tail, end = (" -> ", "") if style == "compact" else (". ", ".")
    col = max(c for c in range(8) if state.rows[c] == EMPTY)  # any empty column may be stated
    true_rows = safe_rows(8, state, col)
    right = match.group(1) + match.group(2) + tail + claim_phrase(col, true_rows, style) + end
    assert verify(problem, "\n".join([lines[0], right, *lines[2:]]), style, 0).ok
    wrong_rows = sorted(set(true_rows) ^ {next(r for r in range(8) if r not in true_rows)})
    wrong = match.group(1) + match.group(2) + tail + claim_phrase(col, wrong_rows, style) + end
    verdict = verify(problem, "\n".join([lines[0], wrong, *lines[2:]]), style, 0)
    assert verdict.code == "wrong_state" and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_off_the_path_is_rejected(style: str) -> None:
    problem, completion, trace = rendered(0, 1, style)
    text = TASK.step_text(problem.data)
    given = problem.data["preplaced"]
    col = next(c for c, r in enumerate(given) if r)  # a pre-placed queen is never a move
    ref = text.ref_phrase(None, QueensMove(col, given[col] - 1), style)
    lines = completion.split("\n")
    index = trace.backtrack_positions[0] + 1
    lines[index] = f"back to {ref}" if style == "compact" else f"Let me go back to {ref}."
    verdict = verify(problem, "\n".join(lines), style, 1)
    assert verdict.code == "backtrack_off_path" and verdict.line == index - 1, verdict


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
    pairs = rest.removesuffix("</answer>").split(" ")
    free = [i for i, r in enumerate(problem.data["preplaced"]) if not r]
    rows = [p.split("=")[1] for p in pairs]
    rows[free[0]] = rows[free[1]]
    answer = " ".join(f"c{c + 1}={r}" for c, r in enumerate(rows))
    verdict = verify(problem, f"{head}<answer>{answer}</answer>", style, 0)
    assert verdict.code == "wrong_answer", verdict


# ---- answers ---------------------------------------------------------------------------


def solution_rows(seed: int) -> tuple[Problem, list[int]]:
    """The problem and its solved queens, 1-based rows by column."""
    problem, tree = solved(8, 2, seed)
    return problem, [r + 1 for r in tree.nodes[tree.solution].state.rows]


def board(rows: list[int]) -> str:
    n = len(rows)
    return "\n".join(" ".join("Q" if rows[c] == r + 1 else "." for c in range(n))
                     for r in range(n))


def test_check_answer_accepts_the_solution_in_several_formats() -> None:
    problem, rows = solution_rows(0)
    pairs = [f"c{c + 1}=r{r}" for c, r in enumerate(rows)]
    for text in (" ".join(pairs), ", ".join(reversed(pairs)), str(rows), " ".join(map(str, rows)),
                 ",".join(map(str, rows)), board(rows),
                 "; ".join(f"column {c + 1}: row {r}" for c, r in enumerate(rows)),
                 f"So:\n<answer>[1, 2]</answer> then <answer>\n{' '.join(pairs)}\n</answer>"):
        assert check_answer(problem.data, text).ok, text
    moves = [QueensMove(c, r - 1) for c, r in enumerate(rows) if not problem.data["preplaced"][c]]
    assert TASK.answer(problem.data, moves) == " ".join(pairs)


def test_check_answer_rejects() -> None:
    problem, rows = solution_rows(0)
    given = problem.data["preplaced"]
    fixed = [c for c, r in enumerate(given) if r]
    free = [c for c, r in enumerate(given) if not r]
    other = next(s for s in all_solutions(8) if s[fixed[0]] != given[fixed[0]] - 1)
    cases = {
        "preplaced_moved": [r + 1 for r in other],
        "row_attack": [rows[free[1]] if c == free[0] else r for c, r in enumerate(rows)],
        "wrong_count": rows[:-1],
        "out_of_board": [9 if c == free[0] else r for c, r in enumerate(rows)],
    }
    for code, wrong in cases.items():
        assert check_answer(problem.data, f"<answer>{wrong}</answer>").code == code, code
    empty = {"n": 8, "preplaced": [0] * 8}
    assert check_answer(empty, "[2, 4, 6, 8, 3, 1, 7, 5]").ok
    assert check_answer(empty, "[2, 4, 6, 8, 3, 1, 5, 7]").code == "diagonal_attack"
    assert check_answer(problem.data, "c1=r1 c1=r2").code == "column_repeat"
    assert check_answer(problem.data, "c1=r1 c2=r3").code == "wrong_count"
    assert check_answer(problem.data, "c1=r1 and c2=r3").code == "unparsable_answer"
    assert check_answer(problem.data, "the queens are fine").code == "unparsable_answer"
    assert check_answer(problem.data, "Q.\n.Q").code == "wrong_count"
    assert check_answer(problem.data, None).code == "not_text"  # type: ignore[arg-type]
    assert check_answer(problem.data, "1 " * 1000).code == "too_long"


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
def test_verifier_never_raises_on_random_text(
    cut: int, lines: list[str], answer: str, style: str
) -> None:
    """Random lines spliced into a real trace, so they meet states deep in the search."""
    problem, real, _ = rendered(0, 3, style)
    real_lines = split_completion(real)[0].split("\n")
    think = [*real_lines[:cut], *lines, *real_lines[cut:]]
    completion = "<think>\n" + "\n".join(think) + "\n</think>\n<answer>" + answer + "</answer>"
    verdict = verify(problem, completion, style, None)
    assert verdict.code != "verifier_error", verdict


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=200),
                      st.text(alphabet="Qq.|_* \n", max_size=120),
                      st.text(alphabet="cr=0123456789 ,;:[]()olumnw", max_size=80)))
def test_check_answer_never_raises(text: str) -> None:
    problem, _ = solved(8, 2, 0)
    assert isinstance(check_answer(problem.data, text).ok, bool)
    assert isinstance(check_answer(problem.data, f"<answer>{text}</answer>").ok, bool)
