"""Subset-sum answers: the numbers of a solution joined by `+`, and the checker of a
free-form answer (`3+5+9`, optionally `= target`), read by hand, never evaluated."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from searchtrace.tasks.base import OK, Verdict, extract_answer

MAX_ANSWER_CHARS = 400
_SUM = re.compile(r"\s*[0-9]{1,6}(?:\s*\+\s*[0-9]{1,6})*\s*")


def answer_from_moves(data: dict[str, Any], moves: Sequence[int]) -> str:
    return "+".join(str(move) for move in moves)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    body, _, stated = body.partition("=")
    if stated and stated.strip() != str(data["target"]):
        return Verdict.fail("wrong_target", f"the answer claims {stated.strip()[:20]!r}")
    if _SUM.fullmatch(body) is None:
        return Verdict.fail("unparsable_answer", "expected numbers joined by +")
    picked = [int(part) for part in body.split("+")]
    unknown = [n for n in picked if n not in data["numbers"]]
    if unknown:
        return Verdict.fail("wrong_numbers", f"{unknown[0]} is not one of the numbers")
    if len(set(picked)) != len(picked):
        return Verdict.fail("wrong_numbers", "a number is used twice")
    if sum(picked) != data["target"]:
        return Verdict.fail("wrong_value", f"the numbers add up to {sum(picked)}, not "
                            f"{data['target']}")
    return OK
