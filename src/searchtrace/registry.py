"""The task registry: ties each task's generator module to its verifier module by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


def _load_tasks() -> dict[str, Task]:
    from searchtrace.generators import countdown as countdown_gen
    from searchtrace.generators import sudoku as sudoku_gen
    from searchtrace.verifiers import countdown as countdown_ver
    from searchtrace.verifiers import sudoku as sudoku_ver

    tasks = [
        Task(
            name="countdown",
            description="Reach a target number by combining all given numbers with + - * /.",
            config_model=countdown_gen.CountdownConfig,
            presets=countdown_gen.PRESETS,
            generate=countdown_gen.generate,
            rules=countdown_ver.CountdownRules.from_data,
            step_text=countdown_ver.CountdownText.from_data,
            answer=countdown_ver.answer_from_moves,
            check_answer=countdown_ver.check_answer,
        ),
        Task(
            name="sudoku",
            description="Fill a 4x4, 6x6 or 9x9 grid with a unique solution.",
            config_model=sudoku_gen.SudokuConfig,
            presets=sudoku_gen.PRESETS,
            generate=sudoku_gen.generate,
            rules=sudoku_ver.SudokuRules.from_data,
            step_text=sudoku_ver.SudokuText.from_data,
            answer=sudoku_ver.answer_from_moves,
            check_answer=sudoku_ver.check_answer,
        ),
    ]
    return {task.name: task for task in tasks}


_TASKS: dict[str, Task] | None = None


def all_tasks() -> dict[str, Task]:
    global _TASKS
    if _TASKS is None:
        _TASKS = _load_tasks()
    return _TASKS


def get_task(name: str) -> Task:
    tasks = all_tasks()
    if name not in tasks:
        raise UserError(f"task: unknown task {name!r}; allowed: {', '.join(sorted(tasks))}")
    return tasks[name]
