"""Sudoku: config validation, unique puzzles, rules, traces that verify, and rejections."""

from __future__ import annotations

import re
from functools import cache
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task
from searchtrace.tasks.base import STYLES, DeadEnd, GenerationSkipped, Problem, problem_id
from searchtrace.tasks.sudoku.generate import PRESETS, SudokuConfig, count_solutions
from searchtrace.tasks.sudoku.rules import (
    BOX_SHAPES,
    SudokuMove,
    SudokuRules,
    SudokuText,
    candidates,
    check_answer,
    flatten,
    geometry,
)
from searchtrace.traces.linearize import linearize_exact, linearize_natural
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion, render_think_lines
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import Trace
from searchtrace.traces.tree import SearchTree

TASK = get_task("sudoku")
SIZES = {4: 5, 6: 12, 9: 30}  # size -> givens used by the trace tests


@cache
def make_problem(size: int, givens: int, seed: int) -> Problem:
    """The first problem the generator makes from `seed`'s stream (skipped seeds move on)."""
    config = SudokuConfig(size=size, givens=givens)
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return TASK.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {size}x{size} puzzle with {givens} givens from seed {seed}")


@cache
def solved(size: int, seed: int) -> tuple[Problem, SearchTree]:
    problem = make_problem(size, SIZES[size], seed)
    return problem, solve_dfs(TASK.rules(problem.data), 100_000)


def completion_for(problem: Problem, tree: SearchTree, trace: Trace, style: str) -> str:
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    think = render_think_lines(trace, tree, TASK.step_text(problem.data), style, salt=0)
    return format_completion(think, TASK.answer(problem.data, moves))


def rendered(size: int, seed: int, k: int, style: str) -> tuple[Problem, str, Trace]:
    problem, tree = solved(size, seed)
    trace = linearize_exact(tree, TASK.rules(problem.data), k, "uniform", 4)
    return problem, completion_for(problem, tree, trace, style), trace


def verify(problem: Problem, completion: str, style: str, backtracks: int | None):
    return verify_completion(TASK, problem.data, completion, style, backtracks)


# ---- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"size": 5}, "size", "must be one of 4, 6, 9, got 5"),
        ({"size": 9, "givens": 10}, "givens", "givens for 9x9 must be between 22 and 81, got 10"),
        ({"size": 4, "givens": 17}, "givens", "givens for 4x4 must be between 4 and 16, got 17"),
        ({"size": 6, "givens": 7}, "givens", "givens for 6x6 must be between 8 and 36, got 7"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        SudokuConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_config_is_frozen_and_rejects_unknown_knobs() -> None:
    with pytest.raises(ValidationError, match="clues"):
        SudokuConfig(size=9, clues=30)
    with pytest.raises(ValidationError):
        SudokuConfig().givens = 40  # type: ignore[misc]


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_validate(preset: str) -> None:
    config = TASK.make_config(preset, {})
    assert config.model_dump() == PRESETS[preset]


# ---- generation ------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "givens"), [(4, 6), (6, 12), (9, 30)])
def test_same_seed_same_problem(size: int, givens: int) -> None:
    config = SudokuConfig(size=size, givens=givens)

    def make(seed: int) -> Problem:
        return TASK.generate(config, np.random.default_rng(np.random.SeedSequence(seed)), "train")

    assert make(11) == make(11)
    assert len({make(seed).id for seed in range(5)}) > 1


@pytest.mark.parametrize(("size", "givens"), [(4, 4), (4, 6), (6, 10), (9, 26), (9, 36)])
def test_puzzles_have_the_givens_and_one_solution(size: int, givens: int) -> None:
    for seed in range(3):
        problem = make_problem(size, givens, seed)
        cells = flatten(problem.data["grid"])
        assert len(cells) == size * size
        assert sum(1 for d in cells if d) == givens
        assert count_solutions(size, cells, limit=2) == 1
        assert problem.id == problem_id("sudoku", problem.data)
        assert problem.knobs == {"size": size, "givens": givens}


def all_4x4_grids() -> list[tuple[tuple[int, ...], ...]]:
    """Every valid 4x4 grid, by brute force over row permutations (no solver involved)."""
    rows = list(permutations(range(1, 5)))
    grids: list[tuple[tuple[int, ...], ...]] = [()]
    for _ in range(4):
        grids = [(*g, row) for g in grids for row in rows
                 if all(row[c] != above[c] for above in g for c in range(4))]

    def boxes_ok(grid: tuple[tuple[int, ...], ...]) -> bool:
        return all(len({grid[r][c] for r in (br, br + 1) for c in (bc, bc + 1)}) == 4
                   for br in (0, 2) for bc in (0, 2))

    return [g for g in grids if boxes_ok(g)]


def test_4x4_uniqueness_agrees_with_brute_force() -> None:
    grids = all_4x4_grids()
    assert len(grids) == 288
    for givens in (4, 5, 6):
        for seed in range(4):
            puzzle = make_problem(4, givens, seed).data["grid"]
            matching = [g for g in grids
                        if all(d in (0, g[r][c]) for r, row in enumerate(puzzle)
                               for c, d in enumerate(row))]
            assert len(matching) == 1


def test_count_solutions_sees_many_and_none() -> None:
    assert count_solutions(4, [0] * 16, limit=2) == 2
    assert count_solutions(4, [0] * 16, limit=500) == 288
    assert count_solutions(4, [1, 1] + [0] * 14, limit=2) == 0


def test_unreachable_givens_are_skipped_with_a_reason() -> None:
    config = SudokuConfig(size=6, givens=8)
    reasons = set()
    for seed in range(10):
        try:
            TASK.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped as skipped:
            reasons.add(skipped.reason)
    assert reasons == {"givens_not_reached"}


def test_problem_json_round_trip_and_prompt() -> None:
    problem = make_problem(9, 30, 0)
    assert Problem.from_json(problem.to_json()) == problem
    first_row = "".join(str(d) if d else "." for d in problem.data["grid"][0])
    assert first_row in problem.prompt
    assert "<answer></answer>" in problem.prompt


# ---- rules -----------------------------------------------------------------------------


def path_states(size: int, seed: int) -> list:
    _, tree = solved(size, seed)
    return [tree.nodes[n].state for n in tree.solution_path()]


@pytest.mark.parametrize("size", [4, 6, 9])
def test_expand_and_wider_moves_agree_with_apply(size: int) -> None:
    problem, _ = solved(size, 0)
    rules = SudokuRules.from_data(problem.data)
    geo = geometry(size)
    for state in path_states(size, 0)[:-1]:
        children = rules.expand(state)
        assert children
        assert len({(m.row, m.col) for m, _ in children}) == 1
        assert [m.digit for m, _ in children] == sorted(m.digit for m, _ in children)
        wider = list(rules.wider_moves(state))
        legal = sum(candidates(geo, state, i).bit_count()
                    for i, d in enumerate(state.cells) if not d)
        assert len(wider) == legal
        for move, child in children + wider:
            assert rules.apply(state, move) == child
        counts = [candidates(geo, state, m.row * size + m.col).bit_count() for m, _ in wider]
        assert counts == sorted(counts)


def test_goal_and_dead_end() -> None:
    problem, tree = solved(4, 0)
    rules = SudokuRules.from_data(problem.data)
    assert rules.is_goal(tree.nodes[tree.solution].state)
    assert not rules.is_goal(rules.initial_state())
    assert rules.dead_end(rules.initial_state()) is None
    # r1c3 sees 1, 2, 4 in its row and 3 in its column: nothing is left for it.
    state = SudokuRules(4, [[1, 2, 0, 4], [0, 0, 3, 0], [0] * 4, [0] * 4]).initial_state()
    dead = rules.dead_end(state)
    assert dead == DeadEnd("no_candidates", (0, 2))
    assert rules.confirm_dead_end(state, dead) is None
    assert "can still be" in rules.confirm_dead_end(state, DeadEnd("no_candidates", (2, 2)))
    assert "is filled" in rules.confirm_dead_end(state, DeadEnd("no_candidates", (0, 0)))
    assert "not a cell" in rules.confirm_dead_end(state, DeadEnd("no_candidates", (4, 0)))


@pytest.mark.parametrize(
    ("move", "code"),
    [
        (SudokuMove(4, 0, 1), "out_of_range"),
        (SudokuMove(0, 0, 5), "out_of_range"),
        (SudokuMove(0, 0, 3), "cell_filled"),
        (SudokuMove(1, 0, 2), "row_conflict"),
        (SudokuMove(2, 0, 1), "column_conflict"),
        (SudokuMove(1, 1, 1), "box_conflict"),
    ],
)
def test_apply_names_the_broken_rule(move: SudokuMove, code: str) -> None:
    rules = SudokuRules(4, [[1, 0, 0, 0], [0, 0, 0, 2], [0, 0, 0, 0], [0, 0, 0, 0]])
    violation = rules.apply(rules.initial_state(), move)
    assert getattr(violation, "code", None) == code, violation


@pytest.mark.parametrize("style", STYLES)
def test_step_text_reads_back_what_it_says(style: str) -> None:
    problem, tree = solved(9, 0)
    text = SudokuText.from_data(problem.data)
    start = tree.nodes[0].state
    move = SudokuMove(3, 4, 7)
    assert text.parse_move(text.move_phrase(move, style), style) == move
    assert text.parse_ref(text.ref_phrase(start, move, style), style) == text.ref_key(start, move)
    assert text.parse_ref(text.ref_phrase(start, None, style), style) == text.ref_key(start, None)
    dead = DeadEnd("no_candidates", (3, 5))
    assert text.parse_dead_end(text.dead_end_phrase(start, dead, style), style) == dead
    assert text.state_claim_error(text.state_phrase(start, style), start, style) is None
    goal = tree.nodes[tree.solution].state
    assert text.state_claim_error(text.state_phrase(goal, style), goal, style) is None
    assert "blank" in text.state_claim_error(text.state_phrase(goal, style), start, style)
    for garbage in ("", "7 at r4c5.", "r4c5=7 ", "r4c5 = 7", "seven at r4c5", "r4c5:{1,}"):
        assert text.parse_move(garbage, style) is None
        assert text.parse_dead_end(garbage, style) is None
        assert text.parse_ref(garbage, style) is None
        assert text.state_claim_error(garbage, start, style) is not None


# ---- traces ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [4, 6, 9])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solver_traces_verify(size: int, seed: int) -> None:
    problem, tree = solved(size, seed)
    rules = TASK.rules(problem.data)
    traces = [linearize_natural(tree)]
    traces += [linearize_exact(tree, rules, k, "uniform", 4) for k in (0, 1, 3, 5)]
    assert [t.num_backtracks for t in traces[1:]] == [0, 1, 3, 5]
    for trace in traces:
        for style in STYLES:
            completion = completion_for(problem, tree, trace, style)
            verdict = verify(problem, completion, style, trace.num_backtracks)
            assert verdict.ok, (verdict, completion)


def test_rendered_lines_read_naturally() -> None:
    problem, completion, _ = rendered(9, 0, 1, "natural")
    lines = completion.split("\n")
    assert re.fullmatch(r"Let me try \d at r\dc\d\. Now r\dc\d (can only be [\d, or]+|has no "
                        r"candidates left)\.", lines[1])
    assert any(re.fullmatch(r"r\dc\d has no candidates, so this (is a dead end|branch fails)\.",
                            line) for line in lines)
    assert "Every cell is filled, so the puzzle is solved." in lines
    assert verify(problem, completion, "natural", 1).ok


def find_conflict(size: int, seed: int, kind: str) -> SudokuMove:
    """A placement on a blank cell of the puzzle that breaks only the rule `kind` names
    first (row, then column, then box: the order `apply` checks them)."""
    problem, _ = solved(size, seed)
    geo = geometry(size)
    state = TASK.rules(problem.data).initial_state()
    for cell, digit in enumerate(state.cells):
        if digit:
            continue
        r, c, b = geo.row_of[cell], geo.col_of[cell], geo.box_of[cell]
        for d in range(1, size + 1):
            bit = 1 << d
            in_row, in_col, in_box = (state.rows[r] & bit, state.cols[c] & bit,
                                      state.boxes[b] & bit)
            wanted = {"row": in_row, "column": in_col and not in_row,
                      "box": in_box and not in_row and not in_col}[kind]
            if wanted:
                return SudokuMove(r, c, d)
    raise AssertionError(f"no {kind} conflict in the puzzle")


_MOVE_LINE = {
    "natural": re.compile(
        r"^((?:Let me try|Next, try|Then try|Instead, let me try) )(.+?)(\. .+)$"),
    "compact": re.compile(r"^(try )(.+?)( -> .+)$"),
}


def replace_move(line: str, style: str, move: SudokuMove) -> str:
    phrase = SudokuText(9).move_phrase(move, style)
    return _MOVE_LINE[style].sub(lambda m: m.group(1) + phrase + m.group(3), line)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("kind", ["row", "column", "box"])
def test_illegal_placement_is_rejected(style: str, kind: str) -> None:
    problem, completion, trace = rendered(9, 0, 1, style)
    lines = completion.split("\n")
    lines[1] = replace_move(lines[1], style, find_conflict(9, 0, kind))
    verdict = verify(problem, "\n".join(lines), style, trace.num_backtracks)
    assert verdict.code == f"{kind}_conflict" and verdict.line == 0, verdict


@pytest.mark.parametrize("style", STYLES)
def test_placement_on_a_given_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(9, 0, 0, style)
    cells = flatten(problem.data["grid"])
    given = next(i for i, d in enumerate(cells) if d)
    lines = completion.split("\n")
    lines[1] = replace_move(lines[1], style, SudokuMove(*divmod(given, 9), cells[given]))
    assert verify(problem, "\n".join(lines), style, 0).code == "cell_filled"


@pytest.mark.parametrize("style", STYLES)
def test_false_dead_end_claim_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(9, 0, 0, style)
    rules, text = TASK.rules(problem.data), TASK.step_text(problem.data)
    lines = completion.split("\n")
    first = text.parse_move(_MOVE_LINE[style].match(lines[1]).group(2), style)
    state = rules.apply(rules.initial_state(), first)
    blank = divmod(state.cells.index(0), 9)  # on the solution path: it has a candidate
    said = text.dead_end_phrase(state, DeadEnd("no_candidates", blank), style)
    dead_line = f"dead: {said}" if style == "compact" else f"{said}, so this is a dead end."
    back = text.ref_phrase(rules.initial_state(), None, style)
    back_line = f"back to {back}" if style == "compact" else f"Let me go back to {back}."
    lines[2:2] = [dead_line, back_line]
    verdict = verify(problem, "\n".join(lines), style, 1)
    assert verdict.code == "false_dead_end" and verdict.line == 1, verdict


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
    rules, text = TASK.rules(problem.data), TASK.step_text(problem.data)
    geo = geometry(9)
    lines = completion.split("\n")
    match = _MOVE_LINE[style].match(lines[1])
    state = rules.apply(rules.initial_state(), text.parse_move(match.group(2), style))
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


@pytest.mark.parametrize("style", STYLES)
def test_backtrack_off_the_path_is_rejected(style: str) -> None:
    problem, completion, trace = rendered(9, 0, 1, style)
    text = TASK.step_text(problem.data)
    cells = flatten(problem.data["grid"])
    given = next(i for i, d in enumerate(cells) if d)  # a given is never a move on the path
    ref = text.ref_phrase(None, SudokuMove(*divmod(given, 9), cells[given]), style)
    lines = completion.split("\n")
    index = trace.backtrack_positions[0] + 1
    lines[index] = f"back to {ref}" if style == "compact" else f"Let me go back to {ref}."
    verdict = verify(problem, "\n".join(lines), style, 1)
    assert verdict.code == "backtrack_off_path" and verdict.line == index - 1, verdict


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("k", [1, 3])
def test_miscounted_backtracks_are_rejected(style: str, k: int) -> None:
    problem, completion, _ = rendered(6, 0, k, style)
    assert verify(problem, completion, style, k).ok
    for wrong in (k - 1, k + 1):
        assert verify(problem, completion, style, wrong).code == "backtrack_count"


@pytest.mark.parametrize("style", STYLES)
def test_wrong_final_answer_is_rejected(style: str) -> None:
    problem, completion, _ = rendered(9, 0, 0, style)
    head, _, rest = completion.partition("<answer>")
    answer = rest.removesuffix("</answer>").split("\n")
    answer[0] = answer[0][1] + answer[0][0] + answer[0][2:]
    verdict = verify(problem, head + "<answer>" + "\n".join(answer) + "</answer>", style, 0)
    assert verdict.code == "wrong_answer", verdict


# ---- answers ---------------------------------------------------------------------------


def solution_rows(size: int, seed: int) -> tuple[Problem, list[str]]:
    problem, tree = solved(size, seed)
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    return problem, TASK.answer(problem.data, moves).split("\n")


def boxed(rows: list[str], size: int) -> str:
    """The grid drawn with `|` between boxes and `---+---` lines between bands."""
    box_rows, box_cols = BOX_SHAPES[size]
    out = []
    for r, row in enumerate(rows):
        if r and r % box_rows == 0:
            out.append("+".join(["-" * (2 * box_cols + 1)] * (size // box_cols)))
        out.append(" | ".join(" ".join(row[c : c + box_cols]) for c in range(0, size, box_cols)))
    return "\n".join(out)


@pytest.mark.parametrize("size", [4, 6, 9])
def test_check_answer_accepts_the_solution_in_several_layouts(size: int) -> None:
    problem, rows = solution_rows(size, 0)
    spaced = "\n".join(" ".join(row) for row in rows)
    for text in ("\n".join(rows), spaced, boxed(rows, size), "".join(rows),
                 f"I think.\n<answer>wrong</answer> then <answer>\n{boxed(rows, size)}\n</answer>"):
        assert check_answer(problem.data, text).ok, text


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        ("given", "given_changed"),
        ("repeat", "row_repeat"),
        ("blank", "incomplete"),
        ("short", "wrong_size"),
        ("garbage", "unparsable_answer"),
    ],
)
def test_check_answer_rejects(edit: str, code: str) -> None:
    problem, rows = solution_rows(9, 0)
    grid = [list(row) for row in rows]
    cells = flatten(problem.data["grid"])
    given = divmod(next(i for i, d in enumerate(cells) if d), 9)
    free = divmod(next(i for i, d in enumerate(cells) if not d), 9)
    if edit == "given":
        grid[given[0]][given[1]] = str(int(grid[given[0]][given[1]]) % 9 + 1)
    elif edit == "repeat":
        grid[free[0]][free[1]] = str(int(grid[free[0]][free[1]]) % 9 + 1)
    elif edit == "blank":
        grid[free[0]][free[1]] = "."
    elif edit == "short":
        grid.pop()
    text = "the answer is unknown" if edit == "garbage" else "\n".join("".join(r) for r in grid)
    assert check_answer(problem.data, f"<answer>{text}</answer>").code == code


def test_check_answer_rejects_digits_beyond_the_size() -> None:
    problem, _ = solved(4, 0)
    assert check_answer(problem.data, "1234\n3412\n2143\n4329").code == "invalid_digit"


def test_check_answer_rejects_non_text_and_long_text() -> None:
    problem, _ = solved(4, 0)
    assert check_answer(problem.data, None).code == "not_text"  # type: ignore[arg-type]
    assert check_answer(problem.data, "1" * 5000).code == "too_long"


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
def test_verifier_never_raises_on_random_text(
    cut: int, lines: list[str], answer: str, style: str, size: int
) -> None:
    """Random lines spliced into a real trace, so they meet states deep in the search."""
    problem, real, _ = rendered(size, 0, 1, style)
    real_lines = split_completion(real)[0].split("\n")
    think = [*real_lines[:cut], *lines, *real_lines[cut:]]
    completion = "<think>\n" + "\n".join(think) + "\n</think>\n<answer>" + answer + "</answer>"
    verdict = verify(problem, completion, style, None)
    assert verdict.code != "verifier_error", verdict


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_check_answer_never_raises(text: str) -> None:
    problem, _ = solved(9, 0)
    assert isinstance(check_answer(problem.data, text).ok, bool)
    assert isinstance(check_answer(problem.data, f"<answer>{text}</answer>").ok, bool)
