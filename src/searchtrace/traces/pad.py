"""Padding a trace with check lines, for a length-matched control (`traces.length_match`).

Every comparison of k is confounded by length: a k = 5 trace is several times longer than
a k = 0 one. A padded k = 0 trace says the same search, with check lines (`CHECK` steps)
that restate the current state after a move: true, verified by the replay, and changing
nothing, so it keeps k = 0 while its think body reaches a target length.

Length is measured in characters of the think body: what a model reads and writes (and a
tokenizer's count follows it closely), whereas lines differ in length by kind, so a
line-matched control would still be shorter in text.
"""

from __future__ import annotations

from searchtrace.tasks.base import Phrasing
from searchtrace.traces.styles.base import Style
from searchtrace.traces.trace import BACKTRACK, CHECK, MOVE, Step, Trace
from searchtrace.traces.tree import SearchTree


def think_chars(lines: list[str]) -> int:
    """Characters of the think body these lines make (joined by newlines)."""
    return len("\n".join(lines))


def pad_trace(trace: Trace, count: int) -> Trace:
    """`trace` with `count` check steps spread evenly over its moves: the move at place j
    of n is followed by floor((j+1)·count/n) − floor(j·count/n) checks of the state it
    reached. A trace without moves is returned as it is."""
    moves = sum(step.kind == MOVE for step in trace.steps)
    if count == 0 or moves == 0:
        return trace
    steps: list[Step] = []
    seen = 0
    for step in trace.steps:
        steps.append(step)
        if step.kind == MOVE:
            extra = (seen + 1) * count // moves - seen * count // moves
            steps += [Step(CHECK, step.node)] * extra
            seen += 1
    positions = tuple(i for i, s in enumerate(steps) if s.kind == BACKTRACK)
    return Trace(tuple(steps), trace.mode, trace.num_backtracks, positions,
                 trace.dead_end_lengths, trace.solution_length)


def pad_to_length(trace: Trace, tree: SearchTree, style: Style, phrasing: Phrasing,
                  salt: int, target: int) -> Trace:
    """The trace with the number of check steps whose rendered think body comes nearest to
    `target` characters (the fewer on a tie), so it misses by at most half a check line
    either way and on average by about nothing; `trace` itself when it is that long
    already or has no move to check. The length grows with every check added, so the
    count is found by doubling then bisecting."""

    def length(count: int) -> int:
        return think_chars(style.render(pad_trace(trace, count), tree, phrasing, salt))

    if length(0) >= target or not any(step.kind == MOVE for step in trace.steps):
        return trace
    high = 1
    while length(high) < target:
        high *= 2
    low = high // 2  # length(low) < target (low = 0 was checked above)
    while high - low > 1:
        middle = (low + high) // 2
        if length(middle) >= target:
            high = middle
        else:
            low = middle
    nearest = low if target - length(low) <= length(high) - target else high
    return pad_trace(trace, nearest)
