"""Models for training: a small Llama-architecture model built from scratch with a
byte-level BPE tokenizer trained on the dataset's own text (nothing is downloaded), or
any local Hugging Face causal LM. Checkpoints are plain Hugging Face folders (model +
tokenizer) that transformers loads and vLLM serves."""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchtrace.errors import UserError

TINY = "tiny"
PAD, BOS, EOS = "<pad>", "<s>", "</s>"
# Whole tokens, never merged with their neighbours: a prompt's last characters and a
# completion's `<think>` must not fuse into one token, or the boundary that SFT's
# completion-only loss and generation rely on would fall inside a token.
MARKUP = ["<think>", "</think>", "<answer>", "</answer>"]


@dataclass(frozen=True)
class TinySize:
    """A model shape and its tokenizer's vocabulary size."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int


# Measured parameter counts: 1.1M, 14M and 116M (with tied embeddings).
TINY_SIZES = {
    "1m": TinySize(hidden=128, layers=4, heads=4, intermediate=512, vocab=512),
    "10m": TinySize(hidden=320, layers=8, heads=8, intermediate=1280, vocab=2048),
    "100m": TinySize(hidden=768, layers=12, heads=12, intermediate=3072, vocab=8192),
}


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer over `texts`: every string encodes and decodes exactly."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.add_tokens(MARKUP)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS,
                                   pad_token=PAD, clean_up_tokenization_spaces=False)


def build_tiny_model(tokenizer: Any, size: str, *, max_positions: int, seed: int) -> Any:
    """A freshly initialised Llama model of `size` for `tokenizer`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = tiny_size(size)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=shape.hidden, intermediate_size=shape.intermediate,
        num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
        num_key_value_heads=shape.heads, max_position_embeddings=max_positions,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return LlamaForCausalLM(config)


def tiny_size(size: str) -> TinySize:
    if size not in TINY_SIZES:
        raise UserError(f"--size: unknown tiny model size {size!r}; choose one of "
                        f"{', '.join(TINY_SIZES)}")
    return TINY_SIZES[size]


def load_model(spec: str, *, texts: Iterable[str] = (), size: str = "1m",
               max_positions: int = 1024, seed: int = 0) -> tuple[Any, Any]:
    """`tiny` (built here, tokenizer trained on `texts`) or a local checkpoint folder."""
    if spec == TINY:
        shape = tiny_size(size)
        tokenizer = train_tokenizer(texts, shape.vocab)
        return build_tiny_model(tokenizer, size, max_positions=max_positions, seed=seed), tokenizer
    path = Path(spec)
    if not (path / "config.json").is_file():
        raise UserError(f"--model: {spec!r} is neither `tiny` nor a local Hugging Face model "
                        "folder (no config.json); nothing is downloaded")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path)
    except pickle.UnpicklingError:
        raise UserError(f"--model: {spec}: its weights are a pickle holding more than tensors, "
                        "which is not run; save the checkpoint as safetensors") from None
    except Exception as error:  # a broken folder fails in library-specific ways
        lines = str(error).strip().splitlines() or [""]
        raise UserError(f"--model: cannot load {spec}: {type(error).__name__}: "
                        f"{lines[0]}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
