"""A toy task kept outside the package (tests/test_plugins.py): reach a target sum by
adding numbers from a list, each once. {generate} makes problems, {rules} holds the game,
{text} says its steps in each style, {answer} writes and checks answers. It is found only
when this folder's parent is added to `searchtrace.tasks.__path__`."""

from searchtrace.tasks.base import Task

from . import answer, generate, rules, text

TASK = Task(
    name="subsetsum",
    description=generate.DESCRIPTION,
    config_model=generate.CONFIG,
    presets=generate.PRESETS,
    generate=generate.generate,
    rules=rules.RULES.from_data,
    phrasings=text.PHRASINGS,
    answer=answer.answer_from_moves,
    check_answer=answer.check_answer,
)
