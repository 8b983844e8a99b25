"""The tokens style: its events and costs read back, a round trip for every task whose
stated g and h are checked against the tree's depths and the rules' heuristic computed
here, every corruption of a create or close line caught on its line, and a build in the
style through the gate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from searchtrace.tasks import get_task, task_names
from searchtrace.tasks.base import Violation
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.styles.tokens import cost_token
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE
from tests.support import rendered

TOKENS = get_style("tokens")
COSTS = re.compile(r" g([0-9]+) h([0-9]+)$")


def test_parse_line_reads_events_costs_and_a_close_lines_state() -> None:
    event = TOKENS.parse_line("create 5 + 3 = 8 | 2 8 g1 h1")
    assert (event.kind, event.phrases, event.costs) == (MOVE, ("5 + 3 = 8", "2 8"), ("1", "1"))
    event = TOKENS.parse_line("close 2 8 dead pair 2 8")
    assert (event.kind, event.phrases, event.stated) == (DEAD_END, ("pair 2 8",), "2 8")
    assert TOKENS.parse_line("back 5 3 2").phrases == ("5 3 2",)
    assert TOKENS.parse_line("goal 24").kind == GOAL
    event = TOKENS.parse_line("create 5 + 3 = 8 | 2 8")  # costs dropped (traces/drops.py)
    assert (event.kind, event.phrases, event.costs) == (MOVE, ("5 + 3 = 8", "2 8"), None)
    for garbage in ("", "create 5 + 3 = 8 2 8 g1 h1 | ", "create 5 + 3 = 8",
                    "create 5 + 3 = 8 2 8 g1 h1", "create | 2 8 g1 h1", "close 2 8",
                    "CREATE 5 + 3 = 8 | 2 8 g1 h1", f"create a | b g{'9' * 5000} h1",
                    "try 5+3=8 -> [2, 8]"):
        assert TOKENS.parse_line(garbage) is None, garbage
    # costs the pattern cannot read leave a create line without costs, whose state
    # phrase then holds them: the replay refuses it (`missing_cost`, or `wrong_state`)
    for bad_cost in ("create a | b g-1 h1", "create a | b g1 h٣"):
        assert TOKENS.parse_line(bad_cost).costs is None, bad_cost


def test_costs_are_written_exactly() -> None:
    assert [cost_token(v) for v in (0.0, 5.0, 12, 2.5)] == ["0", "5", "12", "2.5"]


@pytest.mark.parametrize("name", task_names())
def test_every_task_round_trips_with_its_true_costs(name: str) -> None:
    r = rendered(name, "tokens", 1)
    rules = r.task.rules(r.problem.data)  # the verifier's own rules, not the phrasing's
    kinds = [TOKENS.parse_line(line).kind for line in r.lines]
    assert kinds == [step.kind for step in r.trace.steps]
    assert kinds.count(BACKTRACK) == 1
    for line, step in zip(r.lines, r.trace.steps, strict=True):
        node = r.tree.nodes[step.node]
        if step.kind == MOVE:
            g, h = COSTS.search(line).groups()
            assert (int(g), float(h)) == (node.depth, rules.heuristic(node.state))
            assert r.text.parse_move(TOKENS.parse_line(line).phrases[0]) == node.move
    assert r.verify().ok


def _verdict_at(r, line: int, text: str) -> tuple[str, int | None]:
    lines = list(r.lines)
    lines[line] = text
    verdict = r.verify(lines)
    return verdict.code, verdict.line


@pytest.mark.parametrize("name", task_names())
def test_a_wrong_cost_on_any_create_line_is_rejected(name: str) -> None:
    r = rendered(name, "tokens", 1)
    creates = [i for i, step in enumerate(r.trace.steps) if step.kind == MOVE]
    for index in creates:
        g, h = (int(x) for x in COSTS.search(r.lines[index]).groups())
        head = r.lines[index][: COSTS.search(r.lines[index]).start()]
        for wrong in ((g + 1, h), (max(g - 1, 0) if g else 1, h), (g, h + 1),
                      (g, h - 1 if h else 1)):
            said = f"{head} g{wrong[0]} h{wrong[1]}"
            assert _verdict_at(r, index, said) == ("wrong_cost", index), said


@pytest.mark.parametrize("name", task_names())
def test_a_wrong_state_or_move_on_a_token_line_is_rejected(name: str) -> None:
    """Each create line with another create line's state or move, each close line with
    another line's state: rejected on that line. Skipped are substitutes the line stays
    true with: a phrase that names a part of the state (another blank cell) can be true of
    it too, and another legal move can reach a state the line's phrase and costs fit."""
    r = rendered(name, "tokens", 1)
    rules, text = r.rules, r.text
    events = [TOKENS.parse_line(line) for line in r.lines]
    creates = [i for i, e in enumerate(events) if e.kind == MOVE]
    for index in creates:
        move, state = events[index].phrases
        costs = COSTS.search(r.lines[index]).group(0)
        h = float(COSTS.search(r.lines[index]).group(2))
        before = r.tree.nodes[r.node(index).parent].state
        for other in creates:
            other_move, other_state = events[other].phrases
            if text.state_claim_error(other_state, r.node(index).state) is not None:
                said = f"create {move} | {other_state}{costs}"
                assert _verdict_at(r, index, said) == ("wrong_state", index), said
            result = rules.apply(before, text.parse_move(other_move))
            if isinstance(result, Violation) or text.state_claim_error(state, result) or \
                    rules.heuristic(result) != h:
                said = f"create {other_move} | {state}{costs}"
                code, line = _verdict_at(r, index, said)
                assert code != "ok" and line == index, said
    for index in (i for i, e in enumerate(events) if e.kind == DEAD_END):
        for other in creates:
            other_state = events[other].phrases[1]
            if text.state_claim_error(other_state, r.node(index).state) is not None:
                said = f"close {other_state} dead {events[index].phrases[0]}"
                assert _verdict_at(r, index, said) == ("wrong_state", index), said


def test_the_heuristic_checked_is_the_rules_not_the_renderers() -> None:
    """A phrasing whose rules lie about h renders lines the verifier rejects."""
    r = rendered("maze", "tokens", 1)
    phrasing = r.task.phrasing("tokens", r.problem.data)

    class Zero:
        def heuristic(self, state: object) -> float:
            return 0.0

    phrasing.rules = Zero()
    lines = TOKENS.render(r.trace, r.tree, phrasing, 0)
    first = next(i for i, step in enumerate(r.trace.steps)
                 if step.kind == MOVE and r.rules.heuristic(r.node(i).state) != 0)
    verdict = r.verify(lines)
    assert (verdict.code, verdict.line) == ("wrong_cost", first), verdict


def test_other_styles_state_no_costs() -> None:
    for style in ("natural", "compact"):
        r = rendered("countdown", style, 1)
        for line in r.lines:
            event = get_style(style).parse_line(line)
            assert event.costs is None and event.stated is None


def test_a_tokens_config_builds_through_the_gate(tmp_path: Path) -> None:
    raw = {"name": "tokens-maze", "task": {"name": "maze", "preset": "easy"},
           "solver": {"name": "astar", "node_budget": 20000},
           "traces": {"k_mix": {0: 0.5, 1: 0.5}, "style": "tokens", "max_dead_end_length": 3},
           "splits": {"train": 4, "test": 2}, "seed": 3}
    result = run_build(parse_config(raw), tmp_path / "out")
    assert result.record["gate"] == {"rows": 6, "reverified": 6}
    rows = [row for shard in sorted((tmp_path / "out" / "data").glob("*.parquet"))
            for row in pq.read_table(shard).to_pylist()]
    assert len(rows) == 6 and {row["style"] for row in rows} == {"tokens"}
    for row in rows:
        assert row["completion"].startswith("<think>\ncreate ")
        assert verify_completion(get_task("maze"), json.loads(row["problem"]),
                                 row["completion"], "tokens", row["num_backtracks"]).ok
