"""The sudoku task: {generate} makes puzzles, {rules} holds the game, {text} says its steps
in each style, {answer} writes and checks answers; {grid} is the grid's shape and plain
forms they share."""

from searchtrace.tasks.base import Task
from searchtrace.tasks.sudoku import answer, generate, rules, text

TASK = Task(
    name="sudoku",
    description=generate.DESCRIPTION,
    config_model=generate.CONFIG,
    presets=generate.PRESETS,
    generate=generate.generate,
    rules=rules.RULES.from_data,
    phrasings=text.PHRASINGS,
    answer=answer.answer_from_moves,
    check_answer=answer.check_answer,
)
