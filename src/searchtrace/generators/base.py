"""What every generator produces, and how a problem gets its content-derived id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict


class TaskConfig(BaseModel):
    """Base of every task's knobs: frozen, and unknown fields are an error (typos fail loudly)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def between(low: float, high: float) -> AfterValidator:
    """A knob's range check whose error names it: "must be between 3 and 8, got 9".

    Use as `count: Annotated[int, between(3, 8)] = 4`.
    """

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(
                f"must be between {_number(low)} and {_number(high)}, got {_number(value)}")
        return value

    return AfterValidator(check)


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


class GenerationSkipped(Exception):
    """The generator could not make a problem from this seed; `reason` becomes a statistic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same content always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def problem_id(task: str, canonical_key: Any) -> str:
    """Hash of a problem's canonical content: duplicates and split overlaps share it."""
    digest = hashlib.sha256(f"{task}:{canonical_json(canonical_key)}".encode()).hexdigest()
    return digest[:20]


@dataclass(frozen=True)
class Problem:
    """One task instance: JSON-able data, the prompt shown to a model, and its knobs.

    `data` is everything the rules need to rebuild the instance; `knobs` records the
    configured generator settings that produced it (stored beside measured difficulty).
    """

    task: str
    id: str
    data: dict[str, Any]
    prompt: str
    knobs: dict[str, Any]

    def to_json(self) -> str:
        return canonical_json(
            {"task": self.task, "id": self.id, "data": self.data, "prompt": self.prompt,
             "knobs": self.knobs}
        )

    @staticmethod
    def from_json(text: str) -> Problem:
        obj = json.loads(text)
        return Problem(obj["task"], obj["id"], obj["data"], obj["prompt"], obj["knobs"])
