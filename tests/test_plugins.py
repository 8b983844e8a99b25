"""A task is one folder and a style is one module: both registries are found by walking
their package, so a toy task kept in tests/data/plugins/tasks/subsetsum/ and a toy style
in tests/data/plugins/styles/terse.py, added to the packages' `__path__`, are listed,
accepted by the config, built, gated and re-verified like the real ones, with no edit
under src/ (the style needs one phrasing entry per task that speaks it). Leaving the
context takes them away again."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import combinations
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import searchtrace.tasks as tasks_package
import searchtrace.traces.styles as styles_package
from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.flows.gate import run_gate
from searchtrace.flows.steps import run_build
from searchtrace.tasks import get_task, task_names
from searchtrace.tasks.base import Task
from searchtrace.tasks.countdown.numbers import Number, fmt
from searchtrace.tasks.countdown.text import CountdownPhrasing
from searchtrace.traces.parse import split_completion
from searchtrace.traces.replay import verify_completion
from searchtrace.traces.styles import get_style, style_names
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE

PLUGINS = Path(__file__).parent / "data" / "plugins"
TASK_FOLDER = PLUGINS / "tasks" / "subsetsum"
STYLE_MODULE = PLUGINS / "styles" / "terse.py"
TOY_TASK, TOY_STYLE, REAL_TASK = "subsetsum", "terse", "countdown"
SRC = Path(__file__).parent.parent / "src" / "searchtrace"
TERSE_PREFIXES = {MOVE: "+ ", DEAD_END: "x ", BACKTRACK: "< ", GOAL: "= "}
K_MIX = {0: 0.5, 1: 0.25, 2: 0.25}
SPLITS = {"train": 8, "test": 4}


@contextmanager
def plugged_in(package: ModuleType, folder: Path,
               caches: tuple[Callable[..., Any], ...]) -> Iterator[None]:
    """`folder` walked as part of `package` (its registry caches cleared) inside the
    context; afterwards the package's own `__path__`, fresh caches, and none of the
    folder's modules left imported."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(package, "__path__", [*package.__path__, str(folder)])
        for cache in caches:
            cache.cache_clear()
        try:
            yield
        finally:
            patch.undo()
            for cache in caches:
                cache.cache_clear()
            for name, module in list(sys.modules.items()):
                if str(getattr(module, "__file__", None) or "").startswith(str(folder)):
                    del sys.modules[name]


@pytest.fixture
def toy_task() -> Iterator[Task]:
    with plugged_in(tasks_package, TASK_FOLDER.parent, (task_names, get_task)):
        yield get_task(TOY_TASK)


class CountdownTerse(CountdownPhrasing):
    """Countdown's phrases in the toy style: "{5, 6}", "3 & 5 cannot make 24", "7 <> 24",
    "@{5, 3, 2}", "hit 24"."""

    STATE = ("{", "}")
    REF = ("@{", "}")
    PAIR_SEP = " & "
    FINAL_SEP = " <> "

    def goal_phrase(self, state: tuple[Number, ...]) -> str:
        return f"hit {fmt(state[0])}"


@pytest.fixture
def toy_style() -> Iterator[None]:
    """The toy style registered, and countdown speaking it (one phrasing entry)."""
    with (plugged_in(styles_package, STYLE_MODULE.parent, (style_names, get_style)),
          pytest.MonkeyPatch.context() as patch):
        patch.setitem(get_task(REAL_TASK).phrasings, TOY_STYLE, CountdownTerse.from_data)
        yield


def _config(task: str, style: str, **traces: Any) -> dict[str, Any]:
    return {"name": f"plugins-{task}-{style}", "task": {"name": task, "preset": "easy"},
            "solver": {"name": "dfs", "node_budget": 20000},
            "traces": {"k_mix": K_MIX, "style": style, "max_dead_end_length": 3, **traces},
            "splits": SPLITS, "seed": 5}


def _rows(out: Path) -> list[dict[str, Any]]:
    return [row for shard in sorted((out / "data").glob("*.parquet"))
            for row in pq.read_table(shard).to_pylist()]


def _build_gate_and_reverify(task: str, style: str, out: Path) -> list[dict[str, Any]]:
    """Build through the gate (run_build raises GateFailed otherwise), gate the published
    dataset again replaying every row, and replay every row here too; the rows."""
    result = run_build(parse_config(_config(task, style)), out)
    rows = _rows(out)
    assert result.record["gate"] == {"rows": 12, "reverified": 12}
    report = run_gate(out, sample_rate=1.0)
    assert report.ok and (report.rows, report.reverified) == (12, 12), report.failures
    assert Counter(row["split"] for row in rows) == SPLITS
    assert Counter(row["num_backtracks"] for row in rows) == {0: 6, 1: 3, 2: 3}
    for row in rows:
        assert (row["task"], row["style"]) == (task, style)
        data = json.loads(row["problem"])
        verdict = verify_completion(get_task(task), data, row["completion"], style,
                                    row["num_backtracks"])
        assert verdict.ok, (row["id"], verdict)
        assert get_task(task).check_answer(data, row["answer"]).ok
    return rows


def _think_lines(row: dict[str, Any]) -> list[str]:
    parts = split_completion(row["completion"])
    assert parts is not None
    return parts[0].split("\n")


# ---- a task is one folder --------------------------------------------------------------


def test_the_plugins_are_one_folder_and_one_module_that_src_never_names() -> None:
    assert sorted(p.name for p in TASK_FOLDER.iterdir() if p.is_file()) == [
        "__init__.py", "answer.py", "generate.py", "rules.py", "text.py"]
    assert sorted(p.name for p in STYLE_MODULE.parent.glob("*.py")) == ["terse.py"]
    for path in SRC.rglob("*.py"):  # no hand-kept list anywhere names them
        text = path.read_text()
        assert TOY_TASK not in text and f'"{TOY_STYLE}"' not in text, path


def test_the_toy_task_is_listed_only_while_its_folder_is_on_the_path(toy_task: Task) -> None:
    assert TOY_TASK in task_names() and REAL_TASK in task_names()
    assert toy_task.name == TOY_TASK
    module = sys.modules[f"searchtrace.tasks.{TOY_TASK}"]
    assert Path(module.__file__).parent == TASK_FOLDER  # imported from tests/data
    with pytest.raises(UserError, match=rf"allowed: .*{TOY_TASK}"):
        get_task("no_such_task")


def test_leaving_the_context_unregisters_the_toy_task() -> None:
    with plugged_in(tasks_package, TASK_FOLDER.parent, (task_names, get_task)):
        assert get_task(TOY_TASK).name == TOY_TASK
    assert TOY_TASK not in task_names()
    assert f"searchtrace.tasks.{TOY_TASK}" not in sys.modules
    with pytest.raises(UserError, match=rf"unknown task '{TOY_TASK}'"):
        parse_config(_config(TOY_TASK, "natural"))


def test_a_config_naming_the_toy_task_validates(toy_task: Task) -> None:
    config = parse_config(_config(TOY_TASK, "compact"))
    assert config.task.name == TOY_TASK
    knobs = config.task_config()
    assert type(knobs) is toy_task.config_model
    assert knobs.model_dump(mode="json") == {"count": 5, "number_range": [1, 20]}
    raw = _config(TOY_TASK, "compact")
    raw["task"]["knobs"] = {"count": 11}
    with pytest.raises(UserError, match=r"task\.knobs\.count: must be between 3 and 10"):
        parse_config(raw)
    raw["task"]["knobs"] = {"counts": 4}
    with pytest.raises(UserError, match=r"task\.knobs\.counts"):
        parse_config(raw)


def test_the_toy_rules_are_exact(toy_task: Task) -> None:
    """`solvable` agrees with trying every subset; a dead end is never solvable; the
    answer of a solution is accepted and a wrong one is not."""
    config = toy_task.make_config("medium", {})
    for seed in range(6):
        problem = toy_task.generate(config, np.random.default_rng(seed), "train")
        rules = toy_task.rules(problem.data)
        numbers, target = problem.data["numbers"], problem.data["target"]
        stack, seen = [rules.initial_state()], 0
        while stack:
            state = stack.pop()
            seen += 1
            left = [n for n in numbers if not state or n > state[-1]]
            brute = any(sum(state) + sum(pick) == target
                        for size in range(len(left) + 1) for pick in combinations(left, size))
            assert rules.solvable(state) == brute, (problem.data, state)
            if rules.dead_end(state) is not None:
                assert not brute
                assert rules.confirm_dead_end(state, rules.dead_end(state)) is None
            if rules.is_goal(state):
                answer = toy_task.answer(problem.data, list(state))
                assert toy_task.check_answer(problem.data, f"<answer>{answer}</answer>").ok
            stack.extend(child for _, child in rules.expand(state))
        assert seen > len(numbers)
        wrong = "+".join(str(n) for n in numbers)
        assert sum(numbers) == target or not toy_task.check_answer(problem.data, wrong).ok


@pytest.mark.parametrize("style", ["natural", "compact"])
def test_the_toy_task_builds_through_the_gate_and_every_row_reverifies(
    toy_task: Task, style: str, tmp_path: Path
) -> None:
    rows = _build_gate_and_reverify(TOY_TASK, style, tmp_path / style)
    said = Counter()
    for row in rows:
        for line in _think_lines(row):
            event = get_style(style).parse_line(line)
            said[event.kind] += 1
            phrasing = toy_task.phrasing(style, json.loads(row["problem"]))
            if event.kind == MOVE:  # the toy task's own words, in the real style's lines
                assert phrasing.parse_move(event.phrases[0]) is not None, line
            elif event.kind == DEAD_END:
                assert phrasing.parse_dead_end(event.phrases[0]) is not None, line
    assert said[DEAD_END] == said[BACKTRACK] == 3 * 1 + 3 * 2
    assert said[GOAL] == len(rows)


# ---- a style is one module -------------------------------------------------------------


def test_the_config_accepts_the_toy_style_and_still_refuses_an_unknown_one(
    toy_style: None
) -> None:
    assert style_names() == ("natural", "compact", "reflective", TOY_STYLE, "tokens")
    assert parse_config(_config(REAL_TASK, TOY_STYLE)).traces.style == TOY_STYLE
    with pytest.raises(UserError, match=r"unknown style 'nosuch'; allowed: natural, compact, "
                                        rf"reflective, {TOY_STYLE}, tokens"):
        parse_config(_config(REAL_TASK, "nosuch"))


def test_a_style_a_task_has_no_phrasing_for_fails_at_validation(
    toy_task: Task, toy_style: None
) -> None:
    """Registered, but the toy task does not speak it: refused by the config, naming the
    task's styles, before any build starts."""
    with pytest.raises(UserError, match=rf"task {TOY_TASK} has no phrasing for style "
                                        rf"'{TOY_STYLE}'; allowed: compact, natural"):
        parse_config(_config(TOY_TASK, TOY_STYLE))


def test_leaving_the_context_unregisters_the_toy_style() -> None:
    with plugged_in(styles_package, STYLE_MODULE.parent, (style_names, get_style)):
        assert get_style(TOY_STYLE).name == TOY_STYLE
    assert style_names() == ("natural", "compact", "reflective", "tokens")
    assert f"searchtrace.traces.styles.{TOY_STYLE}" not in sys.modules
    with pytest.raises(UserError, match=r"unknown style 'terse'; allowed: natural, compact, "
                                        r"reflective, tokens$"):
        parse_config(_config(REAL_TASK, TOY_STYLE))


def test_a_build_in_the_toy_style_passes_the_gate_in_its_own_templates(
    toy_style: None, tmp_path: Path
) -> None:
    rows = _build_gate_and_reverify(REAL_TASK, TOY_STYLE, tmp_path / TOY_STYLE)
    terse, others = get_style(TOY_STYLE), [get_style(name) for name in ("natural", "compact",
                                                                  "reflective")]
    for row in rows:
        lines = _think_lines(row)
        kinds = []
        for line in lines:
            event = terse.parse_line(line)
            assert event is not None and line.startswith(TERSE_PREFIXES[event.kind]), line
            assert all(other.parse_line(line) is None for other in others), line
            kinds.append(event.kind)
        assert kinds.count(BACKTRACK) == row["num_backtracks"]
        assert lines[-1].startswith("= hit ")  # the toy phrasing's goal, in the toy template
        assert all(line.split(" => ")[1].startswith("{") for line, kind in zip(
            lines, kinds, strict=True) if kind == MOVE)
        assert all(line.startswith("< @{") for line, kind in zip(lines, kinds, strict=True)
                   if kind == BACKTRACK)
        # the same text read as compact is not a trace: the style decides how it is read
        data = json.loads(row["problem"])
        verdict = verify_completion(get_task(REAL_TASK), data, row["completion"], "compact",
                                    row["num_backtracks"])
        assert (verdict.ok, verdict.code, verdict.line) == (False, "unparsable_step", 0)
