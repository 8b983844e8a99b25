"""Supervised fine-tuning on a dataset's prompt/completion rows with TRL's SFTTrainer, the
loss on the completion only. Resumes from the last checkpoint of an interrupted run; a
finished run with the same settings is reused."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from searchtrace.trainer.data import RowFilter, load_split
from searchtrace.trainer.models import TINY, load_model, parameter_count, tiny_size
from searchtrace.trainer.runs import (
    checkpoint_step,
    device_args,
    finished_run,
    last_checkpoint,
    logged_losses,
    logger,
    train_and_save,
    write_run_record,
)


@dataclass(frozen=True)
class SftSettings:
    epochs: float = 3.0
    learning_rate: float = 3e-3
    batch_size: int = 16
    max_length: int = 512
    size: str = "1m"  # for `--model tiny`
    seed: int = 0
    save_steps: int = 100
    logging_steps: int = 10


def run_sft(data: str | Path, model: str, out: str | Path, settings: SftSettings = SftSettings(),
            row_filter: RowFilter = RowFilter()) -> dict[str, Any]:
    """Train `model` (`tiny` or a local checkpoint) on `data`'s train split into `out` (a
    Hugging Face checkpoint: model + tokenizer); returns the run record."""
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    out = Path(out)
    described = {"stage": "sft", "data": str(data), "model": model, "filter": asdict(row_filter),
                 **asdict(settings)}
    if (done := finished_run(out, described)) is not None:
        logger.info("SFT run in %s is finished; reusing it", out)
        return done
    if model == TINY:
        tiny_size(settings.size)  # an unknown size fails before any data is read
    set_seed(settings.seed)
    rows = load_split(data, "train", row_filter)
    resume = last_checkpoint(out)
    # read now: training rotates old checkpoints away, this one included
    resumed_from_step = checkpoint_step(resume)
    texts = (row["prompt"] + row["completion"] for row in rows)
    network, tokenizer = load_model(resume or model, texts=texts, size=settings.size,
                                    max_positions=settings.max_length, seed=settings.seed)
    args = SFTConfig(
        output_dir=str(out), num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size, learning_rate=settings.learning_rate,
        lr_scheduler_type="cosine", warmup_steps=0.05, logging_steps=settings.logging_steps,
        save_steps=settings.save_steps, save_total_limit=2, seed=settings.seed,
        data_seed=settings.seed, report_to="none", max_length=settings.max_length,
        completion_only_loss=True, dataloader_num_workers=0, disable_tqdm=True,
        **device_args())
    trainer = SFTTrainer(model=network, args=args,
                         train_dataset=rows.select_columns(["prompt", "completion"]),
                         processing_class=tokenizer)
    train_and_save(trainer, tokenizer, out, resume)
    history = trainer.state.log_history
    # A run shorter than `logging_steps` logs only its mean training loss.
    losses = logged_losses(history) or logged_losses(history, "train_loss")
    return write_run_record(out, {"settings": described, "rows": len(rows),
                                  "parameters": parameter_count(network),
                                  "steps": trainer.state.global_step,
                                  "resumed_from_step": resumed_from_step, "losses": losses})
