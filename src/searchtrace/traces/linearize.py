"""Turn a search tree into a linear trace: exactly k dead-end branches, or the solver's order.

An exact-k trace walks the verified solution path and, at chosen branch points on it,
takes k distinct excursions: each leaves the path by a move the path does not take, runs
to a state the rules confirm is a failure, and returns to the branch point. Excursions
come first from the solver's own tree; when it has too few, the search is widened at the
branch points with the rules. If still too few, the problem is skipped: k is never capped
and no dead end is used twice.

Soundness: every state an excursion passes through has no solution (`rules.solvable` is
False), so a backtrack never abandons a state from which the goal can still be reached.
An excursion starts only from an unsolvable child of its branch point; every state below
an unsolvable state is unsolvable too (a solution from it would be one from its
ancestor), so the first state decides for the whole excursion. A natural trace keeps the
solver's order and is checked the same way (`require_sound`). Where a task's rules cannot
decide a state (`solvable` raises SolvabilityUndecided: equations, whose legal moves are
infinitely many), the state is not proven hopeless and no backtrack may abandon it.
"""

from __future__ import annotations

from collections.abc import Iterator

from searchtrace.tasks.base import Rules, SolvabilityUndecided
from searchtrace.traces.trace import BACKTRACK, DEAD_END, GOAL, MOVE, Step, Trace
from searchtrace.traces.tree import SearchTree

PLACEMENTS = ("uniform", "early", "late")


class NotEnoughDeadEnds(Exception):
    """The tree, even widened, holds fewer distinct dead-end branches than k."""


class NotEnoughSoundDeadEnds(NotEnoughDeadEnds):
    """Fewer than k distinct dead-end branches start from a state with no solution: the
    others would abandon a solvable state."""


class UnsoundTrace(Exception):
    """A trace in the solver's own order abandons a state from which the goal can still be
    reached (a depth-limited search gave up on it), or one the rules cannot prove has
    no solution."""


def proven_unsolvable(rules: Rules, state: object) -> bool:
    """Whether the rules prove that `state` has no solution. A task that cannot decide a
    state raises SolvabilityUndecided from `solvable` (equations); such a state is not
    proven hopeless."""
    try:
        return not rules.solvable(state)
    except SolvabilityUndecided:
        return False


def abandoned_states(trace: Trace, tree: SearchTree) -> list[int]:
    """Every node a backtrack of `trace` abandons: the path below the backtrack's target,
    the dead-end leaf included, in trace order."""
    path: list[int] = []
    abandoned: list[int] = []
    for step in trace.steps:
        if step.kind == MOVE:
            path.append(step.node)
        elif step.kind == BACKTRACK:
            keep = tree.nodes[step.node].depth  # the target's place on the path
            abandoned.extend(path[keep:])
            del path[keep:]
    return abandoned


def require_sound(trace: Trace, tree: SearchTree, rules: Rules) -> None:
    """Raise UnsoundTrace unless the rules prove that every state `trace` abandons has no
    solution."""
    for node_id in abandoned_states(trace, tree):
        if not proven_unsolvable(rules, tree.nodes[node_id].state):
            raise UnsoundTrace(f"the trace abandons node {node_id}, which the rules do not "
                               "prove hopeless")


def linearize_natural(tree: SearchTree) -> Trace:
    """The solver's own visit order with every backtrack it made, up to the solution.

    Only branches that end in a rule-confirmed dead end (or the solution) are said: a
    branch the solver left for another reason (a depth limit, a budget) proves nothing.
    In depth-first visit order, the next kept node's parent is then always on the path.
    """
    if tree.solution is None:
        raise ValueError("the search found no solution")
    ends = [n.id for n in tree.nodes[: tree.solution + 1]
            if n.id == tree.solution or (n.status == "dead_end" and n.reason is not None
                                         and not n.widened)]
    said = {i for end in ends for i in tree.path_to(end)}
    steps: list[Step] = []
    for node in tree.nodes[1 : tree.solution + 1]:
        if node.id not in said:
            continue
        if steps and steps[-1].kind == DEAD_END:
            steps.append(Step(BACKTRACK, node.parent))
        steps.append(Step(MOVE, node.id))
        if node.status == "dead_end":
            steps.append(Step(DEAD_END, node.id))
    steps.append(Step(GOAL, tree.solution))
    return Trace.from_steps(steps, "natural", tree)


def linearize_exact(
    tree: SearchTree,
    rules: Rules,
    k: int,
    placement: str,
    max_dead_end_length: int,
    dive_budget: int = 2000,
) -> Trace:
    """A trace with exactly `k` sound backtracks; raises NotEnoughDeadEnds when k cannot be
    met (NotEnoughSoundDeadEnds when branches were left out because they were solvable)."""
    path = tree.solution_path()
    branch_points = path[:-1]
    finder = _ExcursionFinder(tree, rules, set(path), max_dead_end_length, dive_budget)
    chosen = _choose(branch_points, k, placement, finder)
    steps: list[Step] = []
    for index, node_id in enumerate(path[1:]):
        branch = path[index]
        for excursion in chosen.get(branch, []):
            steps.extend(Step(MOVE, n) for n in excursion)
            steps.append(Step(DEAD_END, excursion[-1]))
            steps.append(Step(BACKTRACK, branch))
        steps.append(Step(MOVE, node_id))
    steps.append(Step(GOAL, path[-1]))
    return Trace.from_steps(steps, "exact", tree)


def _desired_counts(n_points: int, k: int, placement: str) -> list[int]:
    """How many excursions each branch point should get before falling back to others."""
    counts = [0] * n_points
    if k == 0:
        return counts
    if placement == "early":
        counts[0] = k
    elif placement == "late":
        counts[-1] = k
    else:
        for j in range(k):
            counts[min(n_points - 1, (2 * j + 1) * n_points // (2 * k))] += 1
    return counts


def _fallback_order(n_points: int, placement: str) -> list[int]:
    if placement == "late":
        return list(range(n_points - 1, -1, -1))
    if placement == "early":
        return list(range(n_points))
    middle = (n_points - 1) / 2
    return sorted(range(n_points), key=lambda i: (abs(i - middle), i))


def _choose(
    branch_points: list[int], k: int, placement: str, finder: _ExcursionFinder
) -> dict[int, list[list[int]]]:
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    chosen: dict[int, list[list[int]]] = {}
    if k == 0:
        return chosen
    if not branch_points:
        raise NotEnoughDeadEnds("the solution path has no branch point")
    iterators = {bp: finder.excursions(bp) for bp in branch_points}
    taken = 0

    def take(bp: int, limit: int) -> None:
        nonlocal taken
        while limit > 0 and taken < k:
            excursion = next(iterators[bp], None)
            if excursion is None:
                return
            chosen.setdefault(bp, []).append(excursion)
            taken += 1
            limit -= 1

    for index, want in enumerate(_desired_counts(len(branch_points), k, placement)):
        take(branch_points[index], want)
    for index in _fallback_order(len(branch_points), placement):
        take(branch_points[index], k)
    if taken < k and finder.solvable_skipped:
        raise NotEnoughSoundDeadEnds(
            f"found {taken} distinct dead-end branches from unsolvable states, needed {k}; "
            f"{finder.solvable_skipped} other branch(es) start from a solvable state (or one "
            "the rules cannot prove hopeless)")
    if taken < k:
        raise NotEnoughDeadEnds(f"found {taken} distinct dead-end branches, needed {k}")
    return chosen


class _ExcursionFinder:
    """Yields distinct sound dead-end branches leaving the solution path at a branch point:
    each starts from a child the rules prove has no solution. `solvable_skipped` counts
    the children left out because a solution can still be reached from them (or the rules
    cannot tell)."""

    def __init__(
        self, tree: SearchTree, rules: Rules, on_path: set[int], max_len: int, dive_budget: int
    ) -> None:
        self.tree = tree
        self.rules = rules
        self.on_path = on_path
        self.max_len = max_len
        self.dive_budget = dive_budget
        self.solvable_skipped = 0

    def _sound_start(self, state: object) -> bool:
        """Whether an excursion may start at `state`: only where no solution is left."""
        if proven_unsolvable(self.rules, state):
            return True
        self.solvable_skipped += 1
        return False

    def excursions(self, branch: int) -> Iterator[list[int]]:
        tree, rules = self.tree, self.rules
        used_keys = {rules.state_key(tree.nodes[c].state) for c in tree.nodes[branch].children
                     if c in self.on_path}
        for child in list(tree.nodes[branch].children):
            if child in self.on_path or tree.nodes[child].state is None:
                continue  # the path itself, or a proposal that broke the rules (no state)
            key = rules.state_key(tree.nodes[child].state)
            if key in used_keys:
                continue
            used_keys.add(key)
            if not self._sound_start(tree.nodes[child].state):
                continue
            found = self._dead_leaf_in_tree(child)
            if found is None and not tree.nodes[child].children:
                # generated but never expanded (a breadth-first or best-first frontier node)
                found = self._dive_from(child)
            if found is not None:
                yield found
        for move, state in rules.wider_moves(tree.nodes[branch].state):
            key = rules.state_key(state)
            if key in used_keys:
                continue
            used_keys.add(key)
            if not self._sound_start(state):
                continue
            found = self._dive(branch, move, state)
            if found is not None:
                yield found

    def _dead_leaf_in_tree(self, start: int) -> list[int] | None:
        """First rule-confirmed dead leaf under `start` in visit order, within the cap."""
        tree = self.tree
        base_depth = tree.nodes[start].depth - 1
        stack = [start]
        while stack:
            node = tree.nodes[stack.pop()]
            if node.depth - base_depth > self.max_len or node.state is None:
                continue
            if node.status == "dead_end" and node.reason is not None:
                return tree.path_to(node.id)[base_depth + 1 :]
            stack.extend(reversed(node.children))
        return None

    def _dive_from(self, child: int) -> list[int] | None:
        """Depth-first below an existing leaf child to the first dead state within the cap;
        the new nodes are grafted under it."""
        node = self.tree.nodes[child]
        dead = self.rules.dead_end(node.state)
        if dead is not None:  # the search generated it but never looked: record the verdict
            node.status, node.reason = "dead_end", dead
            return [child]
        below = self._dive(child, None, node.state, start_depth=1)
        return None if below is None else [child, *below]

    def _dive(
        self, branch: int, move: object, state: object, start_depth: int = 0
    ) -> list[int] | None:
        """Depth-first from a new child of `branch` to the first dead state within the cap.

        The nodes on the returned branch are added to the tree as widened nodes. With
        `start_depth=1`, `state` is `branch`'s own state and the dive starts below it.
        """
        rules = self.rules
        budget = self.dive_budget
        # Each frame: (move, state, depth below the branch point, parent frame index)
        frames: list[tuple[object, object, int, int]] = []
        stack: list[tuple[object, object, int, int]]
        if start_depth:
            stack = [(m, s, start_depth + 1, -1) for m, s in reversed(rules.expand(state))]
        else:
            stack = [(move, state, 1, -1)]
        while stack and budget > 0:
            budget -= 1
            entry = stack.pop()
            frames.append(entry)
            here = len(frames) - 1
            _, current, depth, _ = entry
            if rules.is_goal(current):
                continue
            if rules.dead_end(current) is not None:
                return self._graft(branch, frames, here)
            if depth >= self.max_len:
                continue
            for child_move, child_state in reversed(rules.expand(current)):
                stack.append((child_move, child_state, depth + 1, here))
        return None

    def _graft(self, branch: int, frames: list, leaf: int) -> list[int]:
        chain = []
        index = leaf
        while index >= 0:
            chain.append(frames[index])
            index = frames[index][3]
        parent = branch
        ids = []
        for move, state, _, _ in reversed(chain):
            node = self.tree.add(parent, move, state, widened=True)
            parent = node.id
            ids.append(node.id)
        leaf_node = self.tree.nodes[ids[-1]]
        leaf_node.status = "dead_end"
        leaf_node.reason = self.rules.dead_end(leaf_node.state)
        return ids
