"""The task registry: every subpackage of `searchtrace.tasks` is a task, found by walking
this package (no hand-kept list); each exports `TASK`, its `Task` record."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from searchtrace.errors import UserError
from searchtrace.tasks.base import Task


@cache
def task_names() -> tuple[str, ...]:
    """Every registered task's name, sorted."""
    return tuple(sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg))


def all_tasks() -> dict[str, Task]:
    return {name: get_task(name) for name in task_names()}


@cache
def get_task(name: str) -> Task:
    """The registered task `name`, its modules imported on first use only."""
    if name not in task_names():
        raise UserError(f"task: unknown task {name!r}; allowed: {', '.join(task_names())}")
    task = importlib.import_module(f"{__name__}.{name}").TASK
    if task.name != name:
        raise RuntimeError(f"tasks/{name} registers a task named {task.name!r}")
    return task
