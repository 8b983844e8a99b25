"""Compute-matched evaluation ("To Backtrack or Not to Backtrack"): at each token budget B,
sequential search (one sampled output of up to B new tokens) against parallel sampling (N
outputs of B/N tokens each, judged as pass@N and by majority vote), on the same problems,
with pass@k for k = 1..N by the unbiased estimator of Chen et al. (2021).

The pure parts (budget shares, the estimator, the vote, the report) are separate from
generation, which is one seeded function (`sample_requests`, batched through transformers'
`generate` so that a GPU samples every problem, budget and mode at once) that tests run on a
real tiny model. Every sample is judged by the task's own answer checker."""

from __future__ import annotations

import hashlib
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


Generate = Callable[..., list[list[Sample]]]  # (requests, *, temperature, top_p)


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
    """The seed of one problem's draws at one budget and mode: a rerun draws the same
    samples, whatever the order or number of the other problems."""
    digest = hashlib.sha256(f"{seed}\0{problem}\0{budget}\0{mode}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class Request:
    """One prompt to sample: one completion per share (its most new tokens), drawn with the
    uniforms of a CPU torch generator seeded with `seed` (a `(len(shares), max(shares))`
    draw; row i's t-th token uses the uniform at [i, t]). The draws depend on the request
    alone, never on the other requests batched with it or on the device."""

    prompt: str
    shares: tuple[int, ...]
    seed: int


def sample_requests(model: Any, tokenizer: Any, requests: Sequence[Request], *,
                    temperature: float, top_p: float, batch_rows: int = 64
                    ) -> list[list[Sample]]:
    """Each request's samples, in order. The rows of all requests (one per share) go through
    `generate` together, left-padded, at most `batch_rows` in a call; a row is made to end
    once its share is spent, so rows of different budgets share a call without running
    longer than the longest. A row's token at step t is the inverse-CDF pick of its own
    uniform, so batching changes no draw (up to floating-point differences in the logits,
    which on a CPU in float32 left every tested draw the same)."""
    import torch

    rows = [(r, i) for r, request in enumerate(requests) for i in range(len(request.shares))]
    uniforms = [torch.rand((len(q.shares), max(q.shares)),
                           generator=torch.Generator().manual_seed(q.seed)) for q in requests]
    drawn: list[list[Sample]] = [[] for _ in requests]
    tokenizer.padding_side = "left"
    model.eval()
    for start in range(0, len(rows), batch_rows):
        chunk = rows[start:start + batch_rows]
        shares = [requests[r].shares[i] for r, i in chunk]
        longest = max(shares)
        row_uniforms = torch.zeros((len(chunk), longest))
        for position, (r, i) in enumerate(chunk):
            row_uniforms[position, :shares[position]] = uniforms[r][i, :shares[position]]
        batch = tokenizer([requests[r].prompt for r, _ in chunk], return_tensors="pt",
                          padding=True).to(model.device)
        width = batch["input_ids"].shape[1]
        choose = _SeededChoice(row_uniforms.to(model.device),
                               torch.tensor(shares, device=model.device),
                               width, tokenizer.eos_token_id, temperature, top_p)
        with torch.no_grad():
            tokens = model.generate(**batch, max_new_tokens=longest, do_sample=False,
                                    logits_processor=[choose],
                                    pad_token_id=tokenizer.pad_token_id,
                                    eos_token_id=tokenizer.eos_token_id)
        for (r, _), share, new in zip(chunk, shares, tokens[:, width:].tolist(), strict=True):
            drawn[r].append(_sample(tokenizer, new[:share]))
    return drawn


def _sample(tokenizer: Any, ids: list[int]) -> Sample:
    """The sample a row's new tokens make: up to and with its first end token."""
    eos = tokenizer.eos_token_id
    stopped = eos in ids
    kept = ids[: ids.index(eos) + 1] if stopped else ids
    return Sample(token_ids=tuple(kept), stopped=stopped,
                  text=tokenizer.decode(kept, skip_special_tokens=True))


class _SeededChoice:
    """A logits processor for greedy `generate` that makes the greedy choice the seeded
    sample: at step t, every score but that of the token picked by row i's uniform [i, t]
    from softmax(scores / temperature) within the top-p nucleus is set to -inf; a row past
    its share gets the end token, so that generate stops it."""

    def __init__(self, uniforms: Any, shares: Any, prompt_width: int, eos: int,
                 temperature: float, top_p: float) -> None:
        self.uniforms, self.shares, self.prompt_width = uniforms, shares, prompt_width
        self.eos, self.temperature, self.top_p = eos, temperature, top_p

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        step = input_ids.shape[1] - self.prompt_width  # < max(shares) = max_new_tokens
        picked = _draw(scores.float(), self.uniforms[:, step], self.temperature, self.top_p)
        picked = torch.where(self.shares > step, picked, self.eos)
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter(1, picked[:, None], 0.0)


def _draw(logits: Any, uniform: Any, temperature: float, top_p: float) -> Any:
    """One token per row from softmax(logits / temperature), restricted to the smallest set
    of most likely tokens whose mass reaches `top_p` (the most likely is always kept): the
    first token, in descending order of probability, whose cumulative mass exceeds the
    row's uniform times the kept mass."""
    import torch

    probs = torch.softmax(logits / temperature, dim=-1)
    ordered, order = torch.sort(probs, dim=-1, descending=True)
    before = torch.cumsum(ordered, dim=-1) - ordered  # mass of the tokens ranked above
    ordered = ordered.masked_fill(before >= top_p, 0.0)  # never the first: 0 < top_p
    mass = torch.cumsum(ordered, dim=-1)
    rank = torch.searchsorted(mass, (uniform * mass[:, -1])[:, None], right=True)
    kept = (ordered > 0).sum(dim=-1, keepdim=True)  # a prefix: the order is descending
    rank = torch.minimum(rank, kept - 1)  # rounding can put u * mass at the mass itself
    return order.gather(-1, rank).squeeze(-1)


MODES = ("sequential", "parallel")


def _outcome(row: dict[str, Any], budget: int, sequential: Sample,
             parallel: Sequence[Sample]) -> BudgetOutcome:
    """One problem at one budget: its samples judged, and the parallel ones voted."""
    judged = [judge(row["task"], row["problem"], row["style"], s)
              for s in (sequential, *parallel)]
    vote = majority_vote([j.answer for j in judged[1:]])
    return BudgetOutcome(budget=budget, sequential=judged[0], parallel=tuple(judged[1:]),
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
    """Every row at every budget, in both modes, sampled in one `generate` call (which
    batches as it can): the per-budget results and, per problem, what was drawn."""
    requests = [Request(row["prompt"], (budget,) if mode == "sequential"
                        else budget_shares(budget, settings.samples),
                        sample_seed(settings.seed, row["prompt"], budget, mode))
                for budget in settings.budgets for row in rows for mode in MODES]
    drawn = iter(generate(requests, temperature=settings.temperature, top_p=settings.top_p))
    results = []
    problems: list[dict[str, Any]] = [{"prompt": r["prompt"], "budgets": []} for r in rows]
    for budget in settings.budgets:
        outcomes = []
        for row in rows:
            (sequential,), parallel = next(drawn), next(drawn)
            outcomes.append(_outcome(row, budget, sequential, parallel))
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
                                 problems: list[dict[str, Any]], about: dict[str, Any]) -> bool:
    """eval.json (settings, results, every sample), eval.md (the table) and, where
    matplotlib is installed (the GPU run's machine has none), eval.png (accuracy against
    token budget for each mode); whether the plot was drawn (eval.md says so either way)."""
    out.mkdir(parents=True, exist_ok=True)
    about = {**about, "tie_break": TIE_BREAK}
    (out / "eval.json").write_text(json.dumps(
        {**about, "results": [asdict(r) for r in results], "problems": problems},
        indent=2) + "\n")
    drawn = _plot(out / "eval.png", results)
    header = "".join(f"- {k}: `{v}`\n" for k, v in about.items())
    plot = ("![accuracy against token budget](eval.png)" if drawn
            else "No plot: matplotlib is not installed.")
    (out / "eval.md").write_text(
        "# Compute-matched evaluation\n\nSequential: one sample of up to B new tokens. "
        "Parallel: N samples sharing B tokens (B/N each), judged as pass@N (any sample "
        "correct) and by majority vote over their `<answer>` blocks. pass@k: unbiased "
        f"estimator from the N parallel samples.\n\n{header}\n{report_table(results)}\n"
        f"{plot}\n")
    return drawn


def _plot(path: Path, results: Sequence[BudgetResult]) -> bool:
    """Draw accuracy against budget per mode into `path`; False when matplotlib is absent."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False

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
    return True
