"""The build config: YAML validated by pydantic, resolved against the task's presets."""

from __future__ import annotations

import json
import math
import os
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from searchtrace.errors import UserError
from searchtrace.solvers.policies import PolicySection
from searchtrace.solvers.registry import all_solvers, get_solver, solver_names
from searchtrace.tasks import get_task
from searchtrace.tasks.base import CORRUPTION_KINDS, TaskConfig
from searchtrace.traces.drops import DROP_LEVELS, DROP_STYLE
from searchtrace.traces.styles import DEFAULT_STYLE, style_names

MAX_K = 64
SPLITS = ("train", "test")
# A config is a few sections of a few levels; anything deeper or bigger is not one (and
# would exhaust the YAML composer's recursion or expand aliases without end).
MAX_DEPTH = 32
MAX_VALUES = 100_000


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskSection(_Strict):
    """Which task, which preset, and knob values that override the preset."""

    name: str
    preset: Literal["easy", "medium", "hard"] = "medium"
    knobs: dict[str, Any] = Field(default_factory=dict)


class _SolverBase(_Strict):
    """The methods of `SolverSection`, whose fields come from the solver registry."""

    def settings(self) -> BaseModel | None:
        """The chosen solver's settings section; None for a solver without settings."""
        return getattr(self, self.name) if self.name in type(self).model_fields else None


# Built from the registry, so a new solver's name and settings section need no edit here:
# `name` is a Literal of the registered names (errors list them), in the fields' order.
SolverSection = create_model(
    "SolverSection",
    __base__=_SolverBase,
    __module__=__name__,
    __doc__="""The search algorithm (`name`, one of the solver registry's), its node budget
    (nodes expanded before giving up), and one settings section per solver that has
    settings (`mcts`, `llm_mcts`), each that solver's own settings model.""",
    name=(Literal[solver_names()], "dfs"),
    node_budget=(int, Field(default=20_000, ge=1, le=10_000_000)),
    **{solver.name: (solver.settings_model, solver.settings_model())
       for solver in all_solvers() if solver.settings_model is not None},
)


class CorruptSection(_Strict):
    """A corrupted-content control: in `share` of each split's rows (an exact count) one
    step is made wrong, of one of `kinds` (each a kind the task can make), while the
    trace's structure stays (`traces/corrupt.py`)."""

    share: float = Field(gt=0, le=1)
    kinds: list[str] = Field(min_length=1)

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        unknown = [kind for kind in value if kind not in CORRUPTION_KINDS]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; allowed: {', '.join(CORRUPTION_KINDS)}")
        if len(set(value)) != len(value):
            raise ValueError(f"kinds must not repeat, got {value}")
        return value


class TraceSection(_Strict):
    """How trees become text.

    k_mix: share of rows per number of backtracks, e.g. {0: 0.5, 3: 0.5}, met exactly in
    every split; or "natural" for the solver's own order with all its backtracks.
    length_match: a k of the k-mix (not 0; 0 must be in the mix too) whose rows' think
    length (characters) the k = 0 rows are padded to with check lines, a length-matched
    control; None (the default) pads nothing.
    drops: share of rows per drop level (Dualformer's: `none`, `close`, `costs`, `create`,
    `all`; `traces/drops.py`), met exactly in every split; style `tokens` only; absent:
    no drops.
    corrupt: absent for verified-correct rows only; else a corrupted-content control.
    """

    k_mix: dict[int, float] | Literal["natural"] = Field(
        default_factory=lambda: {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25})
    placement: Literal["uniform", "early", "late"] = "uniform"
    max_dead_end_length: int = Field(default=6, ge=1, le=100)
    style: str = DEFAULT_STYLE  # a registered style (`traces/styles/`)
    length_match: int | None = None
    drops: dict[str, float] | None = None

    corrupt: CorruptSection | None = None

    @field_validator("drops")
    @classmethod
    def _drops(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return value
        if not value:
            raise ValueError(f"must name at least one drop level among "
                             f"{', '.join(DROP_LEVELS)}")
        unknown = [level for level in value if level not in DROP_LEVELS]
        if unknown:
            raise ValueError(f"drop levels must be among {', '.join(DROP_LEVELS)}, "
                             f"got {unknown}")
        bad_share = [s for s in value.values() if not 0 < s <= 1]
        if bad_share:
            raise ValueError(f"shares must be in (0, 1], got {bad_share}")
        total = sum(value.values())
        if abs(total - 1) > 1e-6:
            raise ValueError(f"shares must sum to 1, got {total:g}")
        return {level: value[level] for level in DROP_LEVELS if level in value}

    @field_validator("k_mix")
    @classmethod
    def _mix(cls, value: dict[int, float] | str) -> dict[int, float] | str:
        if value == "natural":
            return value
        if not value:
            raise ValueError('must name at least one k, or be "natural"')
        bad_k = [k for k in value if not 0 <= k <= MAX_K]
        if bad_k:
            raise ValueError(f"k must be between 0 and {MAX_K}, got {bad_k}")
        bad_share = [s for s in value.values() if not 0 < s <= 1]
        if bad_share:
            raise ValueError(f"shares must be in (0, 1], got {bad_share}")
        total = sum(value.values())
        if abs(total - 1) > 1e-6:
            raise ValueError(f"shares must sum to 1, got {total:g}")
        return dict(sorted(value.items()))

    @model_validator(mode="after")
    def _one_control(self) -> TraceSection:
        """Each control rewrites the text the others are defined on (which lines exist,
        what they say), so a build asks for at most one of them."""
        asked = [name for name in ("length_match", "drops", "corrupt")
                 if getattr(self, name) is not None]
        if len(asked) > 1:
            raise ValueError(f"{' and '.join(asked)} cannot be combined in one build; "
                             "ask for one control per build")
        return self

    @model_validator(mode="after")
    def _length_match_in_mix(self) -> TraceSection:
        target = self.length_match
        if target is None:
            return self
        if self.k_mix == "natural":
            raise ValueError('length_match pads k = 0 rows to the rows of a k of the k-mix; '
                             'k_mix "natural" has none')
        ks = ", ".join(str(k) for k in self.k_mix)
        if target == 0 or target not in self.k_mix:
            raise ValueError(f"length_match must be a k > 0 of the k-mix ({ks}), got {target}")
        if 0 not in self.k_mix:
            raise ValueError(f"length_match pads the k = 0 rows, but the k-mix ({ks}) has no 0")
        return self

    @field_validator("style")
    @classmethod
    def _style(cls, value: str) -> str:
        if value not in style_names():
            raise ValueError(f"unknown style {value!r}; allowed: {', '.join(style_names())}")
        return value


class DifficultyBucket(_Strict):
    """Rows whose measured difficulty lies in [low, high) (high null: no upper bound)."""

    range: tuple[float, float | None]
    share: float = Field(gt=0, le=1)


class DifficultyMix(_Strict):
    """Shares of rows per measured-difficulty bucket, met exactly in every split together
    with the k-mix. `metric` is a field of the rows' `difficulty`."""

    metric: Literal["nodes_expanded", "guesses", "branching", "solution_length"] = (
        "nodes_expanded")
    buckets: dict[str, DifficultyBucket]

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, value: dict[str, DifficultyBucket]) -> dict[str, DifficultyBucket]:
        if not value:
            raise ValueError("must name at least one bucket")
        total = sum(b.share for b in value.values())
        if abs(total - 1) > 1e-6:
            raise ValueError(f"shares must sum to 1, got {total:g}")
        ordered = sorted(value.items(), key=lambda item: item[1].range[0])
        for name, bucket in ordered:
            low, high = bucket.range
            if high is not None and not low < high:
                raise ValueError(f"{name}: range must be [low, high) with low < high, "
                                 f"got [{low:g}, {high:g}]")
        for (first, a), (second, b) in pairwise(ordered):
            if a.range[1] is None or a.range[1] > b.range[0]:
                raise ValueError(f"ranges of {first} and {second} overlap")
        return value

    def level_of(self, difficulty: dict[str, float]) -> int | None:
        """Index of the bucket (in config order) holding this difficulty, or None."""
        value = difficulty[self.metric]
        for index, bucket in enumerate(self.buckets.values()):
            low, high = bucket.range
            if low <= value and (high is None or value < high):
                return index
        return None


class OutputSection(_Strict):
    """Shard sizing: each split gets ceil(rows / rows_per_shard) shards."""

    rows_per_shard: int = Field(default=5000, ge=1, le=10_000_000)


class BuildConfig(_Strict):
    """A whole dataset build. Splits map a split name to its exact row count."""

    name: str = Field(default="searchtrace-dataset", min_length=1, max_length=100)
    task: TaskSection
    solver: SolverSection = SolverSection()
    traces: TraceSection = TraceSection()
    splits: dict[str, int] = Field(default_factory=lambda: {"train": 1000, "test": 100})
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    difficulty_mix: DifficultyMix | None = None
    output: OutputSection = OutputSection()
    policy: PolicySection | None = None

    @model_validator(mode="after")
    def _policy_when_needed(self) -> BuildConfig:
        name = self.solver.name
        if get_solver(name).needs_policy and self.policy is None:
            raise ValueError(f"solver {name} needs a `policy:` section (backend http with "
                             "url, or backend local with checkpoint)")
        if not get_solver(name).needs_policy and self.policy is not None:
            users = " and ".join(s.name for s in all_solvers() if s.needs_policy)
            raise ValueError(f"policy: only solver {users} uses a policy; solver is {name}")
        return self

    @model_validator(mode="after")
    def _drops_need_tokens(self) -> BuildConfig:
        if self.traces.drops is not None and self.traces.style != DROP_STYLE:
            raise ValueError(f"traces.drops drops parts of {DROP_STYLE}-style traces; "
                             f"allowed only with style {DROP_STYLE}, got style "
                             f"{self.traces.style}")
        return self

    @model_validator(mode="after")
    def _natural_needs_a_walk(self) -> BuildConfig:
        if self.traces.k_mix == "natural" and not get_solver(self.solver.name).walk:
            walkers = " and ".join(s.name for s in all_solvers() if s.walk)
            raise ValueError(
                f'traces.k_mix "natural" keeps the solver\'s own order, which only '
                f"{walkers} visit as a walk; got solver {self.solver.name}")
        return self

    @field_validator("splits")
    @classmethod
    def _splits(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError(f"must name at least one split among {', '.join(SPLITS)}, "
                             "each with its row count")
        unknown = [s for s in value if s not in SPLITS]
        if unknown:
            raise ValueError(f"split names must be among {', '.join(SPLITS)}, got {unknown}")
        bad = {s: n for s, n in value.items() if not 1 <= n <= 100_000_000}
        if bad:
            raise ValueError(f"row counts must be between 1 and 100000000, got {bad}")
        return {s: value[s] for s in SPLITS if s in value}

    def task_config(self) -> TaskConfig:
        """The task's validated knobs: preset values overridden by `task.knobs`."""
        preset = get_task(self.task.name).make_config(self.task.preset, {})
        knobs = {**preset.model_dump(mode="json"), **self.task.knobs}
        try:
            return _validate_strictly(type(preset), knobs)
        except ValidationError as error:
            raise UserError(_one_line(error, prefix="task.knobs")) from None

    def resolved(self) -> dict[str, Any]:
        """The config as written to the output, knobs resolved against the preset."""
        out = self.model_dump(mode="json")
        if self.traces.length_match is None:  # configs without it resolve as before
            del out["traces"]["length_match"]
        if self.traces.corrupt is None:
            del out["traces"]["corrupt"]  # configs without it keep their build key
        out["task"]["knobs"] = self.task_config().model_dump(mode="json")
        if out["traces"]["drops"] is None:  # absent: the config (and its key) as before
            del out["traces"]["drops"]
        if self.policy is not None and self.policy.checkpoint is not None:
            # which weights propose the moves is part of what was built
            out["policy"]["checkpoint_sha256"] = _checkpoint_digest(self.policy.checkpoint)
        return out


def _checkpoint_digest(checkpoint: str) -> str:
    from searchtrace.solvers.policy_local import model_folder

    folder = model_folder(checkpoint, "policy.checkpoint")
    stamp = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns)
                  for f in sorted(folder.iterdir()) if f.is_file())
    return _digest_of(str(folder.resolve()), stamp)


@cache
def _digest_of(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> str:
    """The checkpoint's digest, read once per unchanged folder (`stamp`: names, sizes,
    modification times)."""
    from searchtrace.solvers.policy_local import checkpoint_digest

    return checkpoint_digest(folder)


def _one_line(error: ValidationError, prefix: str = "") -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"])
        if prefix:
            location = f"{prefix}.{location}" if location else prefix
        message = item["msg"].removeprefix("Value error, ")
        if item["type"].endswith("_type") and isinstance(item["input"], str | int | float):
            message += f", got {json.dumps(item['input'])}"  # e.g. a boolean for a number
        parts.append(f"{location}: {message}" if location else message)
    return "invalid config: " + "; ".join(parts)


class _DepthLimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing collections nested deeper than MAX_DEPTH before its
    recursive composer reaches Python's recursion limit."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"collections nested more than {MAX_DEPTH} deep "
                                     f"(line {mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse_yaml(text: str) -> Any:
    """YAML text read with the safe loader; yaml.YAMLError for collections nested deeper
    than MAX_DEPTH too."""
    return yaml.load(text, Loader=_DepthLimitedLoader)  # a SafeLoader


def read_yaml(path: Path, what: str) -> Any:
    """A YAML file's content, or a one-line UserError calling it `what` (config, suite...):
    not UTF-8 text, not valid YAML, or nested deeper than MAX_DEPTH."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{what} {path} is not a UTF-8 text file") from None
    except OSError as error:
        raise UserError(f"{what} {path} cannot be read: {error.strerror}") from None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as error:
        raise UserError(f"{what} {path} is not valid YAML: {str(error).splitlines()[0]}") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> BuildConfig:
    """Read and validate a YAML build config, with `overrides` merged in section by section
    (a suite's variations of one config); every problem is a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    raw = read_yaml(path, "config")
    if overrides and isinstance(raw, dict):
        raw = merge_sections(raw, overrides)
    return parse_config(raw)


def merge_sections(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` merged in: mappings merge key by key, anything else (a k-mix
    value, a list) replaces what was there."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "k_mix":
            merged[key] = merge_sections(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_values(raw: Any) -> None:
    """Only what JSON can say, so the strict validation below sees plain data: mappings
    with text or integer keys, lists, text, booleans, integers, finite numbers and null.
    Refused, naming where: nesting deeper than MAX_DEPTH, more than MAX_VALUES values
    (aliases repeating a list), `!!binary` bytes, dates, NaN and infinities."""
    count = 0

    def walk(value: Any, where: tuple[Any, ...]) -> None:
        nonlocal count
        count += 1
        at = ".".join(str(p) for p in where) or "the top level"
        if count > MAX_VALUES:
            raise UserError(f"invalid config: more than {MAX_VALUES} values; a build config "
                            "is a few sections")
        if len(where) > MAX_DEPTH:
            raise UserError(f"invalid config: {at}: nested more than {MAX_DEPTH} deep")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str | int) or isinstance(key, bool):
                    raise UserError(f"invalid config: {at}: keys must be text or integers, "
                                    f"got {key!r}")
                walk(item, (*where, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*where, index))
        elif isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"invalid config: {at}: must be a finite number, got {value}")
        elif not (value is None or isinstance(value, str | int | float)):
            raise UserError(f"invalid config: {at}: YAML value of type "
                            f"{type(value).__name__} ({value!r:.40}) is not allowed; "
                            "use text, numbers, booleans, lists or mappings")

    walk(raw, ())


def _validate_strictly(model: type[Any], raw: Any) -> Any:
    """`model` validated in pydantic's strict mode over JSON data: a boolean is not a
    number and a number is not text, while a YAML list may still fill a tuple field."""
    return model.model_validate_json(json.dumps(raw), strict=True)


def parse_config(raw: Any) -> BuildConfig:
    """A validated BuildConfig from YAML data; every problem is a one-line UserError."""
    if not isinstance(raw, dict):
        raise UserError("invalid config: the top level must be a mapping of sections")
    _check_values(raw)
    try:
        config = _validate_strictly(BuildConfig, raw)
    except ValidationError as error:
        raise UserError(_one_line(error)) from None
    config.task_config()  # unknown task, bad preset or knobs fail here, before any work
    # a registered style the task has no phrasing for, too (not first in the pilot)
    get_task(config.task.name).require_style(config.traces.style)
    for kind in config.traces.corrupt.kinds if config.traces.corrupt else []:
        get_task(config.task.name).require_corruption(kind)
    policy = config.policy
    if policy is not None and policy.api_key_env and not os.environ.get(policy.api_key_env):
        raise UserError(f"policy.api_key_env: the environment variable "
                        f"{policy.api_key_env} is not set; export the server's key in it")
    if policy is not None and policy.checkpoint is not None:
        digest = _checkpoint_digest(policy.checkpoint)  # a missing checkpoint fails here too
        if policy.checkpoint_sha256 not in (None, digest):
            raise UserError(f"policy.checkpoint_sha256: the weights in {policy.checkpoint} "
                            f"have sha256 {digest}, the config pins "
                            f"{policy.checkpoint_sha256}")
    return config

