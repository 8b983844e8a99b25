"""The in-process policy: a local Hugging Face causal LM sampled with transformers, on
the GPU when there is one, else the CPU. For small models, and for machines where no
inference server runs. Needs the `train` extra (torch, transformers)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchtrace.errors import UserError
from searchtrace.solvers.policy import PolicyError, PolicyStats, Sample, Sampling, cut_at_stop

DEFAULT_BATCH_PROMPTS = 64


@dataclass(frozen=True)
class Generation:
    """One sampled completion with the detail an OpenAI-compatible server reports
    (`searchtrace serve-policy`): the text cut before the first stop string, every
    generated token and its log-probability (the stop string's and the end-of-sequence
    token's too, as vLLM reports them), why generation ended ("stop": a stop string or
    end of sequence, "length": `max_tokens` reached), and the prompt's length in tokens."""

    text: str
    token_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]
    logprob: float
    finish_reason: str
    prompt_tokens: int

    def sample(self) -> Sample:
        """The completion as a policy answers it."""
        return Sample(self.text, self.logprob, len(self.token_ids))


def model_folder(path: str | Path, field: str) -> Path:
    """`path` if it is a local Hugging Face model folder, else a UserError naming `field`
    (nothing is ever downloaded in its place)."""
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise UserError(f"{field}: {str(path)!r} is not a local Hugging Face model folder "
                        "(no config.json); nothing is downloaded")
    return folder


def checkpoint_digest(path: str | Path) -> str:
    """A sha256 over a checkpoint's weight and config files: which weights answered."""
    folder = Path(path)
    digest = hashlib.sha256()
    for file in sorted(folder.iterdir()):
        if file.suffix in {".safetensors", ".bin", ".json"} and file.is_file():
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


class LocalPolicy:
    """Samples a local checkpoint with `generate`: prompts are left-padded into batches of
    `batch_prompts`, each asked for `n` return sequences."""

    def __init__(self, checkpoint: str | Path, *, device: str = "auto",
                 batch_prompts: int = DEFAULT_BATCH_PROMPTS) -> None:
        path = model_folder(checkpoint, "policy.checkpoint")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise UserError("policy.backend local needs the train extra: "
                            "pip install torch==2.13.0 && pip install 'searchtrace[train]'"
                            ) from None
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a build's own progress bar says enough
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"
        self.model_obj = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
        self.model_obj.eval()
        self.device = device
        self.batch_prompts = batch_prompts
        self.model = str(path.resolve())
        self.stats = PolicyStats()

    def complete(self, prompts: Sequence[str], sampling: Sampling,
                 seed: int) -> list[list[Sample]]:
        """`sampling.n` samples for each prompt, in prompt order; raises PolicyError."""
        return [[g.sample() for g in row] for row in self.generate(prompts, sampling, seed)]

    def generate(self, prompts: Sequence[str], sampling: Sampling,
                 seed: int) -> list[list[Generation]]:
        """`complete` with per-token detail: `sampling.n` generations for each prompt, in
        prompt order; raises PolicyError."""
        import torch

        torch.manual_seed(seed)
        answers: list[list[Generation]] = []
        for start in range(0, len(prompts), self.batch_prompts):
            chunk = list(prompts[start:start + self.batch_prompts])
            try:
                answers += self._generate(chunk, sampling)
            except torch.cuda.OutOfMemoryError as error:
                raise PolicyError(f"policy {self.model} ran out of GPU memory on "
                                  f"{len(chunk)} prompts x {sampling.n} samples") from error
        return answers

    def _generate(self, prompts: list[str], sampling: Sampling) -> list[list[Generation]]:
        import torch

        tokenizer, model = self.tokenizer, self.model_obj
        batch = tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        sample = sampling.temperature > 0
        options: dict[str, Any] = {"temperature": sampling.temperature,
                                   "top_p": sampling.top_p} if sample else {}
        if sampling.stop:
            options.update(stop_strings=list(sampling.stop), tokenizer=tokenizer)
        # Greedy decoding gives one answer per prompt (and `generate` refuses several):
        # decode once and repeat it `n` times.
        copies = sampling.n if sample else 1
        with torch.no_grad():
            out = model.generate(
                **batch, max_new_tokens=sampling.max_tokens, do_sample=sample,
                num_return_sequences=copies, pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id, return_dict_in_generate=True,
                output_scores=True, top_k=None, **options)
        scores = model.compute_transition_scores(out.sequences, out.scores,
                                                 normalize_logits=True)
        new = out.sequences[:, batch["input_ids"].shape[1]:]
        live = (new != tokenizer.pad_token_id)
        texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        prompt_tokens = batch["attention_mask"].sum(dim=1).tolist()
        generations = []
        for row, text in enumerate(texts):
            ids = tuple(new[row][live[row]].tolist())
            kept = scores[row][live[row]].float()
            ran_out = new.shape[1] == sampling.max_tokens and bool(live[row][-1])
            stopped = (not ran_out or tokenizer.eos_token_id in ids
                       or cut_at_stop(text, sampling.stop) != text)
            generations.append(Generation(
                text=cut_at_stop(text, sampling.stop), token_ids=ids,
                token_logprobs=tuple(kept.tolist()), logprob=float(kept.sum()),
                finish_reason="stop" if stopped else "length",
                prompt_tokens=int(prompt_tokens[row // copies])))
        return [[generations[i * copies + j % copies] for j in range(sampling.n)]
                for i in range(len(prompts))]

    def close(self) -> None:
        """Nothing to release: the model goes with the object."""
