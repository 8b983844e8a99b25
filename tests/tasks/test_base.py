"""Answer extraction from free-form model output (tasks/base.py)."""

from __future__ import annotations

from searchtrace.tasks.base import extract_answer


def test_extract_answer_takes_the_last_answer_block() -> None:
    assert extract_answer("<answer>1</answer> x <answer>\n 2+3 \n</answer> y") == "2+3"
    assert extract_answer("<answer>a\nb</answer>") == "a\nb"
    assert extract_answer("  no tags here \n") == "no tags here"
    assert extract_answer("<answer>unclosed") == "<answer>unclosed"
    assert extract_answer("<answer></answer>") == ""
    assert extract_answer(None) == ""  # type: ignore[arg-type]
