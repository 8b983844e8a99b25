"""The policy a build's config names: an OpenAI-compatible server or a local checkpoint."""

from __future__ import annotations

import os

from searchtrace.config import PolicySection
from searchtrace.errors import UserError
from searchtrace.solvers.policy import Policy


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
