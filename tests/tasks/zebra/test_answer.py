"""Zebra answers: one line per house, accepted in many layouts (lines, tables, key=value,
any order), each kind of wrong grid named, and answers made of puzzle words and numbers
never raising."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import Problem
from searchtrace.tasks.zebra.answer import check_answer
from tests.tasks.zebra.support import TASK, solution_moves, solved


def answer_rows(seed: int) -> tuple[Problem, list[list[str]]]:
    problem, tree = solved(seed)
    text = TASK.answer(problem.data, solution_moves(tree))
    return problem, [line.split(": ")[1].split(", ") for line in text.split("\n")]


def test_check_answer_accepts_the_solution_in_several_layouts() -> None:
    problem, rows = answer_rows(0)
    names = [a["name"] for a in problem.data["attributes"]]
    layouts = [
        "\n".join(f"House {h + 1}: {', '.join(row)}" for h, row in enumerate(rows)),
        "\n".join(f"house {h + 1} - {' | '.join(row[::-1]).lower()}" for h, row in
                  enumerate(rows)),
        "| house | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
        + "\n".join(f"| {h + 1} | " + " | ".join(row) + " |" for h, row in enumerate(rows)),
        "\n".join(f"{h + 1}. " + ", ".join(f"{n}={v}" for n, v in zip(names, row, strict=True))
                  for h, row in reversed(list(enumerate(rows)))),
        "\n".join(" ".join(row) for row in rows),
        "Thinking.\n<answer>not yet</answer>\n<answer>\n"
        + "\n".join(f"House {h + 1}: {', '.join(row)}" for h, row in enumerate(rows))
        + "\n</answer>",
    ]
    for text in layouts:
        assert check_answer(problem.data, text).ok, text


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        ("swap", "clue_broken"),
        ("drop", "incomplete"),
        ("repeat", "value_repeated"),
        ("two_in_a_cell", "cell_conflict"),
        ("house_9", "unknown_house"),
        ("house_twice", "house_repeated"),
        ("garbage", "unparsable_answer"),
    ],
)
def test_check_answer_rejects(edit: str, code: str) -> None:
    problem, rows = answer_rows(0)
    numbers = list(range(1, len(rows) + 1))
    if edit == "swap":
        rows[0][1], rows[1][1] = rows[1][1], rows[0][1]
    elif edit == "drop":
        rows[2].pop()
    elif edit == "repeat":
        rows[1][0] = rows[0][0]
    elif edit == "two_in_a_cell":
        rows[1].append(rows[0][0])
        rows[0].pop(0)
    elif edit == "house_9":
        numbers[-1] = 9
    elif edit == "house_twice":
        numbers[-1] = 1
    text = "\n".join(f"House {h}: {', '.join(row)}" for h, row in zip(numbers, rows, strict=True))
    if edit == "garbage":
        text = "I do not know"
    assert check_answer(problem.data, f"<answer>{text}</answer>").code == code


_numbers = st.integers(min_value=-2, max_value=1200)
_words = st.sampled_from(["red", "Brit", "colour", "pet", "dog", "zebra", "x", "tea", "clue"])
_answer_text = st.lists(
    st.one_of(_words, _numbers.map(str), st.sampled_from([":", ",", "|", "\n", "House"])),
    max_size=40).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(text=_answer_text)
def test_check_answer_never_raises_on_puzzle_words_and_numbers(text: str) -> None:
    problem, _ = solved(0)
    assert isinstance(check_answer(problem.data, text).ok, bool)
    assert isinstance(check_answer(problem.data, f"<answer>{text}</answer>").ok, bool)
