"""The solver protocol: one record per search algorithm, saying what the rest of the code
may ask of it and how to run it. Other code decides by these properties, never by a
solver's name; every solver module exports its `Solver` and `solvers.registry` lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from searchtrace.solvers.policy import Policy
from searchtrace.tasks.base import Phrasing, Rules
from searchtrace.traces.tree import SearchTree

# (rules, node budget, settings, seed) -> the search tree of one problem
SearchOne = Callable[[Rules, int, Any, int], SearchTree]
# (problems, policy, settings, style, node budget, seed) -> one search tree per problem
SearchBatch = Callable[[Sequence["SearchProblem"], Policy, Any, str, int, int], list[SearchTree]]


class Settings(BaseModel):
    """Base of a solver's settings model, its `solver.<name>` config section: frozen, and
    an unknown key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class SearchProblem:
    """One problem for a batched search: its rules, its step phrasing and the prompt the
    model sees."""

    rules: Rules
    text: Phrasing
    prompt: str


@dataclass(frozen=True)
class Solver:
    """A search algorithm. It searches one problem at a time (`search`) or many together
    (`search_batch`: the problems, a language-model policy and the style the policy
    writes in). The flags are what other code asks of it:

    - `shortest`: its solution is a shortest one (the verifier holds its rows to that);
    - `walk`: its visit order is a walk, which traces in the solver's own order need;
    - `needs_policy`: it asks a language-model policy for moves (the config's `policy:`);
    - `node_values`: its nodes carry value estimates, which become the rows' `step_values`.

    `settings_model` is the pydantic model of its config section `solver.<name>` (None
    when it has no settings; a batched solver's has `problems_per_batch`, how many
    problems one batch searches together). `tree_names` are the names its trees, and so
    the rows' `solver` column, carry instead of `name` (an MCTS tree names its variant).
    """

    name: str
    search: SearchOne | None = None
    search_batch: SearchBatch | None = None
    settings_model: type[Settings] | None = None
    shortest: bool = False
    walk: bool = False
    needs_policy: bool = False
    node_values: bool = False
    tree_names: tuple[str, ...] = ()

    @property
    def batched(self) -> bool:
        """Whether it searches batches of problems together (`solve_batch`)."""
        return self.search_batch is not None

    def solve(self, rules: Rules, node_budget: int, settings: Settings | None = None,
              seed: int = 0) -> SearchTree:
        """Search one problem within `node_budget` expansions. `settings` defaults to the
        settings model's defaults; a solver without randomness ignores `seed`."""
        if self.search is None:
            raise TypeError(f"solver {self.name} searches batches of problems: "
                            "call solve_batch")
        if settings is None and self.settings_model is not None:
            settings = self.settings_model()
        return self.search(rules, node_budget, settings, seed)

    def solve_batch(self, problems: Sequence[SearchProblem], policy: Policy, settings: Any,
                    style: str, node_budget: int, seed: int) -> list[SearchTree]:
        """Search `problems` together with `policy`, whose moves are lines in `style`;
        one tree per problem, in order. `settings` are the solver's run settings (its
        config section joined with the policy's sampling)."""
        if self.search_batch is None:
            raise TypeError(f"solver {self.name} searches one problem at a time: call solve")
        return self.search_batch(problems, policy, settings, style, node_budget, seed)

    def made(self, tree_solver: str) -> bool:
        """Whether a tree whose `solver` is `tree_solver` (a row's `solver` column) came
        from this solver."""
        return tree_solver in (self.tree_names or (self.name,))
