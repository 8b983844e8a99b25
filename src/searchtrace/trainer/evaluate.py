"""Evaluation: a model's greedy completions for a split, judged by the verifiers: accuracy,
and how the outputs behave (backtracks, legal-step fraction, length, parse failures). Writes
eval.json and eval.md."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from searchtrace.rewards import Behaviour, analyse

GENERATION_BATCH = 32


@dataclass(frozen=True)
class EvalSummary:
    problems: int
    accuracy: float
    format_rate: float
    legal_step_fraction: float
    mean_backtracks: float
    mean_completion_chars: float
    unparsable_lines: int

    def table(self) -> str:
        rows = [("problems", self.problems), ("accuracy", f"{self.accuracy:.3f}"),
                ("well-formed (think + answer)", f"{self.format_rate:.3f}"),
                ("legal-step fraction", f"{self.legal_step_fraction:.3f}"),
                ("backtracks per completion", f"{self.mean_backtracks:.2f}"),
                ("completion length (chars)", f"{self.mean_completion_chars:.0f}"),
                ("unparsable lines", self.unparsable_lines)]
        return "| metric | value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def summarise(behaviours: Sequence[Behaviour]) -> EvalSummary:
    mean = _mean
    return EvalSummary(
        problems=len(behaviours),
        accuracy=mean([float(b.correct) for b in behaviours]),
        format_rate=mean([float(b.format_ok) for b in behaviours]),
        legal_step_fraction=mean([b.legal_fraction for b in behaviours]),
        mean_backtracks=mean([float(b.backtracks) for b in behaviours]),
        mean_completion_chars=mean([float(b.chars) for b in behaviours]),
        unparsable_lines=sum(b.unparsable for b in behaviours))


def generate(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
    """Greedy completions, batched with left padding; decoded text after the prompt."""
    import torch

    tokenizer.padding_side = "left"
    model.eval()
    outputs: list[str] = []
    for start in range(0, len(prompts), GENERATION_BATCH):
        batch = tokenizer(list(prompts[start:start + GENERATION_BATCH]), return_tensors="pt",
                          padding=True).to(model.device)
        with torch.no_grad():
            tokens = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=tokenizer.pad_token_id,
                                    eos_token_id=tokenizer.eos_token_id)
        new = tokens[:, batch["input_ids"].shape[1]:]
        outputs += tokenizer.batch_decode(new, skip_special_tokens=True)
    return outputs


def evaluate_rows(model: Any, tokenizer: Any, rows: Any, *,
                  max_new_tokens: int) -> tuple[EvalSummary, list[dict[str, Any]]]:
    """Generate for every row and judge each completion by the row's task verifier."""
    completions = generate(model, tokenizer, rows["prompt"], max_new_tokens)
    judged = []
    behaviours = []
    for row, completion in zip(rows, completions, strict=True):
        behaviour = analyse(row["task"], row["problem"], completion, row["style"])
        behaviours.append(behaviour)
        judged.append({"prompt": row["prompt"], "completion": completion, **asdict(behaviour)})
    return summarise(behaviours), judged


def write_report(out: Path, summary: EvalSummary, judged: list[dict[str, Any]],
                 about: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(
        {**about, "summary": asdict(summary), "completions": judged}, indent=2) + "\n")
    header = "".join(f"- {k}: `{v}`\n" for k, v in about.items())
    (out / "eval.md").write_text(f"# Evaluation\n\n{header}\n{summary.table()}")


def completion_token_budget(tokenizer: Any, completions: Sequence[str]) -> int:
    """Room for a completion a little longer than the longest reference one."""
    longest = max(len(tokenizer(c)["input_ids"]) for c in completions)
    return int(longest * 1.25) + 8
