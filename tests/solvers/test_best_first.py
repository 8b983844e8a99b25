"""A* and greedy best-first search: g and h on every node, A*'s optimality and its
advantage over breadth-first search."""

from __future__ import annotations

import json

from searchtrace.solvers.best_first import ScoredNode, solve_astar, solve_best_first
from searchtrace.solvers.bfs import solve_bfs
from tests.solvers.problems import MAZE, countdown_rules, maze_problems, sudoku_rules


def test_astar_records_g_and_an_admissible_h_on_the_solution_path() -> None:
    for seed in range(3):
        rules = sudoku_rules(seed)
        tree = solve_astar(rules, 20_000)
        path = tree.solution_path()
        for depth, node_id in enumerate(path):
            node = tree.nodes[node_id]
            assert node.g == depth
            assert node.h <= len(path) - 1 - depth  # never overestimates what is left
        stored = json.loads(tree.to_json(rules))["nodes"]
        assert all("g" in n and "h" in n for n in stored)


def test_a_node_added_after_the_search_has_no_g_or_h() -> None:
    """The linearizer widens a tree with nodes of the solver's type, which the search
    never scored: the stored tree says nothing about their cost."""
    rules = countdown_rules(0)
    tree = solve_best_first(rules, 20_000)
    move, state = rules.expand(tree.nodes[0].state)[0]
    widened = tree.add(0, move, state, widened=True)
    assert isinstance(widened, ScoredNode) and widened.g is None
    stored = json.loads(tree.to_json(rules))["nodes"]
    assert "g" not in stored[-1] and "h" not in stored[-1] and stored[-1]["widened"]
    assert all("g" in n for n in stored[:-1])


def test_astar_expands_no_more_than_bfs() -> None:
    for seed in range(5):
        rules = countdown_rules(seed)
        assert solve_astar(rules, 20_000).nodes_expanded <= solve_bfs(rules, 20_000).nodes_expanded


def test_astar_on_mazes_is_optimal_and_expands_no_more_than_bfs() -> None:
    problems = maze_problems(40)
    for problem in problems:
        rules = MAZE.rules(problem.data)
        astar = solve_astar(rules, 1_000_000)
        bfs = solve_bfs(rules, 1_000_000)
        assert len(astar.solution_path()) == len(bfs.solution_path())  # both shortest
        assert astar.nodes_expanded <= bfs.nodes_expanded
        open_cells = sum(line.count(".") + line.count("S") + line.count("G")
                         for line in problem.data["grid"])
        assert bfs.nodes_expanded <= open_cells  # the maze's search key: each cell once
    assert len(problems) >= 30
