"""Depth-first search: the rules' move order, one walk, the first solution."""

from __future__ import annotations

from searchtrace.solvers.dfs import solve_dfs
from tests.solvers.problems import countdown_rules, sudoku_rules


def test_dfs_tries_moves_in_the_rules_order_and_stops_at_the_first_solution() -> None:
    for rules in (countdown_rules(0), sudoku_rules(1)):
        tree = solve_dfs(rules, 20_000)
        assert tree.solution == len(tree.nodes) - 1  # nothing is visited after it
        for node in tree.nodes:
            if not node.children:
                continue
            moves = [rules.move_to_json(m) for m, _ in rules.expand(node.state)]
            tried = [rules.move_to_json(tree.nodes[c].move) for c in node.children]
            assert tried == moves[:len(tried)]


def test_dfs_counts_each_expansion_once() -> None:
    rules = countdown_rules(4)
    tree = solve_dfs(rules, 20_000)
    expanded = sum(1 for n in tree.nodes if n.children or (n.status == "dead_end"
                                                           and n.reason is None))
    assert tree.nodes_expanded == expanded
    assert tree.children_generated >= len(tree.nodes) - 1
