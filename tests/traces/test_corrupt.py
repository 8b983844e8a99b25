"""Corrupted-content controls: every kind every task supports is made on a real verified
trace and caught by `verify_corrupted` exactly; structure stays; mislabelled rows fail."""

from __future__ import annotations

import numpy as np
import pytest

from searchtrace.errors import UserError
from searchtrace.tasks import get_task, task_names
from searchtrace.tasks.base import CORRUPTION_KINDS, FALSE_DEAD_END, WRONG_ARITHMETIC, WRONG_STATE
from searchtrace.traces.corrupt import CannotCorrupt, corrupt_completion, corruption_sites
from searchtrace.traces.parse import split_completion
from searchtrace.traces.render import format_completion
from searchtrace.traces.replay import verify_completion, verify_corrupted
from searchtrace.traces.styles import get_style, style_names
from tests.support import RenderedTrace, rendered

CASES = [(task, kind) for task in task_names() for kind in get_task(task).corruptions.kinds()]


def _lines(completion: str) -> list[str]:
    parts = split_completion(completion)
    assert parts is not None
    return parts[0].split("\n")


def _corrupted(r: RenderedTrace, kind: str, seed: int = 0) -> tuple[str, int]:
    completion, corruption = corrupt_completion(r.task, r.problem.data, r.completion,
                                                r.style, kind, np.random.default_rng(seed))
    assert corruption.kind == kind
    return completion, corruption.line


def test_kinds_per_task() -> None:
    """wrong_state is every task's; countdown also writes wrong results and false claims."""
    for task in task_names():
        assert get_task(task).corruptions.kinds()[0] in (WRONG_ARITHMETIC, WRONG_STATE)
        assert WRONG_STATE in get_task(task).corruptions.kinds()
    assert get_task("countdown").corruptions.kinds() == CORRUPTION_KINDS


@pytest.mark.parametrize(("task", "kind"), CASES)
@pytest.mark.parametrize("style", style_names())
def test_every_kind_made_and_caught(task: str, kind: str, style: str) -> None:
    r = rendered(task, style, 2)
    completion, line = _corrupted(r, kind)
    clean, wrong = _lines(r.completion), _lines(completion)
    # Structure stays: same count of lines, each of the same kind, one line changed.
    reader = get_style(style)
    assert [reader.parse_line(x).kind for x in wrong] == [reader.parse_line(x).kind
                                                          for x in clean]
    assert [i for i, (a, b) in enumerate(zip(clean, wrong, strict=True)) if a != b] == [line]
    # The plain verifier refuses it at that line; the exact one accepts it only as listed.
    plain = verify_completion(r.task, r.problem.data, completion, style, 2)
    assert (plain.ok, plain.line) == (False, line)
    assert verify_corrupted(r.task, r.problem.data, completion, style, 2, {line: kind}).ok
    others = [k for k in CORRUPTION_KINDS if k != kind]
    mislabelled = verify_corrupted(r.task, r.problem.data, completion, style, 2,
                                   {line: others[0]})
    assert (mislabelled.ok, mislabelled.line) == (False, line)


def test_every_site_of_every_task_is_caught() -> None:
    """Every line each task's corruptions can rewrite, not only the one a seed picks."""
    for task in task_names():
        r = rendered(task, "natural", 2)
        sites = corruption_sites(r.task, r.problem.data, r.completion, r.style)
        assert {s.corruption.kind for s in sites} == set(r.task.corruptions.kinds())
        for site in sites:
            lines = list(r.lines)
            lines[site.corruption.line] = site.wrong_line
            verdict = verify_corrupted(r.task, r.problem.data,
                                       format_completion(lines, r.answer), r.style, 2,
                                       {site.corruption.line: site.corruption.kind})
            assert verdict.ok, (task, site, verdict)


def test_a_listed_line_that_is_right_fails() -> None:
    r = rendered("countdown", "natural", 2)
    completion, line = _corrupted(r, WRONG_STATE)
    other = next(i for i in r.moves() if i != line)
    verdict = verify_corrupted(r.task, r.problem.data, completion, r.style, 2,
                               {line: WRONG_STATE, other: WRONG_STATE})
    assert (verdict.ok, verdict.code, verdict.line) == (False, "corruption_not_wrong", other)
    clean = verify_corrupted(r.task, r.problem.data, r.completion, r.style, 2,
                             {other: WRONG_ARITHMETIC})
    assert (clean.ok, clean.code) == (False, "corruption_not_wrong")


def test_an_unlisted_wrong_line_fails() -> None:
    r = rendered("countdown", "compact", 2)
    completion, line = _corrupted(r, WRONG_ARITHMETIC)
    assert not verify_corrupted(r.task, r.problem.data, completion, r.style, 2, {}).ok
    sites = [s for s in corruption_sites(r.task, r.problem.data, r.completion, r.style)
             if s.corruption.kind == FALSE_DEAD_END]
    lines = _lines(completion)
    lines[sites[0].corruption.line] = sites[0].wrong_line
    twice = format_completion(lines, r.answer)
    verdict = verify_corrupted(r.task, r.problem.data, twice, r.style, 2,
                               {line: WRONG_ARITHMETIC})
    assert (verdict.ok, verdict.code, verdict.line) == (False, "false_dead_end",
                                                        sites[0].corruption.line)


def test_a_listed_line_past_the_text_fails() -> None:
    r = rendered("maze", "natural", 2)
    completion, line = _corrupted(r, WRONG_STATE)
    verdict = verify_corrupted(r.task, r.problem.data, completion, r.style, 2,
                               {line: WRONG_STATE, 999: WRONG_STATE})
    assert (verdict.ok, verdict.code) == (False, "corruption_not_found")


def test_a_kind_the_task_lacks_is_refused() -> None:
    r = rendered("maze", "natural", 2)
    with pytest.raises(UserError, match=r"task maze cannot make 'wrong_arithmetic'.*"
                                        r"allowed: wrong_state"):
        _corrupted(r, WRONG_ARITHMETIC)


def test_no_dead_end_line_cannot_be_corrupted() -> None:
    r = rendered("countdown", "natural", 0)
    with pytest.raises(CannotCorrupt, match="false_dead_end"):
        _corrupted(r, FALSE_DEAD_END)


def test_the_line_is_a_seeded_choice() -> None:
    r = rendered("sudoku", "natural", 2)
    lines = {_corrupted(r, WRONG_STATE, seed)[1] for seed in range(8)}
    assert len(lines) > 1
    assert _corrupted(r, WRONG_STATE, 3) == _corrupted(r, WRONG_STATE, 3)
