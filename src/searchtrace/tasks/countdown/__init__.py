"""The countdown task: {generate} makes problems, {rules} holds the game, {text} says its
steps in each style, {answer} writes and checks answers; {numbers} is how all of them
write and combine a number."""

from searchtrace.tasks.base import Corruptions, Task
from searchtrace.tasks.countdown import answer, generate, rules, text

TASK = Task(
    name="countdown",
    description=generate.DESCRIPTION,
    config_model=generate.CONFIG,
    presets=generate.PRESETS,
    generate=generate.generate,
    rules=rules.RULES.from_data,
    phrasings=text.PHRASINGS,
    answer=answer.answer_from_moves,
    check_answer=answer.check_answer,
    corruptions=Corruptions(wrong_result=text.wrong_result, false_claim=text.false_claim),
)
