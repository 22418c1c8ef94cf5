"""revisions(N, ratio): sequential revisions in parallel chains (Snell et al. 2024, sec. 6).

N generations are spent as N/ratio independent chains of `ratio` sequential attempts (each
attempt revises the previous ones); ratio = N is fully sequential, ratio = 1 fully parallel.
Replayed from cached chains: draw N/ratio of the problem's chains uniformly WITHOUT replacement
and take the first `ratio` attempts of each. A chain that stopped before `ratio` attempts
by the generator's own recorded stopping rule (`max_iters`: see `workbench.engine.chains`;
never by the gold grade of its last attempt) keeps its last answer in the later slots and costs
nothing there; any other short chain is a cache cut short and makes the strategy refuse. More
chains than cached needs ``replace=True`` (biased, flagged).

Selection (``select``):

* "majority": plurality over all N answers (the padded slots of a stopped chain vote too: its
  answer stands for every later revision it did not need to make); ties count as a uniform pick.
* "verifier" (needs verifier scores): weighted best-of-N over all N answers (sum the scores
  per answer across chains and attempts; a stopped chain's padded slots count like the
  majority's), Snell et al.'s verifier selection over every revision.
* "hierarchical" (needs verifier scores): within each chain, weighted best-of-N over its
  `ratio` slots (sum the scores per answer, ties broken at random; a stopped chain's padded
  slots count like the majority's); then across chains, weighted best-of-N over the chains'
  picks, each weighted by its within-chain score sum.
* "last": each chain's answer is its last attempt (what a revision loop outputs); plurality
  across chains.

An attempt that could be selected must be graded; otherwise the strategy refuses.

>>> from workbench.engine.chains import ChainData
>>> from workbench.store.records import Sample
>>> rows = [("7", False), ("5", True), ("5", True), ("7", False)]   # 2 chains x 2 attempts
>>> chains = ChainData.from_records("demo", [
...     Sample("p", i, answer_key=k, is_correct=ok, chain_id=i // 2, revision_idx=i % 2)
...     for i, (k, ok) in enumerate(rows)])
>>> Revisions(ratio=2, select="last", draws=2000).curve(chains, [2], rng=0).accuracy.round(1)
array([0.5])
>>> Revisions(ratio=2, draws=100).curve(chains, [4], rng=0).accuracy.tolist()  # 2 vs 2: tie
[0.5]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.engine.budgets import check_budgets
from workbench.engine.chains import ChainData, ProblemChains, Slots, chains_of, first_attempts
from workbench.engine.montecarlo import vote_share
from workbench.engine.replay import check_int
from workbench.engine.results import Curve
from workbench.engine.strategy import RngLike, Strategy, register
from workbench.errors import BiasedEstimateWarning, BudgetError, StrategyError

SELECTIONS = ("majority", "verifier", "hierarchical", "last")
SCORED = ("verifier", "hierarchical")
"""Selections that read verifier scores (the verifier then reads every attempt: its cost)."""


@register
class Revisions(Strategy):
    """revisions(N, ratio) over cached revision chains; budgets are N (total generations).

    Args:
        ratio: sequential attempts per chain (N/ratio chains run in parallel).
        select: "majority", "verifier", "hierarchical" or "last" (see the module doc).
        draws: Monte-Carlo replicates per problem and budget.
    """

    name = "revisions"
    needs = frozenset({"chains"})

    def __init__(self, ratio: int = 4, select: str = "majority", *, draws: int = 1000):
        self.ratio = check_int(ratio, "ratio", minimum=1)
        if select not in SELECTIONS:
            raise StrategyError(f"`select` must be one of {SELECTIONS}, got {select!r}")
        self.select = select
        self.draws = check_int(draws, "draws", minimum=1)

    def params(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "select": self.select}

    def fits(self, budget: int) -> bool:
        """Whether a budget N splits into N/ratio whole chains."""
        return budget % self.ratio == 0

    def _check(self, chains: ChainData, ns: np.ndarray, replace: bool) -> None:
        for n in ns.tolist():
            if n % self.ratio:
                raise StrategyError(
                    f"revisions: budget N={n} must be a multiple of `ratio`={self.ratio} "
                    f"(N/ratio chains of ratio attempts)"
                )
        if self.select in SCORED and not chains.has_scores:
            raise StrategyError(
                f"revisions(select={self.select!r}) needs a verifier score on every attempt; "
                f"run {chains.run_id!r} has none (load it with a verifier) or lacks some"
            )
        need = int(ns.max()) // self.ratio
        fewest = min(c.n_chains for c in chains.problems)
        if need > fewest and not replace:
            short = sum(c.n_chains < need for c in chains.problems)
            raise BudgetError(
                f"revisions: budget N={int(ns.max())} with ratio={self.ratio} needs {need} "
                f"chains per problem, but {short} problem(s) hold fewer (fewest: {fewest}); "
                "pass replace=True for with-replacement draws (biased)"
            )

    def _graded(self, problem: ProblemChains, slots: Slots) -> None:
        last = self.select == "last"
        used = slots.answer[:, -1:] if last else slots.answer
        bad = np.isnan(problem.answer_correct[used])
        if bad.any():
            c, j = np.argwhere(bad)[0]
            attempt = min(self.ratio - 1 if last else int(j), int(problem.length[c]) - 1)
            raise StrategyError(
                f"revisions(select={self.select!r}) may select attempt {attempt} of chain "
                f"{problem.chain_ids[c]!r} of problem {problem.problem_id!r}, which is "
                "ungraded; use pass_at_attempts, or a ratio whose selected attempts are graded"
            )

    def replay(self, problem: ProblemChains, slots: Slots, n: int, rng: np.random.Generator,
               replace: bool) -> tuple[np.ndarray, np.ndarray]:
        """(success (R,), drawn chains (R, K)) of R draws of revisions(n, ratio)."""
        r, k, c = self.draws, n // self.ratio, problem.n_chains
        if replace and k > c:  # only where the cache is too small: elsewhere stay unbiased
            drawn = rng.integers(0, c, size=(r, k))
        else:
            drawn = np.argsort(rng.random((r, c)), axis=1)[:, :k]
        a = len(problem.answer_keys)
        correct = np.nan_to_num(problem.answer_correct)
        rows = np.repeat(np.arange(r), k)
        if self.select == "hierarchical":
            pick, weight = self._within_chain(problem, slots, drawn, rng)
            counts = np.zeros((r, a), dtype=np.int64)
            sums = np.zeros((r, a))
            np.add.at(counts, (rows, pick.ravel()), 1)
            np.add.at(sums, (rows, pick.ravel()), weight.ravel())
            return vote_share(counts, correct, sums), drawn
        answers = slots.answer[drawn]  # (R, K, ratio)
        if self.select == "last":
            answers = answers[..., -1:]
        flat = answers.reshape(r, -1)
        bins = (np.arange(r)[:, None] * a + flat).ravel()
        counts = np.bincount(bins, minlength=r * a).reshape(r, a)
        if self.select == "verifier":  # weighted best-of-N over all N attempts
            sums = np.bincount(bins, weights=slots.score[drawn].ravel(),
                               minlength=r * a).reshape(r, a)
            return vote_share(counts, correct, sums), drawn
        return vote_share(counts, correct), drawn

    def _within_chain(self, problem: ProblemChains, slots: Slots, drawn: np.ndarray,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Each drawn chain's weighted best-of-N answer (random among ties) and its weight."""
        c, a = problem.n_chains, len(problem.answer_keys)
        sums = np.zeros((c, a))
        np.add.at(sums, (np.repeat(np.arange(c), slots.answer.shape[1]), slots.answer.ravel()),
                  slots.score.ravel())
        present = np.zeros((c, a), dtype=bool)
        present[np.repeat(np.arange(c), slots.answer.shape[1]), slots.answer.ravel()] = True
        s = np.where(present, sums, -np.inf)
        top = s.max(axis=1, keepdims=True)
        tied = present & (s >= top - 1e-9 * np.maximum(1.0, np.abs(top)))
        keys = np.where(tied[drawn], rng.random((*drawn.shape, a)), -1.0)
        pick = keys.argmax(axis=-1)
        return pick, sums[drawn, pick]

    def curve(
        self, data: Any, budgets: Sequence[int], *, rng: RngLike = None, replace: bool = False
    ) -> Curve:
        chains, cost_model = chains_of(data, self.name)
        ns = check_budgets(budgets)
        self._check(chains, ns, replace)
        gen = np.random.default_rng(rng)
        p, b = len(chains.problems), ns.size
        est, se = np.zeros((p, b)), np.zeros((p, b))
        spent = np.zeros((4, p, b))  # generations, output, prompt, verified tokens
        for i, problem in enumerate(chains.problems):
            slots = first_attempts(problem, self.ratio, self.name)
            self._graded(problem, slots)
            per_chain = np.stack([slots.generated.sum(axis=1), slots.output_tokens.sum(axis=1),
                                  slots.prompt_tokens.sum(axis=1)])
            for j, n in enumerate(ns.tolist()):
                success, drawn = self.replay(problem, slots, n, gen, replace)
                est[i, j] = success.mean()
                se[i, j] = success.std(ddof=1) / np.sqrt(success.size) if success.size > 1 else 0
                spent[:3, i, j] = per_chain[:, drawn].sum(axis=2).mean(axis=1)
        spent[3] = spent[1] + spent[2]  # a verifier reads each attempt with its prompt
        biased = replace and any(c.n_chains < int(ns.max()) // self.ratio
                                 for c in chains.problems)
        if biased:
            warnings.warn(
                f"revisions on run {chains.run_id!r} draws chains WITH replacement: the "
                "estimate is biased (the curve is flagged `biased`)",
                BiasedEstimateWarning, stacklevel=2,
            )
        mean = spent.mean(axis=1)
        cost = cost_model.cost(
            mean[0], output_tokens=mean[1], prompt_tokens=mean[2],
            verified_tokens=mean[3] if self.select in SCORED else None,
        )
        return Curve(
            strategy=self.name, params=self.params(), run_id=chains.run_id,
            problem_ids=chains.problem_ids, budgets=ns, per_problem=est, mc_se=se, cost=cost,
            exact=False, biased=biased, meta={"draws": self.draws},
        )
