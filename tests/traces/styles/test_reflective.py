"""The reflective style: its templates cannot be mistaken for each other, every task's
lines round-trip through them, a small build of every task uses at least 20 of them, the
wording is fixed by the salt, and a build in the style passes the gate."""

from __future__ import annotations

import json
import time
from collections import Counter
from itertools import pairwise, permutations
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.outputs import line_template_counts
from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks import get_task, task_names
from searchtrace.tasks.base import GenerationSkipped
from searchtrace.traces.linearize import NotEnoughDeadEnds, linearize_exact
from searchtrace.traces.parse import MAX_LINE_CHARS, split_completion
from searchtrace.traces.render import format_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.styles.base import RawEvent, step_phrases
from searchtrace.traces.styles.reflective import MOVES, RECOVERIES, TEMPLATES
from searchtrace.traces.trace import BACKTRACK, MOVE
from tests.traces.support import with_one_backtrack

REFLECTIVE = get_style("reflective")
ALL = [template for templates in TEMPLATES.values() for template in templates]


def test_no_template_opener_is_a_prefix_of_another() -> None:
    """The text before a template's first phrase decides the template: two lines of
    different templates differ within their openers, whatever their phrases say."""
    openers = [template.split("{}")[0] for template in ALL]
    assert len(ALL) >= 20 and len(set(ALL)) == len(ALL)
    for one, other in permutations(openers, 2):
        assert not other.startswith(one), (one, other)


def test_each_template_reads_back_as_its_kind_and_its_shape() -> None:
    for kind, templates in TEMPLATES.items():
        for template in templates:
            phrases = ("7*6=42", "That leaves 9, 42") if kind == MOVE else ("x. y, z",)
            line = template.format(*phrases)
            assert REFLECTIVE.parse_line(line) == RawEvent(kind, phrases), line
            assert REFLECTIVE.line_template(line) == template
    for other in ("natural", "compact"):
        for template in ALL:
            assert get_style(other).parse_line(template.format("a", "b")) is None, template


@pytest.mark.parametrize("name", task_names())
def test_every_task_round_trips_with_the_template_it_was_written_with(name: str) -> None:
    """Each line reads back as its step's kind and exactly its phrases, blanks to a
    template of its kind, a move after a backtrack takes a recovery template, and no
    template follows itself."""
    task, problem, tree, trace = with_one_backtrack(name)
    phrasing = task.phrasing("reflective", problem.data)
    said = list(step_phrases(trace, tree, phrasing))
    for salt in range(8):
        lines = REFLECTIVE.render(trace, tree, phrasing, salt)
        shapes = [REFLECTIVE.line_template(line) for line in lines]
        for index, (line, (kind, phrases)) in enumerate(zip(lines, said, strict=True)):
            assert REFLECTIVE.parse_line(line) == RawEvent(kind, phrases), line
            assert shapes[index] in TEMPLATES[kind], line
            assert shapes[index].format(*phrases) == line
            if kind == MOVE:
                after_backtrack = index > 0 and said[index - 1][0] == BACKTRACK
                assert shapes[index] in (RECOVERIES if after_backtrack else MOVES), line
        assert all(a != b for a, b in pairwise(shapes)), shapes
        assert REFLECTIVE.count_kinds("\n".join(lines)) == Counter(k for k, _ in said)


def test_the_wording_is_fixed_by_the_salt_and_varies_with_it() -> None:
    task, problem, tree, trace = with_one_backtrack("countdown")
    phrasing = task.phrasing("reflective", problem.data)
    texts = {salt: REFLECTIVE.render(trace, tree, phrasing, salt) for salt in range(6)}
    assert texts[3] == REFLECTIVE.render(trace, tree, phrasing, 3)
    assert len({tuple(lines) for lines in texts.values()}) == 6


def _small_build(name: str, rows: int = 16) -> list[str]:
    """Completions of `rows` easy problems of task `name` in the reflective style, each
    with the most backtracks up to 3 its tree supports, salted per problem as a build
    salts its rows."""
    task = get_task(name)
    config = task.make_config("easy", {})
    completions: list[str] = []
    for seed in range(200):
        if len(completions) == rows:
            break
        try:
            problem = task.generate(config, np.random.default_rng(seed), "train")
        except GenerationSkipped:
            continue
        rules = task.rules(problem.data)
        tree = solve_dfs(rules, 20_000)
        if tree.solution is None:
            continue
        for k in (3, 2, 1, 0):
            try:
                trace = linearize_exact(tree, rules, k, "uniform", 3)
            except NotEnoughDeadEnds:
                continue
            lines = REFLECTIVE.render(trace, tree, task.phrasing("reflective", problem.data),
                                      seed % 9973)
            moves = [tree.nodes[n].move for n in tree.solution_path()[1:]]
            completions.append(format_completion(lines, task.answer(problem.data, moves)))
            break
    assert len(completions) == rows, name
    return completions


@pytest.mark.parametrize("name", task_names())
def test_a_small_build_of_every_task_uses_at_least_20_templates(name: str) -> None:
    used = line_template_counts(REFLECTIVE, _small_build(name))
    assert used["unread_lines"] == 0
    assert set(used["counts"]) <= set(ALL)
    assert used["distinct"] >= 20, used


def test_parsing_stays_linear_on_lines_full_of_separators() -> None:
    """A line of `. ` and `: ` after every opener, to the line cap and ending in no
    template's ending, reads as nothing at once; 1 MB of them is counted at once."""
    lines = []
    for template in ALL:
        opener = template.split("{}")[0]
        lines.append((opener + ". : a" * MAX_LINE_CHARS)[:MAX_LINE_CHARS - 1] + "~")
    text = "\n".join(lines * (1_000_000 // len("\n".join(lines)) + 1))
    started = time.perf_counter()
    assert all(REFLECTIVE.parse_line(line) is None for line in lines)
    assert REFLECTIVE.count_kinds(text) == Counter()
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("line", ["", "L", "Let me ", "Checking ", "x"])
def test_counting_a_megabyte_of_short_lines_costs_little_per_line(line: str) -> None:
    """Lines that begin no template, or begin many, are refused by the style's lead or
    after a few characters of each template that shares it."""
    text = f"{line}\n" * (1_000_000 // (len(line) + 1))
    started = time.perf_counter()
    assert REFLECTIVE.count_kinds(text) == Counter()
    assert time.perf_counter() - started < 1.0


def test_a_reflective_build_passes_the_gate_and_reports_its_templates(tmp_path: Path) -> None:
    config = parse_config({
        "name": "reflective-countdown", "task": {"name": "countdown", "preset": "easy"},
        "solver": {"name": "dfs", "node_budget": 20000},
        "traces": {"k_mix": {0: 0.25, 1: 0.25, 3: 0.5}, "style": "reflective",
                   "max_dead_end_length": 3},
        "splits": {"train": 16, "test": 4}, "seed": 3})
    result = run_build(config, tmp_path / "out")
    assert result.record["gate"] == {"rows": 20, "reverified": 20}
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    used = stats["line_templates"]
    assert used["unread_lines"] == 0 and set(used["counts"]) <= set(ALL)
    assert used["distinct"] == len(used["counts"]) >= 20
    lines = [line for shard in sorted((tmp_path / "out" / "data").glob("*.parquet"))
             for completion in pq.read_table(shard, columns=["completion"])["completion"]
             for line in split_completion(completion.as_py())[0].split("\n")]
    assert Counter(map(REFLECTIVE.line_template, lines)) == used["counts"]
