"""docs/tasks.md is what the code writes today, and its examples verify."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchtrace.gallery import _example, render_gallery
from searchtrace.tasks import get_task, task_names
from searchtrace.traces.replay import verify_completion

GALLERY = Path(__file__).resolve().parents[1] / "docs" / "tasks.md"


def test_the_committed_gallery_matches_the_code() -> None:
    assert GALLERY.read_text() == render_gallery(), (
        "docs/tasks.md is out of date: run `searchtrace gallery`")


@pytest.mark.parametrize("name", task_names())
def test_every_gallery_example_has_one_backtrack_and_verifies(name: str) -> None:
    task = get_task(name)
    problem, completions = _example(task)
    for style, completion in completions.items():
        assert verify_completion(task, problem.data, completion, style, 1).ok
        assert f"## {name}" in GALLERY.read_text()
