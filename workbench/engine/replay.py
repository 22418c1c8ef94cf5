"""Monte-Carlo replay of step-level search over cached trees: the parts every search shares.

A search replayed over a cache must behave as it would with fresh generations, using only what
the cache holds:

* "expand a node by m" draws m of its cached children uniformly WITHOUT replacement (what m
  fresh samples would give when the cache holds all of the node's children). The node must be
  `expanded` and hold at least m children; otherwise the draw is NOT covered: the cache cannot
  say what the search would see, and the engine never invents nodes. With ``replace=True`` a
  node with fewer than m (but at least one) children is sampled with replacement instead, and
  the result is flagged biased.
* Score ties in a selection are broken uniformly at random (fresh candidates come in random
  order).
* The final answer is weighted best-of-N over the finished candidates: sum the scores of the
  terminals that share an answer, take the largest sum; ties between answers count as a
  uniform pick (their mean correctness), so no extra noise is added there.

Every draw runs vectorised over `draws` replicates of one problem (arrays of shape (R, ...));
Python loops only over problems, budgets and search depth. A problem is COVERED at a budget
when every one of its draws replayed without meeting a gap in the cache; uncovered problems are
left out of the curve (all budgets, so accuracies stay comparable across budgets), listed in
``Curve.meta["uncovered"]``, and counted in ``Curve.coverage`` with a `CoverageWarning`.
With a finite number of draws a gap reached with tiny probability can go unseen;
``meta["replayable_share"]`` gives, per problem and budget, the share of draws that replayed.
"""

from __future__ import annotations

import math
import warnings
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.engine.budgets import check_budgets as check_budget_values
from workbench.engine.cost import CostModel
from workbench.engine.montecarlo import vote_share
from workbench.engine.results import Curve
from workbench.engine.strategy import RngLike, Strategy
from workbench.engine.tree import ProblemTree, TreeData
from workbench.errors import BiasedEstimateWarning, CoverageWarning, StrategyError


@dataclass
class Draws:
    """Mutable state of R Monte-Carlo draws of one search on one problem.

    `ok[r]` turns False when draw r needs a node the cache cannot provide; `counts`/`sums`
    hold the weighted best-of-N tallies per answer id and `finals` how many candidates have
    joined the final pool; costs count generated nodes, their tokens, and the tokens a verifier
    reads to score them (each node's whole prefix).
    """

    ok: np.ndarray
    generations: np.ndarray
    tokens: np.ndarray
    verified: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    finals: np.ndarray
    resampled: bool = False

    @classmethod
    def start(cls, tree: ProblemTree, draws: int) -> Draws:
        a = len(tree.answer_keys)
        return cls(
            ok=np.ones(draws, dtype=bool),
            generations=np.zeros(draws),
            tokens=np.zeros(draws),
            verified=np.zeros(draws),
            counts=np.zeros((draws, a), dtype=np.int64),
            sums=np.zeros((draws, a)),
            finals=np.zeros(draws, dtype=np.int64),
        )

    def charge(self, nodes: np.ndarray, made: np.ndarray, tree: ProblemTree) -> None:
        """Add the cost of generating (and scoring) the `made` entries of `nodes` (R, ...)."""
        axes = tuple(range(1, nodes.ndim))
        n = np.maximum(nodes, 0)
        self.generations += made.sum(axis=axes)
        self.tokens += np.where(made, tree.tokens[n], 0.0).sum(axis=axes)
        self.verified += np.where(made, tree.prefix_tokens[n], 0.0).sum(axis=axes)


def expand(
    tree: ProblemTree,
    frontier: np.ndarray,
    m: int,
    rng: np.random.Generator,
    state: Draws,
    *,
    replace: bool,
) -> np.ndarray:
    """Draw m cached children for every frontier node: (R, K) -> (R, K, m) node numbers.

    Frontier entries -1 (no node) give -1 children. A node that is not `expanded`, or holds
    fewer than m children (fewer than 1 with ``replace``), marks its draw as not covered.
    The m drawn children come in uniformly random order.
    """
    valid = frontier >= 0
    f = np.where(valid, frontier, tree.root)
    nchild = np.where(valid, tree.nchild[f], 0)
    short = nchild < m
    if replace:
        gap = valid & (~tree.expanded[f] | (nchild == 0))
    else:
        gap = valid & (~tree.expanded[f] | short)
    state.ok &= ~gap.any(axis=1)

    kids = tree.children[f]  # (R, K, W)
    if kids.shape[-1] < m:
        pad = np.full((*kids.shape[:-1], m - kids.shape[-1]), -1, dtype=kids.dtype)
        kids = np.concatenate([kids, pad], axis=-1)
    # Without replacement: the m smallest of iid uniform keys give a uniform m-subset in
    # uniformly random order; padding (-1) gets key 2 so it sorts last.
    keys = rng.random(kids.shape)
    keys[kids < 0] = 2.0
    pick = np.argsort(keys, axis=-1)[..., :m]
    out = np.take_along_axis(kids, pick, axis=-1)
    if replace and bool((valid & short & (nchild > 0)).any()):
        state.resampled = True
        rows = valid & short & (nchild > 0)
        draw = (rng.random(out.shape) * np.maximum(nchild, 1)[..., None]).astype(np.int64)
        with_repl = np.take_along_axis(kids, draw, axis=-1)
        out = np.where(rows[..., None], with_repl, out)
    out = np.where(valid[..., None], out, -1)
    state.charge(out, out >= 0, tree)
    return out


def top_k(
    key: np.ndarray, active: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the k largest `key` among `active` entries of each row, ties at random.

    Returns (positions (R, k), chosen (R, k) bool: False where a row had fewer than k active).
    """
    primary = np.where(active, -key, np.inf)
    order = np.lexsort((rng.random(key.shape), primary), axis=-1)[:, :k]
    chosen = np.take_along_axis(active, order, axis=-1)
    return order, chosen


def finish(tree: ProblemTree, nodes: np.ndarray, mask: np.ndarray, state: Draws, *,
           cap: int | None = None, rng: np.random.Generator | None = None) -> None:
    """Add the masked nodes (terminals, or anything at the depth limit) to the final pool.

    Non-terminal nodes carry no answer and add nothing to the vote (they still take a place in
    the pool); a terminal adds its score to its answer. With `cap`, a draw's pool stops at
    `cap` candidates: the first to finish are kept (search-and-learn's default,
    ``sort_completed=False``), and among candidates finishing at the same step a uniformly
    random subset fills the places left (they come in no meaningful order).
    """
    r = state.ok.shape[0]
    flat = mask.reshape(r, -1)
    if cap is not None:
        assert rng is not None
        keys = np.where(flat, rng.random(flat.shape), 2.0)
        rank = np.argsort(np.argsort(keys, axis=1), axis=1)  # random order, masked ones first
        flat = flat & (rank < (cap - state.finals)[:, None])
        mask = flat.reshape(mask.shape)
    state.finals += flat.sum(axis=1)
    nodes = np.where(mask, nodes, tree.root)
    ans = tree.answer[nodes]
    use = mask & (ans >= 0)
    rows = np.broadcast_to(np.arange(r).reshape(-1, *([1] * (nodes.ndim - 1))), nodes.shape)
    np.add.at(state.sums, (rows[use], ans[use]), tree.score[nodes[use]])
    np.add.at(state.counts, (rows[use], ans[use]), 1)


def weighted_outcome(tree: ProblemTree, state: Draws) -> np.ndarray:
    """(R,) expected correctness of the weighted best-of-N answer of each draw (0 if none).

    Tied answers (equal score sums up to rounding) are averaged: a uniform tie-break.
    """
    if not tree.answer_keys:
        return np.zeros(state.ok.shape[0])
    return vote_share(state.counts, np.nan_to_num(tree.answer_correct), state.sums)


@dataclass(frozen=True)
class Rollout:
    """Greedy rollouts from every node: follow the cached child of highest score k times.

    `end[i]` is where the rollout from node i stops (a terminal, the depth limit, or k steps);
    `steps`/`tokens`/`verified` its cost; `ok[i]` False when it needed a child the cache lacks.
    """

    end: np.ndarray
    steps: np.ndarray
    tokens: np.ndarray
    verified: np.ndarray
    ok: np.ndarray


def greedy_rollout(tree: ProblemTree, k: int, max_depth: int) -> Rollout:
    """Roll every node out k steps with the highest-scoring cached child (first on ties).

    Stands in for Snell et al.'s temperature-0 rollout: the most likely continuation the cache
    holds, as scored by the verifier. Vectorised over nodes; a loop over the k steps only.
    """
    n = tree.n_nodes
    score = np.where(np.isnan(tree.score), -np.inf, tree.score)
    kid_scores = np.where(tree.children >= 0, score[np.maximum(tree.children, 0)], -np.inf)
    best = np.where(tree.nchild > 0,
                    tree.children[np.arange(n), np.argmax(kid_scores, axis=1)], -1)
    end = np.arange(n)
    steps = np.zeros(n, dtype=np.int64)
    tokens = np.zeros(n)
    verified = np.zeros(n)
    ok = np.ones(n, dtype=bool)
    for _ in range(k):
        going = ok & ~tree.terminal[end] & (tree.depth[end] < max_depth)
        gap = going & (~tree.expanded[end] | (tree.nchild[end] == 0))
        ok &= ~gap
        move = going & ~gap
        if not move.any():
            break
        nxt = best[end[move]]
        tokens[move] += tree.tokens[nxt]
        verified[move] += tree.prefix_tokens[nxt]
        steps[move] += 1
        end[move] = nxt
    return Rollout(end=end, steps=steps, tokens=tokens, verified=verified, ok=ok)


# --- checks shared by the tree strategies ---------------------------------------------------

def tree_of(data: Any, strategy: str) -> tuple[TreeData, CostModel]:
    """The `TreeData` of `data` (a `RunData`, or a `TreeData` itself) and its cost model."""
    if isinstance(data, TreeData):
        return data, CostModel()
    data.require({"tree"}, strategy)
    return data.tree, data.cost_model


def check_searchable(data: TreeData, strategy: str) -> None:
    """A scored search needs a score on every non-root node and a grade on every terminal."""
    for t in data.problems:
        missing = np.flatnonzero(np.isnan(t.score) & (t.parent >= 0))
        if missing.size:
            raise StrategyError(
                f"{strategy} needs a score on every non-root tree node; problem "
                f"{t.problem_id!r} node {t.node_ids[missing[0]]!r} has none"
            )
        ungraded = np.flatnonzero(t.terminal & np.isnan(t.is_correct))
        if ungraded.size:
            raise StrategyError(
                f"{strategy} needs `is_correct` on every terminal node; problem "
                f"{t.problem_id!r} node {t.node_ids[ungraded[0]]!r} has none"
            )


def check_int(value: Any, name: str, *, minimum: int) -> int:
    """An integer parameter >= minimum, else a StrategyError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise StrategyError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


SQRT = "sqrt"
"""The width M = sqrt(N) that Snell et al. compare with M = 4 (budgets N perfect squares)."""


def check_width(width: Any) -> int | str:
    """An integer width >= 1, or "sqrt" (M = sqrt(N) at each budget)."""
    if width == SQRT:
        return SQRT
    return check_int(width, "width", minimum=1)


def width_at(width: int | str, beams: int) -> int | None:
    """The width M at N = `beams` candidates per step, None where N cannot use it (N not a
    multiple of M, or not a perfect square for M = sqrt(N)).

    >>> width_at(4, 16), width_at("sqrt", 16), width_at("sqrt", 8), width_at(4, 6)
    (4, 4, None, None)
    """
    if width == SQRT:
        m = math.isqrt(beams)
        return m if m * m == beams else None
    assert isinstance(width, int)
    return width if beams % width == 0 else None


def check_budgets(budgets: Sequence[int], width: int | str, strategy: str, *,
                  per_beam: int = 1) -> np.ndarray:
    """Budgets must be positive integers and multiples of the width M (N/M beams), times
    `per_beam` generations per candidate (lookahead's k + 1); with M = sqrt(N), N must be a
    perfect square."""
    out = check_budget_values(budgets)
    for n in out.tolist():
        if n % per_beam == 0 and width_at(width, n // per_beam) is not None:
            continue
        if width == SQRT:
            raise StrategyError(
                f"{strategy}: budget N={n} does not fit the width M = sqrt(N): N"
                + ("" if per_beam == 1 else f"/(k+1) = N/{per_beam}")
                + " must be a perfect square, e.g. N in "
                f"{[per_beam * i * i for i in (1, 2, 4, 8)]}")
        assert isinstance(width, int)
        step = width * per_beam
        what = (f"the width M={width}" if per_beam == 1 else
                f"M(k+1) = {width} x {per_beam} (N(k+1) generations per step)")
        raise StrategyError(
            f"{strategy}: budget N={n} must be a multiple of {what} "
            f"(N/M beams of M each); e.g. N in {[step * i for i in (1, 2, 4, 8)]}"
        )
    return out


# --- from per-problem draws to a Curve --------------------------------------------------------

@dataclass(frozen=True)
class ProblemDraws:
    """What one replay of one problem at one budget returns, per draw."""

    success: np.ndarray
    ok: np.ndarray
    generations: np.ndarray
    tokens: np.ndarray
    verified: np.ndarray
    resampled: bool

    @classmethod
    def of(cls, success: np.ndarray, state: Draws) -> ProblemDraws:
        return cls(success=success, ok=state.ok, generations=state.generations,
                   tokens=state.tokens, verified=state.verified, resampled=state.resampled)

    @classmethod
    def uncovered(cls, draws: int) -> ProblemDraws:
        """Every draw fails at the first step (the root cannot give the first candidates)."""
        zero = np.zeros(draws)
        return cls(success=zero, ok=np.zeros(draws, dtype=bool), generations=zero,
                   tokens=zero, verified=zero, resampled=False)


def root_gap(tree: ProblemTree, n: int, *, replace: bool) -> bool:
    """True when the root cannot give n first-step candidates (no draw can replay)."""
    have = int(tree.nchild[tree.root])
    return not tree.expanded[tree.root] or have == 0 or (have < n and not replace)


ReplayFn = Callable[[ProblemTree, int, np.random.Generator], ProblemDraws]


def replay_curve(
    strategy: str,
    params: dict[str, Any],
    data: TreeData,
    budgets: np.ndarray,
    replay: ReplayFn,
    rng: np.random.Generator,
    cost_model: CostModel,
) -> Curve:
    """Run `replay(tree, budget, rng)` for every problem and budget; assemble the Curve."""
    p, b = len(data.problems), budgets.size
    est, se, share = np.zeros((p, b)), np.zeros((p, b)), np.zeros((p, b))
    spent = np.zeros((3, p, b))  # generations, tokens, verified tokens
    resampled = False
    for i, tree in enumerate(data.problems):
        for j, n in enumerate(budgets.tolist()):
            d = replay(tree, n, rng)
            share[i, j] = d.ok.mean()
            resampled |= d.resampled
            if not d.ok.all():
                continue
            r = d.success.shape[0]
            est[i, j] = d.success.mean()
            se[i, j] = d.success.std(ddof=1) / np.sqrt(r) if r > 1 else 0.0
            spent[:, i, j] = d.generations.mean(), d.tokens.mean(), d.verified.mean()
    if resampled:
        warnings.warn(
            f"{strategy} on run {data.run_id!r}: nodes with fewer cached children than needed "
            "were sampled with replacement (replace=True); the estimate is biased",
            BiasedEstimateWarning, stacklevel=3,
        )
    return coverage_curve(strategy, params, data, budgets, est, se, share, spent, cost_model,
                          exact=False, biased=resampled)


def coverage_curve(
    strategy: str,
    params: dict[str, Any],
    data: TreeData,
    budgets: np.ndarray,
    est: np.ndarray,
    se: np.ndarray,
    share: np.ndarray,
    spent: np.ndarray,
    cost_model: CostModel,
    *,
    exact: bool,
    biased: bool,
) -> Curve:
    """The Curve of a tree replay from (P, B) estimates over ALL problems of `data`.

    `share` is the replayable share of draws per cell; rows are the problems covered (share 1)
    at every budget; `spent` (3, P, B) holds mean generations, generated tokens and verified
    tokens per cell. Warns (`CoverageWarning`) when some problem is left out.
    """
    p, b = share.shape
    covered_cell = share == 1.0
    rows = covered_cell.all(axis=1)
    ids = data.problem_ids
    coverage = float(rows.mean()) if p else 0.0
    by_budget = covered_cell.mean(axis=0) if p else np.zeros(b)
    if coverage < 1.0:
        per_budget = dict(zip(budgets.tolist(), by_budget.round(3).tolist(), strict=True))
        warnings.warn(
            f"{strategy}({', '.join(f'{k}={v}' for k, v in params.items())}) on run "
            f"{data.run_id!r}: the cache covers {rows.sum()} of {p} problems at every budget "
            f"(share per budget {per_budget}); accuracy is over the covered problems only",
            CoverageWarning, stacklevel=4,
        )
    mean = np.full((3, b), np.nan)
    if rows.any():
        mean = spent[:, rows].mean(axis=1)
    # the policy generating a node processes its prefix (prompt) and its step (output): the
    # node's whole prefix, which is also what the verifier reads (see engine.cost)
    cost = cost_model.cost(mean[0], output_tokens=mean[1], prompt_tokens=np.full(b, np.nan),
                           verified_tokens=mean[2], policy_tokens=mean[2])
    return Curve(
        strategy=strategy, params=params, run_id=data.run_id, problem_ids=ids[rows],
        budgets=budgets.astype(np.int64), per_problem=est[rows], mc_se=se[rows], cost=cost,
        exact=exact, biased=biased, coverage=coverage,
        meta={
            "coverage_by_budget": by_budget,
            "uncovered": {int(n): ids[~covered_cell[:, j]].tolist()
                          for j, n in enumerate(budgets.tolist())},
            "replayable_share": share,
            "all_problem_ids": ids,
            "cost_note": "tree nodes carry no prompt tokens, so money is NaN; FLOPs charge "
                         "policy and verifier alike over each generated node's whole solution "
                         "prefix (the question prompt excluded for both)",
        },
    )


# --- the searches with a width M: beam, lookahead, DVTS ---------------------------------------

class WidthSearch(Strategy):
    """Base of the searches that spend N generations per step in groups of M (`width`),
    replayed with `draws` Monte-Carlo replicates per problem and budget.

    A subclass implements `replay` (the draws of one problem at one budget) and may override
    `prepare` (per-problem work done once for every budget, e.g. lookahead's rollouts).

    Args:
        width: M; every budget N must be a multiple of it. "sqrt": M = sqrt(N) at each budget
            (Snell et al.'s second width; budgets must be perfect squares).
        draws: Monte-Carlo replicates per problem and budget.
        max_depth: depth at which every candidate is final (default: the tree's deepest node).
    """

    needs = frozenset({"tree"})

    def __init__(self, width: int | str = 4, *, draws: int = 1000,
                 max_depth: int | None = None):
        self.width = check_width(width)
        self.draws = check_int(draws, "draws", minimum=1)
        self.max_depth = None if max_depth is None else check_int(max_depth, "max_depth",
                                                                  minimum=1)

    def params(self) -> dict[str, Any]:
        return {"width": self.width}

    per_beam: int = 1
    """Generations each candidate costs per step: the budget N on the generations axis buys
    N / per_beam candidates per step (lookahead: k + 1)."""

    def fits(self, budget: int) -> bool:
        """Whether this configuration can run at `budget` (generations per step)."""
        return budget % self.per_beam == 0 and width_at(self.width,
                                                        budget // self.per_beam) is not None

    def prepare(self, tree: ProblemTree, max_depth: int) -> Any:
        """Per-problem precomputation passed to `replay` as `context` (default: none)."""
        return None

    @abstractmethod
    def replay(
        self, tree: ProblemTree, n: int, rng: np.random.Generator, *, replace: bool,
        max_depth: int, width: int, context: Any = None,
    ) -> ProblemDraws:
        """`draws` replays of the search with n candidates per step, width `width`, on one
        problem."""

    def curve(
        self, data: Any, budgets: Sequence[int], *, rng: RngLike = None, replace: bool = False
    ) -> Curve:
        tree_data, cost_model = tree_of(data, self.name)
        check_searchable(tree_data, self.name)
        ns = check_budgets(budgets, self.width, self.name, per_beam=self.per_beam)
        max_depth = self.max_depth or tree_data.max_depth
        gen = np.random.default_rng(rng)
        contexts: dict[str, Any] = {}

        def one(tree: ProblemTree, n: int, g: np.random.Generator) -> ProblemDraws:
            if tree.problem_id not in contexts:
                contexts[tree.problem_id] = self.prepare(tree, max_depth)
            beams = n // self.per_beam
            width = width_at(self.width, beams)
            assert width is not None  # check_budgets above
            return self.replay(tree, beams, g, replace=replace, max_depth=max_depth,
                               width=width, context=contexts[tree.problem_id])

        return replay_curve(self.name, self.params(), tree_data, ns, one, gen, cost_model)
