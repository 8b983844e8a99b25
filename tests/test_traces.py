"""Linear traces from real search trees (exact k and the solver's own order), rendering and
parsing back, and the build plan: exact row counts, seeds, and which rows are kept."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.config import SPLITS, parse_config
from searchtrace.pipelines.plan import (
    NATURAL,
    Bucket,
    Candidate,
    CandidateRange,
    largest_remainder,
    plan_buckets,
)
from searchtrace.pipelines.process import Generated, Rejected, finish_row
from searchtrace.pipelines.selection import StagedRef, cutoff, first_per_problem, kept_indexes
from searchtrace.solvers.dfs import solve_dfs
from searchtrace.solvers.iddfs import solve_iddfs
from searchtrace.tasks import Task, get_task
from searchtrace.tasks.base import STYLES, GenerationSkipped, Problem
from searchtrace.tasks.sudoku.generate import SudokuConfig
from searchtrace.traces.linearize import (
    NotEnoughDeadEnds,
    NotEnoughSoundDeadEnds,
    UnsoundTrace,
    linearize_exact,
    linearize_natural,
    require_sound,
)
from searchtrace.traces.parse import extract_answer, parse_line, split_completion
from searchtrace.traces.render import (
    NATURAL_AFTER_BACKTRACK,
    NATURAL_BACK,
    NATURAL_DEAD,
    NATURAL_OPENERS,
    format_completion,
    render_think_lines,
)
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE, Trace
from searchtrace.traces.tree import SearchTree

COUNTDOWN = get_task("countdown")
SUDOKU = get_task("sudoku")
PLACEMENTS = ("uniform", "early", "late")


def first_problem(task: Task, config, seed: int) -> Problem:
    for index in range(50):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, index)))
        try:
            return task.generate(config, rng, "train")
        except GenerationSkipped:
            continue
    raise AssertionError(f"no {task.name} problem from seed {seed}")


def countdown(seed: int, **knobs: object) -> Problem:
    return first_problem(COUNTDOWN, COUNTDOWN.make_config("medium", knobs), seed)


def sudoku(seed: int) -> Problem:
    return first_problem(SUDOKU, SudokuConfig(size=9, givens=30), seed)


def solve(task: Task, problem: Problem) -> SearchTree:
    """A fresh tree: the linearizer grafts widened nodes onto the tree it is given."""
    tree = solve_dfs(task.rules(problem.data), 100_000)
    assert tree.solution is not None
    return tree


def render(task: Task, problem: Problem, tree: SearchTree, trace: Trace, style: str,
           salt: int = 0) -> tuple[list[str], str]:
    lines = render_think_lines(trace, tree, task.phrasing(style, problem.data), style, salt)
    moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
    return lines, format_completion(lines, task.answer(problem.data, moves))


def excursions(tree: SearchTree, trace: Trace) -> list[tuple[int, list[int]]]:
    """(branch point, moved-through nodes) of every excursion, read off the trace."""
    out = []
    for position in trace.backtrack_positions:
        branch = trace.steps[position].node
        dead = trace.steps[position - 1].node
        below = tree.path_to(dead)
        assert below[tree.nodes[branch].depth] == branch  # the excursion leaves the branch
        out.append((branch, below[tree.nodes[branch].depth + 1 :]))
    return out


def check_exact(task: Task, problem: Problem, tree: SearchTree, trace: Trace, k: int,
                max_length: int) -> None:
    rules = task.rules(problem.data)
    path = tree.solution_path()
    steps = trace.steps
    assert trace.mode == "exact"
    assert trace.num_backtracks == k == len(trace.dead_end_lengths)
    assert trace.solution_length == len(path) - 1
    assert all(1 <= length <= max_length for length in trace.dead_end_lengths)
    assert len(trace.backtrack_positions) == k
    assert all(steps[p].kind == BACKTRACK for p in trace.backtrack_positions)
    assert [s.kind for s in steps].count(BACKTRACK) == k
    assert steps[-1].kind == GOAL and steps[-1].node == path[-1]
    for step in steps:
        if step.kind == DEAD_END:
            assert rules.dead_end(tree.nodes[step.node].state) is not None
    # Each excursion: its moves, the dead end, the way back; nothing else between.
    found = excursions(tree, trace)
    ends = [p - 1 for p in trace.backtrack_positions]
    for (branch, nodes), position, length in zip(found, trace.backtrack_positions,
                                                 trace.dead_end_lengths, strict=True):
        assert len(nodes) == length
        assert [s.node for s in steps[position - 1 - length : position - 1]] == nodes
        assert all(s.kind == MOVE for s in steps[position - 1 - length : position - 1])
        assert branch in path[:-1]
        assert not set(nodes) & set(path)
    # The remaining moves are the solution path, in order.
    in_excursions = {i for (_, nodes), end in zip(found, ends, strict=True)
                     for i in range(end - len(nodes), end + 2)}
    rest = [s.node for i, s in enumerate(steps) if i not in in_excursions]
    assert rest == [*path[1:], path[-1]]  # the moves, then the goal
    # Excursions are distinct: no two leave a branch point into the same state, and none
    # into the state the solution takes from there.
    leaving: dict[int, list] = {}
    for branch, nodes in found:
        leaving.setdefault(branch, []).append(rules.state_key(tree.nodes[nodes[0]].state))
    for branch, keys in leaving.items():
        on_path = path[path.index(branch) + 1]
        assert len(keys) == len(set(keys)), (branch, keys)
        assert rules.state_key(tree.nodes[on_path].state) not in keys
    assert len({nodes[-1] for _, nodes in found}) == k


# ---- exact k ---------------------------------------------------------------------------


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("seed", range(6))
def test_exact_k_on_countdown(seed: int, placement: str) -> None:
    problem = countdown(seed)
    for k in range(7):
        for max_length in (2, 4):
            tree = solve(COUNTDOWN, problem)
            trace = linearize_exact(tree, COUNTDOWN.rules(problem.data), k, placement,
                                    max_length)
            check_exact(COUNTDOWN, problem, tree, trace, k, max_length)
            style = STYLES[k % 2]
            _, completion = render(COUNTDOWN, problem, tree, trace, style, salt=k)
            verdict = verify_completion(COUNTDOWN, problem.data, completion, style, k)
            assert verdict.ok, (verdict, completion)


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("seed", range(3))
def test_exact_k_on_sudoku(seed: int, placement: str) -> None:
    problem = sudoku(seed)
    for k in range(7):
        tree = solve(SUDOKU, problem)
        trace = linearize_exact(tree, SUDOKU.rules(problem.data), k, placement, 4)
        check_exact(SUDOKU, problem, tree, trace, k, 4)
        style = STYLES[k % 2]
        _, completion = render(SUDOKU, problem, tree, trace, style, salt=k)
        assert verify_completion(SUDOKU, problem.data, completion, style, k).ok


def test_exact_k_with_fractions_and_one_move_dead_ends() -> None:
    for seed in range(4):
        problem = countdown(seed, allow_fractions=True)
        for k in (1, 3, 6):
            tree = solve(COUNTDOWN, problem)
            trace = linearize_exact(tree, COUNTDOWN.rules(problem.data), k, "uniform", 1)
            check_exact(COUNTDOWN, problem, tree, trace, k, 1)
            assert trace.dead_end_lengths == (1,) * k


def branch_indexes(task: Task, problem: Problem, k: int, placement: str) -> list[int]:
    """Where along the solution path each excursion of a fresh exact-k trace leaves it."""
    tree = solve(task, problem)
    trace = linearize_exact(tree, task.rules(problem.data), k, placement, 4)
    path = tree.solution_path()
    return [path.index(branch) for branch, _ in excursions(tree, trace)]


def mean_branch_index(task: Task, problem: Problem, k: int, placement: str) -> float:
    return statistics.mean(branch_indexes(task, problem, k, placement))


@pytest.mark.parametrize("task_name", ["countdown", "sudoku"])
def test_early_and_late_placement_move_excursions(task_name: str) -> None:
    task = get_task(task_name)
    problems = ([countdown(seed) for seed in range(8)] if task_name == "countdown"
                else [sudoku(seed) for seed in range(3)])
    earlier = later = 0
    for problem in problems:
        for k in range(1, 7):
            early, uniform, late = (mean_branch_index(task, problem, k, p)
                                    for p in ("early", "uniform", "late"))
            assert early <= uniform <= late, (problem.data, k, early, uniform, late)
            earlier += early < uniform
            later += late > uniform
    assert earlier and later  # the placements do differ somewhere


@pytest.mark.parametrize("seed", range(3))
def test_early_and_late_use_the_first_and_last_branch_points_first(seed: int) -> None:
    """Early fills the root first; late starts at the last branch point that has any
    excursion at all (late in a Sudoku every blank has one candidate: nothing fails)."""
    problem = sudoku(seed)
    for k in (1, 2, 3):
        assert branch_indexes(SUDOKU, problem, k, "early") == [0] * k
    used = {i for k in range(1, 7) for placement in ("uniform", "early")
            for i in branch_indexes(SUDOKU, problem, k, placement)}
    last = branch_indexes(SUDOKU, problem, 1, "late")
    assert last[0] >= max(used)
    assert branch_indexes(SUDOKU, problem, 2, "late")[-1] == last[0]


def test_not_enough_dead_ends_is_an_error_not_a_cap() -> None:
    config = COUNTDOWN.make_config("easy", {})
    assert config.count == 3
    for seed in range(3):
        problem = first_problem(COUNTDOWN, config, seed)
        tree = solve(COUNTDOWN, problem)
        rules = COUNTDOWN.rules(problem.data)
        with pytest.raises(NotEnoughDeadEnds, match="needed 60"):
            linearize_exact(tree, rules, 60, "uniform", 1)
        # a k it can meet is met exactly
        check_exact(COUNTDOWN, problem, tree, linearize_exact(tree, rules, 1, "uniform", 1),
                    1, 1)


def test_excursions_start_only_where_no_solution_is_left() -> None:
    """A branch point's solvable children are not used: with too few unsolvable ones the
    problem is skipped under its own reason, and the build counts it so."""
    for seed in range(40):
        problem = countdown(seed)
        rules = COUNTDOWN.rules(problem.data)
        tree = solve(COUNTDOWN, problem)
        for k in range(1, 9):
            try:
                trace = linearize_exact(tree, rules, k, "uniform", 4)
            except NotEnoughSoundDeadEnds as error:
                assert f"needed {k}" in str(error) and "solvable state" in str(error)
                break
            starts = [trace.steps[i - 1 - n].node for i, n in
                      zip(trace.backtrack_positions, trace.dead_end_lengths, strict=True)]
            assert not any(rules.solvable(tree.nodes[n].state) for n in starts)
        else:
            continue
        config = parse_config({"task": {"name": "countdown", "preset": "medium"},
                               "traces": {"k_mix": {k: 1.0}, "max_dead_end_length": 4},
                               "splits": {"train": 1, "test": 1}})
        row = finish_row(config, COUNTDOWN, Generated(Candidate("train", k, 0, 0), seed, problem),
                         rules, solve(COUNTDOWN, problem))
        assert row == Rejected("linearize:not_enough_sound_dead_ends")
        return
    pytest.fail("every problem had enough sound dead ends for k = 8")


def test_a_natural_trace_that_abandons_a_solvable_state_is_skipped() -> None:
    """Iterative deepening's depth limit can give up a solvable state: such a problem is
    skipped with its reason (depth-first natural traces never do: they leave a node only
    after trying all of its children)."""
    maze = get_task("maze")
    config = parse_config({"task": {"name": "maze", "preset": "medium"},
                           "solver": {"name": "iddfs"}, "traces": {"k_mix": "natural"},
                           "splits": {"train": 1, "test": 1}})
    for seed in range(30):
        problem = first_problem(maze, maze.make_config("medium", {}), seed)
        rules = maze.rules(problem.data)
        tree = solve_iddfs(rules, 20_000)
        if tree.solution is None:
            continue
        try:
            require_sound(linearize_natural(tree), tree, rules)
        except UnsoundTrace:
            row = finish_row(config, maze, Generated(Candidate("train", NATURAL, 0, 0), seed,
                                                     problem), rules, tree)
            assert row == Rejected("linearize:natural_trace_unsound")
            dfs_tree = solve_dfs(rules, 20_000)
            require_sound(linearize_natural(dfs_tree), dfs_tree, rules)
            return
    pytest.fail("no iddfs natural trace gave up a solvable state")


def test_bad_placement_and_unsolved_tree_are_errors() -> None:
    problem = countdown(0)
    tree = solve(COUNTDOWN, problem)
    with pytest.raises(ValueError, match="placement"):
        linearize_exact(tree, COUNTDOWN.rules(problem.data), 1, "middle", 4)
    with pytest.raises(ValueError, match="no solution"):
        linearize_natural(SearchTree(solver="dfs"))


# ---- natural order ---------------------------------------------------------------------


def backtracking_countdown_problems(count: int) -> list[tuple[Problem, SearchTree]]:
    """Medium problems on which the solver itself backtracks several times."""
    out = []
    for seed in range(200):
        problem = countdown(seed)
        tree = solve(COUNTDOWN, problem)
        if linearize_natural(tree).num_backtracks >= 4:
            out.append((problem, tree))
        if len(out) == count:
            return out
    raise AssertionError("too few problems on which the solver backtracks")


@pytest.mark.parametrize("style", STYLES)
def test_natural_trace_is_the_solvers_own_order(style: str) -> None:
    for problem, tree in backtracking_countdown_problems(4):
        trace = linearize_natural(tree)
        kinds = [s.kind for s in trace.steps]
        assert trace.mode == "natural"
        assert trace.num_backtracks == kinds.count(DEAD_END) == kinds.count(BACKTRACK)
        assert trace.num_backtracks == sum(n.status == "dead_end" for n in tree.nodes)
        moves = [s.node for s in trace.steps if s.kind == MOVE]
        assert moves == list(range(1, tree.solution + 1))  # every visit, in visit order
        for i, step in enumerate(trace.steps):
            if step.kind == BACKTRACK:
                assert kinds[i - 1] == DEAD_END and kinds[i + 1] == MOVE
                assert tree.nodes[trace.steps[i + 1].node].parent == step.node
            if step.kind == DEAD_END:
                assert trace.steps[i - 1].node == step.node
        assert trace.steps[-1].kind == GOAL and trace.steps[-1].node == tree.solution
        _, completion = render(COUNTDOWN, problem, tree, trace, style, salt=3)
        verdict = verify_completion(COUNTDOWN, problem.data, completion, style,
                                    trace.num_backtracks)
        assert verdict.ok, (verdict, completion)


def test_natural_trace_ignores_widened_nodes() -> None:
    problem, tree = backtracking_countdown_problems(1)[0]
    before = linearize_natural(tree)
    linearize_exact(tree, COUNTDOWN.rules(problem.data), 6, "uniform", 4)
    assert linearize_natural(tree) == before


# ---- render and parse ------------------------------------------------------------------


def rendered_traces() -> list[tuple[Task, Problem, SearchTree, Trace]]:
    out = []
    chosen = ((COUNTDOWN, countdown(0)), (COUNTDOWN, countdown(1, allow_fractions=True)),
              (SUDOKU, sudoku(0)))
    for task, problem in chosen:
        tree = solve(task, problem)
        out.append((task, problem, tree, linearize_exact(tree, task.rules(problem.data), 5,
                                                        "uniform", 4)))
        out.append((task, problem, tree, linearize_natural(tree)))
    return out


@pytest.mark.parametrize("style", STYLES)
def test_every_rendered_line_parses_back_into_its_kind(style: str) -> None:
    other = STYLES[1 - STYLES.index(style)]
    for task, problem, tree, trace in rendered_traces():
        for salt in range(6):
            lines, _ = render(task, problem, tree, trace, style, salt)
            assert len(lines) == len(trace.steps)
            for line, step in zip(lines, trace.steps, strict=True):
                event = parse_line(line, style)
                assert event is not None and event.kind == step.kind, (line, step)
                assert parse_line(line, other) is None, line
            for position in trace.backtrack_positions:
                assert parse_line(lines[position], style).kind == BACKTRACK


def test_natural_phrasing_varies_with_salt_and_keeps_its_openers() -> None:
    task, problem, tree, trace = rendered_traces()[0]
    openers, deads, backs = set(), set(), set()
    for salt in range(6):
        lines, _ = render(task, problem, tree, trace, "natural", salt)
        for i, (line, step) in enumerate(zip(lines, trace.steps, strict=True)):
            if step.kind == MOVE:
                opener = next(o for o in (*NATURAL_OPENERS, NATURAL_AFTER_BACKTRACK)
                              if line.startswith(f"{o} "))
                if i == 0:
                    assert opener == NATURAL_OPENERS[0]
                elif trace.steps[i - 1].kind == BACKTRACK:
                    assert opener == NATURAL_AFTER_BACKTRACK
                else:
                    openers.add(opener)
            elif step.kind == DEAD_END:
                deads.add(next(d for d in NATURAL_DEAD if line.endswith(f", {d}.")))
            elif step.kind == BACKTRACK:
                backs.add(next(b for b in NATURAL_BACK if line.startswith(f"{b} ")))
    assert openers == set(NATURAL_OPENERS)
    assert deads == set(NATURAL_DEAD) and backs == set(NATURAL_BACK)
    assert render(task, problem, tree, trace, "natural", 4) == render(
        task, problem, tree, trace, "natural", 4)


def test_parse_line_reads_the_phrases_of_each_kind() -> None:
    assert parse_line("Let me try 5+3=8. That leaves 2, 8.", "natural").phrases == (
        "5+3=8", "That leaves 2, 8")
    assert parse_line("2 and 8 cannot make 24, so this branch fails.", "natural").phrases == (
        "2 and 8 cannot make 24",)
    assert parse_line("Going back to the numbers 5, 3, 2.", "natural").phrases == (
        "the numbers 5, 3, 2",)
    assert parse_line("24 is the target, so the puzzle is solved.", "natural").kind == GOAL
    assert parse_line("try 5+3=8 -> [2, 8]", "compact").phrases == ("5+3=8", "[2, 8]")
    assert parse_line("dead: 2,8 cannot make 24", "compact").phrases == (
        "2,8 cannot make 24",)
    assert parse_line("back to [5, 3, 2]", "compact").phrases == ("[5, 3, 2]",)
    assert parse_line("goal: 24 = 24", "compact").phrases == ("24 = 24",)
    for garbage in ("", "Let me try", "try", "dead:", "Maybe try 5+3=8. That leaves 2, 8.",
                    "let me try 5+3=8. That leaves 2, 8.", "Let me try 5+3=8. That leaves 2, 8"):
        assert parse_line(garbage, "natural") is None, garbage
        assert parse_line(garbage, "compact") is None, garbage


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


def test_extract_answer_takes_the_last_answer_block() -> None:
    assert extract_answer("<answer>1</answer> x <answer>\n 2+3 \n</answer> y") == "2+3"
    assert extract_answer("<answer>a\nb</answer>") == "a\nb"
    assert extract_answer("  no tags here \n") == "no tags here"
    assert extract_answer("<answer>unclosed") == "<answer>unclosed"
    assert extract_answer("<answer></answer>") == ""
    assert extract_answer(None) == ""  # type: ignore[arg-type]


# ---- plan ------------------------------------------------------------------------------

_mixes = st.dictionaries(st.integers(min_value=0, max_value=64),
                         st.integers(min_value=1, max_value=1000), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(weights=_mixes, total=st.one_of(st.integers(min_value=0, max_value=200),
                                       st.integers(min_value=0, max_value=100_000_000)))
def test_largest_remainder_is_exact(weights: dict[int, int], total: int) -> None:
    mix = {k: w / sum(weights.values()) for k, w in weights.items()}
    counts = largest_remainder(total, mix)
    assert set(counts) == set(mix)
    assert sum(counts.values()) == total
    for k, share in mix.items():
        assert counts[k] >= 0
        assert abs(counts[k] - total * share) < 1 + 1e-6, (k, counts[k], total * share)


@pytest.mark.parametrize(
    ("total", "mix", "expected"),
    [
        (1, {5: 0.5, 2: 0.5}, {5: 0, 2: 1}),
        (3, {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}, {0: 1, 1: 1, 3: 1, 5: 0}),
        (42, {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}, {0: 11, 1: 11, 3: 10, 5: 10}),
        (13, {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}, {0: 4, 1: 3, 3: 3, 5: 3}),
        (10, {0: 0.25, 1: 0.75}, {0: 3, 1: 7}),  # 2.5 vs 7.5: a tie, to the smaller k
        (10, {4: 0.25, 1: 0.75}, {4: 2, 1: 8}),
        (7, {0: 0.1, 3: 0.9}, {0: 1, 3: 6}),  # 0.7 beats 0.3
        (0, {0: 0.5, 1: 0.5}, {0: 0, 1: 0}),
    ],
)
def test_largest_remainder_examples(total: int, mix: dict[int, float],
                                    expected: dict[int, int]) -> None:
    assert largest_remainder(total, mix) == expected


@pytest.mark.parametrize(
    ("mix", "total"),
    [
        ({0: 0.4999995, 1: 0.5}, 10_000_000),
        ({0: 0.5000004, 1: 0.5000004}, 10_000_000),
        ({0: 0.3333333, 1: 0.3333333, 2: 0.3333333}, 100_000_000),
    ],
)
def test_plan_meets_the_split_for_every_mix_the_config_accepts(
    mix: dict[int, float], total: int
) -> None:
    """The config accepts shares that sum to 1 within 1e-6; the plan must still add up."""
    config = parse_config({"task": {"name": "countdown"}, "traces": {"k_mix": mix},
                           "splits": {"train": total}})
    assert sum(b.requested for b in plan_buckets(config)) == total


def test_plan_buckets_for_a_config(countdown_config: dict) -> None:
    config = parse_config(countdown_config)  # train 42, test 13; k 0/1/3/5 at 0.25 each
    assert plan_buckets(config) == [
        Bucket("train", 0, 0, (11,)), Bucket("train", 1, 1, (11,)), Bucket("train", 3, 2, (10,)),
        Bucket("train", 5, 3, (10,)),
        Bucket("test", 0, 0, (4,)), Bucket("test", 1, 1, (3,)), Bucket("test", 3, 2, (3,)),
        Bucket("test", 5, 3, (3,)),
    ]
    assert Bucket("test", 5, 3, (3,)).label == "test k=5"


def test_plan_buckets_skips_empty_buckets_and_keeps_ordinals(countdown_config: dict) -> None:
    countdown_config["splits"] = {"test": 2, "train": 1}
    countdown_config["traces"]["k_mix"] = {5: 0.5, 0: 0.25, 3: 0.25}
    assert plan_buckets(parse_config(countdown_config)) == [
        Bucket("train", 5, 2, (1,)), Bucket("test", 0, 0, (1,)), Bucket("test", 5, 2, (1,))]


def test_plan_buckets_natural(countdown_config: dict) -> None:
    countdown_config["traces"]["k_mix"] = "natural"
    buckets = plan_buckets(parse_config(countdown_config))
    assert buckets == [Bucket("train", NATURAL, 0, (42,)), Bucket("test", NATURAL, 0, (13,))]
    assert buckets[0].label == "train k=natural"


def test_candidate_seeds_come_from_seed_sequences() -> None:
    seeds = {}
    for split in SPLITS:
        for bucket in range(3):
            for index in range(40):
                candidate = Candidate(split, 1, bucket, index)
                key = (SPLITS.index(split), bucket, index)
                assert candidate.spawn_key == key
                seed = candidate.seed(1234)
                expected = np.random.SeedSequence(1234, spawn_key=key).generate_state(
                    1, np.uint64)[0]
                assert seed == int(expected) and isinstance(seed, int)
                assert seed == Candidate(split, 1, bucket, index).seed(1234)
                seeds[key] = seed
    assert len(set(seeds.values())) == len(seeds)
    assert Candidate("train", 1, 0, 0).seed(1234) != Candidate("train", 1, 0, 0).seed(1235)
    assert Candidate("train", 1, 0, 1).seed(0) != Candidate("train", 1, 0, 0).seed(1)
    # k is not part of the key: a bucket's stream depends on its position, not its k
    assert Candidate("train", 1, 0, 5).seed(7) == Candidate("train", 3, 0, 5).seed(7)


def test_candidate_range_lists_its_candidates() -> None:
    assert CandidateRange("test", 3, 2, 5, 8).candidates() == [
        Candidate("test", 3, 2, 5), Candidate("test", 3, 2, 6), Candidate("test", 3, 2, 7)]
    assert CandidateRange("test", 3, 2, 5, 5).candidates() == []


# ---- selection -------------------------------------------------------------------------


def ref(split: str, bucket: int, index: int, problem: str) -> StagedRef:
    return StagedRef(split, bucket, index, 0, problem, f"stage/{split}/{bucket}/{index}")


def test_first_per_problem_prefers_test_then_bucket_then_index() -> None:
    refs = [ref("train", 0, 0, "p"), ref("test", 3, 9, "p"), ref("test", 1, 7, "p"),
            ref("test", 1, 2, "p"), ref("train", 0, 1, "p")]
    for order in (refs, refs[::-1], refs[2:] + refs[:2]):
        kept, dropped = first_per_problem(order)
        assert kept == ref("test", 1, 2, "p")
        assert sorted(dropped) == sorted(r for r in refs if r != kept)
    kept, dropped = first_per_problem([ref("train", 2, 0, "p"), ref("train", 1, 5, "p")])
    assert kept == ref("train", 1, 5, "p") and dropped == [ref("train", 2, 0, "p")]
    assert first_per_problem([ref("train", 0, 3, "p")]) == (ref("train", 0, 3, "p"), [])


def test_kept_indexes_drops_duplicates_with_reasons() -> None:
    refs = [
        ref("train", 0, 4, "a"), ref("train", 0, 1, "b"), ref("test", 2, 0, "a"),
        ref("train", 1, 3, "b"), ref("train", 0, 2, "c"), ref("train", 0, 0, "b"),
        ref("test", 0, 5, "d"), ref("test", 0, 6, "d"),
    ]
    kept, dropped = kept_indexes(refs)
    assert kept == {("test", 2, 0): [0], ("train", 0, 0): [0, 2], ("test", 0, 0): [5]}
    assert sorted(dropped) == sorted([
        (ref("train", 0, 4, "a"), "dedup:overlaps_other_split"),
        (ref("train", 0, 1, "b"), "dedup:duplicate"),
        (ref("train", 1, 3, "b"), "dedup:duplicate"),
        (ref("test", 0, 6, "d"), "dedup:duplicate"),
    ])
    assert sum(len(v) for v in kept.values()) + len(dropped) == len(refs)
    assert kept_indexes([]) == ({}, [])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SPLITS), st.integers(0, 3), st.integers(0, 50),
                          st.sampled_from("abcdef")), unique_by=lambda t: t[:3], max_size=30))
def test_kept_indexes_keeps_one_row_per_problem(rows: list[tuple]) -> None:
    refs = [ref(*row) for row in rows]
    kept, dropped = kept_indexes(refs)
    lost = {loser for loser, _ in dropped}
    survivors = [r for r in refs if r not in lost]
    assert sorted(r.problem_id for r in survivors) == sorted({r.problem_id for r in refs})
    assert sum(len(v) for v in kept.values()) == len(survivors)
    assert all(r.index in kept[(r.split, r.bucket, r.level)] for r in survivors)
    assert all(v == sorted(v) for v in kept.values())
    for loser, reason in dropped:
        winner = next(r for r in survivors if r.problem_id == loser.problem_id)
        assert (winner.split != "test", winner.bucket, winner.index) < (
            loser.split != "test", loser.bucket, loser.index)
        assert reason == ("dedup:overlaps_other_split" if winner.split != loser.split
                          else "dedup:duplicate")


def test_cutoff_is_the_wanted_th_smallest_index() -> None:
    indexes = [17, 3, 9, 40, 1, 22]
    assert [cutoff(indexes, wanted) for wanted in range(1, 7)] == [1, 3, 9, 17, 22, 40]
    assert cutoff(indexes, 100) == 40  # too few rows: keep them all
    assert cutoff(iter([5]), 1) == 5
