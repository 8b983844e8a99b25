"""Iterative deepening: every iteration counts, the tree is the last one's walk."""

from __future__ import annotations

from searchtrace.solvers.iddfs import solve_iddfs
from searchtrace.traces.linearize import linearize_natural
from tests.solvers.problems import countdown_rules


def test_iddfs_counts_every_iteration_and_keeps_the_last_walk() -> None:
    rules = countdown_rules(1)
    iddfs = solve_iddfs(rules, 20_000)
    last_walk = sum(1 for n in iddfs.nodes if n.status == "expanded")
    assert iddfs.nodes_expanded > last_walk  # earlier, shallower iterations count too
    trace = linearize_natural(iddfs)
    assert trace.num_backtracks == sum(1 for s in trace.steps if s.kind == "dead_end")
