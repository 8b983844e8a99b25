"""Zebra generation: knob ranges, puzzles with exactly one solution (checked by brute force)
and no needless clue, the clue types asked for, the prompt and the id, and presets the
solver finishes within its budget."""

from __future__ import annotations

from itertools import permutations, product

import pytest
from pydantic import ValidationError

from searchtrace.solvers.dfs import solve_dfs
from searchtrace.tasks.base import canonical_json, problem_id
from searchtrace.tasks.zebra.generate import ZebraConfig, solve_grids
from searchtrace.tasks.zebra.rules import KINDS, Puzzle
from tests.tasks.zebra.support import SMALL, TASK, make_problem, solution_moves

# ---- config ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "field", "allowed"),
    [
        ({"houses": 2}, "houses", "must be between 3 and 6, got 2"),
        ({"houses": 7}, "houses", "must be between 3 and 6, got 7"),
        ({"attributes": 1}, "attributes", "must be between 2 and 5, got 1"),
        ({"attributes": 6}, "attributes", "must be between 2 and 5, got 6"),
        ({"clue_types": ["same", "above"]}, "clue_types", "unknown clue type 'above'; "
         "allowed: same, not_same, next_to, left_of, position"),
        ({"clue_types": ["same", "next_to"]}, "clue_types", "must include 'position' or "
         "'left_of'"),
        ({"clue_types": ["position", "position"]}, "clue_types", "must not name a clue type "
         "twice"),
    ],
)
def test_config_errors_name_field_and_range(knobs: dict, field: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as error:
        ZebraConfig(**knobs)
    assert error.value.errors()[0]["loc"] == (field,)
    assert allowed in str(error.value)


def test_clue_types_are_kept_in_kind_order() -> None:
    assert ZebraConfig(clue_types=["position", "same"]).clue_types == ("same", "position")


# ---- generation -----------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
def test_presets_solve_within_the_budget(preset: str) -> None:
    config = TASK.make_config(preset, {})
    for seed in range(3):
        problem = make_problem(seed, preset)
        assert problem.data["houses"] == config.houses
        assert len(problem.data["attributes"]) == config.attributes
        tree = solve_dfs(TASK.rules(problem.data), 20_000)
        assert tree.solution is not None
        assert tree.nodes_expanded < 20_000


def brute_force(data: dict) -> list[dict[tuple[str, str], int]]:
    """Every grid that satisfies the clues, by trying all permutations (no solver used):
    each as a map (attribute, value) -> house (1-based)."""
    n = data["houses"]
    attributes = data["attributes"]
    found = []
    for perms in product(permutations(range(n)), repeat=len(attributes)):
        house = {(attr["name"], attr["values"][v]): h + 1
                 for attr, perm in zip(attributes, perms, strict=True)
                 for h, v in enumerate(perm)}
        if all(clue_true(clue, house) for clue in data["clues"]):
            found.append(house)
    return found


def clue_true(clue: list, house: dict[tuple[str, str], int]) -> bool:
    x = house[clue[1], clue[2]]
    if clue[0] == "position":
        return x == clue[3]
    y = house[clue[3], clue[4]]
    return {"same": x == y, "not_same": x != y, "next_to": abs(x - y) == 1,
            "left_of": x + 1 == y}[clue[0]]


@pytest.mark.parametrize(("houses", "attributes", "seeds"), [(3, 3, 5), (4, 3, 2), (3, 4, 2)])
def test_uniqueness_agrees_with_brute_force(houses: int, attributes: int, seeds: int) -> None:
    for seed in range(seeds):
        problem = make_problem(seed, "easy", houses=houses, attributes=attributes)
        found = brute_force(problem.data)
        assert len(found) == 1
        tree = solve_dfs(TASK.rules(problem.data), 20_000)
        assert {(m.attribute, m.value): m.house + 1 for m in solution_moves(tree)} == found[0]


def test_every_clue_is_needed_unless_redundancy_is_kept() -> None:
    for seed in range(3):
        problem = make_problem(seed)
        clues = Puzzle(problem.data).clues
        assert len(solve_grids(4, 4, clues, limit=2)) == 1
        for index in range(len(clues)):
            assert len(solve_grids(4, 4, clues[:index] + clues[index + 1 :], limit=2)) == 2
    kept = [len(make_problem(s, remove_redundant=False).data["clues"]) for s in range(3)]
    pruned = [len(make_problem(s).data["clues"]) for s in range(3)]
    assert sum(kept) > sum(pruned)


def test_solution_counter_sees_many_and_none() -> None:
    assert len(solve_grids(3, 2, [], limit=100)) == 36
    assert len(solve_grids(4, 2, [], limit=2)) == 2
    puzzle = Puzzle(SMALL)
    assert len(solve_grids(3, 2, puzzle.clues, limit=100)) == len(brute_force(SMALL)) == 1
    contradiction = (*puzzle.clues, (KINDS.index("position"), 0, 0, -1, -1, 0))  # red in 1
    assert solve_grids(3, 2, contradiction, limit=2) == []


def test_clue_types_are_respected() -> None:
    for seed in range(3):
        problem = make_problem(seed, clue_types=("left_of", "not_same"))
        assert {clue[0] for clue in problem.data["clues"]} <= {"left_of", "not_same"}
        assert len(solve_grids(4, 4, Puzzle(problem.data).clues, limit=2)) == 1


def test_prompt_lists_the_clues_and_the_id_ignores_their_order() -> None:
    problem = make_problem(0)
    assert problem.knobs == ZebraConfig().model_dump(mode="json")
    puzzle = Puzzle(problem.data)
    for index, text in enumerate(puzzle.texts):
        assert f"\n{index + 1}. {text}.\n" in problem.prompt + "\n"
    for name, values in zip(puzzle.names, puzzle.values, strict=True):
        assert f"- {name}: {', '.join(values)}" in problem.prompt
    assert "<answer></answer>" in problem.prompt
    assert "immediately left of" in problem.prompt.lower()
    shuffled = {**problem.data, "clues": problem.data["clues"][::-1]}
    key = {**shuffled, "clues": sorted(shuffled["clues"], key=canonical_json)}
    assert problem_id("zebra", key) == problem.id
