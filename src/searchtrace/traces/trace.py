"""A linear trace through a search tree: the steps a reasoner says, in order."""

from __future__ import annotations

from dataclasses import dataclass

from searchtrace.traces.tree import SearchTree

MOVE, DEAD_END, BACKTRACK, GOAL = "move", "dead_end", "backtrack", "goal"
# A padding line (`traces.length_match`): it restates the current state, `node`, and
# changes nothing; it is neither a move nor a backtrack.
CHECK = "check"


@dataclass(frozen=True)
class Step:
    """One line of reasoning, pointing into the tree.

    move: the move into `node`; dead_end: `node` is a confirmed failure;
    backtrack: return to `node` (a state on the current path); goal: `node` solves it;
    check: restate `node`, the current state (padding that changes nothing).
    """

    kind: str
    node: int


@dataclass(frozen=True)
class Trace:
    """Steps plus the facts rows carry about them.

    `backtrack_positions` are indexes into `steps` (the line numbers of the think block);
    `dead_end_lengths` are the moves in each abandoned branch, in trace order.
    """

    steps: tuple[Step, ...]
    mode: str  # "exact" or "natural"
    num_backtracks: int
    backtrack_positions: tuple[int, ...]
    dead_end_lengths: tuple[int, ...]
    solution_length: int

    @staticmethod
    def from_steps(steps: list[Step], mode: str, tree: SearchTree) -> Trace:
        """Derive the counts from the steps; a dead end's length is the depth it fell."""
        positions = tuple(i for i, s in enumerate(steps) if s.kind == BACKTRACK)
        lengths = tuple(
            tree.nodes[steps[i - 1].node].depth - tree.nodes[steps[i].node].depth
            for i in positions
        )
        return Trace(tuple(steps), mode, len(positions), positions, lengths,
                     len(tree.solution_path()) - 1)
