"""The policy a build's config names (its `policy:` section): an OpenAI-compatible server
or a local checkpoint."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from searchtrace.errors import UserError
from searchtrace.solvers.policy import Policy, url_problem


class PolicySection(BaseModel):
    """The language model that proposes steps for a solver that needs a policy
    (`llm_mcts`), and how it is sampled.

    backend `http`: an OpenAI-compatible completions server at `url` (vLLM, SGLang,
    `transformers serve`, `searchtrace serve-policy`); it is never guessed, nothing is
    contacted unless it is set. `model` is the served name (default: the server's only
    model). The url is checked when the config is read (scheme, host, port; no
    `user:pass@`, which would be stored in config.yaml). `api_key_env` names the
    environment variable holding the server's key, sent as `Authorization: Bearer`; the
    key itself is never in the config. backend `local`: the Hugging Face checkpoint folder
    `checkpoint`, sampled in this process on `device` (auto: the GPU if there is one);
    `checkpoint_sha256`, which every resolved config records, pins its weights (another
    digest is an error).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["http", "local"]
    url: str | None = None
    model: str | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    device: str = "auto"
    samples: int = Field(default=4, ge=1, le=256)
    temperature: float = Field(default=1.0, ge=0, le=10)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_step_tokens: int = Field(default=48, ge=1, le=10_000)
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    retries: int = Field(default=2, ge=0, le=20)
    concurrency: int = Field(default=4, ge=1, le=256)
    max_prompts_per_request: int = Field(default=256, ge=1, le=100_000)

    @model_validator(mode="after")
    def _backend_fields(self) -> PolicySection:
        if self.backend == "http":
            if not self.url:
                raise ValueError("backend http needs `url`, the server's base address "
                                 "ending in /v1, e.g. http://127.0.0.1:8000/v1")
            problem = url_problem(self.url)
            if problem is not None:  # quoted unless it carries credentials
                raise ValueError(f"url {problem}" if "@" in self.url
                                 else f"url {problem}, got {self.url!r}")
            if self.checkpoint is not None:
                raise ValueError("`checkpoint` is for backend local; backend http uses `url`")
        else:
            if not self.checkpoint:
                raise ValueError("backend local needs `checkpoint`, a local Hugging Face "
                                 "model folder")
            if self.url is not None or self.api_key_env is not None:
                raise ValueError("`url` and `api_key_env` are for backend http; backend "
                                 "local uses `checkpoint`")
        return self

    def described(self) -> dict[str, Any]:
        """What every row records about the policy that proposed its moves."""
        return {"backend": self.backend, "samples": self.samples,
                "temperature": self.temperature, "top_p": self.top_p,
                "max_step_tokens": self.max_step_tokens}


def make_policy(section: PolicySection) -> Policy:
    """Open the configured policy; the server must be named explicitly (never guessed).
    An http server's key is read from the environment variable `api_key_env` names."""
    if section.backend == "http":
        from searchtrace.solvers.policy_http import HttpPolicy

        assert section.url is not None  # the config requires it for backend http
        api_key = None
        if section.api_key_env is not None:
            api_key = os.environ.get(section.api_key_env)
            if not api_key:
                raise UserError(f"policy.api_key_env: the environment variable "
                                f"{section.api_key_env} is not set in this process")
        return HttpPolicy(section.url, model=section.model, timeout_s=section.timeout_s,
                          retries=section.retries, concurrency=section.concurrency,
                          max_prompts_per_request=section.max_prompts_per_request,
                          api_key=api_key)
    from searchtrace.solvers.policy_local import LocalPolicy

    assert section.checkpoint is not None  # the config requires it for backend local
    return LocalPolicy(section.checkpoint, device=section.device)
