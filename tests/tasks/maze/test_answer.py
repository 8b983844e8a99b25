"""Maze answers: direction letters or words in many layouts accepted (a walk may step back
and forth), and each kind of wrong walk named."""

from __future__ import annotations

from searchtrace.tasks.maze.answer import check_answer
from tests.tasks.maze.support import SMALL, answer_of, solved

OPPOSITE = {"U": "D", "D": "U", "L": "R", "R": "L"}


def test_check_answer_accepts_several_formats_and_revisits() -> None:
    problem, tree = solved(0)
    answer = answer_of(problem, tree)
    letters = answer.split()
    words = {"U": "up", "D": "down", "L": "left", "R": "right"}
    first = letters[0]
    for text in (answer, "".join(letters), ", ".join(letters), " -> ".join(letters),
                 ", ".join(words[d] for d in letters), " ".join(words[d].upper() for d in letters),
                 "Moves: " + answer.lower(), f"[{', '.join(repr(d) for d in letters)}]",
                 f"I think.\n<answer>U</answer> no: <answer>\n{answer}\n</answer>",
                 " ".join([first, OPPOSITE[first], *letters])):  # a step back and forth
        assert check_answer(problem.data, text).ok, text


def test_check_answer_rejects() -> None:
    assert check_answer(SMALL, "R R R R R D D D D D").ok
    cases = {
        "R R R R R D D D D": "not_at_goal",
        "D D D D D R R R R R": "into_wall",
        "R R R R R R D D D D D": "off_grid",
        "U": "off_grid",
        "go north": "unparsable_answer",
        "R R 3 D": "unparsable_answer",
        "": "unparsable_answer",
        "<answer></answer>": "unparsable_answer",
    }
    for text, code in cases.items():
        assert check_answer(SMALL, text).code == code, text
