"""Linear traces from real search trees: exact k (placement, dead-end length, soundness)
and the solver's own order; every trace rendered in a style verifies."""

from __future__ import annotations

import statistics

import pytest

from searchtrace.config import parse_config
from searchtrace.pipelines.plan import NATURAL, Candidate
from searchtrace.pipelines.process import Generated, Rejected, finish_row
from searchtrace.solvers.dfs import solve_dfs
from searchtrace.solvers.iddfs import solve_iddfs
from searchtrace.tasks import Task, get_task
from searchtrace.tasks.base import Problem
from searchtrace.traces.linearize import (
    NotEnoughDeadEnds,
    NotEnoughSoundDeadEnds,
    UnsoundTrace,
    linearize_exact,
    linearize_natural,
    require_sound,
)
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import style_names
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE, Trace
from searchtrace.traces.tree import SearchTree
from tests.traces.support import (
    COUNTDOWN,
    SUDOKU,
    countdown,
    first_problem,
    render,
    solve,
    sudoku,
)

STYLES = style_names()

PLACEMENTS = ("uniform", "early", "late")

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
            style = STYLES[k % len(STYLES)]
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
        style = STYLES[k % len(STYLES)]
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
