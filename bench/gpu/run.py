"""The GPU run: the backtrack sweep at the 10m and 100m model sizes and the LLM-guided
MCTS frontier benchmark, in one process, within one hard time budget.

For each size and each k: SFT a model built from scratch on the dataset's rows with
exactly k backtracks (bf16 on a GPU), evaluate it greedily on the same test prompts as
every other model, run a few GRPO steps from it with the verifiers as rewards (TRL's
GRPOTrainer, transformers generation), evaluate again, and then evaluate the RL model
compute-matched (trainer/compute_matched.py): at each token budget B, one sampled output of
up to B tokens (sequential) against N outputs of B/N tokens (parallel: pass@N, majority
vote, pass@k), every problem, budget and mode sampled in one batched generate call on the
GPU (the same seeded draws as `searchtrace eval --samples`). The frontier benchmark searches
Countdown problems with a 1m policy in this process (SFT'd first, on rows of every k, unless
`--policy` names a checkpoint), at frontier sizes 1, 16, 64 and 256 (bench/llm_mcts.py's
`frontier_rows`), and reports expansions per second and the speed-up over one node a call.

Every stage has its own time budget, cut short by a timer when spent (the stage is then
marked `cut`); a stage whose turn comes after the overall budget is gone, or whose input
stage did not finish, is `skipped` with a note; one that raises is `failed` with the
error's first line, and the run goes on. Results go to $OUT (default ./gpu-results):
results.json, results.md (printed at the end) and eval/<stage>/ reports.

    bench/gpu/prepare.sh              # here: wheels and the dataset into .whl/, .gpu-data/
    bench/gpu/run.sh                  # on the GPU machine (installs the wheels, runs this)
    bench/gpu/run.sh --dry-run        # on a CPU: the 1m size, a few rows and steps

Nothing here imports Apache Beam or Prefect: the GPU machine has neither.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from importlib import metadata
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from searchtrace.trainer.data import RowFilter, load_split
from searchtrace.trainer.rl import RlSettings
from searchtrace.trainer.sft import SftSettings

ROOT = Path(__file__).resolve().parents[2]
FRONTIER_CONFIG = ROOT / "configs" / "countdown-llm-mcts-local.yaml"
NEVER_SAVE = 10**9  # no intermediate checkpoints: the run is measured, not resumed
MIN_STAGE_S = 5.0  # a stage that would get less than this is skipped
VERSIONED = ("torch", "transformers", "trl", "datasets", "accelerate", "tokenizers",
             "pydantic", "huggingface-hub", "numpy", "pyarrow")


@dataclass(frozen=True)
class Plan:
    """What the run does and how long each kind of stage may take (seconds)."""

    sizes: tuple[str, ...]
    ks: tuple[int, ...]
    sft: dict[str, SftSettings]
    policy: SftSettings  # the frontier benchmark's 1m policy, on rows of every k
    policy_rows: int
    rl: dict[str, RlSettings]
    train_rows: int | None  # per k; None: all of that k's rows
    eval_problems: int
    eval_tokens: int
    eval_batch: int  # prompts per generate call in evaluation
    cm_problems: int  # compute-matched evaluation: the first test prompts
    cm_samples: int  # N, the parallel samples per budget
    cm_budgets: tuple[int, ...]  # token budgets per problem
    cm_batch_rows: int  # sampled rows per generate call: (1 + N) x budgets x problems fit one
    frontier_sizes: tuple[int, ...]
    frontier_waves: int
    frontier_min_problems: int
    budget_s: float
    stage_budget_s: dict[str, float] = field(default_factory=dict)

    def stage_budget(self, kind: str, size: str = "") -> float:
        sized = f"{kind}-{size}"
        return self.stage_budget_s[sized if sized in self.stage_budget_s else kind]


def gpu_plan() -> Plan:
    """Sized for one H100 in about 8 minutes: 2,400 rows per k, 3 epochs of SFT at batch
    64 (113 steps), 8 GRPO steps of 64 completions (8 prompts x 8), 100 test prompts per
    evaluation in one generate batch; completions of at most 192 tokens (the longest
    reference, at k = 4, is 172; the mean over all k is 99). The compute-matched evaluation
    runs after RL only, on 32 problems with N = 4 at budgets 128, 256 and 512: 480 rows in
    one generate call of at most 512 steps (about 10 s a model by the H200 run's greedy
    evaluations, ~10 ms a step); after SFT too it would not fit the 8 minutes with 3 ks."""
    def sft(size: str, learning_rate: float) -> SftSettings:
        return SftSettings(epochs=3, learning_rate=learning_rate, batch_size=64,
                           max_length=384, size=size, save_steps=NEVER_SAVE, logging_steps=10)

    def rl(learning_rate: float) -> RlSettings:
        return RlSettings(steps=8, learning_rate=learning_rate, batch_size=64,
                          num_generations=8, max_completion_length=192,
                          save_steps=NEVER_SAVE)

    return Plan(sizes=("10m", "100m"), ks=(0, 2, 4),
                sft={"10m": sft("10m", 1e-3), "100m": sft("100m", 3e-4)},
                policy=SftSettings(epochs=3, learning_rate=3e-3, batch_size=32, max_length=384,
                                   size="1m", save_steps=NEVER_SAVE, logging_steps=10),
                policy_rows=1500,
                rl={"10m": rl(2e-5), "100m": rl(5e-6)},
                train_rows=None, eval_problems=100, eval_tokens=192, eval_batch=128,
                cm_problems=32, cm_samples=4, cm_budgets=(128, 256, 512), cm_batch_rows=512,
                frontier_sizes=(1, 16, 64, 256), frontier_waves=4, frontier_min_problems=16,
                budget_s=480,
                stage_budget_s={"frontier": 120, "sft-1m": 45, "sft-10m": 45, "sft-100m": 75,
                                "rl-10m": 45, "rl-100m": 60, "eval": 30, "cm": 30})


def dry_plan() -> Plan:
    """The CPU dry run: the 1m size, 16 rows per k, a couple of steps, tiny generations."""
    sft = SftSettings(epochs=1, learning_rate=3e-3, batch_size=8, max_length=256, size="1m",
                      save_steps=NEVER_SAVE, logging_steps=1)
    rl = RlSettings(steps=2, learning_rate=5e-5, batch_size=4, num_generations=2,
                    max_completion_length=24, save_steps=NEVER_SAVE)
    return Plan(sizes=("1m",), ks=(0, 2, 4), sft={"1m": sft}, policy=sft, policy_rows=16,
                rl={"1m": rl}, train_rows=16,
                eval_problems=4, eval_tokens=24, eval_batch=32, cm_problems=4, cm_samples=2,
                cm_budgets=(12, 24), cm_batch_rows=64, frontier_sizes=(1, 4),
                frontier_waves=1, frontier_min_problems=2, budget_s=300,
                stage_budget_s={"frontier": 120, "sft": 120, "rl": 120, "eval": 120,
                                "cm": 120})


@dataclass(frozen=True)
class StageResult:
    """One stage: done, cut (its budget ran out), failed (raised) or skipped."""

    name: str
    status: str
    seconds: float
    note: str
    metrics: dict[str, Any]


class StageTimeout(BaseException):
    """A stage's budget ran out (a BaseException, so libraries' `except Exception` blocks
    do not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise StageTimeout in this (the main) thread once `seconds` have passed."""
    def expire(signum: int, frame: FrameType | None) -> None:
        raise StageTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Runner:
    """Runs stages against one overall deadline and records each one's result."""

    def __init__(self, budget_s: float, cuda: bool) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + budget_s
        self.cuda = cuda
        self.results: list[StageResult] = []

    def finished(self, name: str) -> bool:
        return any(r.name == name and r.status == "done" for r in self.results)

    def run(self, name: str, budget_s: float, work: Callable[[], dict[str, Any]],
            needs: str | None = None) -> dict[str, Any] | None:
        """`work`'s metrics when it finished within its budget, else None."""
        import torch

        left = self.deadline - time.monotonic()
        if needs is not None and not self.finished(needs):
            self.skip(name, f"needs {needs}, which did not finish")
            return None
        if left < MIN_STAGE_S:
            self.skip(name, f"the overall budget is spent ({max(left, 0):.0f} s left)")
            return None
        limit = min(budget_s, left)
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        started = time.monotonic()
        metrics: dict[str, Any] = {}
        try:
            with time_limit(limit):
                metrics = work()
            status, note = "done", ""
        except StageTimeout:
            status, note = "cut", f"stopped at its {limit:.3g} s budget"
        except Exception as error:
            traceback.print_exc()
            first = (str(error).strip().splitlines() or [""])[0]
            status, note = "failed", f"{type(error).__name__}: {first}"[:300]
        seconds = time.monotonic() - started
        gc.collect()
        if self.cuda:
            metrics["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
            torch.cuda.empty_cache()
        self._record(name, status, seconds, note, metrics)
        return metrics if status == "done" else None

    def skip(self, name: str, note: str) -> None:
        self._record(name, "skipped", 0.0, note, {})

    def _record(self, name: str, status: str, seconds: float, note: str,
                metrics: dict[str, Any]) -> None:
        self.results.append(StageResult(name, status, round(seconds, 2), note, metrics))
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:6.1f} s] {name}: {status} in {seconds:.1f} s"
              + (f" ({note})" if note else ""), flush=True)


def bench_module() -> ModuleType:
    """bench/llm_mcts.py (not a package) loaded as a module."""
    spec = importlib.util.spec_from_file_location("bench_llm_mcts",
                                                  ROOT / "bench" / "llm_mcts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def device() -> tuple[str, Any]:
    """The device the models run on and their dtype (bf16 on a GPU)."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.bfloat16
    return "cpu", torch.float32


def token_count(tokenizer: Any, texts: list[str], cap: int | None = None) -> int:
    lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]]
    return sum(min(n, cap) if cap else n for n in lengths)


def sft_stage(dataset: Path, k: int | None, out: Path, settings: SftSettings,
              train_rows: int | None) -> dict[str, Any]:
    """SFT a model of `settings.size` from scratch on the rows with k backtracks (None:
    rows of every k)."""
    from transformers import AutoTokenizer

    from searchtrace.trainer.sft import run_sft

    row_filter = RowFilter(k=None if k is None else (k,), limit=train_rows)
    started = time.monotonic()
    record = run_sft(dataset, "tiny", out, settings, row_filter)
    seconds = time.monotonic() - started
    rows = load_split(dataset, "train", row_filter)
    tokenizer = AutoTokenizer.from_pretrained(out)
    texts = [p + c for p, c in zip(rows["prompt"], rows["completion"], strict=True)]
    tokens = token_count(tokenizer, texts, settings.max_length) * settings.epochs
    losses = record["losses"]
    return {"rows": record["rows"], "steps": record["steps"],
            "parameters": record["parameters"], "loss_first": round(losses[0], 4),
            "loss_last": round(losses[-1], 4), "train_tokens": int(tokens),
            "tokens_per_s": round(tokens / seconds, 1)}


def rl_stage(dataset: Path, k: int, sft_dir: Path, out: Path, settings: RlSettings,
             train_rows: int | None) -> dict[str, Any]:
    """A few GRPO steps from the SFT model, on the prompts of the rows with k backtracks."""
    from searchtrace.trainer.rl import run_rl

    started = time.monotonic()
    record = run_rl(dataset, str(sft_dir), out, settings, RowFilter(k=(k,), limit=train_rows))
    seconds = time.monotonic() - started
    reward = record["reward"]
    means = {name: round(sum(values) / len(values), 4)
             for name, values in record["rewards"].items()}
    return {"steps": record["steps"], "completions_per_s":
            round(record["steps"] * settings.batch_size / seconds, 2),
            "reward_first": round(reward[0], 4) if reward else None,
            "reward_last": round(reward[-1], 4) if reward else None, "mean_rewards": means}


def eval_stage(model_dir: Path, rows: Any, plan: Plan, report: Path) -> dict[str, Any]:
    """Greedy completions for the test prompts, judged by the verifiers."""
    from searchtrace.trainer import evaluate
    from searchtrace.trainer.models import load_model

    # The evaluation's generate batches are sized for a CPU; a GPU takes all the prompts
    # in one batch.
    evaluate.GENERATION_BATCH = plan.eval_batch
    name, dtype = device()
    model, tokenizer = load_model(str(model_dir))
    model.to(name, dtype=dtype)
    started = time.monotonic()
    summary, judged = evaluate.evaluate_rows(model, tokenizer, rows,
                                             max_new_tokens=plan.eval_tokens)
    seconds = time.monotonic() - started
    evaluate.write_report(report, summary, judged, {"model": str(model_dir), "split": "test"})
    generated = token_count(tokenizer, [j["completion"] for j in judged])
    return {"problems": summary.problems, "accuracy": round(summary.accuracy, 4),
            "format_rate": round(summary.format_rate, 4),
            "legal_step_fraction": round(summary.legal_step_fraction, 4),
            "mean_backtracks": round(summary.mean_backtracks, 3),
            "generated_tokens_per_s": round(generated / seconds, 1)}


def compute_matched_stage(model_dir: Path, rows: Any, plan: Plan, report: Path
                          ) -> dict[str, Any]:
    """Sequential against parallel sampling at matched token budgets on the first
    `plan.cm_problems` test prompts: per budget, the accuracies, pass@k and the tokens each
    mode generated (mean and most per problem); the generation and judging seconds."""
    from searchtrace.trainer.compute_matched import (
        SamplingSettings,
        evaluate_compute_matched,
        sample_requests,
        write_compute_matched_report,
    )
    from searchtrace.trainer.models import load_model

    settings = SamplingSettings(samples=plan.cm_samples, budgets=plan.cm_budgets)
    rows = rows.select(range(min(plan.cm_problems, len(rows))))
    name, dtype = device()
    model, tokenizer = load_model(str(model_dir))
    model.to(name, dtype=dtype)
    generation_s: list[float] = []

    def generate(requests: list[Any], **sampling: Any) -> list[list[Any]]:
        started = time.monotonic()
        drawn = sample_requests(model, tokenizer, requests, batch_rows=plan.cm_batch_rows,
                                **sampling)
        generation_s.append(time.monotonic() - started)
        return drawn

    started = time.monotonic()
    results, problems = evaluate_compute_matched(rows, settings, generate)
    seconds = time.monotonic() - started
    plot = write_compute_matched_report(report, results, problems,
                                        {"model": str(model_dir), "split": "test",
                                         **asdict(settings)})
    budgets = []
    for index, result in enumerate(results):
        drawn = [p["budgets"][index] for p in problems]
        budgets.append({
            "budget": result.budget, "shares": list(result.shares),
            "sequential_accuracy": round(result.sequential_accuracy, 4),
            "pass_at_n": round(result.parallel_pass_at_n, 4),
            "majority_accuracy": round(result.majority_accuracy, 4),
            "pass_at_k": [round(p, 4) for p in result.pass_at_k],
            "sequential_tokens": round(result.sequential_tokens, 1),
            "parallel_tokens": round(result.parallel_tokens, 1),
            "sequential_tokens_max": max(d["sequential"]["tokens"] for d in drawn),
            "parallel_tokens_max": max(sum(j["tokens"] for j in d["parallel"])
                                       for d in drawn)})
    generated = sum((r.sequential_tokens + r.parallel_tokens) * r.problems for r in results)
    return {"problems": len(rows), "samples": settings.samples, "plot": plot,
            "budgets": budgets, "generation_s": round(sum(generation_s), 2),
            "judge_s": round(seconds - sum(generation_s), 2),
            "generated_tokens_per_s": round(generated / sum(generation_s), 1)}


def frontier_stage(policy_dir: Path, plan: Plan) -> dict[str, Any]:
    """The LLM-guided MCTS frontier benchmark with the policy in this process."""
    from searchtrace.config import load_config
    from searchtrace.solvers.policy_local import LocalPolicy

    bench = bench_module()
    config = load_config(FRONTIER_CONFIG, {"policy": {"checkpoint": str(policy_dir)}})
    policy = LocalPolicy(policy_dir, batch_prompts=max(plan.frontier_sizes))
    counts = [max(size, plan.frontier_min_problems) for size in plan.frontier_sizes]
    rows = bench.frontier_rows(policy, config, plan.frontier_sizes, plan.frontier_waves, counts)
    return {"policy": str(policy_dir), "waves": plan.frontier_waves, "sizes": rows}


def versions() -> dict[str, str]:
    import torch

    found = {"python": platform.python_version(), "cuda": str(torch.version.cuda)}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def run(plan: Plan, dataset: Path, policy: Path | None, out: Path, work: Path,
        dry_run: bool) -> dict[str, Any]:
    """Every stage in order (the policy, the frontier, then the sweep size by size, k by
    k); the results as written to results.json."""
    import torch

    started = time.monotonic()
    # Imported and initialised before the clock starts, so that the first stage's time
    # measures its work, not the imports.
    importlib.import_module("trl")
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.init()
    eval_rows = load_split(dataset, "test", RowFilter(limit=plan.eval_problems))
    setup_s = time.monotonic() - started
    runner = Runner(plan.budget_s, cuda)
    policy_sft, needs = None, None
    if policy is None:
        policy, needs = work / f"policy-{plan.policy.size}", f"sft-policy-{plan.policy.size}"
        policy_sft = runner.run(needs, plan.stage_budget("sft", plan.policy.size),
                                partial(sft_stage, dataset, None, policy, plan.policy,
                                        plan.policy_rows))
    frontier = runner.run("frontier", plan.stage_budget("frontier"),
                          partial(frontier_stage, policy, plan), needs=needs)
    sweep = []
    for size in plan.sizes:
        for k in plan.ks:
            tag = f"{size}-k{k}"
            sft_dir, rl_dir = work / f"sft-{tag}", work / f"rl-{tag}"
            row: dict[str, Any] = {"size": size, "k": k}
            row["sft"] = runner.run(
                f"sft-{tag}", plan.stage_budget("sft", size),
                partial(sft_stage, dataset, k, sft_dir, plan.sft[size], plan.train_rows))
            row["eval_sft"] = runner.run(
                f"eval-sft-{tag}", plan.stage_budget("eval"),
                partial(eval_stage, sft_dir, eval_rows, plan, out / "eval" / f"sft-{tag}"),
                needs=f"sft-{tag}")
            row["rl"] = runner.run(
                f"rl-{tag}", plan.stage_budget("rl", size),
                partial(rl_stage, dataset, k, sft_dir, rl_dir, plan.rl[size], plan.train_rows),
                needs=f"sft-{tag}")
            row["eval_rl"] = runner.run(
                f"eval-rl-{tag}", plan.stage_budget("eval"),
                partial(eval_stage, rl_dir, eval_rows, plan, out / "eval" / f"rl-{tag}"),
                needs=f"rl-{tag}")
            row["cm_rl"] = runner.run(
                f"cm-rl-{tag}", plan.stage_budget("cm"),
                partial(compute_matched_stage, rl_dir, eval_rows, plan,
                        out / "eval" / f"cm-rl-{tag}"),
                needs=f"rl-{tag}")
            sweep.append(row)
    return {"device": torch.cuda.get_device_name(0) if cuda else "cpu",
            "dry_run": dry_run, "cpu_cores": os.cpu_count(), "versions": versions(),
            "budget_s": plan.budget_s, "setup_s": round(setup_s, 1),
            "total_s": round(time.monotonic() - runner.started, 1),
            "plan": plan_summary(plan), "eval_problems": len(eval_rows),
            "stages": [asdict(r) for r in runner.results], "policy_sft": policy_sft,
            "sweep": sweep, "frontier": frontier}


def plan_summary(plan: Plan) -> dict[str, Any]:
    return {"sizes": list(plan.sizes), "ks": list(plan.ks),
            "sft": {size: asdict(s) for size, s in plan.sft.items()},
            "rl": {size: asdict(s) for size, s in plan.rl.items()},
            "train_rows_per_k": plan.train_rows, "eval_problems": plan.eval_problems,
            "eval_max_new_tokens": plan.eval_tokens, "cm_problems": plan.cm_problems,
            "cm_samples": plan.cm_samples, "cm_budgets": list(plan.cm_budgets),
            "cm_batch_rows": plan.cm_batch_rows, "frontier_sizes": list(plan.frontier_sizes),
            "frontier_waves": plan.frontier_waves, "stage_budget_s": plan.stage_budget_s}


def cell(value: Any) -> str:
    return "–" if value is None else str(value)


def markdown(results: dict[str, Any]) -> str:
    """results.md: the card, the versions, the stages, the sweep and the frontier."""
    v = results["versions"]
    lines = [f"# GPU run{' (dry run)' if results['dry_run'] else ''}: {results['device']}", "",
             f"python {v['python']}, torch {v['torch']} (CUDA {v['cuda']}), transformers "
             f"{v['transformers']}, trl {v['trl']}, datasets {v['datasets']}, accelerate "
             f"{v['accelerate']}; {results['cpu_cores']} CPU cores. Stages "
             f"**{results['total_s']} s** of a {results['budget_s']:.0f} s budget, after "
             f"{results['setup_s']} s of imports and setup; "
             f"{results['eval_problems']} test prompts per evaluation.", "",
             "## Sweep (greedy evaluation on the same test prompts)", "",
             "| size | k | SFT s | SFT tokens/s | SFT loss | acc SFT | acc RL | RL reward "
             "first → last | RL completions/s | backtracks SFT / RL | eval tokens/s SFT |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    seconds = {r["name"]: r["seconds"] for r in results["stages"]}
    for row in results["sweep"]:
        sft, rl = row["sft"] or {}, row["rl"] or {}
        before, after = row["eval_sft"] or {}, row["eval_rl"] or {}
        tag = f"{row['size']}-k{row['k']}"
        loss = (f"{sft['loss_first']} → {sft['loss_last']}" if sft else None)
        reward = (f"{rl['reward_first']} → {rl['reward_last']}" if rl else None)
        lines.append("| " + " | ".join(cell(c) for c in (
            row["size"], row["k"], seconds.get(f"sft-{tag}"), sft.get("tokens_per_s"), loss,
            before.get("accuracy"), after.get("accuracy"), reward,
            rl.get("completions_per_s"),
            f"{cell(before.get('mean_backtracks'))} / {cell(after.get('mean_backtracks'))}",
            before.get("generated_tokens_per_s"))) + " |")
    lines += ["", *compute_matched_markdown(results)]
    lines += ["", "## LLM-guided MCTS frontier (policy in process)", ""]
    frontier, policy = results["frontier"], results["policy_sft"]
    if policy:
        lines += [f"The 1m policy was SFT'd in this run on {policy['rows']} rows of every k: "
                  f"{policy['steps']} steps, loss {policy['loss_first']} → "
                  f"{policy['loss_last']}.", ""]
    if frontier:
        lines += [f"policy `{frontier['policy']}`, {frontier['waves']} waves, one expansion "
                  "per tree a wave", "",
                  "| frontier | problems | solved | expansions/s | tokens/s | calls | "
                  "largest call | speed-up over 1 |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['frontier']} | {r['problems']} | {r['solved']} | "
                  f"{r['expansions_per_s']} | {r['tokens_per_s']} | {r['calls']} | "
                  f"{r['frontier_max']} | {cell(r['speedup_vs_1'])} |"
                  for r in frontier["sizes"]]
    else:
        lines.append("not measured: see the frontier stage below")
    lines += ["", "## Stages", "", "| stage | status | seconds | peak GPU MiB | note |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['status']} | {r['seconds']} | "
              f"{cell(r['metrics'].get('peak_gpu_mib'))} | {r['note']} |"
              for r in results["stages"]]
    return "\n".join(lines) + "\n"


def compute_matched_markdown(results: dict[str, Any]) -> list[str]:
    """The compute-matched section of results.md: one line per size, k and budget."""
    plan = results["plan"]
    n = plan["cm_samples"]
    lines = [f"## Compute-matched evaluation after RL (N = {n}, the first "
             f"{plan['cm_problems']} test prompts)", "",
             f"Sequential: one sample of up to B tokens; parallel: {n} samples of B/{n}. "
             "Tokens: generated per problem, mean (most).", ""]
    done = [row for row in results["sweep"] if row.get("cm_rl")]
    if not done:
        return [*lines, "not measured: see the cm-rl stages below"]
    lines += [f"| size | k | budget | sequential | pass@{n} | majority | pass@1 | "
              "sequential tokens | parallel tokens |", "|---|---|---|---|---|---|---|---|---|"]
    for row in done:
        lines += [f"| {row['size']} | {row['k']} | {b['budget']} | "
                  f"{b['sequential_accuracy']} | {b['pass_at_n']} | {b['majority_accuracy']} | "
                  f"{b['pass_at_k'][0]} | {b['sequential_tokens']} "
                  f"({b['sequential_tokens_max']}) | {b['parallel_tokens']} "
                  f"({b['parallel_tokens_max']}) |" for b in row["cm_rl"]["budgets"]]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true",
                        default=os.environ.get("GPU_DRY_RUN") == "1",
                        help="the CPU dry run (also GPU_DRY_RUN=1): 1m, a few rows and steps")
    parser.add_argument("--dataset", type=Path, default=ROOT / ".gpu-data" / "countdown",
                        help="the dataset folder prepare.sh built")
    parser.add_argument("--policy", type=Path,
                        help="a checkpoint for the frontier benchmark (default: SFT a 1m "
                             "policy first, a stage of its own)")
    parser.add_argument("--out", type=Path,
                        default=Path(os.environ.get("OUT") or "gpu-results"),
                        help="results folder (default $OUT, else ./gpu-results)")
    parser.add_argument("--k", type=int, nargs="+", help="the k values (default 0 2 4)")
    parser.add_argument("--budget", type=float, help="overall seconds (default: the plan's)")
    args = parser.parse_args(argv)
    # TRL 1.16 calls transformers APIs that transformers 5 renamed (as the CLI, hidden).
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    if not (args.dataset / "manifest.json").is_file():
        print(f"--dataset: {args.dataset} is not a searchtrace dataset (no manifest.json); "
              "run bench/gpu/prepare.sh first", file=sys.stderr)
        return 2
    if args.policy is not None and not (args.policy / "config.json").is_file():
        print(f"--policy: {args.policy} is not a Hugging Face model folder (no config.json)",
              file=sys.stderr)
        return 2
    plan = dry_plan() if args.dry_run else gpu_plan()
    if args.dry_run:
        import torch

        # A plumbing check, often on a busy shared CPU, where several threads per process
        # spin against each other: one thread ran the 1m model's generation 10x faster.
        torch.set_num_threads(1)
    overrides = {**({"ks": tuple(args.k)} if args.k else {}),
                 **({"budget_s": args.budget} if args.budget else {})}
    plan = replace(plan, **overrides)
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="searchtrace-gpu-"))
    try:
        results = run(plan, args.dataset.resolve(), args.policy, args.out, work,
                      args.dry_run)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (args.out / "results.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
