"""Sokoban answers: the pushes of a solution path written out, and the checker that
judges a model's free-form answer (a list of pushes, or the player's full move string in
LURD letters) by replaying it through the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from searchtrace.tasks.base import OK, Verdict, Violation, extract_answer
from searchtrace.tasks.sokoban.rules import SokobanMove, SokobanRules, SokobanState

MAX_ANSWER_CHARS = 4000
_PUSH_ITEM = re.compile(
    r"(?:push(?:ing)?\s+)?(?:the\s+)?(?:box\s+)?(?:at\s+)?"
    r"\(\s*([0-9]{1,3})\s*,\s*([0-9]{1,3})\s*\)\s*(?:to\s+the\s+)?"
    r"(up|down|left|right|u|d|l|r)(?![a-z])",
    re.IGNORECASE,
)
# A list mark at a line start, after the line's own indentation (not across blank lines:
# `\s*` from every line start of a blank run would read the rest of the run each time).
_LIST_MARK = re.compile(r"(?m)^[^\S\n]*(?:[0-9]{1,3}[.)]|[-*])[ \t]+")
_FILLER = re.compile(r"\b(?:then|and|next|finally)\b", re.IGNORECASE)
_LURD = re.compile(r"[lurdLURD\s,]+")
_LETTER_WORDS = {"u": "up", "d": "down", "l": "left", "r": "right"}


def answer_from_moves(data: dict[str, Any], moves: Sequence[SokobanMove]) -> str:
    """The pushes in order: `push (2,3) right; push (2,4) down`."""
    return "; ".join(f"push ({m.row},{m.col}) {m.direction}" for m in moves)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: pushes that are legal in turn, within the push limit,
    and leave every box on a goal.

    Reads the last <answer> block (else the whole text). Accepts a list of pushes, each
    the box's cell before the push and a direction (`push (2,3) right; (2,4) down`,
    separated by semicolons, commas or lines, optionally numbered), or the player's full
    move string in LURD letters (uppercase or not; a step into a box pushes it).
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    rules = SokobanRules.from_data(data)
    if body and _LURD.fullmatch(body) and any(ch.isalpha() for ch in body):
        return _check_lurd(rules, "".join(ch for ch in body if ch.isalpha()))
    moves = []
    for match in _PUSH_ITEM.finditer(body):
        direction = match.group(3).lower()
        moves.append(SokobanMove(int(match.group(1)), int(match.group(2)),
                                 _LETTER_WORDS.get(direction, direction)))
    residue = _FILLER.sub(" ", _PUSH_ITEM.sub(" ", _LIST_MARK.sub("", body)))
    if not moves or re.search(r"[A-Za-z0-9]", residue):
        return Verdict.fail("unparsable_answer", "the answer must be pushes like "
                            "'push (2,3) right; push (2,4) down'")
    state = rules.initial_state()
    for number, move in enumerate(moves, start=1):
        result = rules.apply(state, move)
        if isinstance(result, Violation):
            return Verdict.fail(result.code, f"push {number}: {result.message}")
        state = result
    return _solved(rules, state)


def _check_lurd(rules: SokobanRules, letters: str) -> Verdict:
    room = rules.room
    deltas = dict(room.deltas)
    player, boxes, pushes = room.player, set(room.boxes), 0
    for number, letter in enumerate(letters.lower(), start=1):
        step = deltas[_LETTER_WORDS[letter]]
        ahead = player + step
        if room.is_wall(ahead):
            return Verdict.fail("walks_into_wall", f"move {number} walks into the wall at "
                                f"{room.name(ahead)}")
        if ahead in boxes:
            beyond = ahead + step
            if room.is_wall(beyond):
                return Verdict.fail("blocked_by_wall", f"move {number} pushes the box at "
                                    f"{room.name(ahead)} into a wall")
            if beyond in boxes:
                return Verdict.fail("blocked_by_box", f"move {number} pushes the box at "
                                    f"{room.name(ahead)} into another box")
            if pushes >= room.max_pushes:
                return Verdict.fail("push_limit", f"move {number} is a push beyond the "
                                    f"{room.max_pushes} allowed")
            boxes.remove(ahead)
            boxes.add(beyond)
            pushes += 1
        player = ahead
    return _solved(rules, SokobanState(player, tuple(sorted(boxes)), pushes))


def _solved(rules: SokobanRules, state: SokobanState) -> Verdict:
    if rules.is_goal(state):
        return OK
    stray = next(b for b in state.boxes if not rules.room.is_goal(b))
    return Verdict.fail("not_solved", f"the box at {rules.room.name(stray)} is not on a goal")
