"""Subset-sum problems: distinct numbers and a target that some of them add up to.

The target is the sum of a random subset of two or more of the numbers, so every problem
is solvable by construction. Nothing is held out for the test split.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import model_validator

from searchtrace.tasks.base import Problem, TaskConfig, between, problem_id

TASK = "subsetsum"
DESCRIPTION = "Pick numbers from a list, each at most once, that add up to a target."


class SubsetSumConfig(TaskConfig):
    """count: how many distinct numbers (3 to 10); number_range: the inclusive range they
    are drawn from (1 to 99,999)."""

    count: Annotated[int, between(3, 10)] = 6
    number_range: tuple[int, int] = (1, 30)

    @model_validator(mode="after")
    def _enough_numbers(self) -> SubsetSumConfig:
        low, high = self.number_range
        if not 1 <= low <= high <= 99_999:
            raise ValueError(f"number_range must be [low, high] with 1 <= low <= high <= "
                             f"99999, got {list(self.number_range)}")
        if high - low + 1 < self.count:
            raise ValueError(f"number_range {list(self.number_range)} holds fewer than "
                             f"{self.count} distinct numbers")
        return self


CONFIG = SubsetSumConfig
PRESETS: dict[str, dict] = {
    "easy": {"count": 5, "number_range": (1, 20)},
    "medium": {"count": 7, "number_range": (1, 30)},
    "hard": {"count": 10, "number_range": (1, 60)},
}


def generate(config: SubsetSumConfig, rng: np.random.Generator, split: str) -> Problem:
    """Distinct numbers in ascending order and the sum of a random subset of them."""
    low, high = config.number_range
    numbers = sorted(int(n) for n in rng.choice(np.arange(low, high + 1), size=config.count,
                                                replace=False))
    size = int(rng.integers(2, config.count + 1))
    chosen = rng.choice(config.count, size=size, replace=False)
    target = sum(numbers[int(i)] for i in chosen)
    data = {"numbers": numbers, "target": target}
    listed = ", ".join(str(n) for n in numbers)
    prompt = (f"Pick some of the numbers {listed}, each at most once, so that they add up "
              f"to {target}. Take them in increasing order. Think through your search, then "
              f"give the numbers you picked inside <answer></answer> joined by +, e.g. "
              f"<answer>3+5+9</answer>.")
    return Problem(task=TASK, id=problem_id(TASK, data), data=data, prompt=prompt,
                   knobs=config.model_dump(mode="json"))
