"""The task registry: ties each task's generator module to its verifier module by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from searchtrace.errors import UserError
from searchtrace.generators.base import Problem, TaskConfig
from searchtrace.verifiers.base import Rules, StepText, Verdict


@dataclass(frozen=True)
class Task:
    """Everything the pipeline needs to know about one task.

    - `generate(config, rng, split)` makes a Problem or raises GenerationSkipped with a
      reason (the split matters where a task holds values out for the test split);
    - `rules(data)` / `step_text(data)` rebuild the instance's rules and phrasing from the
      problem's JSON data alone, so a stored row can be re-verified without the generator;
    - `answer(data, moves)` writes the canonical answer for a solution path;
    - `check_answer(data, text)` judges free-form model output, never evaluating it.
    """

    name: str
    description: str
    config_model: type[TaskConfig]
    presets: dict[str, dict[str, Any]]
    generate: Callable[[Any, np.random.Generator, str], Problem]
    rules: Callable[[dict[str, Any]], Rules]
    step_text: Callable[[dict[str, Any]], StepText]
    answer: Callable[[dict[str, Any], Sequence[Any]], str]
    check_answer: Callable[[dict[str, Any], str], Verdict]

    def make_config(self, preset: str | None, overrides: dict[str, Any]) -> TaskConfig:
        """A validated config from a preset (default `medium`) plus explicit knob values."""
        name = preset or "medium"
        if name not in self.presets:
            raise UserError(
                f"task.preset: unknown preset {name!r} for {self.name}; "
                f"allowed: {', '.join(self.presets)}"
            )
        return self.config_model(**{**self.presets[name], **overrides})


TASK_NAMES = (
    "countdown", "sudoku", "nqueens", "coloring", "maze", "zebra", "sokoban", "equations",
)


def load_task(name: str) -> Task:
    """Build a task from its two modules, by convention.

    `generators/<name>.py` exports DESCRIPTION, CONFIG (its TaskConfig subclass), PRESETS
    and `generate`; `verifiers/<name>.py` exports RULES and TEXT (classes with a
    `from_data` constructor), `answer_from_moves` and `check_answer`.
    """
    generator = importlib.import_module(f"searchtrace.generators.{name}")
    verifier = importlib.import_module(f"searchtrace.verifiers.{name}")
    return Task(
        name=name,
        description=generator.DESCRIPTION,
        config_model=generator.CONFIG,
        presets=generator.PRESETS,
        generate=generator.generate,
        rules=verifier.RULES.from_data,
        step_text=verifier.TEXT.from_data,
        answer=verifier.answer_from_moves,
        check_answer=verifier.check_answer,
    )


def all_tasks() -> dict[str, Task]:
    return {name: get_task(name) for name in TASK_NAMES}


@cache
def get_task(name: str) -> Task:
    """The registered task `name`, its modules imported on first use only."""
    if name not in TASK_NAMES:
        raise UserError(f"task: unknown task {name!r}; allowed: {', '.join(sorted(TASK_NAMES))}")
    return load_task(name)
