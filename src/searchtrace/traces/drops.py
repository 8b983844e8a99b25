"""Dualformer's trace drops: a tokens-style trace with parts of it removed, per row.

A build with `traces.drops` (style `tokens` only) gives each row one drop level, and the
row's completion keeps only what that level leaves; the replay (`traces/replay.py`)
checks what remains:

    none    the whole trace: every check of the tokens style (moves legal, stated states
            true, g/h costs, dead-end claims confirmed, backtracks after a close line and
            onto the current path, the goal, the backtrack count, the answer and, for a
            row, the abandoned branches unsolvable and the answer derived from the path)
    close   no `close` lines: the same checks but the dead-end claims (there are none);
            a backtrack need not follow a close line, it is still counted and its target
            must be on the current path, and a row's abandoned branch must be unsolvable
    costs   `create <move> | <state>` without g/h: every check but the costs
    create  only `close`, `back` and `goal` lines: the states are unknown, so the replay
            checks each dead-end claim reads as one, each backtrack follows a close line
            and its target reads as a reference, one goal line ends the trace, the
            backtrack count and the answer (by the task's answer checker)
    all     no trace: the completion is the answer only (an empty think block), and the
            answer is checked by the task's answer checker

At every level a line of a dropped kind (or a create line with costs at `costs`, without
them elsewhere) fails the row with `dropped_part_present` / `missing_cost`.
"""

from __future__ import annotations

from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion
from searchtrace.traces.styles import get_style
from searchtrace.traces.trace import DEAD_END, MOVE

DROP_STYLE = "tokens"  # the only style whose rows may drop parts
NONE, CLOSE, COSTS, CREATE, ALL = "none", "close", "costs", "create", "all"
DROP_LEVELS = (NONE, CLOSE, COSTS, CREATE, ALL)


def drop_lines(lines: list[str], level: str) -> list[str]:
    """The tokens think lines `lines` with what `level` drops removed (a line the style
    does not read is kept as it is: the replay then fails it)."""
    if level == ALL:
        return []
    if level == NONE:
        return list(lines)
    style = get_style(DROP_STYLE)
    kept = []
    for line in lines:
        event = style.parse_line(line)
        kind = event.kind if event is not None else None
        if (level == CLOSE and kind == DEAD_END) or (level == CREATE and kind == MOVE):
            continue
        if level == COSTS and kind == MOVE and event is not None:
            line = f"create {event.phrases[0]} | {event.phrases[1]}"
        kept.append(line)
    return kept


def drop_completion(completion: str, level: str) -> str:
    """A rendered tokens completion with `level`'s parts dropped; the answer is kept."""
    parts = split_completion(completion)
    if parts is None:
        raise ValueError("not a well-formed completion")
    think, answer = parts
    return format_completion(drop_lines(think.split("\n") if think else [], level), answer)
