"""Countdown problems: reach a target by combining all the given numbers with + - * /.

Targets come from random combinations of the drawn numbers, so every problem is solvable
by construction: train keeps a combination whose value lies in the target range and is not
held out; when targets are held out, test keeps only a combination that lands on one of
them. The solver confirms every problem again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction
from typing import Annotated

import numpy as np
from pydantic import field_validator, model_validator

from searchtrace.tasks.base import GenerationSkipped, Problem, TaskConfig, between, problem_id

TASK = "countdown"
COMBINE_ATTEMPTS = 256


class CountdownConfig(TaskConfig):
    """Knobs of a Countdown problem.

    count: how many numbers (3 to 8); number_range: inclusive range the numbers are drawn
    from (1 to 10,000); target_range: inclusive range of targets (1 to 1,000,000);
    test_targets: targets held out for the test split (train never uses them, test uses
    only them); allow_fractions: intermediate results may be positive non-integer rationals.
    """

    count: Annotated[int, between(3, 8)] = 4
    number_range: tuple[int, int] = (1, 25)
    target_range: tuple[int, int] = (10, 100)
    test_targets: tuple[int, ...] = ()
    allow_fractions: bool = False

    @field_validator("number_range")
    @classmethod
    def _numbers(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not 1 <= low <= high <= 10_000:
            raise ValueError(
                f"must be [low, high] with 1 <= low <= high <= 10000, got {list(value)}")
        return value

    @field_validator("target_range")
    @classmethod
    def _targets(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not 1 <= low <= high <= 1_000_000:
            raise ValueError(
                f"must be [low, high] with 1 <= low <= high <= 1000000, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _held_out_in_range(self) -> CountdownConfig:
        low, high = self.target_range
        outside = [t for t in self.test_targets if not low <= t <= high]
        if outside:
            raise ValueError(
                f"test_targets must lie in target_range [{low}, {high}], got {outside}")
        if len(set(self.test_targets)) == high - low + 1:
            raise ValueError("test_targets hold out every target in target_range; train has none")
        return self


DESCRIPTION = "Reach a target number by combining all given numbers with + - * /."
CONFIG = CountdownConfig

PRESETS: dict[str, dict] = {
    "easy": {"count": 3, "number_range": (1, 10), "target_range": (10, 50)},
    "medium": {"count": 4, "number_range": (1, 25), "target_range": (10, 100)},
    "hard": {"count": 6, "number_range": (1, 50), "target_range": (100, 999)},
}


def generate(config: CountdownConfig, rng: np.random.Generator, split: str) -> Problem:
    low, high = config.number_range
    numbers = [int(x) for x in rng.integers(low, high + 1, size=config.count)]
    held_out = set(config.test_targets)
    low, high = config.target_range
    if split == "test" and held_out:
        target = _combined_target(numbers, config, held_out.__contains__, rng)
    else:
        target = _combined_target(
            numbers, config, lambda t: low <= t <= high and t not in held_out, rng)
    data = {"numbers": numbers, "target": target, "allow_fractions": config.allow_fractions}
    key = {"numbers": sorted(numbers), "target": target, "fractions": config.allow_fractions}
    return Problem(
        task=TASK,
        id=problem_id(TASK, key),
        data=data,
        prompt=prompt_for(numbers, target, config.allow_fractions),
        knobs=config.model_dump(mode="json"),
    )


def prompt_for(numbers: list[int], target: int, allow_fractions: bool) -> str:
    rule = ("Intermediate results may be fractions but must stay positive."
            if allow_fractions else "Every intermediate result must be a positive integer.")
    listed = ", ".join(str(n) for n in numbers)
    return (
        f"Use the numbers {listed} to make {target}. Combine two numbers at a time with "
        f"+, -, * or /, using every number exactly once. {rule} Think through your search, "
        f"then give the expression inside <answer></answer>."
    )


def _combined_target(
    numbers: list[int], config: CountdownConfig, accept: Callable[[int], bool],
    rng: np.random.Generator,
) -> int:
    """The value of the first random full combination of `numbers` that `accept`s."""
    draw = random.Random(int(rng.integers(2**63)))  # scalar draws, far cheaper than numpy's
    for _ in range(COMBINE_ATTEMPTS):
        pool: list[Fraction | int] = list(numbers)
        while len(pool) > 1:
            i, j = draw.sample(range(len(pool)), 2)
            a, b = pool[i], pool[j]
            results = [a + b, a * b]
            if a != b:
                results.append(abs(a - b))
            big, small = max(a, b), min(a, b)
            if config.allow_fractions or big % small == 0:
                results.append(Fraction(big) / small if config.allow_fractions else big // small)
            result = results[draw.randrange(len(results))]
            pool = [x for n, x in enumerate(pool) if n not in (i, j)] + [result]
        value = pool[0]
        if value == int(value) and accept(int(value)):
            return int(value)
    raise GenerationSkipped("no_target_in_range")
