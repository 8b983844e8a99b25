"""The policy a language-model-guided search asks for next steps, behind one interface.

Two backends implement it: any OpenAI-compatible completions server (`policy_http`) and
a transformers model loaded in this process (`policy_local`). A policy answers a whole
batch of prompts at once, `n` samples each, or raises `PolicyError`: never a partial
answer, so a search never builds on a half-answered batch.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Protocol

from searchtrace.errors import UserError


class PolicyError(Exception):
    """The policy could not answer a batch (server down, slow, or answering wrongly)."""


@dataclass(frozen=True)
class Sampling:
    """How each prompt is sampled: `n` completions of at most `max_tokens` tokens, cut
    before the first stop string (which is not returned)."""

    n: int
    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sample:
    """One sampled completion: its text and the sum of its tokens' log-probabilities
    (None where the backend did not report them)."""

    text: str
    logprob: float | None
    tokens: int


@dataclass
class PolicyStats:
    """What a policy did: calls, prompts per call (the frontier batch sizes reached),
    samples, generated tokens and seconds spent waiting for answers."""

    calls: int = 0
    prompts: int = 0
    samples: int = 0
    tokens: int = 0
    seconds: float = 0.0
    batch_sizes: list[int] = field(default_factory=list)

    def record(self, prompts: int, answers: Sequence[Sequence[Sample]], seconds: float) -> None:
        self.calls += 1
        self.prompts += prompts
        self.samples += sum(len(a) for a in answers)
        self.tokens += sum(s.tokens for a in answers for s in a)
        self.seconds += seconds
        self.batch_sizes.append(prompts)


class Policy(Protocol):
    """Samples continuations of text prompts. `model` names what answers (recorded on
    every row); `stats` accumulates over the policy's life."""

    model: str
    stats: PolicyStats

    def complete(self, prompts: Sequence[str], sampling: Sampling,
                 seed: int) -> list[list[Sample]]:
        """`sampling.n` samples for each prompt, in prompt order; raises PolicyError."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ServerLimits:
    """What one request may ask of `searchtrace serve-policy` (policy_server.py): past any
    limit it answers 4xx naming the limit and the flag that raises it (each field's flag:
    --max-body-mb, ...). The defaults leave room above the http policy's defaults (256
    prompts a request, a few samples of a few dozen tokens): a request body of 8 MiB, 256
    prompts of 32,768 characters, 64 samples each of at most 1,024 tokens, 8 stop strings
    of 128 characters."""

    max_body_mb: int = 8
    max_prompts: int = 256
    max_prompt_chars: int = 32_768
    max_n: int = 64
    max_tokens: int = 1024
    max_stop_strings: int = 8
    max_stop_chars: int = 128

    def __post_init__(self) -> None:
        for limit in fields(self):
            value = getattr(self, limit.name)
            if value < 1:
                raise UserError(f"--{limit.name.replace('_', '-')}: must be at least 1, "
                                f"got {value}")

    @property
    def max_body_bytes(self) -> int:
        return self.max_body_mb * 1024 * 1024


def timed_complete(policy: Policy, prompts: Sequence[str], sampling: Sampling,
                   seed: int) -> list[list[Sample]]:
    """`policy.complete`, checked for a full answer and recorded in its stats."""
    started = time.monotonic()
    answers = policy.complete(prompts, sampling, seed)
    if len(answers) != len(prompts) or any(len(a) != sampling.n for a in answers):
        raise PolicyError(
            f"policy {policy.model} answered {len(answers)} of {len(prompts)} prompts "
            f"with {sorted({len(a) for a in answers})} samples each, asked for {sampling.n}")
    policy.stats.record(len(prompts), answers, time.monotonic() - started)
    return answers


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """`text` up to the first stop string, as OpenAI-compatible servers return it."""
    cut = len(text)
    for marker in stop:
        found = text.find(marker)
        if found != -1:
            cut = min(cut, found)
    return text[:cut]


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a policy server's base address (e.g. http://127.0.0.1:8000/v1),
    or None: a phrase to follow the field's name. Checked when the config is read, so a
    bad address fails at once rather than after retries. A URL with credentials in it
    (`user:pass@`) is refused and never quoted: a key belongs in an environment variable
    (`api_key_env`), not in config.yaml or the build key."""
    if "@" in url:
        return ("must not carry a user name or password (user:pass@host); put the "
                "server's key in an environment variable and name it in api_key_env")
    if not url.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    if any(char.isspace() or not char.isprintable() for char in url):
        return "must not contain spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as error:
        return f"is not a valid URL ({error})"
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = -1
    if port is not None and not 1 <= port <= 65535:
        return "has a port outside 1..65535"
    if not parts.hostname:
        return "names no host (e.g. http://127.0.0.1:8000/v1)"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must not have a ?query or #fragment: it is the base address ending in /v1"
    import httpx

    try:
        httpx.URL(url)
    except httpx.InvalidURL as error:
        return f"is not a valid URL ({error})"
    return None
