"""The policy a build's config names: an OpenAI-compatible server or a local checkpoint."""

from __future__ import annotations

from searchtrace.config import PolicySection
from searchtrace.solvers.policy import Policy


def make_policy(section: PolicySection) -> Policy:
    """Open the configured policy; the server must be named explicitly (never guessed)."""
    if section.backend == "http":
        from searchtrace.solvers.policy_http import HttpPolicy

        assert section.url is not None  # the config requires it for backend http
        return HttpPolicy(section.url, model=section.model, timeout_s=section.timeout_s,
                          retries=section.retries, concurrency=section.concurrency,
                          max_prompts_per_request=section.max_prompts_per_request)
    from searchtrace.solvers.policy_local import LocalPolicy

    assert section.checkpoint is not None  # the config requires it for backend local
    return LocalPolicy(section.checkpoint, device=section.device)
