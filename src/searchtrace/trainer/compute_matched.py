"""Compute-matched evaluation ("To Backtrack or Not to Backtrack"): at each token budget B,
sequential search (one sampled output of up to B new tokens) against parallel sampling (N
outputs of B/N tokens each, judged as pass@N and by majority vote), on the same problems,
with pass@k for k = 1..N by the unbiased estimator of Chen et al. (2021).

The pure parts (budget shares, the estimator, the vote, the report) are separate from
generation, which is one small seeded function (`sample_completions`) that tests run on a
real tiny model. Every sample is judged by the task's own answer checker."""

from __future__ import annotations

import hashlib
import inspect
import json
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from searchtrace.errors import UserError
from searchtrace.rewards import analyse
from searchtrace.tasks import get_task
from searchtrace.tasks.base import extract_answer

TIE_BREAK = ("ties between equally common answers go to the answer whose first sample "
             "came earliest (sample order is the seeded draw order)")


@dataclass(frozen=True)
class SamplingSettings:
    """How the compute-matched evaluation samples: N parallel samples per budget, each
    budget in `budgets`, and the seeded sampler's temperature and nucleus (top-p) mass."""

    samples: int
    budgets: tuple[int, ...]
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise UserError(f"--samples: must be at least 1, got {self.samples}")
        if not self.budgets:
            raise UserError("--budget: give at least one token budget")
        for budget in self.budgets:
            if budget < self.samples:
                raise UserError(f"--budget: each budget must be at least --samples "
                                f"({self.samples}) so every sample gets a token; got {budget}")
        if not self.temperature > 0:
            raise UserError(f"--temperature: must be above 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise UserError(f"--top-p: must be in (0, 1], got {self.top_p}")


@dataclass(frozen=True)
class Sample:
    """One generated output: its token ids (the end token included when it was drawn)
    and the decoded text (special tokens dropped)."""

    token_ids: tuple[int, ...]
    text: str
    stopped: bool  # it drew the end token before its budget ran out

    @property
    def tokens(self) -> int:
        return len(self.token_ids)


@dataclass(frozen=True)
class Judged:
    """A sample judged by the verifier: its `<answer>` block (None when it has none, e.g.
    cut off by its budget), whether the task's checker accepts it, and its length."""

    answer: str | None
    correct: bool
    tokens: int
    text: str


@dataclass(frozen=True)
class BudgetOutcome:
    """One problem at one budget: the sequential sample, the parallel ones, and the vote."""

    budget: int
    sequential: Judged
    parallel: tuple[Judged, ...]
    vote: str | None
    vote_correct: bool


@dataclass(frozen=True)
class BudgetResult:
    """Accuracy at one budget over all problems, and the tokens actually generated."""

    budget: int
    shares: tuple[int, ...]  # each parallel sample's token budget; they sum to `budget`
    problems: int
    sequential_accuracy: float
    parallel_pass_at_n: float
    majority_accuracy: float
    pass_at_k: tuple[float, ...]  # k = 1..N, unbiased, from the N parallel samples
    sequential_tokens: float  # mean generated tokens per problem
    parallel_tokens: float  # mean generated tokens per problem, all N samples together


Generate = Callable[..., list[Sample]]


def budget_shares(budget: int, samples: int) -> tuple[int, ...]:
    """Split `budget` tokens over `samples` outputs as evenly as whole tokens allow (the
    first `budget % samples` get one more), so the shares sum to the budget exactly."""
    if samples < 1 or budget < samples:
        raise UserError(f"--budget: {budget} tokens cannot be split over {samples} samples "
                        "(need a budget of at least the number of samples, at least 1)")
    base, extra = divmod(budget, samples)
    return tuple(base + 1 if i < extra else base for i in range(samples))


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k) / C(n, k),
    computed as 1 - prod_{i=n-c+1}^{n} (1 - k/i), which never forms a large binomial."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def majority_vote(answers: Sequence[str | None]) -> str | None:
    """The most common answer (None: no sample answered); see TIE_BREAK."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    top = max(counts.values())
    return next(a for a in answers if a is not None and counts[a] == top)


def answer_block(text: str) -> str | None:
    """The last complete `<answer>…</answer>` block's content, stripped; None without one."""
    opening = text.find("<answer>")
    if opening == -1 or text.find("</answer>", opening) == -1:
        return None
    return extract_answer(text)


def checks(task_name: str, problem: str | dict[str, Any], answer: str | None) -> bool:
    """Whether the task's answer checker accepts `answer` (never raises: False instead)."""
    if answer is None:
        return False
    data = json.loads(problem) if isinstance(problem, str) else problem
    try:
        return bool(get_task(task_name).check_answer(data, answer).ok)
    except Exception:  # an answer checker must not end an evaluation
        return False


def judge(task_name: str, problem: str | dict[str, Any], style: str, sample: Sample) -> Judged:
    """Judge one sample as `eval` does (the checker on its last `<answer>` block)."""
    correct = analyse(task_name, problem, sample.text, style).correct
    return Judged(answer=answer_block(sample.text), correct=correct, tokens=sample.tokens,
                  text=sample.text)


def sample_seed(seed: int, problem: str, budget: int, mode: str) -> int:
    """The torch generator seed for one problem, budget and mode: a rerun draws the same
    samples, whatever the order or number of the other problems."""
    digest = hashlib.sha256(f"{seed}\0{problem}\0{budget}\0{mode}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def sample_completions(model: Any, tokenizer: Any, prompt: str, shares: Sequence[int], *,
                       seed: int, temperature: float, top_p: float) -> list[Sample]:
    """One sampled completion of `prompt` per share, each of at most its share of new
    tokens, drawn in one batch from a torch generator seeded with `seed`."""
    import torch
    from transformers import DynamicCache

    # transformers 5 renamed the forward's `past_key_values` to `cache`; the cache object is
    # filled in place either way.
    keyword = "cache" if "cache" in inspect.signature(model.forward).parameters else (
        "past_key_values")
    cache = {keyword: DynamicCache()}
    generator = torch.Generator(device=model.device).manual_seed(seed)
    prompt_ids = tokenizer(prompt, return_tensors="pt")["input_ids"].to(model.device)
    step_input = prompt_ids.repeat(len(shares), 1)
    drawn: list[list[int]] = [[] for _ in shares]
    stopped = [False] * len(shares)
    model.eval()
    with torch.no_grad():
        for step in range(max(shares)):
            result = model(input_ids=step_input, use_cache=True, **cache)
            tokens = _draw(result.logits[:, -1, :].float(), generator, temperature, top_p)
            for row, token in enumerate(tokens.tolist()):
                if not stopped[row] and step < shares[row]:
                    drawn[row].append(token)
                    stopped[row] = token == tokenizer.eos_token_id
            if all(s or len(d) >= share for s, d, share in zip(stopped, drawn, shares,
                                                                 strict=True)):
                break
            step_input = tokens[:, None]
    return [Sample(token_ids=tuple(ids), stopped=done,
                   text=tokenizer.decode(ids, skip_special_tokens=True))
            for ids, done in zip(drawn, stopped, strict=True)]


def _draw(logits: Any, generator: Any, temperature: float, top_p: float) -> Any:
    """One token per row from softmax(logits / temperature), restricted to the smallest set
    of most likely tokens whose mass reaches `top_p` (the most likely is always kept)."""
    import torch

    probs = torch.softmax(logits / temperature, dim=-1)
    ordered, order = torch.sort(probs, dim=-1, descending=True)
    before = torch.cumsum(ordered, dim=-1) - ordered  # mass of the tokens ranked above
    ordered = ordered.masked_fill(before >= top_p, 0.0)  # never the first: 0 < top_p
    choice = torch.multinomial(ordered, 1, generator=generator)
    return order.gather(-1, choice).squeeze(-1)


def evaluate_problem(row: dict[str, Any], settings: SamplingSettings, budget: int,
                     generate: Generate) -> BudgetOutcome:
    """Sequential and parallel samples for one problem at one budget, judged and voted."""
    def draw(shares: tuple[int, ...], mode: str) -> list[Judged]:
        samples = generate(row["prompt"], shares,
                           seed=sample_seed(settings.seed, row["prompt"], budget, mode),
                           temperature=settings.temperature, top_p=settings.top_p)
        return [judge(row["task"], row["problem"], row["style"], s) for s in samples]

    (sequential,) = draw((budget,), "sequential")
    parallel = draw(budget_shares(budget, settings.samples), "parallel")
    vote = majority_vote([j.answer for j in parallel])
    return BudgetOutcome(budget=budget, sequential=sequential, parallel=tuple(parallel),
                         vote=vote, vote_correct=checks(row["task"], row["problem"], vote))


def summarise_budget(budget: int, samples: int,
                     outcomes: Sequence[BudgetOutcome]) -> BudgetResult:
    """Accuracies and pass@k at one budget over the problems' outcomes."""
    mean = statistics.fmean
    correct = [sum(j.correct for j in o.parallel) for o in outcomes]
    return BudgetResult(
        budget=budget, shares=budget_shares(budget, samples), problems=len(outcomes),
        sequential_accuracy=mean(float(o.sequential.correct) for o in outcomes),
        parallel_pass_at_n=mean(float(c > 0) for c in correct),
        majority_accuracy=mean(float(o.vote_correct) for o in outcomes),
        pass_at_k=tuple(mean(pass_at_k(samples, c, k) for c in correct)
                        for k in range(1, samples + 1)),
        sequential_tokens=mean(float(o.sequential.tokens) for o in outcomes),
        parallel_tokens=mean(float(sum(j.tokens for j in o.parallel)) for o in outcomes))


def evaluate_compute_matched(rows: Any, settings: SamplingSettings, generate: Generate
                             ) -> tuple[list[BudgetResult], list[dict[str, Any]]]:
    """Every row at every budget: the per-budget results and, per problem, what was drawn."""
    results = []
    problems: list[dict[str, Any]] = [{"prompt": r["prompt"], "budgets": []} for r in rows]
    for budget in settings.budgets:
        outcomes = [evaluate_problem(row, settings, budget, generate) for row in rows]
        results.append(summarise_budget(budget, settings.samples, outcomes))
        for entry, outcome in zip(problems, outcomes, strict=True):
            entry["budgets"].append(asdict(outcome))
    return results, problems


def report_table(results: Sequence[BudgetResult]) -> str:
    """The markdown table of accuracy per budget and mode, and pass@k."""
    n = len(results[0].pass_at_k)
    head = ["budget", "tokens per parallel sample", "sequential", f"parallel pass@{n}",
            "parallel majority", *(f"pass@{k}" for k in range(1, n + 1)),
            "sequential tokens used", "parallel tokens used"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        share = (str(r.shares[0]) if len(set(r.shares)) == 1
                 else f"{min(r.shares)}-{max(r.shares)}")
        cells = [str(r.budget), share, f"{r.sequential_accuracy:.3f}",
                 f"{r.parallel_pass_at_n:.3f}", f"{r.majority_accuracy:.3f}",
                 *(f"{p:.3f}" for p in r.pass_at_k), f"{r.sequential_tokens:.1f}",
                 f"{r.parallel_tokens:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_compute_matched_report(out: Path, results: Sequence[BudgetResult],
                                 problems: list[dict[str, Any]], about: dict[str, Any]) -> None:
    """eval.json (settings, results, every sample), eval.md (the table) and eval.png
    (accuracy against token budget for each mode)."""
    out.mkdir(parents=True, exist_ok=True)
    about = {**about, "tie_break": TIE_BREAK}
    (out / "eval.json").write_text(json.dumps(
        {**about, "results": [asdict(r) for r in results], "problems": problems},
        indent=2) + "\n")
    header = "".join(f"- {k}: `{v}`\n" for k, v in about.items())
    (out / "eval.md").write_text(
        "# Compute-matched evaluation\n\nSequential: one sample of up to B new tokens. "
        "Parallel: N samples sharing B tokens (B/N each), judged as pass@N (any sample "
        "correct) and by majority vote over their `<answer>` blocks. pass@k: unbiased "
        f"estimator from the N parallel samples.\n\n{header}\n{report_table(results)}")
    _plot(out / "eval.png", results)


def _plot(path: Path, results: Sequence[BudgetResult]) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    budgets = [r.budget for r in results]
    n = len(results[0].pass_at_k)
    for label, values in (("sequential (1 x B)", [r.sequential_accuracy for r in results]),
                          (f"parallel pass@{n} ({n} x B/{n})",
                           [r.parallel_pass_at_n for r in results]),
                          (f"parallel majority ({n} x B/{n})",
                           [r.majority_accuracy for r in results])):
        axis.plot(budgets, values, marker="o", label=label)
    if len(set(budgets)) > 1:
        axis.set_xscale("log", base=2)
    axis.set_xlabel("token budget per problem (B)")
    axis.set_ylabel("accuracy")
    axis.set_ylim(-0.02, 1.02)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
