"""One pyarrow schema for every task, so shards of any build load the same way."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = "4"  # 2: step_values; 3: policy; 4: padding_lines, drop, corruptions

DIFFICULTY = pa.struct([
    ("nodes_expanded", pa.int64()),   # nodes the reference DFS expanded to solve it
    ("guesses", pa.int64()),          # reference DFS nodes where it tried more than one child
    ("branching", pa.float64()),      # reference DFS: mean successors per expansion
    ("solution_length", pa.int32()),  # moves on this row's solution path
    ("tree_nodes", pa.int64()),       # nodes in this row's stored tree
])

ROW_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("problem_id", pa.string()),
    ("task", pa.string()),
    ("split", pa.string()),
    ("prompt", pa.string()),
    ("completion", pa.string()),
    ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("answer", pa.string()),
    ("num_backtracks", pa.int32()),
    ("backtrack_positions", pa.list_(pa.int32())),
    ("dead_end_lengths", pa.list_(pa.int32())),
    ("k_mode", pa.string()),
    ("placement", pa.string()),
    ("style", pa.string()),
    ("drop", pa.string()),  # the row's drop level (traces/drops.py); "" without drops
    ("solver", pa.string()),
    ("policy", pa.string()),  # JSON: model and sampling of an llm_mcts policy; "" otherwise
    ("difficulty", DIFFICULTY),
    ("knobs", pa.string()),
    ("problem", pa.string()),
    ("seed", pa.uint64()),
    ("spawn_key", pa.list_(pa.int64())),
    ("search_tree", pa.string()),
    ("trace_steps", pa.string()),
    ("step_values", pa.list_(pa.float64())),  # MCTS value per move step; [] for other solvers
    ("padding_lines", pa.int32()),  # check lines added by traces.length_match; 0 otherwise
    # the lines (0-based, of the think body) made wrong, and how; [] for a clean row
    ("corruptions", pa.list_(pa.struct([("line", pa.int32()), ("kind", pa.string())]))),
    ("code_version", pa.string()),
    ("schema_version", pa.string()),
])


@dataclass(frozen=True)
class Difficulty:
    nodes_expanded: int
    guesses: int
    branching: float
    solution_length: int
    tree_nodes: int


@dataclass(frozen=True)
class TraceRow:
    """One verified row. JSON columns (`knobs`, `problem`, `search_tree`, `trace_steps`)
    keep task-specific content under one schema for every task.
    """

    id: str
    problem_id: str
    task: str
    split: str
    prompt: str
    completion: str
    messages: list[dict[str, str]]
    answer: str
    num_backtracks: int
    backtrack_positions: list[int]
    dead_end_lengths: list[int]
    k_mode: str
    placement: str
    style: str
    drop: str
    solver: str
    policy: str
    difficulty: Difficulty
    knobs: str
    problem: str
    seed: int
    spawn_key: list[int]
    search_tree: str
    trace_steps: str
    step_values: list[float | None]
    padding_lines: int
    corruptions: list[dict[str, Any]]
    code_version: str
    schema_version: str

    def to_record(self) -> dict[str, Any]:
        return asdict(self)
