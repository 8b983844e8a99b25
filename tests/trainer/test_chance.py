"""The random-legal-move baseline against probabilities worked out by hand."""

from __future__ import annotations

import json

import pytest

from searchtrace.tasks import get_task
from searchtrace.trainer.chance import chance_accuracy, success_probability


def maze(*grid: str) -> dict:
    return {"grid": list(grid)}


@pytest.mark.parametrize(("grid", "expected"), [
    # a corridor: the only move each time leads on to the goal
    (("S..G",), 1.0),
    # left is a cul-de-sac, right reaches the goal: one chance in two
    ((".S.G",), 0.5),
    # left is a cul-de-sac (1/2); from the right cell, down is the goal and right a
    # cul-de-sac (1/2 of 1/2)
    ((".S..", "##G#"), 0.25),
])
def test_maze_probabilities_match_the_hand_count(grid: tuple[str, ...], expected: float) -> None:
    rules = get_task("maze").rules(maze(*grid))
    assert success_probability(rules) == pytest.approx(expected)


@pytest.mark.parametrize(("numbers", "target", "expected"), [
    # 2+3=5, 3-2=1, 2*3=6 (3/2 is no integer): one of three distinct results is 6
    ([2, 3], 6, 1 / 3),
    # 2+2 and 2*2 both give 4 (one state), 2/2=1, 2-2=0 is not positive: one of two
    ([2, 2], 4, 0.5),
    ([2, 3], 7, 0.0),
])
def test_countdown_probabilities_match_the_hand_count(numbers: list[int], target: int,
                                                      expected: float) -> None:
    rules = get_task("countdown").rules({"numbers": numbers, "target": target})
    assert success_probability(rules) == pytest.approx(expected)


def test_dataset_rows_average_and_too_many_states_is_unsettled() -> None:
    rows = [{"task": "maze", "problem": json.dumps(maze(".S.G"))},
            {"task": "countdown", "problem": {"numbers": [2, 3], "target": 6}}]
    chance = chance_accuracy(rows)
    assert chance.accuracy == pytest.approx((0.5 + 1 / 3) / 2)
    assert (chance.problems, chance.unsettled) == (2, 0)
    wide_open = maze("S....", ".....", ".....", "....G")
    assert success_probability(get_task("maze").rules(wide_open), max_states=50) is None
    tight = chance_accuracy([{"task": "maze", "problem": wide_open}], max_states=50)
    assert (tight.accuracy, tight.unsettled) == (None, 1)
