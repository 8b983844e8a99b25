"""What a model's completion does, judged by the task's verifier: format, answer, how many
of its steps replay legally, how many backtracks it makes, and lines it could not parse.
The reward functions for RL and the evaluation numbers both come from here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from searchtrace.registry import get_task
from searchtrace.traces.parse import extract_answer, parse_line, split_completion
from searchtrace.traces.trace import BACKTRACK
from searchtrace.verifiers.replay import verify_completion


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


def analyse(task_name: str, problem: str | dict[str, Any], completion: str,
            style: str) -> Behaviour:
    """Replay `completion` through the rules of `task_name` for `problem`; never raises."""
    task = get_task(task_name)
    data = json.loads(problem) if isinstance(problem, str) else problem
    try:
        correct = task.check_answer(data, extract_answer(completion)).ok
    except Exception:  # an answer checker must not end an evaluation
        correct = False
    parts = split_completion(completion)
    if parts is None:
        return Behaviour(False, correct, 0, 0, 0, 0, len(completion))
    lines = parts[0].split("\n") if parts[0] else []
    events = [parse_line(line, style) for line in lines]
    verdict = verify_completion(task, data, completion, style, None)
    legal = len(lines) if verdict.ok or verdict.line is None else verdict.line
    return Behaviour(
        format_ok=True, correct=correct, steps=len(lines), legal_steps=legal,
        backtracks=sum(1 for e in events if e is not None and e.kind == BACKTRACK),
        unparsable=sum(1 for e in events if e is None), chars=len(completion))


def answer_reward(completions: list[str], task: list[str], problem: list[str],
                  style: list[str], **_: Any) -> list[float]:
    """1 when the task's answer checker accepts the completion's answer, else 0."""
    return [float(analyse(t, p, c, s).correct)
            for c, t, p, s in zip(completions, task, problem, style, strict=True)]


def format_reward(completions: list[str], **_: Any) -> list[float]:
    """1 for `<think>…</think>` then `<answer>…</answer>` and nothing else, else 0."""
    return [float(split_completion(c) is not None) for c in completions]


def step_validity_reward(completions: list[str], task: list[str], problem: list[str],
                         style: list[str], **_: Any) -> list[float]:
    """The fraction of the completion's steps that replay legally through the rules."""
    return [analyse(t, p, c, s).legal_fraction
            for c, t, p, s in zip(completions, task, problem, style, strict=True)]
