"""Coloring answers: every node with its color name, accepted in many layouts (names or
initials, pairs, lines, JSON), each kind of wrong coloring named, and odd node-color pairs
never raising."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchtrace.tasks.base import Problem
from searchtrace.tasks.coloring.answer import check_answer
from searchtrace.tasks.coloring.rules import COLOR_NAMES
from tests.tasks.coloring.support import TASK, path_moves, solved


def solution_colors(preset: str, seed: int) -> tuple[Problem, list[str]]:
    problem, tree = solved(preset, seed)
    return problem, [COLOR_NAMES[c - 1] for c in tree.nodes[tree.solution].state]


def test_answer_is_every_node_with_its_color_name() -> None:
    problem, names = solution_colors("medium", 0)
    expected = " ".join(f"{i}:{name}" for i, name in enumerate(names, start=1))
    assert TASK.answer(problem.data, path_moves("medium", 0)) == expected
    with pytest.raises(ValueError, match="uncolored"):
        TASK.answer(problem.data, path_moves("medium", 0)[:-1])


def test_check_answer_accepts_the_solution_in_several_formats() -> None:
    problem, names = solution_colors("medium", 0)
    pairs = list(enumerate(names, start=1))
    formats = [
        " ".join(f"{i}:{c}" for i, c in pairs),
        ", ".join(f"{i}={c[0].upper()}" for i, c in pairs),
        "\n".join(f"Node {i}: {c.capitalize()}" for i, c in pairs),
        "; ".join(f"node {i} is {c}" for i, c in reversed(pairs)),
        json.dumps({str(i): c for i, c in pairs}),
        "\n".join(f"{i} - {c.upper()}" for i, c in pairs) + ".",
    ]
    for body in formats:
        for text in (body, f"<answer>{body}</answer>",
                     f"I think.\n<answer>1:red</answer> so <answer>\n{body}\n</answer>"):
            assert check_answer(problem.data, text).ok, text


def test_check_answer_rejects() -> None:
    problem, names = solution_colors("medium", 0)
    data = problem.data
    n = data["nodes"]
    u, v = data["edges"][0]

    def answer(colors: dict[int, str]) -> str:
        return " ".join(f"{i}:{c}" for i, c in colors.items())

    right = dict(enumerate(names, start=1))
    cases = {
        "color_clash": answer({**right, v: right[u]}),
        "missing_node": answer({i: c for i, c in right.items() if i != n}),
        "unknown_node": answer({**right, n + 1: "red"}),
        "unknown_color": answer({**right, 1: "yellow"}),
        "conflicting_colors": answer(right) + f" 1:{'green' if right[1] != 'green' else 'red'}",
        "unparsable_answer": "I could not find a coloring",
    }
    for code, text in cases.items():
        verdict = check_answer(data, f"<answer>{text}</answer>")
        assert verdict.code == code, (code, verdict)
    assert check_answer(data, answer({**right, 1: "magenta"})).code == "unknown_color"
    assert check_answer(data, "<answer></answer>").code == "unparsable_answer"
    assert check_answer(data, answer(right) + " " + answer(right)).ok  # repeats agree


_numbers = st.integers(min_value=-2, max_value=1200)
_words = st.sampled_from([*COLOR_NAMES, "magenta", "", "and", "or"])


@settings(max_examples=150, deadline=None)
@given(pairs=st.lists(st.tuples(_numbers, _words), max_size=14))
def test_check_answer_never_raises_on_odd_node_color_pairs(pairs: list[tuple[int, str]]) -> None:
    problem, _ = solved("medium", 0)
    text = " ".join(f"{i}:{c}" for i, c in pairs)
    assert isinstance(check_answer(problem.data, text).ok, bool)
    assert isinstance(check_answer(problem.data, f"<answer>{text}</answer>").ok, bool)
