"""The equations task: {generate} makes problems; {rules} is the game, built on {algebra}
and read and written by {expressions}; {text} says its steps in each style; {answer}
writes and checks answers."""

from searchtrace.tasks.base import Task
from searchtrace.tasks.equations import answer, generate, rules, text

TASK = Task(
    name="equations",
    description=generate.DESCRIPTION,
    config_model=generate.CONFIG,
    presets=generate.PRESETS,
    generate=generate.generate,
    rules=rules.RULES.from_data,
    phrasings=text.PHRASINGS,
    answer=answer.answer_from_moves,
    check_answer=answer.check_answer,
)
