"""The verifiers as reward functions, judged the same way for every trainer: our GRPO
(`trainer/behaviour.py`), veRL and OpenRLHF. Three rewards come from one replay of the
completion through the task's rules: the answer is correct (the task's answer checker on
the last `<answer>` block), the format is `<think>…</think><answer>…</answer>`, and the
fraction of the completion's steps that replay legally, up to its first illegal one.
Their sum, in [0, 3], is the reward `searchtrace train rl` trains on by default.

The framework entry points have the signatures those frameworks call:

- veRL's custom reward function (`custom_reward_function.path` = this file's path,
  `custom_reward_function.name` = one of the functions below), called by its reward
  manager as `compute_score(data_source, solution_str, ground_truth, extra_info)` with the
  decoded response and the row's `reward_model.ground_truth` and `extra_info` columns
  (veRL docs, "Implement Reward Function for Dataset" and
  `verl/workers/reward_manager/naive.py`). `compute_score` is the sum; `answer_score`,
  `format_score` and `step_validity_score` are one reward each. The row's `extra_info`
  (written by `searchtrace export --format verl`) says which task, problem and style to
  replay; `ground_truth` holds the canonical answer, for reading only: a task may have
  many correct answers, which only the checker knows.
- OpenRLHF's `--remote_rm_url reward.py` (the file defining `reward_func`), called as
  `reward_func(queries, prompts, labels)`, where a query is the prompt followed by the
  response and a label is the `--label_key` field of the prompt row (OpenRLHF README,
  "Reinforced Fine-tuning", and `examples/python/reward_func.py`, which returns
  `{"rewards", "scores", "extra_logs"}`). Here `rewards` is the sum, `scores` (the 0-1
  value its dynamic filtering reads) the answer reward, and `extra_logs` each reward.

This module imports tasks and traces only, and torch only inside `reward_func`, so a
reward worker loads it without TRL, Beam or Prefect.
"""

# No `from __future__ import annotations`: OpenRLHF runs this file as a module it does not
# put in sys.modules, and a dataclass with string annotations looks its module up there.
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from searchtrace.tasks import get_task
from searchtrace.tasks.base import extract_answer
from searchtrace.traces.parse import MAX_COMPLETION_CHARS, split_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import BACKTRACK

REWARDS = ("answer", "format", "step_validity")
# What `reward_func` cuts off the end of a decoded response besides whitespace: the end and
# padding tokens tokenizers print when special tokens are kept (`<|im_end|>`, `</s>`, ...).
END_TOKENS = ("</s>", "<eos>", "<pad>", "<end_of_turn>")


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

    def rewards(self) -> dict[str, float]:
        """Each reward of REWARDS for this completion."""
        return {"answer": float(self.correct), "format": float(self.format_ok),
                "step_validity": self.legal_fraction}


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
    """Replay `completion` through the rules of `task_name` for `problem`; never raises on
    the completion. A completion that is not text (see `completion_text`) is judged as an
    empty one; one over MAX_COMPLETION_CHARS is judged unread, malformed and wrong."""
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


@dataclass(frozen=True)
class Reference:
    """What judging a completion needs besides its text: the task, the problem (its JSON
    as the row's `problem` column holds it) and the style its steps are written in."""

    task: str
    problem: str
    style: str

    def label(self) -> str:
        """The one-string form an OpenRLHF label carries (`from_label` reads it back)."""
        return json.dumps({"task": self.task, "problem": self.problem, "style": self.style},
                          sort_keys=True)

    @classmethod
    def from_label(cls, label: Any) -> Self:
        """The reference in an OpenRLHF label; a ValueError naming what is wrong when it is
        not one (the usual cause: `--label_key` missing or naming another field)."""
        try:
            fields = json.loads(label)
        except (TypeError, ValueError):
            fields = None
        if not isinstance(fields, dict):
            raise ValueError(f"labels: expected the `label` field of a `searchtrace export "
                             f"--format openrlhf` row (pass --label_key label), got "
                             f"{str(label)[:60]!r}")
        return cls._of(fields, "label")

    @classmethod
    def from_extra_info(cls, extra_info: Any) -> Self:
        """The reference in a veRL row's `extra_info`; a ValueError naming what is wrong
        when it is not one of `searchtrace export --format verl`."""
        if not isinstance(extra_info, Mapping):
            raise ValueError(f"extra_info: expected the `extra_info` column of a "
                             f"`searchtrace export --format verl` row, got "
                             f"{type(extra_info).__name__}")
        return cls._of(extra_info, "extra_info")

    @classmethod
    def _of(cls, fields: Mapping[str, Any], where: str) -> Self:
        missing = [key for key in ("task", "problem", "style")
                   if not isinstance(fields.get(key), str)]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)} (a searchtrace export "
                             "row has task, problem and style)")
        return cls(fields["task"], fields["problem"], fields["style"])

    def judge(self, completion: Any) -> dict[str, float]:
        """Each reward of REWARDS for `completion`."""
        return analyse(self.task, self.problem, completion, self.style).rewards()


# veRL: compute_score(data_source, solution_str, ground_truth, extra_info) -> float


def compute_score(data_source: str, solution_str: str, ground_truth: str,
                  extra_info: Mapping[str, Any] | None = None) -> float:
    """veRL: answer + format + step validity, in [0, 3]."""
    return sum(Reference.from_extra_info(extra_info).judge(solution_str).values())


def answer_score(data_source: str, solution_str: str, ground_truth: str,
                 extra_info: Mapping[str, Any] | None = None) -> float:
    """veRL: 1 when the task's answer checker accepts the response's answer, else 0."""
    return Reference.from_extra_info(extra_info).judge(solution_str)["answer"]


def format_score(data_source: str, solution_str: str, ground_truth: str,
                 extra_info: Mapping[str, Any] | None = None) -> float:
    """veRL: 1 for `<think>…</think>` then `<answer>…</answer>` and nothing else, else 0."""
    return Reference.from_extra_info(extra_info).judge(solution_str)["format"]


def step_validity_score(data_source: str, solution_str: str, ground_truth: str,
                        extra_info: Mapping[str, Any] | None = None) -> float:
    """veRL: the fraction of the response's steps that replay legally through the rules."""
    return Reference.from_extra_info(extra_info).judge(solution_str)["step_validity"]


# OpenRLHF: reward_func(queries, prompts, labels) -> {"rewards", "scores", "extra_logs"}


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any],
                **_: Any) -> dict[str, Any]:
    """OpenRLHF: per query, `rewards` = answer + format + step validity, `scores` = the
    answer reward, `extra_logs` = each reward, all as float tensors."""
    import torch

    judged = [Reference.from_label(label).judge(response_text(query, prompt))
              for query, prompt, label in zip(queries, prompts, labels, strict=True)]
    column = {name: torch.tensor([r[name] for r in judged], dtype=torch.float32)
              for name in REWARDS}
    total = torch.tensor([sum(r.values()) for r in judged], dtype=torch.float32)
    return {"rewards": total, "scores": column["answer"], "extra_logs": column}


def response_text(query: str, prompt: str) -> str:
    """The response in an OpenRLHF query: what follows the prompt (after a begin-of-text
    token the decoding may have put before it), without the end and padding tokens a
    decoding that keeps special tokens leaves after it. A query that does not hold its
    prompt is judged whole, so it scores as malformed."""
    start = query.find(prompt)
    text = query[start + len(prompt):] if start >= 0 else query
    while True:
        text = text.rstrip()
        if text.endswith("|>") and (cut := text.rfind("<|")) >= 0 \
                and not any(c.isspace() for c in text[cut:]):
            text = text[:cut]  # one `<|...|>` token: <|im_end|>, <|endoftext|>, <|eot_id|>
        elif (token := next((t for t in END_TOKENS if text.endswith(t)), None)) is not None:
            text = text[:-len(token)]
        else:
            return text
