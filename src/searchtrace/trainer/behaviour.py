"""What a model's completion does, judged by the task's verifier: format, answer, how many
of its steps replay legally, how many backtracks it makes, and lines it could not parse.
The reward functions for RL and the evaluation numbers both come from here.

TRL hands the rewards plain-text completions, or conversational ones (a list of message
dicts) when the dataset is conversational: the last assistant message's content is judged.
Anything else (None, a list without an assistant message) is judged as no text, and every
reward gives it 0. A completion over MAX_COMPLETION_CHARS is judged unread, like the
verifier does: malformed and wrong, in time that does not grow with it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from searchtrace.tasks import get_task
from searchtrace.tasks.base import extract_answer
from searchtrace.traces.parse import MAX_COMPLETION_CHARS, split_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import BACKTRACK


@dataclass(frozen=True)
class Behaviour:
    format_ok: bool  # <think>…</think><answer>…</answer>
    correct: bool  # the task's answer checker accepts the (last) <answer> block
    steps: int  # lines inside <think>
    legal_steps: int  # steps that replay legally, up to the first that does not
    backtracks: int  # backtrack lines
    unparsable: int  # lines the step parser cannot read
    chars: int

    @property
    def legal_fraction(self) -> float:
        return self.legal_steps / self.steps if self.steps else 0.0


def completion_text(completion: Any) -> str | None:
    """The text a completion holds: a string as it is; a conversational completion's last
    assistant message content; None for anything else."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        for message in reversed(completion):
            if isinstance(message, dict) and message.get("role") == "assistant":
                content = message.get("content")
                return content if isinstance(content, str) else None
    return None


def analyse(task_name: str, problem: str | dict[str, Any], completion: Any,
            style: str) -> Behaviour:
    """Replay `completion` through the rules of `task_name` for `problem`; never raises.
    A completion that is not text (see `completion_text`) is judged as an empty one."""
    text = completion_text(completion)
    if text is None:
        return Behaviour(False, False, 0, 0, 0, 0, 0)
    if len(text) > MAX_COMPLETION_CHARS:
        return Behaviour(False, False, 0, 0, 0, 0, len(text))
    task = get_task(task_name)
    data = json.loads(problem) if isinstance(problem, str) else problem
    try:
        correct = task.check_answer(data, extract_answer(text)).ok
    except Exception:  # an answer checker must not end an evaluation
        correct = False
    parts = split_completion(text)
    if parts is None:
        return Behaviour(False, correct, 0, 0, 0, 0, len(text))
    think = parts[0]
    steps = think.count("\n") + 1 if think else 0
    kinds = get_style(style).count_kinds(think)
    verdict = verify_completion(task, data, text, style, None)
    legal = steps if verdict.ok or verdict.line is None else verdict.line
    return Behaviour(
        format_ok=True, correct=correct, steps=steps, legal_steps=legal,
        backtracks=kinds[BACKTRACK], unparsable=steps - sum(kinds.values()), chars=len(text))


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
