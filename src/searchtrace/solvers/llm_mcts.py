"""Monte Carlo tree search whose moves come from a language model (ReST-MCTS*/ASTRO style).

Many problems are searched at once, in waves. Each wave selects, in every unfinished
tree, the leaves PUCT wants expanded and asks the policy for `n` candidate next lines
for all of them in one batched call. A node's prompt is the problem prompt and the
rendered path to it, so siblings share their prefix (the server's prefix cache serves
it). Every proposal is read by the task's step parser and checked by the rules: a legal
move becomes a child (its prior is the share of samples that proposed it); an illegal or
unreadable proposal becomes a dead-end node carrying the rule's reason and the model's
text, a real mistake of the model, caught and named. Values come from the rules (solved,
dead, else the heuristic), from policy rollouts (one more batched call a wave), or both;
`visits` and `value_sum` give per-step value targets as in the symbolic MCTS. Its nodes
are `ProposedNode`s: the symbolic MCTS's node plus the model's line and its prior.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field

from searchtrace.solvers.base import SearchProblem, Settings, Solver
from searchtrace.solvers.classify import classify, mark_unexpanded
from searchtrace.solvers.mcts import ValuedNode, backpropagate
from searchtrace.solvers.policy import Policy, Sampling, timed_complete
from searchtrace.tasks.base import DeadEnd, Phrasing, Rules, Verdict
from searchtrace.traces.parse import MAX_LINE_CHARS
from searchtrace.traces.replay import read_dead_end, read_move
from searchtrace.traces.styles import get_style
from searchtrace.traces.styles.base import Style
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE, Step, Trace
from searchtrace.traces.tree import SearchTree


class LlmMctsSection(Settings):
    """Language-model-guided MCTS, the config section `solver.llm_mcts`: waves per problem
    at most (one expansion each, or `expansions_per_wave`), the PUCT exploration constant,
    where values come from (the rules, policy rollouts, or both), how often a node whose
    proposals all broke the rules is asked again before it closes, and how many problems
    are searched together (their frontiers go to the policy in one batched call per wave)."""

    simulations: int = Field(default=32, ge=1, le=100_000)
    exploration: float = Field(default=1.0, gt=0, le=100)
    value: Literal["rules", "rollout", "both"] = "rules"
    expansions_per_wave: int = Field(default=1, ge=1, le=1024)
    resamples: int = Field(default=2, ge=0, le=100)
    problems_per_batch: int = Field(default=64, ge=1, le=100_000)
    rollout_max_tokens: int = Field(default=256, ge=1, le=100_000)


@dataclass(frozen=True)
class LlmMctsSettings:
    """How one batch is searched (the config section with the policy's sampling): waves
    per problem at most, the PUCT exploration constant, where values come from,
    leaves expanded per tree in one wave, how often a node whose proposals all broke the
    rules is asked again with fresh samples, and the sampling of steps and rollouts."""

    step: Sampling
    simulations: int = 32
    exploration: float = 1.0
    value: str = "rules"
    expansions_per_wave: int = 1
    resamples: int = 2
    rollout_max_tokens: int = 256

    @property
    def rollout(self) -> Sampling:
        return Sampling(n=1, temperature=self.step.temperature, top_p=self.step.top_p,
                        max_tokens=self.rollout_max_tokens, stop=("</think>",))


@dataclass
class ProposedNode(ValuedNode):
    """A node of the language-model-guided search: the line the model proposed
    (`proposal`) and the share of samples that proposed it (`prior`); a proposal that
    broke the rules is a dead end with no move and no state."""

    proposal: str | None = None
    prior: float | None = None

    def json_fields(self) -> dict[str, Any]:
        fields = super().json_fields()
        if self.proposal is not None:
            fields["proposal"] = self.proposal
        if self.prior is not None:
            fields["prior"] = self.prior
        return fields


@dataclass(frozen=True)
class Rejection:
    """Why a proposed line is not a legal step: the rule's code and its message."""

    code: str
    message: str


@dataclass
class _Search:
    """One tree being searched, with the bookkeeping PUCT needs between waves."""

    problem: SearchProblem
    tree: SearchTree
    draw: random.Random
    priors: dict[int, float] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)
    expanded: set[int] = field(default_factory=set)
    empty_expansions: dict[int, int] = field(default_factory=dict)
    waves: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    proposals: int = 0
    rejected: int = 0

    def finished(self, settings: LlmMctsSettings, node_budget: int) -> bool:
        return (self.tree.solution is not None or 0 in self.closed
                or self.waves >= settings.simulations or self.tree.nodes_expanded >= node_budget)


def solve_llm_mcts(problems: Sequence[SearchProblem], policy: Policy, settings: LlmMctsSettings,
                   style: str, node_budget: int, seed: int) -> list[SearchTree]:
    """Search all `problems` together, prompting and reading proposals in the style named
    `style`; one tree each, in order. A policy failure raises PolicyError and no tree is
    returned, so no row is ever built on a half-answered wave."""
    in_style = get_style(style)
    searches = []
    for index, problem in enumerate(problems):
        tree = SearchTree(solver=LLM_MCTS.name, node_type=ProposedNode)
        root = tree.add(None, None, problem.rules.initial_state())
        search = _Search(problem, tree, random.Random(_wave_seed(seed, 1_000_000 + index)))
        if classify(problem.rules, tree, root):
            search.closed.add(root.id)
        searches.append(search)
    wave = 0
    while True:
        active = [s for s in searches if not s.finished(settings, node_budget)]
        if not active:
            break
        wave += 1
        leaves = [(search, leaf) for search in active
                  for leaf in _select_leaves(search, settings)]
        if not leaves:
            break
        prompts = [_prompt(search, leaf, in_style) for search, leaf in leaves]
        answers = timed_complete(policy, prompts, settings.step, _wave_seed(seed, wave))
        for search in active:
            search.waves += 1
            search.batch_sizes.append(len(prompts))
        evaluations = []
        for (search, leaf), samples in zip(leaves, answers, strict=True):
            _expand(search, leaf, [s.text for s in samples], in_style, settings.resamples)
            if search.tree.solution is None:
                evaluations.append((search, _pick_child(search, leaf)))
        rollouts: list[str | None] = [None] * len(evaluations)
        if settings.value != "rules":
            wanted = [i for i, (search, node) in enumerate(evaluations)
                      if _known_value(search, node) is None]
            texts = timed_complete(policy, [_prompt(*evaluations[i], in_style) for i in wanted],
                                   settings.rollout, _wave_seed(seed, -wave)) if wanted else []
            for i, samples in zip(wanted, texts, strict=True):
                rollouts[i] = samples[0].text
        for (search, node), rollout in zip(evaluations, rollouts, strict=True):
            if search.tree.solution is None:
                backpropagate(search.tree, node, _value(search, node, rollout, in_style,
                                                         settings.value))
    return [_finish(search) for search in searches]


def _wave_seed(seed: int, wave: int) -> int:
    """A policy seed per wave, drawn from the batch seed (31 bits: what servers accept)."""
    sequence = np.random.SeedSequence(seed % 2**63, spawn_key=(wave % 2**31,))
    return int(sequence.generate_state(1)[0]) % 2**31


def _select_leaves(search: _Search, settings: LlmMctsSettings) -> list[int]:
    """Up to `expansions_per_wave` distinct unexpanded leaves by PUCT; a leaf chosen this
    wave is not chosen again (a virtual loss)."""
    chosen: list[int] = []
    pending: set[int] = set()
    for _ in range(settings.expansions_per_wave):
        leaf = _descend(search, pending, settings.exploration)
        if leaf is None:
            break
        chosen.append(leaf)
        pending.add(leaf)
    return chosen


def _descend(search: _Search, pending: set[int], exploration: float) -> int | None:
    tree = search.tree
    node_id = 0
    if node_id in search.closed:
        return None
    while node_id in search.expanded:
        node = tree.nodes[node_id]
        children = [c for c in node.children if c in search.priors
                    and c not in search.closed and not _blocked(search, c, pending)]
        if not children:
            return None
        root_visits = math.sqrt(max(node.visits, 1))

        def score(child_id: int, root_visits: float = root_visits) -> float:
            child = tree.nodes[child_id]
            q = child.value_sum / child.visits if child.visits else 0.0
            return q + exploration * search.priors[child_id] * root_visits / (1 + child.visits)

        node_id = max(children, key=score)
    return None if node_id in pending else node_id


def _blocked(search: _Search, node_id: int, pending: set[int]) -> bool:
    """A subtree with no leaf left to choose this wave (every open leaf is pending)."""
    if node_id in pending:
        return True
    if node_id not in search.expanded:
        return False
    open_children = [c for c in search.tree.nodes[node_id].children
                     if c in search.priors and c not in search.closed]
    return all(_blocked(search, c, pending) for c in open_children)


def _prompt(search: _Search, node_id: int, style: Style) -> str:
    """The problem prompt, `<think>`, and the path to the node as the trace would say it."""
    tree = search.tree
    path = tree.path_to(node_id)[1:]
    trace = Trace(tuple(Step(MOVE, n) for n in path), "exact", 0, (), (), len(path))
    lines = style.render(trace, tree, search.problem.text, salt=0)
    return search.problem.prompt + "<think>\n" + "".join(line + "\n" for line in lines)


def read_proposal(rules: Rules, text: Phrasing, style: Style, state: Any,
                  line: str) -> tuple[Any, Any] | DeadEnd | Rejection:
    """What a proposed line, read in `style`, means at `state`: a legal (move, next
    state); a dead-end claim the rules confirm; or a rejection with the rule that the line
    breaks."""
    line = line.strip()
    if len(line) > MAX_LINE_CHARS:
        return Rejection("line_too_long", f"the line has {len(line)} characters, at most "
                         f"{MAX_LINE_CHARS} are read")
    event = style.parse_line(line)
    if event is None:
        return Rejection("unparsable_step", f"cannot read {line[:80]!r}")
    if event.kind in (MOVE, DEAD_END):
        read = (read_move(rules, text, state, event.phrases) if event.kind == MOVE
                else read_dead_end(rules, text, state, event.phrases[0]))
        return Rejection(read.code, read.message) if isinstance(read, Verdict) else read
    if event.kind == BACKTRACK:
        return Rejection("backtrack_without_dead_end", "a backtrack must follow a dead-end claim")
    assert event.kind == GOAL
    return Rejection("false_goal", "the goal is claimed in a non-goal state")


def _expand(search: _Search, leaf: int, lines: Sequence[str], style: Style,
            resamples: int) -> None:
    """Turn the leaf's proposals into children: legal moves (deduplicated by the state
    they reach, prior = share of samples) and rejected proposals (deduplicated by text).
    A leaf with no legal proposal stays a leaf, to be asked again up to `resamples`
    times, then closes."""
    tree, rules = search.tree, search.problem.rules
    node = tree.nodes[leaf]
    search.expanded.add(leaf)
    tree.nodes_expanded += 1
    legal: dict[Any, int] = {}
    counts: dict[int, int] = {}
    rejected: set[str] = set()
    for line in lines:
        search.proposals += 1
        meaning = read_proposal(rules, search.problem.text, style, node.state, line)
        if isinstance(meaning, DeadEnd):
            node.status, node.reason = "dead_end", meaning
            continue
        if isinstance(meaning, Rejection):
            search.rejected += 1
            if line not in rejected:
                rejected.add(line)
                _add_rejected(tree, leaf, line, meaning)
            continue
        move, state = meaning
        key = rules.state_key(state)
        if key not in legal:
            child = tree.add(leaf, move, state)
            child.proposal = line.strip()
            legal[key] = child.id
            classify(rules, tree, child)
            if child.status == "dead_end":
                search.closed.add(child.id)
        counts[legal[key]] = counts.get(legal[key], 0) + 1
    tree.children_generated += len(legal)
    total = sum(counts.values())
    for child_id, count in counts.items():
        search.priors[child_id] = count / total
    if node.status == "dead_end":
        _close(search, leaf)
    elif not search.priors.keys() & set(node.children):
        search.empty_expansions[leaf] = search.empty_expansions.get(leaf, 0) + 1
        if search.empty_expansions[leaf] > resamples:
            _close(search, leaf)
        else:
            search.expanded.discard(leaf)  # asked again in a later wave
    else:
        _close_if_exhausted(search, leaf)


def _add_rejected(tree: SearchTree, parent: int, line: str, why: Rejection) -> ProposedNode:
    """A proposal that is not a legal step: a dead-end node without a state, holding the
    model's text and the broken rule."""
    node = tree.add(parent, None, None)
    node.status, node.reason, node.proposal = "dead_end", DeadEnd(why.code, (why.message,)), line
    return node


def _close(search: _Search, node_id: int) -> None:
    search.closed.add(node_id)
    parent = search.tree.nodes[node_id].parent
    if parent is not None:
        _close_if_exhausted(search, parent)


def _close_if_exhausted(search: _Search, node_id: int) -> None:
    """An expanded node all of whose legal children are closed has nothing left to try."""
    children = [c for c in search.tree.nodes[node_id].children if c in search.priors]
    if node_id in search.expanded and all(c in search.closed for c in children):
        _close(search, node_id)


def _pick_child(search: _Search, leaf: int) -> int:
    """The child to evaluate after an expansion, drawn by prior; the leaf if it has none."""
    open_children = [c for c in search.tree.nodes[leaf].children
                     if c in search.priors and c not in search.closed]
    if not open_children:
        open_children = [c for c in search.tree.nodes[leaf].children if c in search.priors]
    if not open_children:
        return leaf
    weights = [search.priors[c] for c in open_children]
    return search.draw.choices(open_children, weights=weights)[0]


def _value(search: _Search, node_id: int, rollout: str | None, style: Style,
           mode: str) -> float:
    """The node's value: known (solved, failed), else by `mode`."""
    known = _known_value(search, node_id)
    if known is not None:
        return known
    node = search.tree.nodes[node_id]
    by_rules = 1.0 / (1.0 + float(search.problem.rules.heuristic(node.state)))
    if mode == "rules":
        return by_rules
    by_rollout = _rollout_value(search, node_id, rollout or "", style)
    return by_rollout if mode == "rollout" else (by_rules + by_rollout) / 2


def _known_value(search: _Search, node_id: int) -> float | None:
    """1 for a solution; 0 for a dead end, a closed node, or a leaf whose proposals all
    broke the rules; None when the value must be estimated."""
    node = search.tree.nodes[node_id]
    if node.status == "solution":
        return 1.0
    failed_leaf = node_id not in search.expanded and node_id in search.empty_expansions
    if node.status == "dead_end" or node_id in search.closed or failed_leaf:
        return 0.0
    return None


def _rollout_value(search: _Search, node_id: int, text: str, style: Style) -> float:
    """Replay the model's continuation from the node: 1 if its moves legally reach a goal
    (the path is grafted into the tree, as the symbolic MCTS does), else 0."""
    rules, tree = search.problem.rules, search.tree
    state = tree.nodes[node_id].state
    steps = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        meaning = read_proposal(rules, search.problem.text, style, state, line)
        if not isinstance(meaning, tuple):
            return 0.0
        move, state = meaning
        steps.append((move, state, line.strip()))
        if rules.is_goal(state):
            parent = node_id
            for step_move, step_state, step_line in steps:
                child = tree.add(parent, step_move, step_state)
                child.proposal = step_line
                parent = child.id
            classify(rules, tree, tree.nodes[parent])
            return 1.0
        if rules.dead_end(state) is not None:
            return 0.0
    return 0.0


def _finish(search: _Search) -> SearchTree:
    """Mark what was never expanded, record the search's statistics, return the tree."""
    tree = search.tree
    if tree.solution is not None:
        backpropagate(tree, tree.solution, 1.0)
    mark_unexpanded(tree, search.expanded)
    for child_id, prior in search.priors.items():
        tree.nodes[child_id].prior = round(prior, 6)
    sizes = search.batch_sizes
    tree.stats = {"waves": search.waves, "proposals": search.proposals,
                  "rejected_proposals": search.rejected,
                  "frontier_batch_max": max(sizes, default=0),
                  "frontier_batch_mean": round(sum(sizes) / len(sizes), 2) if sizes else 0.0}
    return tree


# It searches batches with a policy; its nodes carry values like the symbolic MCTS's.
LLM_MCTS = Solver("llm_mcts", search_batch=solve_llm_mcts, settings_model=LlmMctsSection,
                  needs_policy=True, node_values=True)
