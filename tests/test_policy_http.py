"""The http policy backend against a real server: `searchtrace serve-policy` on a small
checkpoint, run as a user runs it (answers checked with the official OpenAI client and
types), and small stub servers for what a healthy server never does (refuse, stall,
fail once, answer wrongly, overlap requests)."""

from __future__ import annotations

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
from openai.types import Completion

from searchtrace.errors import UserError
from searchtrace.solvers.policy import PolicyError, Sampling
from searchtrace.solvers.policy_http import HttpPolicy

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


@pytest.fixture(scope="module")
def server(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`searchtrace serve-policy` on a free port, as a process; yields its /v1 address."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "stderr.txt"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "searchtrace.cli", "serve-policy", str(checkpoint),
             "--port", str(port), "--served-model-name", MODEL],
            stdout=subprocess.DEVNULL, stderr=stderr, env=env)
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
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
