"""An OpenAI-compatible completions server for a local checkpoint (`searchtrace
serve-policy`), backed by `LocalPolicy`: `GET /health`, `GET /v1/models` and OpenAI's
legacy `POST /v1/completions`. It exists so machines where vLLM cannot run (CPU-only
ones, tests) still have a real server for the `http` policy backend; on a GPU, vLLM
serves the same API faster.

One model answers one request at a time: generation runs in a worker thread under a
lock, so the event loop (and `/health`) stays responsive while a batch is sampled.

It refuses, with an OpenAI-style 4xx and without stopping, what could take it down or
let another site drive it: bodies, prompt counts and lengths, stop strings, `n` and
`max_tokens` past `ServerLimits`; bodies that are not JSON by content type (a web page can
send text/plain or a form to any address without asking, but not JSON); a Host header
that is neither a localhost name nor the bound address (a page whose DNS name is rebound
to 127.0.0.1 sends its own name); and, when a key is set, requests without it.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
import socket
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from searchtrace.errors import UserError
from searchtrace.solvers.policy import PolicyError, Sampling, ServerLimits
from searchtrace.solvers.policy_local import (
    DEFAULT_BATCH_PROMPTS,
    Generation,
    LocalPolicy,
    model_folder,
)

logger = logging.getLogger(__name__)

# The floor for a reported log-probability: JSON has no -inf (vLLM clamps the same way).
MIN_LOGPROB = -9999.0
# Host names that always reach this machine itself (addresses: any loopback one).
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
# Bind addresses meaning "every interface": clients may then name any IP address.
WILDCARDS = frozenset({"", "0.0.0.0", "::"})


class CompletionRequest(BaseModel):
    """The body of `POST /v1/completions`: the legacy-completions fields this server
    honours, with OpenAI's defaults. Other fields (user, penalties, ...) are ignored;
    streaming and echo are refused rather than silently answered without."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    prompt: str | list[str]
    n: int = Field(default=1, ge=1)
    max_tokens: int | None = Field(default=16, ge=1)
    temperature: float | None = Field(default=1.0, ge=0, le=10)
    top_p: float | None = Field(default=1.0, gt=0, le=1)
    stop: str | list[str] | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    seed: int | None = Field(default=None, ge=-(2**63), lt=2**64)
    stream: bool | None = False
    echo: bool | None = False


def _error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    """An error as OpenAI's API words it, so every OpenAI client reports its message."""
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}},
                        status_code=status)


def _problems(error: ValidationError) -> str:
    """A body's validation problems on one line, each named by its field."""
    return "; ".join(f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: "
                     f"{problem['msg']}" for problem in error.errors())


def _refusal(body: CompletionRequest, prompts: list[str], stop: list[str],
             limits: ServerLimits) -> str | None:
    """Why a well-formed body still cannot be answered, or None."""
    if body.stream:
        return "stream: streaming is not supported by this server"
    if body.echo:
        return "echo: echoing the prompt is not supported by this server"
    if not prompts:
        return "prompt: at least one prompt is needed"
    if any(not prompt for prompt in prompts):
        return "prompt: prompts must not be empty"
    if any(not marker for marker in stop):
        return "stop: stop strings must not be empty"
    longest = max(len(prompt) for prompt in prompts)
    checks = [
        ("prompt", len(prompts), limits.max_prompts, "prompts a request", "--max-prompts"),
        ("prompt", longest, limits.max_prompt_chars, "characters a prompt",
         "--max-prompt-chars"),
        ("n", body.n, limits.max_n, "samples a prompt", "--max-n"),
        ("max_tokens", body.max_tokens or 0, limits.max_tokens, "tokens a sample",
         "--max-tokens"),
        ("stop", len(stop), limits.max_stop_strings, "stop strings", "--max-stop-strings"),
        ("stop", max(map(len, stop), default=0), limits.max_stop_chars,
         "characters a stop string", "--max-stop-chars"),
    ]
    for field, value, limit, unit, flag in checks:
        if value > limit:
            return (f"{field}: {value} is over this server's limit of {limit} {unit} "
                    f"(serve-policy {flag})")
    return None


def _token_texts(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """Each token's piece of the decoded text, the pieces adding up to it: a token ending
    inside a multi-byte character gets "" and the token completing it the whole
    character. Each token is decoded after the previous piece's tokens (as vLLM does),
    since a token decoded alone can lose context such as a leading space."""
    pieces: list[str] = []
    prefix = read = 0
    for end in range(1, len(ids) + 1):
        before = tokenizer.decode(ids[prefix:read], skip_special_tokens=True)
        after = tokenizer.decode(ids[prefix:end], skip_special_tokens=True)
        if after.endswith("\ufffd") and end < len(ids):
            pieces.append("")
            continue
        pieces.append(after[len(before):])
        prefix, read = read, end
    return pieces


def _logprobs(generation: Generation, tokenizer: Any) -> dict[str, Any]:
    """A choice's `logprobs`: every generated token (the stop string's too), its
    log-probability and its offset in the generated text; no alternatives."""
    pieces = _token_texts(tokenizer, list(generation.token_ids))
    offsets, at = [], 0
    for piece in pieces:
        offsets.append(at)
        at += len(piece)
    values = [MIN_LOGPROB if math.isnan(value) else max(value, MIN_LOGPROB)
              for value in generation.token_logprobs]
    return {"tokens": pieces, "token_logprobs": values,
            "top_logprobs": None, "text_offset": offsets}


def _completion_body(name: str, generations: list[list[Generation]], with_logprobs: bool,
                    tokenizer: Any) -> dict[str, Any]:
    """The `text_completion` object for `generations`, the choices of prompt i at
    indexes i*n .. i*n+n-1 (OpenAI's and vLLM's order)."""
    choices = []
    for prompt_index, row in enumerate(generations):
        for sample_index, generation in enumerate(row):
            choices.append({
                "index": prompt_index * len(row) + sample_index,
                "text": generation.text,
                "logprobs": _logprobs(generation, tokenizer) if with_logprobs else None,
                "finish_reason": generation.finish_reason,
            })
    prompt_tokens = sum(row[0].prompt_tokens for row in generations)
    completion_tokens = sum(len(g.token_ids) for row in generations for g in row)
    return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
            "created": int(time.time()), "model": name, "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def _host_name(header: str) -> str:
    """The name in a Host header, without its port, lower-case, without a final dot."""
    name = header.strip().lower()
    if name.startswith("["):  # [v6 address]:port
        name = name[1:name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.split(":")[0]
    return name.rstrip(".")


class Guard:
    """ASGI middleware in front of the app: the Host header must name this server (a
    localhost name, a loopback address, the bound address, an `allowed_hosts` entry, or,
    when bound to every interface, any IP address: addresses cannot be rebound, names
    can), else 421; with an `api_key`, every request but `/health` must carry it as
    `Authorization: Bearer` (compared in constant time), else 401."""

    def __init__(self, app: ASGIApp, bind_host: str, allowed_hosts: Sequence[str],
                 api_key: str | None) -> None:
        self.app = app
        self.any_address = bind_host in WILDCARDS
        self.names = (LOCAL_NAMES | {_host_name(bind_host)} | {
            _host_name(name) for name in allowed_hosts}) - {""}  # no Host names nothing
        self.key = f"Bearer {api_key}".encode() if api_key else None

    def _host_ok(self, header: str) -> bool:
        name = _host_name(header)
        if name in self.names:
            return True
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return False
        return address.is_loopback or self.any_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1")
                   for key, value in scope["headers"]}
        refusal = None
        if not self._host_ok(headers.get("host", "")):
            refusal = _error(421, "the Host header must name this server (localhost, a "
                                  "loopback address or the address it listens on; "
                                  "serve-policy --allowed-host adds names)",
                             "invalid_request_error", "misdirected_request")
        elif self.key is not None and scope["path"] != "/health" and not secrets.compare_digest(
                headers.get("authorization", "").encode("latin-1"), self.key):
            refusal = _error(401, "a valid API key is needed: send Authorization: Bearer "
                                  "<key>", "invalid_request_error", "invalid_api_key")
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it is over `limit` bytes (by its Content-Length,
    before anything is read, or as it streams in)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def create_app(policy: LocalPolicy, served_model_name: str,
               limits: ServerLimits = ServerLimits()) -> FastAPI:
    """The server's endpoints over a loaded `policy`, answering to `served_model_name`,
    refusing requests past `limits`. Put `Guard` in front of it to check Host and key."""
    app = FastAPI(title="searchtrace policy server", docs_url=None, redoc_url=None,
                  openapi_url=None)
    started = int(time.time())
    one_model = threading.Lock()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        kind = "not_found_error" if error.status_code == 404 else "invalid_request_error"
        return _error(error.status_code, str(error.detail), kind)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": served_model_name, "object": "model",
                                            "created": started, "owned_by": "searchtrace"}]}

    def generate(prompts: list[str], sampling: Sampling, seed: int) -> list[list[Generation]]:
        with one_model:
            return policy.generate(prompts, sampling, seed)

    @app.post("/v1/completions")
    async def completions(request: Request) -> JSONResponse:
        # Parsed here rather than by FastAPI: a body read only up to its limit, and
        # OpenAI-style 4xx instead of FastAPI's 422s.
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            return _error(415, f"the body must be JSON (Content-Type: application/json), "
                               f"got {media_type or 'no content type'!r}",
                          "invalid_request_error", "unsupported_media_type")
        raw = await _read_body(request, limits.max_body_bytes)
        if raw is None:
            return _error(413, f"the body is over this server's limit of "
                               f"{limits.max_body_mb} MiB (serve-policy --max-body-mb)",
                          "invalid_request_error", "request_too_large")
        try:
            body = CompletionRequest.model_validate_json(raw)
        except ValidationError as error:
            return _error(400, f"invalid request: {_problems(error)}", "invalid_request_error")
        if body.model is not None and body.model != served_model_name:
            return _error(404, f"The model `{body.model}` does not exist; this server "
                               f"serves `{served_model_name}`.", "not_found_error",
                          "model_not_found")
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        stop = [body.stop] if isinstance(body.stop, str) else body.stop or []
        refusal = _refusal(body, prompts, stop, limits)
        if refusal is not None:
            return _error(400, refusal, "invalid_request_error")
        sampling = Sampling(
            n=body.n, max_tokens=16 if body.max_tokens is None else body.max_tokens,
            temperature=1.0 if body.temperature is None else body.temperature,
            top_p=1.0 if body.top_p is None else body.top_p, stop=tuple(stop))
        seed = secrets.randbits(32) if body.seed is None else body.seed
        try:
            generations = await run_in_threadpool(generate, prompts, sampling, seed)
        except PolicyError as error:
            return _error(503, str(error), "server_error")
        except Exception as error:  # a generation bug: answer it, and keep serving
            logger.exception("generation failed")
            return _error(500, f"generation failed: {type(error).__name__}: {error}",
                          "server_error")
        return JSONResponse(_completion_body(served_model_name, generations,
                                            body.logprobs is not None, policy.tokenizer))

    return app


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, not yet listening: the port is taken (and a taken
    port reported) before a slow model load, while clients are refused until the model
    is ready to answer."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                             socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise UserError(f"--host/--port: cannot listen on {host}:{port}: "
                        f"{error.strerror or error}") from None
    return listener


def serve_policy(checkpoint: str | Path, host: str = "127.0.0.1", port: int = 8000, *,
                 device: str = "auto", batch_prompts: int = DEFAULT_BATCH_PROMPTS,
                 served_model_name: str | None = None,
                 limits: ServerLimits = ServerLimits(), api_key: str | None = None,
                 allowed_hosts: Sequence[str] = ()) -> None:
    """Load `checkpoint` and serve it on host:port until interrupted, refusing requests
    past `limits`, naming another host (beyond `allowed_hosts`) or, with `api_key`,
    without it. Bad input (no checkpoint, a device it cannot load on, a port that cannot
    be bound) raises UserError before anything is served; port 0 picks a free port (the
    line printed names it)."""
    import uvicorn

    if batch_prompts < 1:
        raise UserError(f"--batch-prompts: must be at least 1, got {batch_prompts}")
    if not 0 <= port <= 65535:
        raise UserError(f"--port: must be 0..65535, got {port}")
    model_folder(checkpoint, "CHECKPOINT")  # checked before the port is taken
    listener = _bind(host, port)
    try:
        policy = LocalPolicy(checkpoint, device=device, batch_prompts=batch_prompts)
    except UserError:
        listener.close()
        raise
    except Exception as error:  # unreadable weights, an unknown or absent device
        listener.close()
        raise UserError(f"policy checkpoint {str(checkpoint)!r} could not be loaded on "
                        f"device {device!r}: {type(error).__name__}: {error}") from None
    name = served_model_name or str(checkpoint)
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {name} on http://{shown}:{listener.getsockname()[1]}/v1 "
          f"({policy.device}{', API key required' if api_key else ''})", file=sys.stderr,
          flush=True)
    app = Guard(create_app(policy, name, limits), host, allowed_hosts, api_key)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[listener])
