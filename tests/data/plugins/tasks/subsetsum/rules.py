"""The state space of a subset-sum problem.

A state is the numbers taken so far, in increasing order (so each subset is reached one
way); a move takes one more number, larger than the last taken, that does not overshoot
the target. A state is a dead end when no number left fits what is still needed
(`nothing_fits`), or the numbers left that fit add up to less than it
(`too_little_left`). `solvable` is an exact subset-sum search over the numbers left.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Sequence
from typing import Any

from searchtrace.tasks.base import DeadEnd, Violation

NOTHING_FITS = "nothing_fits"  # detail: (still needed,)
TOO_LITTLE_LEFT = "too_little_left"  # detail: (still needed, sum of the numbers that fit)

State = tuple[int, ...]


class SubsetSumRules:
    def __init__(self, numbers: Sequence[int], target: int) -> None:
        self.numbers = tuple(sorted(numbers))
        self.target = target
        self._reach: dict[tuple[int, int], bool] = {}

    @staticmethod
    def from_data(data: dict[str, Any]) -> SubsetSumRules:
        return SubsetSumRules(data["numbers"], data["target"])

    def initial_state(self) -> State:
        return ()

    def _fitting(self, state: State) -> list[int]:
        """The numbers still allowed and not above what is still needed, ascending."""
        need = self.target - sum(state)
        start = bisect_right(self.numbers, state[-1]) if state else 0
        return [n for n in self.numbers[start:] if n <= need]

    def expand(self, state: State) -> list[tuple[int, State]]:
        """Every legal move, the smallest number first."""
        return [(n, (*state, n)) for n in self._fitting(state)]

    def wider_moves(self, state: State) -> list[tuple[int, State]]:
        return self.expand(state)

    def apply(self, state: State, move: int) -> State | Violation:
        if move not in self.numbers:
            return Violation("not_in_list", f"{move} is not one of the numbers")
        if move in state:
            return Violation("already_taken", f"{move} is already taken")
        if state and move < state[-1]:
            return Violation("out_of_order", f"{move} is smaller than {state[-1]}, the last "
                             "number taken; numbers are taken in increasing order")
        if sum(state) + move > self.target:
            return Violation("overshoots", f"adding {move} to {sum(state)} passes "
                             f"{self.target}")
        return (*state, move)

    def is_goal(self, state: State) -> bool:
        return sum(state) == self.target

    def dead_end(self, state: State) -> DeadEnd | None:
        need = self.target - sum(state)
        if need == 0:
            return None
        fitting = self._fitting(state)
        if not fitting:
            return DeadEnd(NOTHING_FITS, (need,))
        if sum(fitting) < need:
            return DeadEnd(TOO_LITTLE_LEFT, (need, sum(fitting)))
        return None

    def confirm_dead_end(self, state: State, claim: DeadEnd) -> str | None:
        actual = self.dead_end(state)
        if actual is None:
            return f"the sum {sum(state)} can still grow towards {self.target}"
        if claim != actual:
            return (f"the claim says {claim.code} {list(claim.detail)}, the rules find "
                    f"{actual.code} {list(actual.detail)}")
        return None

    def solvable(self, state: State) -> bool:
        start = bisect_right(self.numbers, state[-1]) if state else 0
        return self._reaches(start, self.target - sum(state))

    def _reaches(self, start: int, need: int) -> bool:
        """Whether some of numbers[start:] add up to exactly `need` (memoised)."""
        if need == 0:
            return True
        key = (start, need)
        known = self._reach.get(key)
        if known is None:
            known = False
            for index in range(start, len(self.numbers)):
                number = self.numbers[index]
                if number > need:
                    break
                if self._reaches(index + 1, need - number):
                    known = True
                    break
            self._reach[key] = known
        return known

    def state_key(self, state: State) -> Hashable:
        return state

    def heuristic(self, state: State) -> float:
        return 0.0 if self.is_goal(state) else 1.0

    def move_to_json(self, move: int) -> int:
        return move


RULES = SubsetSumRules
