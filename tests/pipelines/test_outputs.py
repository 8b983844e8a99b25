"""stats.json: its line templates (each think line blanked to the template its style wrote
it with, counted over a build's completions, checked against counts written out by hand),
and its counts and summaries, added up shard by shard."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from searchtrace.config import parse_config
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.outputs import _summary, line_template_counts
from searchtrace.traces.render import format_completion
from searchtrace.traces.styles import get_style
from tests.conftest import SMALL_COUNTDOWN


def test_line_templates_are_counted_by_shape_most_used_first() -> None:
    completions = [
        format_completion(["Let me try 5+3=8. That leaves 2, 8.",
                           "2 and 8 cannot make 24, so this is a dead end.",
                           "Going back to the numbers 5, 3, 2.",
                           "Instead, let me try 5*3=15. That leaves 2, 15.",
                           "Next, try 15+2=17. That leaves 17."], "5*3+2"),
        format_completion(["Let me try 4+4=8. That leaves 8.",
                           "8 is the target, so the puzzle is solved."], "4+4"),
    ]
    assert line_template_counts(get_style("natural"), completions) == {
        "distinct": 6,
        "counts": {"Let me try {}. {}.": 2, "Going back to {}.": 1,
                   "Instead, let me try {}. {}.": 1, "Next, try {}. {}.": 1,
                   "{}, so the puzzle is solved.": 1, "{}, so this is a dead end.": 1},
        "unread_lines": 0,
    }


def test_lines_a_style_cannot_read_are_counted_apart() -> None:
    completions = [format_completion(["try 5+3=8 -> [2, 8]", "I am not sure.", "goal: 8 = 8"],
                                     "5+3"),
                   "no think block at all"]
    assert line_template_counts(get_style("compact"), completions) == {
        "distinct": 2, "counts": {"goal: {}": 1, "try {} -> {}": 1}, "unread_lines": 1}
    assert line_template_counts(get_style("compact"), []) == {
        "distinct": 0, "counts": {}, "unread_lines": 0}


def test_stats_added_up_shard_by_shard_equal_the_stats_of_all_rows_at_once(
    tmp_path: Path
) -> None:
    """A build of several shards per split: the stats read the shards one at a time, and
    every count and summary equals one taken over all the rows together."""
    raw = {**SMALL_COUNTDOWN, "output": {"rows_per_shard": 10}}
    out = tmp_path / "out"
    run_build(parse_config(raw), out)
    stats = json.loads((out / "stats.json").read_text())
    rows = pq.read_table(out / "data").to_pylist()
    assert len(list((out / "data").glob("train-*.parquet"))) == 5
    for split, entry in stats["splits"].items():
        mine = [r for r in rows if r["split"] == split]
        assert entry["rows"] == len(mine) == raw["splits"][split]
        assert entry["achieved_k"] == {str(k): n for k, n in
                                       sorted(Counter(r["num_backtracks"] for r in mine).items())}
        assert entry["completion_chars"] == _summary([len(r["completion"]) for r in mine])
        for key, summary in entry["difficulty"].items():
            assert summary == _summary([r["difficulty"][key] for r in mine])
    assert stats["line_templates"] == line_template_counts(
        get_style("natural"), [r["completion"] for r in rows])
