"""The policy behind any OpenAI-compatible completions server (vLLM, SGLang, `transformers
serve`, `searchtrace serve-policy`), spoken to over HTTP with httpx.

A batch is split into requests of at most `max_prompts_per_request` prompts, sent with at
most `concurrency` in flight. Each try of a request has a wall-clock deadline of
`timeout_s` over the whole exchange (connecting, waiting, and reading every byte of the
answer; a server that sends one byte a second cannot stretch it), and its answer is read
only up to the size its samples can take, so a runaway server can neither stall a build
nor fill its memory. Transient failures (no connection, timeouts, HTTP 429 and 5xx) are
retried with exponential backoff; any request that finally fails fails the whole batch
with one PolicyError line naming the server, what went wrong and the tries made, so a
search never builds on a half-answered batch.

Requests run on an asyncio event loop in a thread of the policy's own: cancelling a
coroutine is what makes a deadline exact, where a blocking socket only has per-read
timeouts.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

import httpx

from searchtrace.errors import UserError
from searchtrace.solvers.policy import (
    PolicyError,
    PolicyStats,
    Sample,
    Sampling,
    cut_at_stop,
    url_problem,
)

# The first retry waits this long, each further one twice as long as the one before.
BACKOFF_S = 0.5
# The longest server message quoted in an error.
MAX_MESSAGE_CHARS = 300
# The most characters one generated token is taken to hold: a sample longer than
# max_tokens times this is a wrong answer.
TOKEN_CHARS = 64
# The most bytes of JSON one generated token is taken to need in an answer (its text in
# `text` and `logprobs.tokens`, its log-probability, offset and top alternative, escaped),
# and the most for each choice and each answer besides: an answer to p prompts with n
# samples of at most t tokens is read up to ANSWER_BYTES + p * n * (CHOICE_BYTES +
# t * TOKEN_BYTES) bytes, and a longer one is a wrong answer.
TOKEN_BYTES = 512
CHOICE_BYTES = 1024
ANSWER_BYTES = 64 * 1024
# The most bytes read of an answer to GET /models, and of an error's body.
MODELS_BYTES = 1024 * 1024
ERROR_BYTES = 64 * 1024

T = TypeVar("T")


class _WrongAnswer(Exception):
    """A server answer that does not fit the request: what is wrong with it."""


class _TooLong(Exception):
    """An answer longer than the request's limit: retrying would only read it again."""


def _one_line(text: str) -> str:
    """`text` on one line, control characters replaced and cut short, fit to quote in a
    PolicyError (kept literal: brackets and the like are the server's own words)."""
    line = "".join(char if char.isprintable() else "?" for char in " ".join(text.split()))
    return line if len(line) <= MAX_MESSAGE_CHARS else line[:MAX_MESSAGE_CHARS] + "..."


def _server_message(status: int, data: bytes) -> str:
    """The reason a server gave for an error status: OpenAI's and vLLM's `error.message`,
    FastAPI's `detail`, another server's `message`, else the body's text."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        for found in (error.get("message") if isinstance(error, dict) else error,
                      body.get("detail"), body.get("message")):
            if isinstance(found, str) and found:
                return _one_line(found)
    text = _one_line(data.decode("utf-8", errors="replace"))
    if text:
        return text
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "no reason given"


def _transport_reason(error: httpx.TransportError, timeout_s: float) -> str:
    """Why a request got no HTTP answer, in a few words."""
    if isinstance(error, httpx.TimeoutException):
        return f"timed out after {timeout_s:g} s"
    causes: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in causes:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    # the innermost error says most (the OS's reason, below anyio's and httpcore's)
    detail = next((_one_line(str(c)) for c in reversed(causes) if str(c)),
                  type(error).__name__)
    if isinstance(error, httpx.ConnectError):
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return "did not answer: connection refused"
        return f"did not answer: cannot connect ({detail})"
    return f"did not answer: connection lost ({detail})"


class HttpPolicy:
    """Samples an OpenAI-compatible server's `/completions` at `url` (the base address
    ending in /v1). `model` is the served model id; None asks `/models` for the server's
    only model. `logprobs` asks for per-token log-probabilities (each sample's logprob and
    token count come from them; without, logprob is None and tokens an average).
    `api_key`, when given, is sent as `Authorization: Bearer` and never reported."""

    def __init__(self, url: str, *, model: str | None = None, timeout_s: float = 60.0,
                 retries: int = 2, concurrency: int = 4, max_prompts_per_request: int = 256,
                 logprobs: bool = True, api_key: str | None = None) -> None:
        problem = url_problem(url)
        if problem is not None:
            shown = "" if "@" in url else f" {url!r}"
            raise UserError(f"policy.url:{shown} {problem}")
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
        self._client = httpx.AsyncClient(
            timeout=timeout_s, headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            limits=httpx.Limits(max_connections=concurrency,
                                max_keepalive_connections=concurrency))
        self._slots = asyncio.Semaphore(concurrency)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="policy-http",
                                        daemon=True)
        self._thread.start()
        try:
            self.model = model if model is not None else self._run(self._only_model())
        except PolicyError:
            self.close()
            raise

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the policy's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def _error(self, reason: str, tries: int) -> PolicyError:
        """The one line a failure reports: the server, what went wrong, the tries made."""
        return PolicyError(f"policy server {self.url} {reason} "
                           f"({tries} {'try' if tries == 1 else 'tries'})")

    async def _exchange(self, method: str, path: str, body: dict[str, Any] | None,
                        limit: int) -> tuple[int, bytes]:
        """One try: the status and the body, read up to `limit` bytes (its declared
        length is checked first); _TooLong past it. An error's body is read up to
        ERROR_BYTES, all its message needs."""
        async with self._client.stream(method, self.url + path, json=body) as response:
            success = response.is_success
            cap = limit if success else ERROR_BYTES
            declared = response.headers.get("content-length", "")
            if success and declared.isdigit() and int(declared) > cap:
                raise _TooLong
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > cap:
                    if success:
                        raise _TooLong
                    break
            return response.status_code, b"".join(chunks)[:cap]

    async def _request(self, method: str, path: str, body: dict[str, Any] | None,
                       what: str, limit: int, fits: str) -> tuple[Any, int]:
        """The JSON answer to one request and the tries it took. Each try must end within
        `timeout_s`, and its answer within `limit` bytes (what `fits` can take);
        transient failures are retried (until the task is cancelled: another part of the
        batch failed); a final failure raises PolicyError."""
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(self.timeout_s):
                    status, data = await self._exchange(method, path, body, limit)
            except TimeoutError:
                reason = f"timed out after {self.timeout_s:g} s"
            except httpx.TransportError as error:
                reason = _transport_reason(error, self.timeout_s)
            except _TooLong:
                raise self._error(f"answered wrongly to {what}: the answer is over {limit} "
                                  f"bytes, more than {fits} can take", attempt) from None
            else:
                if 200 <= status < 300:
                    try:
                        return json.loads(data), attempt
                    except ValueError:
                        raise self._error(f"answered wrongly to {what}: the body is not "
                                          "JSON", attempt) from None
                reason = f"answered HTTP {status} to {what}: {_server_message(status, data)}"
                if status != 429 and status < 500:
                    raise self._error(reason, attempt)
            if attempt > self.retries:
                raise self._error(reason, attempt)
            await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))

    async def _only_model(self) -> str:
        """The id of the one model the server serves; PolicyError if it serves none or
        several (the config must then name one)."""
        answer, tries = await self._request("GET", "/models", None, "GET /models",
                                            MODELS_BYTES, "a list of models")
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or not all(
                isinstance(entry, dict) and isinstance(entry.get("id"), str) for entry in data):
            raise self._error("answered wrongly to GET /models: no list of models with ids",
                              tries)
        ids = [entry["id"] for entry in data]
        if len(ids) != 1:
            listed = ", ".join(repr(_one_line(i)) for i in ids) or "none"
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
        return self._run(self._complete_all(chunks, sampling, seed))

    async def _complete_all(self, chunks: list[list[str]], sampling: Sampling,
                            seed: int) -> list[list[Sample]]:
        """Every chunk's samples, in order; the first failure cancels the other requests
        (those retrying give up, those waiting for a slot are never sent)."""
        tasks = [asyncio.create_task(self._complete_chunk(chunk, sampling,
                                                          (seed + index) % 2**31))
                 for index, chunk in enumerate(chunks)]
        try:
            answers = await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return [answer for chunk_answers in answers for answer in chunk_answers]

    async def _complete_chunk(self, prompts: list[str], sampling: Sampling,
                              seed: int) -> list[list[Sample]]:
        """One request's samples: `prompts` with `sampling` and `seed`, once a slot is
        free; PolicyError if it finally fails or answers wrongly."""
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
        samples = len(prompts) * sampling.n
        limit = ANSWER_BYTES + samples * (CHOICE_BYTES + sampling.max_tokens * TOKEN_BYTES)
        fits = (f"{samples} {'sample' if samples == 1 else 'samples'} of at most "
                f"{sampling.max_tokens} tokens")
        async with self._slots:
            answer, tries = await self._request("POST", "/completions", body, what, limit,
                                                fits)
        try:
            return _samples(answer, len(prompts), sampling)
        except _WrongAnswer as error:
            raise self._error(f"answered wrongly to {what}: {error}", tries) from None

    def close(self) -> None:
        """Stop sending: requests in flight are cancelled, the connections closed and the
        event loop's thread ended. Closing twice does nothing."""
        if self._loop.is_closed():
            return
        self._run(self._shut_down())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _shut_down(self) -> None:
        """Cancel every other task on the loop, then close the connections."""
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self._client.aclose()


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
        if len(choice["text"]) > sampling.max_tokens * TOKEN_CHARS:
            raise _WrongAnswer(f"choice {index} has {len(choice['text'])} characters, more "
                               f"than {sampling.max_tokens} tokens hold")
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
