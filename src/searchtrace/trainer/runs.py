"""What SFT and RL share: device settings, resuming from the last checkpoint, and the run
record (run.json) that marks a finished run."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

RUN_RECORD = "run.json"
logger = logging.getLogger("searchtrace.trainer")


def device_args() -> dict[str, Any]:
    """CPU here; bf16 on a GPU."""
    import torch

    if torch.cuda.is_available():
        return {"bf16": True}
    return {"use_cpu": True}


def last_checkpoint(out: Path) -> str | None:
    """The newest checkpoint of an interrupted run in `out`, to resume from."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(out)) if out.is_dir() else None


def checkpoint_step(checkpoint: str | None) -> int:
    """The global step an interrupted run resumes from (0 for a fresh run)."""
    if checkpoint is None:
        return 0
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    return int(state["global_step"])


def finished_run(out: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The record of a finished run in `out` with the same settings (reused as it is).
    The settings are compared as the record stores them, in JSON: a tuple of k values
    (a row filter's) reads back as a list and is still the same setting."""
    path = out / RUN_RECORD
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return record if record.get("settings") == json.loads(json.dumps(settings)) else None


def write_run_record(out: Path, record: dict[str, Any]) -> dict[str, Any]:
    (out / RUN_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return record


def logged_losses(log_history: list[dict[str, Any]], key: str = "loss") -> list[float]:
    return [entry[key] for entry in log_history if key in entry]


def train_and_save(trainer: Any, tokenizer: Any, out: Path, resume: str | None) -> None:
    """Train (from `resume` when an interrupted run left a checkpoint) and save the model
    and tokenizer as a Hugging Face checkpoint in `out`."""
    if resume:
        logger.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
