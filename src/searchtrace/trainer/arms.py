"""What an arm of the backtrack sweep is, and the build config of its dataset.

An arm is (k, bucket, control):

- `k`, the backtracks per SFT trace (every row of its dataset has exactly k);
- `bucket`, a named range of measured difficulty when the sweep has a `difficulty:`
  section (its dataset is built with a `difficulty_mix` of that bucket alone), else None;
- `control`, None for real traces, or a control corpus of the same k:
  `corrupt`, the k-backtrack traces with one step made wrong (`traces.corrupt`, in the
  sweep's `corrupt:` share of rows, of its kinds) while their structure stays: does what
  a k arm learns come from correct search content or from its shape?
  `length_match`, k = 0 traces padded with true check lines to the length of the same
  problem's k-backtrack trace (`traces.length_match: k`, `traces/pad.py`): does it come
  from the backtracks or from the longer text?
  Control arms are made for each k > 0 of the sweep: at k = 0 there is no backtrack whose
  content or length a control could take apart, and the build refuses `length_match: 0`
  (a k = 0 trace padded to its own length is itself).

A length-matched build pads only its k = 0 rows and needs the k rows as their targets, so
its k-mix is {0: 0.5, k: 0.5} with twice the train rows, and the arm trains on its k = 0
rows alone: as many as a real arm has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchtrace.config import BuildConfig, merge_sections, parse_config, read_yaml
from searchtrace.errors import UserError
from searchtrace.tasks import get_task
from searchtrace.trainer.data import RowFilter

if TYPE_CHECKING:  # sweep_config validates each arm's build config with this module
    from searchtrace.trainer.sweep_config import SweepConfig


@dataclass(frozen=True)
class ArmSpec:
    """One arm: k, the difficulty bucket (None: no difficulty section) and the control
    (None: real traces)."""

    k: int
    bucket: str | None = None
    control: str | None = None

    @property
    def name(self) -> str:
        """The arm's folder name: k2, k2-hard, k2-hard-corrupt (k2 as before arms had
        more factors than k)."""
        return "-".join(p for p in (f"k{self.k}", self.bucket, self.control) if p)

    def train_filter(self) -> RowFilter:
        """The rows of its dataset the arm trains on: the padded k = 0 rows of a
        length-matched build, every row otherwise."""
        return RowFilter(k=(0,)) if self.control == "length_match" else RowFilter()


@dataclass(frozen=True)
class Factors:
    """Which factors besides k the sweep varies: they label its arms and results."""

    bucket: bool
    control: bool

    @classmethod
    def of(cls, sweep: SweepConfig) -> Factors:
        return cls(bucket=sweep.difficulty is not None, control=bool(sweep.controls))

    @property
    def any(self) -> bool:
        return self.bucket or self.control

    def label(self, arm: ArmSpec) -> dict[str, Any]:
        """The arm's factors as results fields: k, then bucket and control when varied."""
        return {"k": arm.k, **({"bucket": arm.bucket} if self.bucket else {}),
                **({"control": arm.control} if self.control else {})}

    def key(self, arm: ArmSpec) -> str:
        """The arm's key in results.json's per-seed table: its k alone when k is the only
        factor (as before), else its name."""
        return arm.name if self.any else str(arm.k)

    def text(self, arm: ArmSpec) -> str:
        """The arm in a table cell: `2`, or `k=2, hard, corrupt` / `k=2, real`."""
        if not self.any:
            return str(arm.k)
        parts = [f"k={arm.k}", *([arm.bucket] if self.bucket else []),
                 *([arm.control or "real"] if self.control else [])]
        return ", ".join(parts)


def plan_arms(sweep: SweepConfig) -> list[ArmSpec]:
    """Every arm, bucket by bucket: the real arms in k order, then each control's arms
    (each k > 0)."""
    buckets: list[str | None] = (list(sweep.difficulty.buckets) if sweep.difficulty
                                 else [None])
    arms = []
    for bucket in buckets:
        arms += [ArmSpec(k, bucket) for k in sweep.k_values]
        arms += [ArmSpec(k, bucket, control) for control in sweep.controls
                 for k in sweep.k_values if k > 0]
    return arms


def arm_configs(sweep: SweepConfig, dataset: Path) -> dict[ArmSpec, BuildConfig]:
    """Each arm's validated build config: the dataset config, the sweep's overrides, then
    the arm's k-mix, bucket and control. A build that would be refused fails here, in
    one line naming the arm."""
    raw = read_yaml(dataset, "config")
    if not isinstance(raw, dict):
        raise UserError(f"dataset config {dataset}: the top level must be a mapping of "
                        "sections")
    base = merge_sections(raw, sweep.dataset_overrides)
    configs = {}
    for arm in plan_arms(sweep):
        raw = _arm_raw(sweep, base, arm)
        try:
            configs[arm] = parse_config(raw)
        except UserError as error:
            raise UserError(f"arm {arm.name}: {error}") from None
    return configs


def _arm_raw(sweep: SweepConfig, base: dict[str, Any], arm: ArmSpec) -> dict[str, Any]:
    """The arm's build config as YAML data."""
    traces = {**base.get("traces", {}), "k_mix": {arm.k: 1.0}}
    raw = {**base, "name": f"{sweep.name}-{arm.name}", "traces": traces}
    if arm.bucket is not None and sweep.difficulty is not None:
        raw["difficulty_mix"] = sweep.difficulty.mix(arm.bucket)  # replaced, not merged
    if arm.control == "corrupt":
        settings = sweep.corrupt
        task = base.get("task", {}).get("name")
        kinds = (settings.kinds if settings and settings.kinds
                 else list(get_task(task).corruptions.kinds()) if isinstance(task, str)
                 else [])
        traces["corrupt"] = {"share": settings.share if settings else 1.0, "kinds": kinds}
    elif arm.control == "length_match":
        default = BuildConfig.model_fields["splits"].get_default(call_default_factory=True)
        splits = dict(base.get("splits", default))
        if isinstance(splits.get("train"), int):
            splits["train"] *= 2
        raw["splits"] = splits
        traces["k_mix"] = {0: 0.5, arm.k: 0.5}
        traces["length_match"] = arm.k
    return raw
