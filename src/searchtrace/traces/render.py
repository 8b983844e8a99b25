"""Render a trace as text in a style, from the task's phrases and shared line templates."""

from __future__ import annotations

from collections.abc import Sequence

from searchtrace.tasks.base import Phrasing
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE, Trace
from searchtrace.traces.tree import SearchTree

NATURAL_OPENERS = ("Let me try", "Next, try", "Then try")
NATURAL_AFTER_BACKTRACK = "Instead, let me try"
NATURAL_DEAD = ("so this is a dead end", "so this branch fails")
NATURAL_BACK = ("Let me go back to", "Going back to")
NATURAL_GOAL = "so the puzzle is solved"


def render_think_lines(
    trace: Trace, tree: SearchTree, text: Phrasing, style: str, salt: int
) -> list[str]:
    """One line per step. `salt` varies the natural phrasing deterministically per row."""
    lines: list[str] = []
    previous = None
    for index, step in enumerate(trace.steps):
        node = tree.nodes[step.node]
        pick = salt + index
        if step.kind == MOVE:
            move = text.move_phrase(node.move)
            state = text.state_phrase(node.state)
            if style == "compact":
                lines.append(f"try {move} -> {state}")
            else:
                if previous is None:
                    opener = NATURAL_OPENERS[0]
                elif previous == BACKTRACK:
                    opener = NATURAL_AFTER_BACKTRACK
                else:
                    opener = NATURAL_OPENERS[pick % len(NATURAL_OPENERS)]
                lines.append(f"{opener} {move}. {state}.")
        elif step.kind == DEAD_END:
            dead = text.dead_end_phrase(node.state, node.reason)
            if style == "compact":
                lines.append(f"dead: {dead}")
            else:
                lines.append(f"{dead}, {NATURAL_DEAD[pick % len(NATURAL_DEAD)]}.")
        elif step.kind == BACKTRACK:
            parent_move = node.move
            ref = text.ref_phrase(node.state, parent_move)
            if style == "compact":
                lines.append(f"back to {ref}")
            else:
                lines.append(f"{NATURAL_BACK[pick % len(NATURAL_BACK)]} {ref}.")
        elif step.kind == GOAL:
            goal = text.goal_phrase(node.state)
            lines.append(f"goal: {goal}" if style == "compact" else f"{goal}, {NATURAL_GOAL}.")
        previous = step.kind
    return lines


def format_completion(think_lines: Sequence[str], answer: str) -> str:
    """`<think>` block, then `<answer>` block: the completion format every row uses."""
    return "<think>\n" + "\n".join(think_lines) + "\n</think>\n<answer>" + answer + "</answer>"
