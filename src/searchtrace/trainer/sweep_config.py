"""The backtrack sweep's YAML: the arms (k values, and optionally difficulty buckets and
control corpora), the training seeds, the stages (SFT, or SFT then RL), the model and stage
settings, and the evaluations
(greedy, and optionally compute-matched). `load_sweep` validates it, every arm's build
config included, into one-line UserErrors before any work starts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from searchtrace.config import DifficultyMix, read_yaml
from searchtrace.errors import UserError
from searchtrace.trainer.arms import arm_configs
from searchtrace.trainer.rl import RlSettings
from searchtrace.trainer.sft import SftSettings

CONTROLS = ("corrupt", "length_match")
# The stages a sweep may run: SFT alone (RL's sampling is the costly part on a CPU), or
# SFT then RL from each SFT checkpoint.
STAGE_CHOICES = (["sft"], ["sft", "rl"])
BUCKET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvalSection(_Section):
    max_problems: int = Field(default=100, ge=1)
    max_new_tokens: int = Field(default=320, ge=8)


class BucketRange(_Section):
    """Rows whose measured difficulty lies in [low, high) (high null: no upper bound)."""

    range: tuple[float, float | None]


class DifficultySection(_Section):
    """Difficulty arms: each bucket's datasets hold only rows in its range of `metric` (a
    build's `difficulty_mix` with that one bucket at share 1.0)."""

    metric: str = "nodes_expanded"
    buckets: dict[str, BucketRange]

    @field_validator("buckets")
    @classmethod
    def _names(cls, value: dict[str, BucketRange]) -> dict[str, BucketRange]:
        bad = [name for name in value if not BUCKET_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"bucket names must be letters, digits and _ (they name "
                             f"folders), got {bad}")
        return value

    def mix(self, bucket: str) -> dict[str, Any]:
        """The build's `difficulty_mix` for an arm of `bucket`."""
        low, high = self.buckets[bucket].range
        return {"metric": self.metric,
                "buckets": {bucket: {"range": [low, high], "share": 1.0}}}


class CorruptSettings(_Section):
    """The corrupted-content control's corpus (a build's `traces.corrupt`); kinds absent:
    every kind the task can make."""

    share: float = Field(default=1.0, gt=0, le=1)
    kinds: list[str] | None = None


class ComputeMatchedSection(_Section):
    """Sequential vs parallel sampling at matched token budgets (`compute_matched.py`),
    run for every arm, seed and stage after the greedy evaluation."""

    samples: int = Field(ge=1)
    budgets: list[int] = Field(min_length=1)
    temperature: float = Field(default=1.0, gt=0)
    top_p: float = Field(default=1.0, gt=0, le=1)


class SweepConfig(_Section):
    name: str
    dataset: str  # a build config, relative to the sweep file
    k_values: list[int] = Field(min_length=1)
    seeds: list[int] = Field(default=[0, 1, 2], min_length=1)
    dataset_overrides: dict[str, Any] = Field(default_factory=dict)
    # The builds' gate ceiling on rejected candidates (`build --max-rejection-rate`): a
    # difficulty arm's build rejects every candidate outside its bucket
    # (`difficulty:outside_buckets`), so a narrow bucket needs a higher one.
    max_rejection_rate: float = Field(default=0.5, ge=0, le=1)
    stages: list[str] = Field(default_factory=lambda: ["sft", "rl"])
    model: str = "tiny"
    sft: dict[str, Any] = Field(default_factory=dict)
    rl: dict[str, Any] = Field(default_factory=dict)
    eval: EvalSection = EvalSection()
    difficulty: DifficultySection | None = None
    controls: list[str] = Field(default_factory=list)
    corrupt: CorruptSettings | None = None
    compute_matched: ComputeMatchedSection | None = None

    @field_validator("stages", mode="before")
    @classmethod
    def _stages(cls, value: Any) -> Any:
        """Only the allowed lists, checked before their type so that a bare string or a
        list in another order gets the same error naming what is allowed."""
        if value not in STAGE_CHOICES:
            allowed = " or ".join("[" + ", ".join(c) + "]" for c in STAGE_CHOICES)
            raise ValueError(f"must be {allowed}, got {value!r}")
        return value


def load_sweep(path: str | Path) -> tuple[SweepConfig, Path, SftSettings, RlSettings]:
    """The sweep, its dataset config's path and the SFT and RL settings; one-line errors,
    also for any arm whose build config the build would refuse."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"sweep config not found: {path}")
    try:
        sweep = SweepConfig.model_validate(read_yaml(path, "sweep config"))
        sft, rl = SftSettings(**sweep.sft), RlSettings(**sweep.rl)
    except ValidationError as error:
        raise UserError(f"invalid sweep config {path}: {_first(error)}") from None
    except TypeError as error:
        raise UserError(f"invalid sweep config {path}: {str(error).splitlines()[0]}") from None
    problem = _problem(sweep)
    if problem:
        raise UserError(f"invalid sweep config {path}: {problem}")
    dataset = (path.parent / sweep.dataset).resolve()
    if not dataset.is_file():
        raise UserError(f"invalid sweep config {path}: dataset config not found: {dataset}")
    try:
        arm_configs(sweep, dataset)
    except UserError as error:
        raise UserError(f"invalid sweep config {path}: {error}") from None
    return sweep, dataset, sft, rl


def _first(error: ValidationError, prefix: str = "") -> str:
    item = error.errors()[0]
    where = ".".join(str(p) for p in (*([prefix] if prefix else []), *item["loc"]))
    return f"{where}: {item['msg']}"


def _problem(sweep: SweepConfig) -> str | None:
    """What is wrong with the sweep's sections beyond their types, or None."""
    if len(set(sweep.k_values)) != len(sweep.k_values) or min(sweep.k_values) < 0:
        return f"k_values must be distinct and >= 0, got {sweep.k_values}"
    if len(set(sweep.seeds)) != len(sweep.seeds) or min(sweep.seeds) < 0:
        return f"seeds must be distinct and >= 0, got {sweep.seeds}"
    if "rl" not in sweep.stages and "rl" in sweep.model_fields_set:
        return "rl: settings for RL, which `stages: [sft]` does not run"
    for stage in ("sft", "rl"):
        if "seed" in getattr(sweep, stage):
            return (f"{stage}.seed: training seeds are set for the whole sweep by "
                    "`seeds: [...]` (one run per seed)")
    if sweep.difficulty is not None:
        # A build's difficulty_mix checks the metric, the ranges and their overlaps.
        shares = 1 / max(len(sweep.difficulty.buckets), 1)
        try:
            DifficultyMix.model_validate({
                "metric": sweep.difficulty.metric,
                "buckets": {name: {"range": bucket.range, "share": shares}
                            for name, bucket in sweep.difficulty.buckets.items()}})
        except ValidationError as error:
            return _first(error, "difficulty")
    return _controls_problem(sweep) or _budgets_problem(sweep)


def _controls_problem(sweep: SweepConfig) -> str | None:
    unknown = [c for c in sweep.controls if c not in CONTROLS]
    if unknown:
        return f"controls: unknown control {unknown[0]!r}; allowed: {', '.join(CONTROLS)}"
    if len(set(sweep.controls)) != len(sweep.controls):
        return f"controls must not repeat, got {sweep.controls}"
    if sweep.controls and max(sweep.k_values) == 0:
        return "controls: a control arm is made for each k > 0, and k_values has none"
    if sweep.corrupt is not None and "corrupt" not in sweep.controls:
        return "corrupt: settings for the corrupt control, which `controls` does not ask for"
    return None


def _budgets_problem(sweep: SweepConfig) -> str | None:
    section = sweep.compute_matched
    if section is None:
        return None
    if len(set(section.budgets)) != len(section.budgets):
        return f"compute_matched.budgets must be distinct, got {section.budgets}"
    low = [b for b in section.budgets if b < section.samples]
    if low:
        return (f"compute_matched.budgets: each budget must be at least samples "
                f"({section.samples}) so every parallel sample gets a token; got {low}")
    return None
