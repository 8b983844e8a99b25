"""The policy behind any OpenAI-compatible completions server (vLLM, SGLang, `transformers
serve`, `searchtrace serve-policy`), spoken to over HTTP with httpx.

A batch is split into requests of at most `max_prompts_per_request` prompts, sent with at
most `concurrency` in flight. Transient failures (no connection, timeouts, HTTP 429 and
5xx) are retried with exponential backoff; any request that finally fails fails the whole
batch with one PolicyError line naming the server, what went wrong and the tries made, so
a search never builds on a half-answered batch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import httpx

from searchtrace.errors import UserError
from searchtrace.solvers.policy import PolicyError, PolicyStats, Sample, Sampling, cut_at_stop

# The first retry waits this long, each further one twice as long as the one before.
BACKOFF_S = 0.5
# The longest server message quoted in an error.
MAX_MESSAGE_CHARS = 300


class _WrongAnswer(Exception):
    """A server answer that does not fit the request: what is wrong with it."""


def _one_line(text: str) -> str:
    """`text` on one line and cut short, fit to quote in a PolicyError."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_MESSAGE_CHARS else line[:MAX_MESSAGE_CHARS] + "..."


def _server_message(response: httpx.Response) -> str:
    """The reason a server gave for an error status: OpenAI's and vLLM's `error.message`,
    FastAPI's `detail`, another server's `message`, else the body's text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        for found in (error.get("message") if isinstance(error, dict) else error,
                      body.get("detail"), body.get("message")):
            if isinstance(found, str) and found:
                return _one_line(found)
    return _one_line(response.text) or response.reason_phrase or "no reason given"


def _transport_reason(error: httpx.TransportError, timeout_s: float) -> str:
    """Why a request got no HTTP answer, in a few words."""
    if isinstance(error, httpx.TimeoutException):
        return f"timed out after {timeout_s:g} s"
    detail = _one_line(str(error)) or type(error).__name__
    if isinstance(error, httpx.ConnectError):
        if "refused" in detail.lower():
            return "did not answer: connection refused"
        return f"did not answer: cannot connect ({detail})"
    return f"did not answer: connection lost ({detail})"


class HttpPolicy:
    """Samples an OpenAI-compatible server's `/completions` at `url` (the base address
    ending in /v1). `model` is the served model id; None asks `/models` for the server's
    only model. `logprobs` asks for per-token log-probabilities (each sample's logprob and
    token count come from them; without, logprob is None and tokens an average)."""

    def __init__(self, url: str, *, model: str | None = None, timeout_s: float = 60.0,
                 retries: int = 2, concurrency: int = 4, max_prompts_per_request: int = 256,
                 logprobs: bool = True) -> None:
        if not url.startswith(("http://", "https://")):
            raise UserError(f"policy.url: {url!r} must start with http:// or https:// (the "
                            "server's base address ending in /v1, e.g. "
                            "http://127.0.0.1:8000/v1)")
        try:
            host = httpx.URL(url).host
        except httpx.InvalidURL as error:
            raise UserError(f"policy.url: {url!r} is not a valid URL: {error}") from None
        if not host:
            raise UserError(f"policy.url: {url!r} names no host")
        if timeout_s <= 0:
            raise UserError(f"policy.timeout_s: must be above 0, got {timeout_s}")
        for field, value, least in (("retries", retries, 0), ("concurrency", concurrency, 1),
                                    ("max_prompts_per_request", max_prompts_per_request, 1)):
            if value < least:
                raise UserError(f"policy.{field}: must be at least {least}, got {value}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self.max_prompts_per_request = max_prompts_per_request
        self.logprobs = logprobs
        self.stats = PolicyStats()
        self._client = httpx.Client(
            timeout=timeout_s, limits=httpx.Limits(max_connections=concurrency,
                                                   max_keepalive_connections=concurrency))
        self._pool = ThreadPoolExecutor(max_workers=concurrency,
                                        thread_name_prefix="policy-http")
        try:
            self.model = model if model is not None else self._only_model()
        except PolicyError:
            self.close()
            raise

    def _error(self, reason: str, tries: int) -> PolicyError:
        """The one line a failure reports: the server, what went wrong, the tries made."""
        return PolicyError(f"policy server {self.url} {reason} "
                           f"({tries} {'try' if tries == 1 else 'tries'})")

    def _request(self, method: str, path: str, body: dict[str, Any] | None,
                 what: str, abandon: threading.Event) -> tuple[Any, int]:
        """The JSON answer to one request and the tries it took. Transient failures are
        retried (until `abandon` is set: another part of the batch failed); a final
        failure raises PolicyError."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._client.request(method, self.url + path, json=body)
            except httpx.TransportError as error:
                reason = _transport_reason(error, self.timeout_s)
            else:
                status = response.status_code
                if response.is_success:
                    try:
                        return response.json(), attempt
                    except ValueError:
                        raise self._error(f"answered wrongly to {what}: the body is not "
                                          "JSON", attempt) from None
                reason = f"answered HTTP {status} to {what}: {_server_message(response)}"
                if status != 429 and status < 500:
                    raise self._error(reason, attempt)
            if attempt > self.retries or abandon.wait(BACKOFF_S * 2 ** (attempt - 1)):
                raise self._error(reason, attempt)

    def _only_model(self) -> str:
        """The id of the one model the server serves; PolicyError if it serves none or
        several (the config must then name one)."""
        answer, tries = self._request("GET", "/models", None, "GET /models",
                                      threading.Event())
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or not all(
                isinstance(entry, dict) and isinstance(entry.get("id"), str) for entry in data):
            raise self._error("answered wrongly to GET /models: no list of models with ids",
                              tries)
        ids = [entry["id"] for entry in data]
        if len(ids) != 1:
            listed = ", ".join(repr(i) for i in ids) or "none"
            raise self._error(f"serves {len(ids)} models ({listed}); set policy.model to "
                              "the one to use", tries)
        return ids[0]

    def complete(self, prompts: Sequence[str], sampling: Sampling,
                 seed: int) -> list[list[Sample]]:
        """`sampling.n` samples for each prompt, in prompt order; request i of the batch
        carries seed `seed + i` (a server seeds each prompt of a request alike, so equal
        seeds would repeat draws across requests). Raises PolicyError, never answers in
        part."""
        size = self.max_prompts_per_request
        chunks = [list(prompts[start:start + size]) for start in range(0, len(prompts), size)]
        abandon = threading.Event()
        futures = [self._pool.submit(self._complete_chunk, chunk, sampling,
                                     (seed + index) % 2**31, abandon)
                   for index, chunk in enumerate(chunks)]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            error = future.exception() if future.done() else None
            if error is not None:
                abandon.set()  # requests still retrying give up, unsent ones are dropped
                for other in futures:
                    other.cancel()
                raise error
        return [answer for future in futures for answer in future.result()]

    def _complete_chunk(self, prompts: list[str], sampling: Sampling, seed: int,
                        abandon: threading.Event) -> list[list[Sample]]:
        """One request's samples: `prompts` with `sampling` and `seed`; PolicyError if it
        finally fails or answers wrongly."""
        body: dict[str, Any] = {
            "model": self.model, "prompt": prompts, "n": sampling.n,
            "max_tokens": sampling.max_tokens, "temperature": sampling.temperature,
            "top_p": sampling.top_p, "seed": seed}
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if self.logprobs:
            body["logprobs"] = 1
        what = (f"{len(prompts)} {'prompt' if len(prompts) == 1 else 'prompts'} for model "
                f"{self.model!r}")
        answer, tries = self._request("POST", "/completions", body, what, abandon)
        try:
            return _samples(answer, len(prompts), sampling)
        except _WrongAnswer as error:
            raise self._error(f"answered wrongly to {what}: {error}", tries) from None

    def close(self) -> None:
        """Stop sending: requests not yet sent are dropped, the connections closed."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


def _samples(answer: Any, count: int, sampling: Sampling) -> list[list[Sample]]:
    """The samples of a completions answer to `count` prompts, grouped by prompt (choice
    index // n, OpenAI's and vLLM's order); _WrongAnswer unless every prompt got exactly
    n choices with text."""
    n = sampling.n
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list):
        raise _WrongAnswer("no list of choices")
    grouped: list[dict[int, dict[str, Any]]] = [{} for _ in range(count)]
    for choice in choices:
        index = choice.get("index") if isinstance(choice, dict) else None
        if type(index) is not int or not 0 <= index < count * n:
            raise _WrongAnswer(f"choice index {index!r} is not one of 0..{count * n - 1}")
        if not isinstance(choice.get("text"), str):
            raise _WrongAnswer(f"choice {index} has no text")
        grouped[index // n][index % n] = choice
    short = [i for i, group in enumerate(grouped) if len(group) != n]
    if short:
        raise _WrongAnswer(f"{len(short)} of {count} prompts got other than {n} choices "
                           f"(prompt {short[0]} got {len(grouped[short[0]])})")
    usage = answer.get("usage")
    generated = usage.get("completion_tokens") if isinstance(usage, dict) else None
    average = round(generated / len(choices)) if isinstance(generated, int) else 0
    return [[_sample(group[j], sampling.stop, average) for j in range(n)] for group in grouped]


def _sample(choice: dict[str, Any], stop: Sequence[str], average_tokens: int) -> Sample:
    """One choice as a Sample: text cut at the first stop string (servers cut it already;
    this is defensive), logprob the sum of its token log-probabilities (None when the
    server sent none) and tokens their count (else the answer's average)."""
    text = cut_at_stop(choice["text"], stop)
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("tokens"), list):
        return Sample(text, None, average_tokens)
    values = logprobs.get("token_logprobs")
    if not isinstance(values, list):
        return Sample(text, None, len(logprobs["tokens"]))
    if not all(v is None or (isinstance(v, int | float) and type(v) is not bool)
               for v in values):
        raise _WrongAnswer(f"choice {choice['index']} has non-numeric token_logprobs")
    return Sample(text, float(sum(v for v in values if v is not None)),
                  len(logprobs["tokens"]))
