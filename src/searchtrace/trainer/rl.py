"""RL with TRL's GRPOTrainer, the rewards coming from the verifiers: the answer checker,
the think/answer format, and optionally the fraction of the model's own steps that replay
legally. Generation uses TRL's vLLM path when vLLM is installed and a GPU is there, plain
transformers generation otherwise. Resumes and reuses runs like SFT."""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from searchtrace.errors import UserError
from searchtrace.trainer.behaviour import answer_reward, format_reward, step_validity_reward
from searchtrace.trainer.data import RowFilter, load_split
from searchtrace.trainer.models import TINY, load_model
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
class RlSettings:
    steps: int = 30
    learning_rate: float = 5e-5
    batch_size: int = 16  # completions per step: prompts x num_generations
    num_generations: int = 4
    max_completion_length: int = 256
    temperature: float = 1.0
    beta: float = 0.0
    step_validity: bool = True
    seed: int = 0
    save_steps: int = 25


def use_vllm() -> bool:
    import torch

    return torch.cuda.is_available() and importlib.util.find_spec("vllm") is not None


def reward_functions(step_validity: bool) -> list[Any]:
    return [answer_reward, format_reward, *([step_validity_reward] if step_validity else [])]


def run_rl(data: str | Path, model: str, out: str | Path, settings: RlSettings = RlSettings(),
           row_filter: RowFilter = RowFilter()) -> dict[str, Any]:
    """GRPO from the checkpoint `model` on `data`'s train prompts into `out`."""
    from transformers import set_seed
    from trl import GRPOConfig, GRPOTrainer

    if model == TINY:
        raise UserError("--model: RL starts from a trained checkpoint (e.g. an SFT run's "
                        "folder), not from `tiny`")
    if settings.batch_size % settings.num_generations:
        raise UserError(f"--batch-size ({settings.batch_size}) must be a multiple of "
                        f"--num-generations ({settings.num_generations})")
    out = Path(out)
    described = {"stage": "rl", "data": str(data), "model": model, "filter": asdict(row_filter),
                 **asdict(settings)}
    if (done := finished_run(out, described)) is not None:
        logger.info("RL run in %s is finished; reusing it", out)
        return done
    set_seed(settings.seed)
    rows = load_split(data, "train", row_filter).remove_columns(["completion"])
    resume = last_checkpoint(out)
    # read now: training rotates old checkpoints away, this one included
    resumed_from_step = checkpoint_step(resume)
    network, tokenizer = load_model(resume or model)
    tokenizer.padding_side = "left"
    args = GRPOConfig(
        output_dir=str(out), max_steps=settings.steps, learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        num_generations=settings.num_generations,
        max_completion_length=settings.max_completion_length,
        temperature=settings.temperature, beta=settings.beta, logging_steps=1,
        save_steps=settings.save_steps, save_total_limit=2, seed=settings.seed,
        data_seed=settings.seed, report_to="none", use_vllm=use_vllm(),
        dataloader_num_workers=0, disable_tqdm=True, **device_args())
    trainer = GRPOTrainer(model=network, reward_funcs=reward_functions(settings.step_validity),
                          args=args, train_dataset=rows, processing_class=tokenizer)
    train_and_save(trainer, tokenizer, out, resume)
    history = trainer.state.log_history
    rewards = {name: logged_losses(history, f"rewards/{name}/mean")
               for name in ("answer_reward", "format_reward", "step_validity_reward")}
    return write_run_record(out, {"settings": described, "rows": len(rows),
                                  "steps": trainer.state.global_step,
                                  "resumed_from_step": resumed_from_step,
                                  "rewards": {k: v for k, v in rewards.items() if v},
                                  "reward": logged_losses(history, "reward")})
