"""Cut a rendered completion into its think body and its answer, and the caps on what the
verifier reads. Lines of the body are read by the row's style (`traces/styles/`). Nothing
here raises on input.

Everything here reads model output and dataset text, so it runs in time linear in the
input: string methods (find, startswith, endswith) and patterns that try one cut per
place at most, never lazy or repeated wildcards whose backtracking turns quadratic on
a `</think><answer>` ladder. The caps below bound what the verifier reads at all: a
longer line or completion fails to verify with its own code (`line_too_long`,
`completion_too_long`) instead of being parsed.
"""

from __future__ import annotations

import re

# The longest rendered line of any task at its largest settings is a few hundred
# characters (a 40-node coloring's dead end); the longest completion, a 41x41 maze with
# k=64 dead ends of 100 moves each, is about 600 kB. The caps leave room above both.
MAX_LINE_CHARS = 2_000
MAX_COMPLETION_CHARS = 1_000_000

_THINK_OPEN = "<think>"
_ANSWER_CLOSE = "</answer>"
_SPACE = re.compile(r"\s*")  # one run of whitespace, matched at a position: linear
# Where the think body ends and the answer begins. Tried at each position, it reads past
# one `</think>` and the whitespace after it only: linear in the text it searches.
_BODY_END = re.compile(r"\n?</think>\s*<answer>")


def split_completion(completion: str) -> tuple[str, str] | None:
    """(think body, answer text) of a well-formed completion, else None.

    Well-formed: optional whitespace, `<think>`, the body (one newline after `<think>` and
    one before `</think>` are not part of it), `</think>`, whitespace, `<answer>`, the
    answer, `</answer>` and nothing but whitespace. The body ends at the first
    `</think>` that is followed by whitespace and `<answer>`; the answer runs to the final
    `</answer>` (so either may contain the other's tags as text)."""
    if not isinstance(completion, str):
        return None
    start = _SPACE.match(completion).end()
    if not completion.startswith(_THINK_OPEN, start):
        return None
    body_start = start + len(_THINK_OPEN)
    if completion.startswith("\n", body_start):
        body_start += 1
    end = len(completion.rstrip())
    if not completion.endswith(_ANSWER_CLOSE, 0, end):
        return None
    answer_end = end - len(_ANSWER_CLOSE)
    middle = _BODY_END.search(completion, body_start, answer_end)
    if middle is None:
        return None
    return completion[body_start:middle.start()], completion[middle.end():answer_end].strip()

