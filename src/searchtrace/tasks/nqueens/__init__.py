"""The nqueens task: {generate} makes problems, {rules} holds the game and its text."""

from searchtrace.tasks.base import Task, style_bound
from searchtrace.tasks.nqueens import generate, rules

TASK = Task(
    name="nqueens",
    description=generate.DESCRIPTION,
    config_model=generate.CONFIG,
    presets=generate.PRESETS,
    generate=generate.generate,
    rules=rules.RULES.from_data,
    phrasings=style_bound(rules.TEXT.from_data),
    answer=rules.answer_from_moves,
    check_answer=rules.check_answer,
)
