"""Coloring answers: the canonical answer for a solution, and the checker of free-form model
answers (node-color pairs in many layouts, judged against the graph's edges)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from searchtrace.tasks.base import OK, Verdict, extract_answer
from searchtrace.tasks.coloring.rules import COLOR_LETTERS, COLOR_NAMES, ColoringMove, Graph

MAX_ANSWER_CHARS = 2000
_ANSWER_IGNORED = str.maketrans({ch: " " for ch in "{}[]()\"'"})
_ANSWER_SEP = re.compile(r"(?:[\s,;.]|\band\b)*", re.IGNORECASE)
# The spaces after the separator are matched only after one (`\s*` twice in a row would
# split every run of spaces both ways: quadratic in its length).
_ANSWER_PAIR = re.compile(
    r"(?:node\s*)?([0-9]{1,4})\s*(?:(?:[:=]|->|-|\bis\b)\s*)?([A-Za-z]{1,12})\b", re.IGNORECASE)
_ANSWER_COLOR = {**{name: i + 1 for i, name in enumerate(COLOR_NAMES)},
                 **{letter.lower(): i + 1 for i, letter in enumerate(COLOR_LETTERS)}}


def format_answer(colors: Sequence[int]) -> str:
    """`1:red 2:green 3:blue ...`: every node with its color name, in node order."""
    return " ".join(f"{i}:{COLOR_NAMES[c - 1]}" for i, c in enumerate(colors, start=1))


def answer_from_moves(data: dict[str, Any], moves: Sequence[ColoringMove]) -> str:
    """The coloring the moves make, as `1:red 2:green ...`."""
    colors = [0] * data["nodes"]
    for move in moves:
        colors[move.node - 1] = move.color
    if 0 in colors:
        raise ValueError("the moves leave nodes uncolored")
    return format_answer(colors)


def check_answer(data: dict[str, Any], text: str) -> Verdict:
    """Judge a free-form answer: every node gets one of the k colors and no edge joins two
    nodes of the same color.

    Reads the last <answer> block (else the whole text) as node-color pairs: `1:red`,
    `1=R`, `node 1 is red`, `1 - red`, separated by spaces, commas, semicolons or lines;
    colors by name or initial, any case; brackets and quotes are ignored (so JSON works).
    """
    if not isinstance(text, str):
        return Verdict.fail("not_text", "the answer is not text")
    body = extract_answer(text)
    if len(body) > MAX_ANSWER_CHARS:
        return Verdict.fail("too_long", f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    pairs = _read_pairs(body.translate(_ANSWER_IGNORED))
    if isinstance(pairs, Verdict):
        return pairs
    graph = Graph.from_data(data)
    colors = [0] * graph.n
    for node, word in pairs:
        if not 1 <= node <= graph.n:
            return Verdict.fail("unknown_node",
                                f"node {node} is not in the graph (nodes are 1 to {graph.n})")
        color = _ANSWER_COLOR.get(word.lower(), 0)
        if not 1 <= color <= graph.k:
            allowed = ", ".join(COLOR_NAMES[: graph.k])
            return Verdict.fail("unknown_color",
                                f"{word!r} is not one of the {graph.k} colors ({allowed})")
        if colors[node - 1] and colors[node - 1] != color:
            return Verdict.fail("conflicting_colors", f"node {node} is given two colors")
        colors[node - 1] = color
    if 0 in colors:
        missing = [i + 1 for i, c in enumerate(colors) if not c]
        return Verdict.fail("missing_node", f"node {missing[0]} has no color "
                            f"({len(missing)} node(s) missing)")
    for node, neighbors in enumerate(graph.adj):
        for u in neighbors:
            if u > node and colors[u] == colors[node]:
                return Verdict.fail("color_clash", f"nodes {node + 1} and {u + 1} are joined "
                                    f"by an edge and both {COLOR_NAMES[colors[u] - 1]}")
    return OK


def _read_pairs(body: str) -> list[tuple[int, str]] | Verdict:
    """The (node, color word) pairs of the answer, or why it cannot be read."""
    pairs: list[tuple[int, str]] = []
    position = 0
    while True:
        position = _ANSWER_SEP.match(body, position).end()
        if position >= len(body):
            break
        match = _ANSWER_PAIR.match(body, position)
        if match is None:
            return Verdict.fail("unparsable_answer", "the answer must list node:color pairs, "
                                f"cannot read {body[position : position + 30]!r}")
        pairs.append((int(match.group(1)), match.group(2)))
        position = match.end()
    if not pairs:
        return Verdict.fail("unparsable_answer", "the answer lists no node:color pairs")
    return pairs
