"""The completion format every row uses, whatever its style: the think lines, then the answer.
A style (`traces/styles/`) writes the think lines."""

from __future__ import annotations

from collections.abc import Sequence


def format_completion(think_lines: Sequence[str], answer: str) -> str:
    """`<think>` block, then `<answer>` block: the completion format every row uses."""
    return "<think>\n" + "\n".join(think_lines) + "\n</think>\n<answer>" + answer + "</answer>"
