"""The http policy backend against a real server: `searchtrace serve-policy` on a small
checkpoint, run as a user runs it (answers checked with the official OpenAI client and
types; its limits, content type, Host and key checks), and small stub servers for what a
healthy server never does (refuse, stall, drip, answer without end, fail once, answer
wrongly, overlap requests)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from openai.types import Completion
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.solvers.policies import make_policy
from searchtrace.solvers.policy import PolicyError, Sampling, ServerLimits
from searchtrace.solvers.policy_http import ANSWER_BYTES, CHOICE_BYTES, TOKEN_BYTES, HttpPolicy
from searchtrace.solvers.policy_server import Guard

MODEL = "tiny-policy"
LINES = "try 3+4=7 -> [7, 2]\nback to [1, 2]\ntry 1+2=3 -> [3]\n"
PROMPTS = ["try 3+4=7 -> [7, 2]", "back to [1, 2]", "try 1+2", "try 6", "back to"]
STEP = Sampling(n=3, temperature=1.0, top_p=1.0, max_tokens=12, stop=("\n",))

# A stub's answer to one request: (HTTP status, JSON body), from (path, JSON body or None).
Answer = Callable[[str, Any], tuple[int, Any]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained for a few steps on step lines, so that it writes lines (and
    stop strings matter) while its samples still vary."""
    import torch

    from searchtrace.trainer.models import load_model

    folder = tmp_path_factory.mktemp("checkpoint")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small model trains faster on one thread than on a busy two
    try:
        model, tokenizer = load_model("tiny", texts=[LINES] * 50, size="1m")
        batch = tokenizer([LINES] * 8, return_tensors="pt")
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        for _ in range(15):
            model(**batch, labels=batch["input_ids"]).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    finally:
        torch.set_num_threads(threads)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@contextmanager
def serving(checkpoint: Path, log: Path, *flags: str,
            env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`searchtrace serve-policy` with `flags` on a free port, as a process; yields its
    /v1 address and the process once /health answers."""
    port = free_port()
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "searchtrace.cli", "serve-policy", str(checkpoint),
             "--port", str(port), "--served-model-name", MODEL, *flags],
            stdout=subprocess.DEVNULL, stderr=stderr,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env or {})})
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"server exited: {log.read_text()}"
            assert time.monotonic() < deadline, f"server not up in 60 s: {log.read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def served(checkpoint: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The server with its default limits: its /v1 address and process id."""
    log = tmp_path_factory.mktemp("server") / "stderr.txt"
    with serving(checkpoint, log) as (url, process):
        yield url, process.pid


@pytest.fixture(scope="module")
def server(served: tuple[str, int]) -> str:
    """The default server's /v1 address."""
    return served[0]


def post(server: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{server}/completions", json=body, timeout=60)


def texts(answers: list[list[Any]]) -> list[list[str]]:
    return [[sample.text for sample in row] for row in answers]


def test_answers_are_openai_completions(server: str) -> None:
    response = post(server, model=MODEL, prompt=PROMPTS[:2], n=3, max_tokens=8, stop=["\n"],
                    logprobs=1, seed=5)
    assert response.status_code == 200, response.text
    completion = Completion.model_validate(response.json())
    assert completion.object == "text_completion" and completion.model == MODEL
    assert [choice.index for choice in completion.choices] == list(range(6))
    generated = 0
    for choice in completion.choices:
        assert choice.logprobs is not None and choice.logprobs.tokens is not None
        tokens, values = choice.logprobs.tokens, choice.logprobs.token_logprobs
        assert values is not None and len(values) == len(tokens) >= 1
        assert all(isinstance(v, float) and v <= 0 for v in values)
        # The pieces add up to the generated text; the reply is cut before the stop string.
        generated_text = "".join(tokens)
        assert generated_text.startswith(choice.text) and "\n" not in choice.text
        assert choice.logprobs.text_offset == [len("".join(tokens[:i]))
                                               for i in range(len(tokens))]
        if choice.finish_reason == "length":
            assert len(tokens) == 8 and "\n" not in generated_text
        else:
            assert choice.finish_reason == "stop"
        generated += len(tokens)
    assert completion.usage is not None
    assert completion.usage.completion_tokens == generated
    assert completion.usage.prompt_tokens >= 2
    assert completion.usage.total_tokens == generated + completion.usage.prompt_tokens


def test_official_client_lists_the_model_and_samples(server: str) -> None:
    client = openai.OpenAI(base_url=server, api_key="unused", max_retries=0)
    assert [model.id for model in client.models.list()] == [MODEL]
    completion = client.completions.create(model=MODEL, prompt="try 3+4", n=2, max_tokens=5,
                                           seed=1)
    assert len(completion.choices) == 2 and completion.choices[0].logprobs is None
    with pytest.raises(openai.NotFoundError, match="nope"):
        client.completions.create(model="nope", prompt="try")
    with pytest.raises(openai.BadRequestError, match="n: Input should be greater"):
        client.completions.create(model=MODEL, prompt="try", n=0)


@pytest.mark.parametrize("body", [
    b"not json", b"[1]", b'{"n": 2}', b'{"prompt": [1, 2]}', b'{"prompt": []}',
    b'{"prompt": "a", "stream": true}', b'{"prompt": "a", "top_p": 0}',
])
def test_bad_bodies_get_openai_style_400s(server: str, body: bytes) -> None:
    response = httpx.post(f"{server}/completions", content=body,
                          headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code"}
    assert error["type"] == "invalid_request_error" and error["message"]


def test_health_answers_while_a_batch_is_generated(server: str) -> None:
    long: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: long.append(post(
        server, prompt=PROMPTS[:2], n=16, max_tokens=160, seed=1)))
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    health = httpx.get(server.removesuffix("/v1") + "/health", timeout=5)
    waited = time.monotonic() - started
    busy = worker.is_alive()
    worker.join()
    assert health.status_code == 200 and waited < 1
    assert busy, "the batch ended before /health was asked; it proves nothing"
    assert long[0].status_code == 200 and len(long[0].json()["choices"]) == 32


def test_samples_are_grouped_by_prompt(server: str) -> None:
    """Batched in one request or one prompt a request sent concurrently, every prompt's
    samples are the ones the server generated for it, in order."""
    policy = HttpPolicy(server)  # the model is found through /v1/models
    apart = HttpPolicy(server, model=MODEL, max_prompts_per_request=1, concurrency=3)
    try:
        assert policy.model == MODEL
        answers = policy.complete(PROMPTS, STEP, seed=9)
        assert [len(row) for row in answers] == [STEP.n] * len(PROMPTS)
        batch = post(server, model=MODEL, prompt=PROMPTS, n=3, max_tokens=12, stop=["\n"],
                     seed=9).json()["choices"]
        assert texts(answers) == [[c["text"] for c in batch[i * 3:i * 3 + 3]]
                                  for i in range(len(PROMPTS))]
        one_each = apart.complete(PROMPTS, STEP, seed=9)
        # request i carries seed 9 + i, so requests do not repeat each other's draws
        alone = [[c["text"] for c in post(server, model=MODEL, prompt=[prompt], n=3,
                                           max_tokens=12, stop=["\n"],
                                           seed=9 + i).json()["choices"]]
                 for i, prompt in enumerate(PROMPTS)]
        assert texts(one_each) == alone
        assert len({tuple(row) for row in alone}) == len(PROMPTS)  # order would show
        assert all(len(set(row)) > 1 for row in texts(answers))  # n samples, not n copies
    finally:
        policy.close()
        apart.close()


def test_samples_stop_before_newlines_and_carry_logprobs(server: str) -> None:
    policy = HttpPolicy(server, model=MODEL)
    try:
        stopped = policy.complete(PROMPTS, STEP, seed=3)
        loose = policy.complete(PROMPTS, Sampling(n=3, temperature=1.0, top_p=1.0,
                                                  max_tokens=12), seed=3)
    finally:
        policy.close()
    for row in stopped:
        for sample in row:
            assert "\n" not in sample.text
            assert isinstance(sample.logprob, float) and sample.logprob <= 0
            assert sample.tokens >= 1
    # Without the stop string the same draws run on past the line ends.
    assert sum("\n" in text for row in texts(loose) for text in row) >= 3
    assert texts(stopped) == [[text.split("\n")[0] for text in row] for row in texts(loose)]


def test_server_reports_what_the_local_policy_samples(checkpoint: Path, server: str) -> None:
    import torch

    from searchtrace.solvers.policy_local import LocalPolicy

    remote = HttpPolicy(server, model=MODEL)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the server runs, so that the numbers agree exactly
    try:
        local = LocalPolicy(checkpoint, device="cpu").complete(PROMPTS, STEP, seed=4)
        served = remote.complete(PROMPTS, STEP, seed=4)
    finally:
        torch.set_num_threads(threads)
        remote.close()
    assert texts(served) == texts(local)
    assert [[s.tokens for s in row] for row in served] == [[s.tokens for s in row]
                                                           for row in local]
    for served_row, local_row in zip(served, local, strict=True):
        for got, want in zip(served_row, local_row, strict=True):
            assert got.logprob == pytest.approx(want.logprob, abs=1e-4)


def test_greedy_sampling_answers_n_copies(server: str) -> None:
    policy = HttpPolicy(server, model=MODEL)
    try:
        answers = policy.complete(PROMPTS[:2], Sampling(n=3, temperature=0.0, top_p=1.0,
                                                        max_tokens=6), seed=1)
    finally:
        policy.close()
    assert [len(set(row)) for row in texts(answers)] == [1, 1]


def test_same_seed_same_samples(server: str) -> None:
    policy = HttpPolicy(server, model=MODEL)
    try:
        first = texts(policy.complete(PROMPTS, STEP, seed=11))
        again = texts(policy.complete(PROMPTS, STEP, seed=11))
        other = texts(policy.complete(PROMPTS, STEP, seed=12))
    finally:
        policy.close()
    assert first == again
    assert first != other


def test_wrong_model_name_fails_naming_it(server: str) -> None:
    policy = HttpPolicy(server, model="no-such-model")
    try:
        with pytest.raises(PolicyError, match="no-such-model") as failure:
            policy.complete(PROMPTS, STEP, seed=1)
    finally:
        policy.close()
    message = str(failure.value)
    assert server in message and "HTTP 404" in message and "(1 try)" in message


def test_dead_address_fails_quickly_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    policy = HttpPolicy(url, model="m", retries=2)
    started = time.monotonic()
    try:
        with pytest.raises(PolicyError) as failure:
            policy.complete(["a"], STEP, seed=1)
    finally:
        policy.close()
    assert time.monotonic() - started < 5
    assert str(failure.value) == (f"policy server {url} did not answer: connection refused "
                                  "(3 tries)")


def test_discovery_on_a_dead_address_fails_too() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1/"
    with pytest.raises(PolicyError, match=r"127\.0\.0\.1.*connection refused \(1 try\)"):
        HttpPolicy(url, retries=0)


def test_server_that_never_answers_times_out() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def hold() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    policy = HttpPolicy(url, model="m", timeout_s=1, retries=1)
    started = time.monotonic()
    try:
        with pytest.raises(PolicyError) as failure:
            policy.complete(["a"], STEP, seed=1)
    finally:
        policy.close()
        listener.close()
        for connection in held:
            connection.close()
    assert 2.4 < time.monotonic() - started < 8  # two 1 s tries and a 0.5 s backoff
    assert str(failure.value) == f"policy server {url} timed out after 1 s (2 tries)"
    assert len(held) == 2


class StubServer(ThreadingHTTPServer):
    """An HTTP server whose every answer comes from `answer`; it records what it got."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.answer = answer
        self.requests: list[tuple[str, Any]] = []
        self.headers: list[dict[str, str]] = []


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StubServer

    def do_GET(self) -> None:
        self._reply()

    def do_POST(self) -> None:
        self._reply()

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append((self.path, body))
        self.server.headers.append({key.lower(): value for key, value in self.headers.items()})
        status, payload = self.server.answer(self.path, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a stub's requests are asserted on, not logged."""


@contextmanager
def stub(answer: Answer) -> Iterator[tuple[str, StubServer]]:
    """A stub server in a thread; yields its /v1 address and the server."""
    server = StubServer(answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server
    finally:
        server.shutdown()
        server.server_close()


def completion(body: dict[str, Any]) -> tuple[int, Any]:
    """A correct answer: sample j of prompt p reads `p#j`, with two tokens' logprobs."""
    n = body["n"]
    choices = [{"index": i * n + j, "text": f"{prompt}#{j}", "finish_reason": "stop",
                "logprobs": {"tokens": ["a", "b"], "token_logprobs": [-0.25, None],
                             "top_logprobs": None, "text_offset": [0, 1]}}
               for i, prompt in enumerate(body["prompt"]) for j in range(n)]
    return 200, {"id": "x", "object": "text_completion", "created": 0, "model": "m",
                 "choices": choices[::-1],  # any order: the index says where each goes
                 "usage": {"prompt_tokens": 1, "completion_tokens": 2 * len(choices),
                           "total_tokens": 1 + 2 * len(choices)}}


def test_503_is_retried_then_answered() -> None:
    def answer(path: str, body: Any) -> tuple[int, Any]:
        if len(server.requests) == 1:
            return 503, {"error": {"message": "warming up", "type": "server_error",
                                   "code": None}}
        return completion(body)

    with stub(answer) as (url, server):
        policy = HttpPolicy(url, model="m")
        try:
            answers = policy.complete(["a", "b"], Sampling(n=2, temperature=1.0, top_p=1.0,
                                                           max_tokens=4, stop=("#1",)), seed=5)
        finally:
            policy.close()
    assert texts(answers) == [["a#0", "a"], ["b#0", "b"]]  # "#1" cut defensively
    assert {(s.logprob, s.tokens) for row in answers for s in row} == {(-0.25, 2)}
    assert len(server.requests) == 2
    sent = server.requests[1][1]
    assert sent == {"model": "m", "prompt": ["a", "b"], "n": 2, "max_tokens": 4,
                    "temperature": 1.0, "top_p": 1.0, "seed": 5, "stop": ["#1"],
                    "logprobs": 1}


def test_too_few_choices_is_a_wrong_answer() -> None:
    def answer(path: str, body: Any) -> tuple[int, Any]:
        status, payload = completion(body)
        payload["choices"] = payload["choices"][1:]
        return status, payload

    with stub(answer) as (url, server):
        policy = HttpPolicy(url, model="m")
        try:
            with pytest.raises(PolicyError) as failure:
                policy.complete(["a", "b"], Sampling(n=2, temperature=1.0, top_p=1.0,
                                                     max_tokens=4), seed=5)
        finally:
            policy.close()
    message = str(failure.value)
    assert message.startswith(f"policy server {url} answered wrongly")
    assert "1 of 2 prompts got other than 2 choices" in message and "(1 try)" in message
    assert len(server.requests) == 1


def test_client_errors_fail_at_once_and_fail_the_batch() -> None:
    def answer(path: str, body: Any) -> tuple[int, Any]:
        if body["prompt"] == ["bad"]:
            return 400, {"error": {"message": "prompt too long", "type": "x", "code": None}}
        return completion(body)

    with stub(answer) as (url, server):
        policy = HttpPolicy(url, model="m", max_prompts_per_request=1, concurrency=1)
        try:
            with pytest.raises(PolicyError) as failure:
                policy.complete(["a", "bad", "c", "d"], STEP, seed=5)
        finally:
            policy.close()
    assert str(failure.value) == (f"policy server {url} answered HTTP 400 to 1 prompt for "
                                  "model 'm': prompt too long (1 try)")
    assert [body["prompt"] for _, body in server.requests].count(["bad"]) == 1


def test_no_more_than_concurrency_requests_in_flight() -> None:
    lock = threading.Lock()
    counts = {"now": 0, "most": 0}

    def answer(path: str, body: Any) -> tuple[int, Any]:
        with lock:
            counts["now"] += 1
            counts["most"] = max(counts["most"], counts["now"])
        time.sleep(0.3)
        with lock:
            counts["now"] -= 1
        return completion(body)

    prompts = [f"p{i}" for i in range(7)]
    with stub(answer) as (url, server):
        policy = HttpPolicy(url, model="m", concurrency=3, max_prompts_per_request=1)
        try:
            answers = policy.complete(prompts, Sampling(n=1, temperature=1.0, top_p=1.0,
                                                        max_tokens=4), seed=5)
        finally:
            policy.close()
    assert counts["most"] == 3
    assert len(server.requests) == 7
    assert texts(answers) == [[f"{prompt}#0"] for prompt in prompts]


@pytest.mark.parametrize("ids", [[], ["a", "b"]])
def test_discovery_needs_exactly_one_model(ids: list[str]) -> None:
    def answer(path: str, body: Any) -> tuple[int, Any]:
        assert path == "/v1/models"
        return 200, {"object": "list", "data": [{"id": i, "object": "model"} for i in ids]}

    with stub(answer) as (url, _), pytest.raises(PolicyError) as failure:
        HttpPolicy(url)
    message = str(failure.value)
    assert url in message and f"serves {len(ids)} models" in message
    assert all(repr(i) in message for i in ids)


@pytest.mark.parametrize("url", ["127.0.0.1:8000/v1", "ftp://host/v1", "HTTP//x"])
def test_url_must_be_http(url: str) -> None:
    with pytest.raises(UserError, match=r"policy\.url: .* must start with http:// or https://"):
        HttpPolicy(url, model="m")


def test_serve_policy_refuses_a_folder_without_a_model(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "searchtrace.cli", "serve-policy", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200", "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "no config.json" in lines[0] and str(tmp_path) in lines[0]



# A runaway server can neither stall a build nor swell the client (issue 11, item 3).

ONE = Sampling(n=1, temperature=1.0, top_p=1.0, max_tokens=4)


@contextmanager
def raw_server(respond: Callable[[socket.socket], None]) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that reads each request (head and body) and hands the
    connection to `respond`, in a thread per connection: for answers no HTTP server
    library sends on purpose. Yields its /v1 address."""
    listener = socket.create_server(("127.0.0.1", 0))

    def read_request(connection: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += connection.recv(65536)
        return True

    def handle(connection: socket.socket) -> None:
        with connection:
            try:
                if read_request(connection):
                    respond(connection)
            except OSError:
                pass  # the client hung up, as the tests expect it to

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        listener.close()


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n"


@pytest.mark.parametrize("where", ["head", "body"])
def test_a_dripping_server_cannot_stretch_the_deadline(where: str) -> None:
    """One byte every 0.2 s keeps every read inside a 1 s timeout; the deadline is on the
    whole exchange, so the try still ends after 1 s."""
    def respond(connection: socket.socket) -> None:
        if where == "body":
            connection.sendall(HEAD)
        for byte in (HEAD if where == "head" else b" " * 60)[:60]:
            connection.sendall(bytes([byte]))
            time.sleep(0.2)

    with raw_server(respond) as url:
        policy = HttpPolicy(url, model="m", timeout_s=1, retries=0)
        started = time.monotonic()
        try:
            with pytest.raises(PolicyError) as failure:
                policy.complete(["a"], ONE, seed=1)
        finally:
            policy.close()
    assert time.monotonic() - started < 3  # the drip lasts 12 s
    assert str(failure.value) == f"policy server {url} timed out after 1 s (1 try)"


@pytest.mark.parametrize("declared", [True, False])
def test_an_endless_answer_is_read_no_further_than_its_samples_can_take(
        declared: bool) -> None:
    """A 300 MB answer (declared, or streamed until the connection closes) to a request
    for one sample of 4 tokens is refused at once, after at most its limit is read, and
    not tried again."""
    sent = [0]

    def respond(connection: socket.socket) -> None:
        length = b"Content-Length: 300000000" if declared else b"Connection: close"
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           + length + b"\r\n\r\n" + b'{"choices": [{"index": 0, "text": "')
        block = b"x" * 65536
        while sent[0] < 50_000_000:
            connection.sendall(block)
            sent[0] += len(block)

    with raw_server(respond) as url:
        policy = HttpPolicy(url, model="m", retries=2)
        try:
            with pytest.raises(PolicyError) as failure:
                policy.complete(["a"], ONE, seed=1)
        finally:
            policy.close()
    limit = ANSWER_BYTES + CHOICE_BYTES + 4 * TOKEN_BYTES
    assert str(failure.value) == (
        f"policy server {url} answered wrongly to 1 prompt for model 'm': the answer is "
        f"over {limit} bytes, more than 1 sample of at most 4 tokens can take (1 try)")
    assert sent[0] < 10_000_000  # what the socket buffers took before the client hung up


def one_prompt_failure(answer: Answer) -> tuple[str, PolicyError]:
    """The stub server's address and the error the client raises for one prompt."""
    with stub(answer) as (url, _):
        policy = HttpPolicy(url, model="m")
        try:
            with pytest.raises(PolicyError) as failure:
                policy.complete(["a"], ONE, seed=1)
        finally:
            policy.close()
    return url, failure.value


def test_a_proposal_longer_than_its_tokens_can_hold_is_a_wrong_answer() -> None:
    def answer(path: str, body: Any) -> tuple[int, Any]:
        status, payload = completion(body)
        payload["choices"][0]["text"] = "x" * 5000
        return status, payload

    url, failure = one_prompt_failure(answer)
    assert str(failure) == (
        f"policy server {url} answered wrongly to 1 prompt for model 'm': choice 0 has "
        "5000 characters, more than 4 tokens hold (1 try)")


BRACKETS = "bad [/x] [bold]request[/]\n\x1b[31mred\x1b[0m"


def test_a_server_message_is_quoted_literally_on_one_line() -> None:
    def answer(path: str, body: Any) -> tuple[int, Any]:
        return 400, {"error": {"message": BRACKETS, "type": "x", "code": None}}

    url, failure = one_prompt_failure(answer)
    assert str(failure) == (
        f"policy server {url} answered HTTP 400 to 1 prompt for model 'm': bad [/x] "
        "[bold]request[/] ?[31mred?[0m (1 try)")


def llm_build(url: str, **policy: Any) -> dict[str, Any]:
    """A small llm_mcts build whose policy is the server at `url`."""
    return {"name": "policy-url", "seed": 3,
            "task": {"name": "countdown", "preset": "easy",
                     "knobs": {"count": 3, "number_range": [1, 7], "target_range": [3, 50]}},
            "solver": {"name": "llm_mcts", "node_budget": 8,
                       "llm_mcts": {"simulations": 2, "problems_per_batch": 2}},
            "traces": {"k_mix": {0: 1.0}, "style": "compact"},
            "policy": {"backend": "http", "url": url, "model": "m", "retries": 0, **policy},
            "splits": {"train": 2, "test": 1}}


def build(config: dict[str, Any], folder: Path,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`searchtrace build` of `config` into folder/out, as a user runs it."""
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [sys.executable, "-m", "searchtrace.cli", "build", str(path), "--out",
         str(folder / "out"), "--retries", "0"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "300", **(env or {})})


@pytest.mark.usefixtures("prefect_api")
def test_a_build_prints_a_server_message_with_brackets_in_one_line(tmp_path: Path) -> None:
    def answer(path: str, body: Any) -> tuple[int, Any]:
        return 400, {"error": {"message": BRACKETS, "type": "x", "code": None}}

    with stub(answer) as (url, _):
        result = build(llm_build(url), tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"policy server {url} answered HTTP 400" in lines[0]
    assert "bad [/x] [bold]request[/] ?[31mred?[0m (1 try)" in lines[0]
    assert not (tmp_path / "out").exists()


# Bad policy URLs are config errors; credentials never reach an error, config.yaml or
# the build key; a key comes from the environment (issue 11, item 10).

@pytest.mark.parametrize(("url", "problem"), [
    ("http://127.0.0.1:99999/v1", "has a port outside 1..65535"),
    ("http://127.0.0.1:0/v1", "has a port outside 1..65535"),
    ("http://127.0.0.1 :8000/v1", "must not contain spaces or control characters"),
    ("http:///v1", "names no host"),
    ("ftp://127.0.0.1/v1", "must start with http:// or https://"),
    ("http://127.0.0.1:8000/v1?key=1", "must not have a ?query or #fragment"),
    ("http://[::1/v1", "is not a valid URL"),
])
def test_bad_policy_urls_are_config_errors(url: str, problem: str) -> None:
    with pytest.raises(UserError) as failure:
        parse_config(llm_build(url))
    message = str(failure.value)
    assert message.startswith(f"invalid config: policy: url {problem}")
    assert message.endswith(f"got {url!r}") and "\n" not in message
    with pytest.raises(UserError, match=r"^policy\.url: "):
        HttpPolicy(url, model="m")


def test_a_bad_policy_url_fails_the_build_at_once_before_staging(tmp_path: Path) -> None:
    started = time.monotonic()
    result = build(llm_build("http://127.0.0.1:99999/v1"), tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == ("error: invalid config: policy: url has a port outside "
                                      "1..65535, got 'http://127.0.0.1:99999/v1'")
    assert time.monotonic() - started < 30  # no tries, no backoff: the config is wrong
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize("url", ["http://alice:s3cret@127.0.0.1:8000/v1",
                                 "http://s3cret@127.0.0.1:8000/v1",
                                 "http://alice:s3/cret@127.0.0.1:8000/v1"])
def test_credentials_in_a_policy_url_are_refused_and_never_quoted(url: str) -> None:
    with pytest.raises(UserError) as in_config:
        parse_config(llm_build(url))
    with pytest.raises(UserError) as in_client:
        HttpPolicy(url, model="m")
    for message in (str(in_config.value), str(in_client.value)):
        assert "must not carry a user name or password" in message
        assert "api_key_env" in message
        assert "s3" not in message and "alice" not in message


def test_the_key_comes_from_the_named_variable_as_a_bearer_token(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCHTRACE_TEST_POLICY_KEY", "k-7f3a")
    with stub(lambda path, body: completion(body)) as (url, server):
        config = parse_config(llm_build(url, api_key_env="SEARCHTRACE_TEST_POLICY_KEY"))
        assert config.policy is not None
        policy = make_policy(config.policy)
        try:
            policy.complete(["a"], ONE, seed=1)
        finally:
            policy.close()
    assert server.headers[0]["authorization"] == "Bearer k-7f3a"
    assert "k-7f3a" not in json.dumps(config.resolved())
    monkeypatch.delenv("SEARCHTRACE_TEST_POLICY_KEY")
    with pytest.raises(UserError, match=r"^policy\.api_key_env: the environment variable "
                                        r"SEARCHTRACE_TEST_POLICY_KEY is not set"):
        parse_config(llm_build(url, api_key_env="SEARCHTRACE_TEST_POLICY_KEY"))
    with pytest.raises(UserError, match="api_key_env: String should match pattern"):
        parse_config(llm_build(url, api_key_env="not a name"))


# serve-policy refuses what could take it down or let a web page drive it (item 5).

def rss_mib(pid: int) -> float:
    """A process's resident memory, MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines()
                    if line.startswith("VmRSS:")).split()[1]) / 1024


JSON = {"content-type": "application/json"}


def test_a_100_mb_body_is_refused_unread_and_the_server_stays_up(
        served: tuple[str, int]) -> None:
    url, pid = served
    before = rss_mib(pid)
    huge = b'{"prompt": "' + b"a" * 100_000_000 + b'"}'
    declared = httpx.post(f"{url}/completions", content=huge, headers=JSON, timeout=60)
    del huge

    def streamed() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"prompt": "'
        for _ in range(100):
            yield b"a" * 1_000_000
        yield b'"}'

    chunked = httpx.post(f"{url}/completions", content=streamed(), headers=JSON, timeout=60)
    for response in (declared, chunked):
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "request_too_large"
        assert error["message"] == ("the body is over this server's limit of 8 MiB "
                                    "(serve-policy --max-body-mb)")
    assert rss_mib(pid) - before < 50
    assert post(url, prompt="try", max_tokens=2).status_code == 200


@pytest.mark.parametrize(("body", "message"), [
    ({"prompt": "a" * 1_000_000}, "prompt: 1000000 is over this server's limit of 32768 "
                                  "characters a prompt (serve-policy --max-prompt-chars)"),
    ({"prompt": ["a"] * 100_000}, "prompt: 100000 is over this server's limit of 256 "
                                  "prompts a request (serve-policy --max-prompts)"),
    ({"prompt": "a", "stop": ["x" * 1_000_000]},
     "stop: 1000000 is over this server's limit of 128 characters a stop string "
     "(serve-policy --max-stop-chars)"),
    ({"prompt": "a", "stop": list("abcdefghi")},
     "stop: 9 is over this server's limit of 8 stop strings (serve-policy "
     "--max-stop-strings)"),
    ({"prompt": "a", "max_tokens": 1e9}, "max_tokens: 1000000000 is over this server's "
                                        "limit of 1024 tokens a sample (serve-policy "
                                        "--max-tokens)"),
    ({"prompt": "a", "n": 65}, "n: 65 is over this server's limit of 64 samples a prompt "
                               "(serve-policy --max-n)"),
])
def test_requests_past_a_limit_get_a_400_naming_it(server: str, body: dict[str, Any],
                                                    message: str) -> None:
    started = time.monotonic()
    response = post(server, **body)
    assert time.monotonic() - started < 5  # refused, not generated
    assert response.status_code == 400
    assert response.json()["error"] == {"message": message, "type": "invalid_request_error",
                                        "code": None}


@pytest.mark.parametrize(("content_type", "content"), [
    ("text/plain", b'{"prompt": "a", "max_tokens": 2}'),
    ("application/x-www-form-urlencoded", b"prompt=a&max_tokens=2"),
    (None, b'{"prompt": "a", "max_tokens": 2}'),
])
def test_only_json_bodies_are_answered(server: str, content_type: str | None,
                                       content: bytes) -> None:
    """A web page may send text or a form to any address without asking first; JSON
    needs the server's consent (CORS), which this server never gives."""
    headers = {"content-type": content_type} if content_type else {}
    response = httpx.post(f"{server}/completions", content=content, headers=headers,
                          timeout=60)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["message"].startswith("the body must be JSON (Content-Type: "
                                       "application/json)")


@pytest.mark.parametrize(("host", "status"), [
    ("rebound.example:8000", 421), ("127.0.0.1.nip.io", 421), ("", 421),
    ("localhost:1234", 200), ("LOCALHOST.", 200), ("127.0.0.1", 200), ("[::1]:80", 200),
])
def test_the_host_header_must_name_this_server(server: str, host: str, status: int) -> None:
    """A page whose DNS name is rebound to 127.0.0.1 still sends its own name."""
    response = httpx.get(f"{server}/models", headers={"host": host}, timeout=10)
    assert response.status_code == status
    if status == 421:
        assert response.json()["error"]["code"] == "misdirected_request"


def test_bound_to_every_interface_any_address_passes_but_no_other_name() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"ok": True})(scope, receive, send)

    async def statuses(bind: str) -> list[int]:
        transport = httpx.ASGITransport(app=Guard(app, bind, ["policy.lan"], None))
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            return [(await client.get("/v1/models", headers={"host": host})).status_code
                    for host in ("192.0.2.7:8000", "[2001:db8::1]:8000", "policy.lan",
                                 "rebound.example", "")]

    assert asyncio.run(statuses("0.0.0.0")) == [200, 200, 200, 421, 421]
    assert asyncio.run(statuses("")) == [200, 200, 200, 421, 421]
    assert asyncio.run(statuses("192.0.2.7")) == [200, 421, 200, 421, 421]


KEY = "sk-test-5b1e"


@pytest.fixture(scope="module")
def guarded(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server with a key (from its environment variable), a host name allowed and
    small limits; yields its /v1 address."""
    log = tmp_path_factory.mktemp("guarded") / "stderr.txt"
    with serving(checkpoint, log, "--allowed-host", "policy.lan", "--max-prompts", "2",
                 "--max-body-mb", "1", env={"SEARCHTRACE_POLICY_API_KEY": KEY}) as (url, _):
        yield url


def test_a_key_guards_every_endpoint_but_health(guarded: str) -> None:
    models = f"{guarded}/models"
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": KEY}):
        response = httpx.get(models, headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert KEY not in response.text
    assert httpx.get(guarded.removesuffix("/v1") + "/health", timeout=10).status_code == 200
    allowed = httpx.get(models, headers={"authorization": f"Bearer {KEY}",
                                         "host": "policy.lan:80"}, timeout=10)
    assert allowed.status_code == 200
    with pytest.raises(PolicyError) as failure:
        HttpPolicy(guarded)
    assert str(failure.value) == (f"policy server {guarded} answered HTTP 401 to GET "
                                  "/models: a valid API key is needed: send Authorization: "
                                  "Bearer <key> (1 try)")
    policy = HttpPolicy(guarded, api_key=KEY, max_prompts_per_request=3)
    try:
        assert [len(row) for row in policy.complete(PROMPTS[:2], ONE, seed=1)] == [1, 1]
        with pytest.raises(PolicyError, match=r"HTTP 400 .*prompt: 3 is over this server's "
                                              r"limit of 2 prompts a request \(serve-policy "
                                              r"--max-prompts\) \(1 try\)"):
            policy.complete(PROMPTS[:3], ONE, seed=1)
    finally:
        policy.close()
    too_big = httpx.post(f"{guarded}/completions", content=b" " * (1024 * 1024 + 1),
                         headers={**JSON, "authorization": f"Bearer {KEY}"}, timeout=10)
    assert too_big.status_code == 413


def test_serve_policy_limits_must_be_positive() -> None:
    with pytest.raises(UserError, match=r"^--max-n: must be at least 1, got 0$"):
        ServerLimits(max_n=0)
