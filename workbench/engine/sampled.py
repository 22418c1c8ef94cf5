"""Plumbing shared by the strategies that resample a pool of independent samples.

`checked_budgets` checks the run holds what the strategy needs and that its pool can serve the
budgets; `sampled_curve` assembles a `Curve` from per-problem estimates: cost of N generations
(and of the verifier reading them), the biased flag and its warning for with-replacement
resampling. `VoteStrategy` is the vote behind majority and weighted best-of-N: exact
(`workbench.engine.exact_vote`) wherever it exists, Monte Carlo elsewhere.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from workbench.engine import exact_vote
from workbench.engine.budgets import check_budgets
from workbench.engine.data import RunData
from workbench.engine.montecarlo import Progress, vote_curve
from workbench.engine.results import Curve
from workbench.engine.strategy import RngLike, Strategy
from workbench.errors import BiasedEstimateWarning, StrategyError


def checked_budgets(strategy: Strategy, data: RunData, budgets: Sequence[int], *,
                    replace: bool, counts: bool = False) -> np.ndarray:
    """`budgets` as int64 (B,), after checking `data` holds what `strategy` needs and that
    every problem's pool (its counts' n with `counts=True`) can serve them."""
    data.require(strategy.needs, strategy.name)  # says what the run lacks
    if counts:
        assert data.counts is not None
        sizes = data.counts.n
    else:
        assert data.pool is not None
        sizes = data.pool.sizes
    return check_budgets(budgets, sizes, replace=replace)


def sampled_curve(
    name: str,
    data: RunData,
    budgets: np.ndarray,
    per_problem: np.ndarray,
    mc_se: np.ndarray | None = None,
    *,
    params: dict[str, Any],
    exact: bool,
    replace: bool,
    verifier: bool,
    accuracy_mc_se: np.ndarray | None = None,
    meta: dict[str, Any] | None = None,
) -> Curve:
    """A `Curve` for a sampling strategy on `data` (pool or counts) at `budgets`."""
    source = data.pool if data.pool is not None else data.counts
    assert source is not None
    if replace:
        warnings.warn(
            f"{name} on run {data.run_id!r} resamples WITH replacement: estimates are biased "
            "(the curve is flagged `biased`)",
            BiasedEstimateWarning, stacklevel=3,
        )
    return Curve(
        strategy=name, params=params, run_id=data.run_id,
        problem_ids=np.asarray(source.problem_ids),
        budgets=np.asarray(budgets, dtype=np.int64), per_problem=per_problem,
        mc_se=np.zeros_like(per_problem) if mc_se is None else mc_se,
        cost=data.cost_model.sampling_cost(data.pool, budgets, verifier=verifier),
        exact=exact, biased=replace, meta=dict(meta or {}),
        accuracy_mc_se=accuracy_mc_se,
    )


ESTIMATORS = ("auto", "exact", "montecarlo")
EXACT_MAJORITY_MAX_N = 256
"""`auto` computes majority@N exactly up to this budget (measured: 500 problems, pools of 256,
N = 128 in 3.6 s on one core) and by Monte Carlo beyond it."""


class VoteStrategy(Strategy):
    """Vote over N drawn samples: each answer gets one vote per sample (majority) or the
    samples' verifier scores (`weighted`).

    Args:
        draws: Monte-Carlo replicates per problem, for the budgets computed by Monte Carlo.
        n_jobs, progress: parallel workers and progress hook of the Monte-Carlo part.
        estimator: "auto" (exact wherever it exists: majority by generating functions up to
            N = `EXACT_MAJORITY_MAX_N`, weighted best-of-N by enumeration where a pool has at
            most `enumeration_limit` draws; Monte Carlo elsewhere), "exact" (refuse budgets
            with no exact form) or "montecarlo" (every budget by Monte Carlo).
        enumeration_limit: most draws per problem that weighted best-of-N enumerates.

    The curve's `meta["estimators"]` names the estimator of each budget; `exact` is True when
    every budget is exact.
    """

    exact = False
    weighted: ClassVar[bool] = False
    """Votes are the verifier's scores: the verifier reads every sample (cost) and names the
    curve."""

    def __init__(self, draws: int = 1000, n_jobs: int = 1, progress: Progress | None = None,
                 *, estimator: str = "auto",
                 enumeration_limit: int = exact_vote.ENUMERATION_LIMIT) -> None:
        if estimator not in ESTIMATORS:
            raise StrategyError(f"`estimator` must be one of {ESTIMATORS}; got {estimator!r}")
        self.draws = draws
        self.n_jobs = n_jobs
        self.progress = progress
        self.estimator = estimator
        self.enumeration_limit = enumeration_limit

    def votes(self, data: RunData) -> np.ndarray | None:
        """The per-sample votes' weights: None (one vote each) for majority."""
        return None

    def _exact_budget(self, n: int, sizes: np.ndarray, replace: bool) -> bool:
        if self.weighted:
            return all(exact_vote.enumerable(int(m), n, replace=replace,
                                             limit=self.enumeration_limit)
                       for m in np.unique(sizes))
        return n <= EXACT_MAJORITY_MAX_N or self.estimator == "exact"

    def curve(
        self, data: Any, budgets: Sequence[int], *, rng: RngLike = None, replace: bool = False
    ) -> Curve:
        nb = checked_budgets(self, data, budgets, replace=replace)
        pool = data.pool
        wts = self.votes(data)
        exact_cols = np.array([self.estimator != "montecarlo"
                               and self._exact_budget(int(n), pool.sizes, replace)
                               for n in nb], dtype=bool)
        if self.estimator == "exact" and not exact_cols.all():
            bad = ", ".join(str(n) for n in nb[~exact_cols])
            raise StrategyError(
                f"{self.name}: no exact form at N = {bad} (more than "
                f"{self.enumeration_limit} draws to enumerate); use estimator='auto' or "
                "'montecarlo'")
        per = np.zeros((pool.n_problems, nb.size))
        se = np.zeros_like(per)
        acc_se = np.zeros(nb.size)
        kind = "exact (enumeration)" if self.weighted else "exact (generating function)"
        names = [kind if e else "Monte Carlo" for e in exact_cols]
        if exact_cols.any():
            cols = nb[exact_cols]
            per[:, exact_cols] = (
                exact_vote.weighted_bon(pool.answer, pool.class_correct, pool.sizes, cols, wts,
                                        replace=replace, limit=self.enumeration_limit)
                if self.weighted else
                exact_vote.majority(pool.answer, pool.class_correct, pool.sizes, cols,
                                    replace=replace))
        if not exact_cols.all():
            est = vote_curve(pool.answer, pool.class_correct, pool.sizes, nb[~exact_cols],
                             weights=wts, draws=self.draws, rng=rng, replace=replace,
                             n_jobs=self.n_jobs, progress=self.progress)
            per[:, ~exact_cols] = est.mean
            se[:, ~exact_cols] = est.se
            acc_se[~exact_cols] = est.accuracy_se
            closed = np.flatnonzero(~exact_cols)[est.exact]  # N = 1 and N = M: closed forms
            exact_cols[closed] = True
            for i in closed:
                names[i] = "exact (closed form)"
        return sampled_curve(
            self.name, data, nb, per, se,
            params=self.params_of(data), exact=bool(exact_cols.all()),
            replace=replace, verifier=self.weighted, accuracy_mc_se=acc_se,
            meta={"draws": None if exact_cols.all() else self.draws,
                  "exact_budgets": exact_cols.tolist(), "estimators": names},
        )

    def params_of(self, data: RunData) -> dict[str, Any]:
        """The curve's parameters: the verifier's for a weighted vote."""
        return data.score_params() if self.weighted else {}
