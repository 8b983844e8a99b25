"""LLM-guided MCTS speed: problems searched per minute (in-process policy vs the same model
behind an OpenAI-compatible server), and expansions and tokens per second by frontier
batch size, with the speed-up of batching the frontier over expanding one node a call.

    # CPU: in-process vs HTTP (starts `searchtrace serve-policy` itself)
    python bench/llm_mcts.py compare --checkpoint runs/sft-countdown-3 --problems 64
    # frontier batch sizes, in-process (on the GPU when there is one)
    python bench/llm_mcts.py frontier --checkpoint runs/sft-countdown-3 --sizes 1 16 64 256
    # the same against a running vLLM server
    python bench/llm_mcts.py frontier --url http://127.0.0.1:8000/v1 --sizes 1 16 64 256

Problems come from the config's task (default configs/countdown-llm-mcts-local.yaml);
the search settings are the config's, except where a flag says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from searchtrace.config import BuildConfig, load_config
from searchtrace.pipelines.plan import Candidate
from searchtrace.pipelines.process import Generated, generate_candidate, llm_mcts_settings
from searchtrace.solvers.base import SearchProblem
from searchtrace.solvers.llm_mcts import LlmMctsSettings, solve_llm_mcts
from searchtrace.solvers.policy import Policy
from searchtrace.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]


def problems_for(config: BuildConfig, count: int) -> list[SearchProblem]:
    """The first `count` problems of the config's train split."""
    task = get_task(config.task.name)
    found: list[SearchProblem] = []
    index = 0
    while len(found) < count:
        made = generate_candidate(task, config.task_config(), Candidate("train", 0, 0, index),
                                  config.seed)
        index += 1
        if isinstance(made, Generated):
            data = made.problem.data
            found.append(SearchProblem(task.rules(data), task.phrasing(config.traces.style, data),
                                       made.problem.prompt))
    return found


def local_policy(checkpoint: str) -> Policy:
    from searchtrace.solvers.policy_local import LocalPolicy

    return LocalPolicy(checkpoint)


def http_policy(url: str) -> Policy:
    from searchtrace.solvers.policy_http import HttpPolicy

    return HttpPolicy(url, timeout_s=600)


def search(policy: Policy, problems: list[SearchProblem], settings: LlmMctsSettings,
           config: BuildConfig, batch: int | None = None) -> dict[str, Any]:
    """Search `problems` in batches of `batch` (default: all at once), one batch after
    the other; what it did and how fast."""
    batch = batch or len(problems)
    before = (policy.stats.calls, policy.stats.tokens, policy.stats.samples)
    trees = []
    started = time.perf_counter()
    for start in range(0, len(problems), batch):
        trees += solve_llm_mcts(problems[start:start + batch], policy, settings,
                                config.traces.style, config.solver.node_budget,
                                seed=config.seed + start)
    seconds = time.perf_counter() - started
    expansions = sum(t.nodes_expanded for t in trees)
    tokens = policy.stats.tokens - before[1]
    sizes = policy.stats.batch_sizes[before[0]:]
    return {"problems": len(problems), "solved": sum(t.solution is not None for t in trees),
            "seconds": round(seconds, 2), "expansions": expansions,
            "expansions_per_s": round(expansions / seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1),
            "samples": policy.stats.samples - before[2],
            "calls": len(sizes), "frontier_max": max(sizes, default=0),
            "problems_per_min": round(len(problems) / seconds * 60, 1)}


def serve(checkpoint: str) -> tuple[subprocess.Popen, str]:
    """`searchtrace serve-policy` on a free local port, once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "searchtrace.cli", "serve-policy",
                                checkpoint, "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process, f"http://127.0.0.1:{port}/v1"
        except httpx.HTTPError:
            time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("the policy server did not start")


def compare(args: argparse.Namespace, config: BuildConfig) -> list[dict[str, Any]]:
    problems = problems_for(config, args.problems or 32)
    settings = llm_mcts_settings(config)
    results = [{"backend": "in-process", **search(local_policy(args.checkpoint), problems,
                                                  settings, config)}]
    process, url = serve(args.checkpoint)
    try:
        results.append({"backend": "http (serve-policy)",
                        **search(http_policy(url), problems, settings, config)})
    finally:
        os.killpg(process.pid, signal.SIGKILL)
    return results


def frontier(args: argparse.Namespace, config: BuildConfig) -> list[dict[str, Any]]:
    """The same problems (`--problems`, default the largest size) at each frontier size."""
    policy = http_policy(args.url) if args.url else local_policy(args.checkpoint)
    count = args.problems or max(args.sizes)
    return frontier_rows(policy, config, args.sizes, args.waves, [count] * len(args.sizes))


def frontier_rows(policy: Policy, config: BuildConfig, sizes: Sequence[int], waves: int,
                  counts: Sequence[int]) -> list[dict[str, Any]]:
    """Expansions and tokens per second at each frontier size: `counts[i]` problems (the
    first ones of the config's train split) searched `sizes[i]` at a time, every tree
    expanding one node a wave for `waves` waves, so a wave's call carries up to `size`
    prompts; size 1 is one node a call. Rows carry the speed-up over size 1 when the
    first size is 1. bench/gpu/run.py calls this with fewer problems at the small sizes,
    whose rate needs fewer to measure."""
    base = llm_mcts_settings(config)
    settings = LlmMctsSettings(step=base.step, simulations=waves,
                               exploration=base.exploration, value="rules",
                               expansions_per_wave=1, resamples=waves)
    problems = problems_for(config, max(counts))
    search(policy, problems[:2], settings, config)  # warm-up (kernels, caches)
    results = [{"frontier": size, **search(policy, problems[:count], settings, config, size)}
               for size, count in zip(sizes, counts, strict=True)]
    one = results[0]["expansions_per_s"] if sizes[0] == 1 else None
    for row in results:
        row["speedup_vs_1"] = round(row["expansions_per_s"] / one, 1) if one else None
    return results


def table(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["compare", "frontier"])
    parser.add_argument("--config", default=str(ROOT / "configs/countdown-llm-mcts-local.yaml"))
    parser.add_argument("--checkpoint", help="local model folder (in-process / served)")
    parser.add_argument("--url", help="frontier mode: an OpenAI-compatible server instead")
    parser.add_argument("--problems", type=int,
                        help="problems searched (compare: default 32; frontier: the largest "
                             "size)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--waves", type=int, default=4)
    args = parser.parse_args()
    if not args.checkpoint and not (args.mode == "frontier" and args.url):
        parser.error("--checkpoint is required (or --url in frontier mode)")
    stand_in = {"policy": {"checkpoint": args.checkpoint}} if args.checkpoint else None
    if args.url and not args.checkpoint:
        stand_in = {"policy": {"backend": "http", "url": args.url, "checkpoint": None}}
    config = load_config(args.config, stand_in)
    rows = compare(args, config) if args.mode == "compare" else frontier(args, config)
    device = "cpu"
    try:
        import torch

        if torch.cuda.is_available():
            device = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    print(f"device: {device}; cores: {os.cpu_count()}")
    print(table(rows))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
