"""The tokens style: A* execution traces as short space-separated tokens, in the manner of
Searchformer, with a search event per line and the costs A* keeps for each node.

Vocabulary (each `<...>` is the task's tokens phrasing, e.g. maze cells `r3 c4`, sudoku
placements `r1 c2 v4`, countdown numbers `5 3 2`):

    create <move> | <state> g<g> h<h>    a move creates the state it reaches: g = the moves
                                         on the current path (its depth), h = the rules'
                                         admissible heuristic of that state
    create <move> | <state>              the same without costs: only a row whose build
                                         drops the costs (`traces/drops.py`) may say it
    close <state> dead <reason>          the current state is a dead end, for that reason
    back <ref>                           return to a state on the current path (a ref never
                                         starts with `to`: no style reads another's lines)
    goal <state>                         the current state solves the problem
    check <state>                        a padding line (`traces.length_match`): restates
                                         the current state, changes nothing

The verifier replays every line through the rules and holds the costs to the same
account: a created state whose stated g is not its depth on the current path, or whose
stated h is not `rules.heuristic` of it, fails with `wrong_cost`; a close line's state is
checked like a created one's (`wrong_state`). h reaches the renderer through the
phrasing, which carries the problem's rules (`RulesPhrasing`): every solver's tree renders,
not only those whose nodes keep a heuristic value. Costs are written as integers when
whole (every task's heuristic counts moves), else as the float's shortest decimal.
"""

from __future__ import annotations

from typing import cast

from searchtrace.tasks.base import Phrasing, RulesPhrasing
from searchtrace.traces.styles.base import RawEvent, TemplateStyle
from searchtrace.traces.trace import BACKTRACK, CHECK, DEAD_END, GOAL, MOVE, Trace
from searchtrace.traces.tree import SearchTree

_COST = r"[0-9]{1,9}(?:\.[0-9]{1,17})?"  # bounded: a stated cost always converts exactly


def cost_token(value: float) -> str:
    """A cost as written after `g` or `h`: `5` for 5.0, `2.5` for 2.5."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class TokensStyle(TemplateStyle):
    """Each line an event keyword and tokens: `create <move> | <state> g<g> h<h>`,
    `close <state> dead <reason>`, `back <ref>`, `goal <state>`, `check <state>`."""

    name = "tokens"
    states_costs = True
    templates = (
        (MOVE, rf"create (.(?:(?! \| ).)*) \| (.+) g({_COST}) h({_COST})"),
        (MOVE, r"create (.(?:(?! \| ).)*) \| (.+)"),  # costs dropped: tried second
        (DEAD_END, r"close (.(?:(?! dead ).)*) dead (.+)"),
        (BACKTRACK, r"back (?!to )(.+)"),  # never the compact style's `back to`
        (GOAL, r"goal (.+)"),
        (CHECK, r"check (.+)"),
    )

    def render(self, trace: Trace, tree: SearchTree, phrasing: Phrasing,
               salt: int) -> list[str]:
        """One event per step; `salt` is unused: the tokens style has no choices."""
        rules = cast(RulesPhrasing, phrasing).rules
        lines = []
        for step in trace.steps:
            node = tree.nodes[step.node]
            if step.kind == MOVE:
                lines.append(f"create {phrasing.move_phrase(node.move)} | "
                             f"{phrasing.state_phrase(node.state)} g{node.depth} "
                             f"h{cost_token(rules.heuristic(node.state))}")
            elif step.kind == DEAD_END:
                lines.append(f"close {phrasing.state_phrase(node.state)} dead "
                             f"{phrasing.dead_end_phrase(node.state, node.reason)}")
            elif step.kind == BACKTRACK:
                lines.append(f"back {phrasing.ref_phrase(node.state, node.move)}")
            elif step.kind == CHECK:
                lines.append(f"check {phrasing.state_phrase(node.state)}")
            else:  # GOAL
                lines.append(f"goal {phrasing.goal_phrase(node.state)}")
        return lines

    def parse_line(self, line: str) -> RawEvent | None:
        """The event of one line: a create line's move and state as its phrases and its g
        and h as `costs` (None on a line without them); a close line's claim as its phrase
        and its state as `stated`."""
        event = super().parse_line(line)
        if event is None or event.kind not in (MOVE, DEAD_END):
            return event
        if event.kind == MOVE:
            if len(event.phrases) == 2:  # a create line without costs
                return event
            move, state, g, h = event.phrases
            return RawEvent(MOVE, (move, state), costs=(g, h))
        state, claim = event.phrases
        return RawEvent(DEAD_END, (claim,), stated=state)


STYLE = TokensStyle()
