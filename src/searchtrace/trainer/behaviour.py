"""TRL's reward functions from the verifiers: the answer, the format, and the fraction of
the model's own steps that replay legally, each judged by `searchtrace.rewards` (which
judges veRL's and OpenRLHF's rewards the same way).

TRL hands the rewards plain-text completions, or conversational ones (a list of message
dicts) when the dataset is conversational: the last assistant message's content is judged.
Anything else (None, a list without an assistant message) is judged as no text, and every
reward gives it 0. A completion over MAX_COMPLETION_CHARS is judged unread, like the
verifier does: malformed and wrong, in time that does not grow with it."""

from __future__ import annotations

from typing import Any

from searchtrace.rewards import analyse, completion_text
from searchtrace.traces.parse import MAX_COMPLETION_CHARS, split_completion


def answer_reward(completions: list[Any], task: list[str], problem: list[str],
                  style: list[str], **_: Any) -> list[float]:
    """1 when the task's answer checker accepts the completion's answer, else 0."""
    return [float(analyse(t, p, c, s).correct)
            for c, t, p, s in zip(completions, task, problem, style, strict=True)]


def format_reward(completions: list[Any], **_: Any) -> list[float]:
    """1 for `<think>…</think>` then `<answer>…</answer>` and nothing else, else 0."""
    return [float(_well_formed(completion_text(c))) for c in completions]


def _well_formed(text: str | None) -> bool:
    return (text is not None and len(text) <= MAX_COMPLETION_CHARS
            and split_completion(text) is not None)


def step_validity_reward(completions: list[Any], task: list[str], problem: list[str],
                         style: list[str], **_: Any) -> list[float]:
    """The fraction of the completion's steps that replay legally through the rules."""
    return [analyse(t, p, c, s).legal_fraction
            for c, t, p, s in zip(completions, task, problem, style, strict=True)]
