"""Compute-matched evaluation: the pass@k estimator against hand computation and brute-force
enumeration, budget shares, the majority vote, the seeded sampler on a real tiny model
(greedy agreement with transformers, budgets never exceeded, reruns identical, batched and
one-at-a-time draws identical), judging by the verifier on handcrafted samples, the report
without matplotlib, and the CLI end to end."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction
from math import comb
from pathlib import Path
from typing import Any

import pytest

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.flows.steps import run_build
from searchtrace.trainer.compute_matched import (
    Request,
    Sample,
    SamplingSettings,
    budget_shares,
    evaluate_compute_matched,
    majority_vote,
    pass_at_k,
    sample_requests,
    write_compute_matched_report,
)
from searchtrace.trainer.data import load_split
from searchtrace.trainer.models import build_tiny_model, train_tokenizer

TINY_DATA = {
    "name": "countdown-compute-matched",
    "task": {"name": "countdown", "preset": "easy",
             "knobs": {"number_range": [1, 20], "target_range": [10, 100],
                       "test_targets": [13, 27, 34]}},
    "traces": {"k_mix": {0: 0.5, 1: 0.5}, "style": "compact", "max_dead_end_length": 3},
    "splits": {"train": 20, "test": 3},
    "seed": 4,
}


def test_pass_at_k_matches_a_hand_computed_case() -> None:
    # 5 samples, 2 correct, k = 2: 1 - C(3, 2) / C(5, 2) = 1 - 3/10
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_at_k(5, 0, 3) == 0.0 and pass_at_k(5, 3, 3) == 1.0  # n - c < k: certain
    assert pass_at_k(200, 1, 1) == pytest.approx(1 / 200)
    assert pass_at_k(1000, 3, 50) == pytest.approx(  # large n: no overflow, still exact
        float(1 - Fraction(comb(997, 50), comb(1000, 50))), rel=1e-12)


def test_pass_at_k_equals_the_share_of_k_subsets_holding_a_correct_sample() -> None:
    for n in range(1, 7):
        for c in range(n + 1):
            outcomes = [True] * c + [False] * (n - c)
            for k in range(1, n + 1):
                subsets = list(itertools.combinations(outcomes, k))
                expected = sum(any(s) for s in subsets) / len(subsets)
                assert pass_at_k(n, c, k) == pytest.approx(expected), (n, c, k)


def test_budget_shares_sum_to_the_budget_and_differ_by_at_most_one() -> None:
    for samples in range(1, 9):
        for budget in range(samples, 60):
            shares = budget_shares(budget, samples)
            assert len(shares) == samples and sum(shares) == budget
            assert max(shares) - min(shares) <= 1 and min(shares) >= 1
    assert budget_shares(10, 4) == (3, 3, 2, 2)
    with pytest.raises(UserError, match="cannot be split"):
        budget_shares(3, 4)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(UserError, match="--samples: must be at least 1"):
        SamplingSettings(samples=0, budgets=(8,))
    with pytest.raises(UserError, match="--budget: each budget must be at least --samples"):
        SamplingSettings(samples=4, budgets=(16, 3))
    with pytest.raises(UserError, match="--top-p"):
        SamplingSettings(samples=1, budgets=(8,), top_p=0)
    with pytest.raises(UserError, match="--temperature"):
        SamplingSettings(samples=1, budgets=(8,), temperature=0)


def test_majority_vote_counts_answers_and_breaks_ties_by_first_appearance() -> None:
    assert majority_vote(["3", "4", "4", None, "3", "4"]) == "4"
    assert majority_vote([None, "7", "5", "5", "7"]) == "7"  # tie: 7 came first
    assert majority_vote(["5", "7"]) == "5"
    assert majority_vote([None, None]) is None and majority_vote([]) is None


def sample_completions(model: Any, tokenizer: Any, prompt: str, shares: tuple[int, ...], *,
                       seed: int, temperature: float, top_p: float) -> list[Sample]:
    """One request's samples, sampled alone."""
    (samples,) = sample_requests(model, tokenizer, [Request(prompt, shares, seed)],
                                 temperature=temperature, top_p=top_p)
    return samples


def test_the_inverse_cdf_pick_follows_the_tempered_nucleus_distribution() -> None:
    import torch

    from searchtrace.trainer.compute_matched import _draw

    probs = torch.tensor([0.1, 0.5, 0.0, 0.15, 0.25])
    grid = (torch.arange(2000) + 0.5) / 2000  # evenly spread uniforms: exact shares
    logits = probs.log().repeat(len(grid), 1)  # token 2: -inf

    def shares(temperature: float, top_p: float) -> list[float]:
        picked = _draw(logits * temperature, grid, temperature, top_p)
        return (torch.bincount(picked, minlength=5).float() / len(grid)).tolist()

    assert shares(1.0, 1.0) == pytest.approx(probs.tolist(), abs=1e-3)
    assert shares(2.0, 1.0) == pytest.approx(probs.tolist(), abs=1e-3)  # logits x T / T
    # nucleus 0.7: 0.5 and 0.25 reach it; renormalised to 2/3 and 1/3
    assert shares(1.0, 0.7) == pytest.approx([0, 2 / 3, 0, 0, 1 / 3], abs=1e-3)
    assert shares(1.0, 1e-9) == [0, 1, 0, 0, 0]  # the most likely only
    # a uniform that rounds to 1 picks the least likely token with mass, never one without
    assert _draw(logits[:1], torch.tensor([1.0 - 1e-9]), 1.0, 1.0).item() == 0


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Torch on one thread while this module runs: the tiny model's generation steps are
    too small to gain from more, and on a busy CPU threads that spin against each other
    made them 10x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compute-matched") / "data"
    run_build(parse_config(TINY_DATA), out)
    return out


@pytest.fixture(scope="module")
def tiny(data: Path) -> tuple[Any, Any]:
    """An untrained 1m model and its tokenizer: real generation, nothing learned."""
    rows = load_split(data, "train")
    tokenizer = train_tokenizer((r["prompt"] + r["completion"] for r in rows), 512)
    return build_tiny_model(tokenizer, "1m", max_positions=512, seed=0), tokenizer


def test_the_sampler_at_a_tiny_top_p_is_greedy_decoding(tiny, data: Path) -> None:
    model, tokenizer = tiny
    prompt = load_split(data, "test")[0]["prompt"]
    (sample,) = sample_completions(model, tokenizer, prompt, (24,), seed=5, temperature=1.0,
                                   top_p=1e-9)
    ids = tokenizer(prompt, return_tensors="pt")
    greedy = model.generate(**ids, max_new_tokens=24, do_sample=False,
                            pad_token_id=tokenizer.pad_token_id,
                            eos_token_id=tokenizer.eos_token_id)
    expected = greedy[0][ids["input_ids"].shape[1]:].tolist()
    assert list(sample.token_ids) == expected[: len(sample.token_ids)]
    assert sample.tokens == len(expected) or sample.stopped


def test_samples_never_exceed_their_budget_and_reruns_draw_the_same(tiny, data: Path) -> None:
    model, tokenizer = tiny
    prompt = load_split(data, "test")[0]["prompt"]
    shares = budget_shares(23, 3)
    drawn = sample_completions(model, tokenizer, prompt, shares, seed=11, temperature=1.3,
                               top_p=0.95)
    for sample, share in zip(drawn, shares, strict=True):
        assert sample.tokens <= share
        if sample.stopped:
            assert sample.token_ids[-1] == tokenizer.eos_token_id
        else:
            assert sample.tokens == share and tokenizer.eos_token_id not in sample.token_ids
        assert sample.text == tokenizer.decode(sample.token_ids, skip_special_tokens=True)
    again = sample_completions(model, tokenizer, prompt, shares, seed=11, temperature=1.3,
                               top_p=0.95)
    assert again == drawn
    other = sample_completions(model, tokenizer, prompt, shares, seed=12, temperature=1.3,
                               top_p=0.95)
    assert other != drawn


def test_batched_and_one_at_a_time_sampling_draw_the_same(tiny, data: Path) -> None:
    model, tokenizer = tiny
    prompts = [r["prompt"] for r in load_split(data, "test")] + ["7 3"]  # unequal lengths
    assert len({len(tokenizer(p)["input_ids"]) for p in prompts}) > 1  # padding is exercised
    requests = [Request(prompt, shares, seed) for prompt in prompts
                for shares, seed in (((30,), 1), (budget_shares(30, 4), 2), ((9, 9), 3))]
    sampling = {"temperature": 1.3, "top_p": 0.9}
    alone = [sample_requests(model, tokenizer, [q], **sampling)[0] for q in requests]
    for batch_rows in (5, 64):  # rows of one request split over calls, and all in one call
        assert sample_requests(model, tokenizer, requests, batch_rows=batch_rows,
                               **sampling) == alone
    swapped = sample_requests(model, tokenizer, requests[::-1], **sampling)
    assert swapped == alone[::-1]
    assert any(s.stopped for samples in alone for s in samples)  # ended by the end token
    assert any(not s.stopped for samples in alone for s in samples)  # ended by the share


def test_both_modes_consume_the_stated_budgets(tiny, data: Path) -> None:
    model, tokenizer = tiny
    rows = load_split(data, "test")
    asked: list[tuple[str, tuple[int, ...], list[Sample]]] = []
    calls = []

    def generate(requests: list[Request], **sampling: Any) -> list[list[Sample]]:
        drawn = sample_requests(model, tokenizer, requests, **sampling)
        calls.append(len(requests))
        asked.extend((q.prompt, q.shares, samples) for q, samples in zip(requests, drawn,
                                                                         strict=True))
        return drawn

    settings = SamplingSettings(samples=3, budgets=(10, 32), seed=1)
    results, problems = evaluate_compute_matched(rows, settings, generate)
    assert calls == [2 * 2 * len(rows)]  # one call: per budget and problem, both modes
    for budget, result in zip((10, 32), results, strict=True):
        calls = [a for a in asked if sum(a[1]) == budget]
        assert sorted(len(shares) for _, shares, _ in calls) == [1] * len(rows) + [3] * len(rows)
        used = {n: [sum(s.tokens for s in samples) for _, shares, samples in calls
                    if len(shares) == n] for n in (1, 3)}
        assert all(u <= budget for u in used[1] + used[3])
        assert result.sequential_tokens == pytest.approx(sum(used[1]) / len(rows))
        assert result.parallel_tokens == pytest.approx(sum(used[3]) / len(rows))
        assert sum(result.shares) == budget
    assert [len(p["budgets"]) for p in problems] == [2] * len(rows)


def test_accuracies_follow_the_verifier_on_handcrafted_samples(data: Path) -> None:
    rows = load_split(data, "test").select(range(2))
    good = {r["prompt"]: r["completion"] for r in rows}

    def wrong(text: str, tag: str) -> str:
        return text.replace("</answer>", f"+{tag}</answer>")

    def generate(requests: list[Request], **sampling: Any) -> list[list[Sample]]:
        return [answer(q.prompt, q.shares) for q in requests]

    def answer(prompt: str, shares: tuple[int, ...]) -> list[Sample]:
        first = prompt == rows[0]["prompt"]
        if len(shares) == 1:  # sequential: right on the first problem only
            texts = [good[prompt] if first else wrong(good[prompt], "1")]
        elif first:  # the right answer twice, two different wrong ones: the vote is right
            texts = [wrong(good[prompt], "1"), good[prompt], wrong(good[prompt], "2"),
                     good[prompt]]
        else:  # one wrong answer twice, then the right one: the vote is wrong
            texts = [wrong(good[prompt], "1"), "<think>\n", good[prompt],
                     wrong(good[prompt], "1")]
        return [Sample(token_ids=(0,) * share, text=t, stopped=True)
                for t, share in zip(texts, shares, strict=True)]

    settings = SamplingSettings(samples=4, budgets=(40,))
    (result,), problems = evaluate_compute_matched(rows, settings, generate)
    assert result.sequential_accuracy == 0.5
    assert result.parallel_pass_at_n == 1.0  # each problem has a right sample
    assert result.majority_accuracy == 0.5
    # per problem: 2 of 4 right, then 1 of 4 right
    assert result.pass_at_k == pytest.approx(
        tuple((pass_at_k(4, 2, k) + pass_at_k(4, 1, k)) / 2 for k in range(1, 5)))
    assert result.pass_at_k[0] == pytest.approx((2 / 4 + 1 / 4) / 2)
    second = problems[1]["budgets"][0]
    assert second["parallel"][1]["answer"] is None  # no answer block: no vote
    assert second["vote"] == second["parallel"][0]["answer"] and not second["vote_correct"]


def test_the_report_is_written_without_its_plot_where_matplotlib_is_absent(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = load_split(data, "test").select(range(2))

    def generate(requests: list[Request], **sampling: Any) -> list[list[Sample]]:
        return [[Sample(token_ids=(1,), text="<think>\n", stopped=False)] * len(q.shares)
                for q in requests]

    results, problems = evaluate_compute_matched(
        rows, SamplingSettings(samples=2, budgets=(4, 8)), generate)
    assert write_compute_matched_report(tmp_path / "with", results, problems, {})
    assert (tmp_path / "with" / "eval.png").read_bytes().startswith(b"\x89PNG")
    assert "](eval.png)" in (tmp_path / "with" / "eval.md").read_text()
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import raises ImportError
    assert not write_compute_matched_report(tmp_path / "without", results, problems, {})
    assert not (tmp_path / "without" / "eval.png").exists()
    report = (tmp_path / "without" / "eval.md").read_text()
    assert "No plot: matplotlib is not installed." in report and "| 8 | 4 |" in report
    assert json.loads((tmp_path / "without" / "eval.json").read_text())["results"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "searchtrace.cli", *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})


def test_the_cli_writes_the_report_and_refuses_bad_input(tiny, data: Path,
                                                         tmp_path: Path) -> None:
    model, tokenizer = tiny
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    out = tmp_path / "eval"
    common = ["eval", "--model", str(folder), "--data", str(data), "--limit", "2"]
    result = run_cli(*common, "--samples", "2", "--budget", "16", "--budget", "6",
                     "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "eval.json").read_text())
    assert report["samples"] == 2 and report["budgets"] == [6, 16] and report["seed"] == 3
    assert [r["budget"] for r in report["results"]] == [6, 16]
    assert [r["shares"] for r in report["results"]] == [[3, 3], [8, 8]]
    assert len(report["problems"]) == 2 and "tie" in report["tie_break"]
    for problem in report["problems"]:
        for entry, share in zip(problem["budgets"], (3, 8), strict=True):
            assert entry["sequential"]["tokens"] <= entry["budget"]
            assert all(s["tokens"] <= share for s in entry["parallel"])
    assert "| budget |" in (out / "eval.md").read_text()
    assert (out / "eval.png").read_bytes().startswith(b"\x89PNG")
    cases = [(["--samples", "4", "--budget", "3"], "each budget must be at least --samples"),
             (["--samples", "0", "--budget", "3"], "--samples: must be at least 1"),
             (["--budget", "8"], "--samples and --budget go together")]
    for args, message in cases:
        result = run_cli(*common, *args, "--out", str(tmp_path / "bad"))
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "bad").exists()
