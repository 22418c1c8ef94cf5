"""Plumbing shared by the strategies that resample a pool of independent samples.

`checked_budgets` checks the run holds what the strategy needs and that its pool can serve the
budgets; `sampled_curve` assembles a `Curve` from per-problem estimates: cost of N generations
(and of the verifier reading them), the biased flag and its warning for with-replacement
resampling. `VoteStrategy` is the Monte-Carlo vote behind majority and weighted best-of-N.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from workbench.engine.budgets import check_budgets
from workbench.engine.data import RunData
from workbench.engine.montecarlo import Progress, vote_curve
from workbench.engine.results import Curve
from workbench.engine.strategy import RngLike, Strategy
from workbench.errors import BiasedEstimateWarning


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


class VoteStrategy(Strategy):
    """Vote over N drawn samples, Monte Carlo with `draws` replicates per problem: each answer
    gets one vote per sample (majority) or the samples' verifier scores (`weighted`)."""

    exact = False
    weighted: ClassVar[bool] = False
    """Votes are the verifier's scores: the verifier reads every sample (cost) and names the
    curve."""

    def __init__(self, draws: int = 1000, n_jobs: int = 1,
                 progress: Progress | None = None) -> None:
        self.draws = draws
        self.n_jobs = n_jobs
        self.progress = progress

    def curve(
        self, data: Any, budgets: Sequence[int], *, rng: RngLike = None, replace: bool = False
    ) -> Curve:
        nb = checked_budgets(self, data, budgets, replace=replace)
        pool = data.pool
        est = vote_curve(pool.answer, pool.class_correct, pool.sizes, nb,
                         weights=pool.score if self.weighted else None, draws=self.draws,
                         rng=rng, replace=replace, n_jobs=self.n_jobs, progress=self.progress)
        return sampled_curve(
            self.name, data, nb, est.mean, est.se,
            params=data.score_params() if self.weighted else {}, exact=bool(est.exact.all()),
            replace=replace, verifier=self.weighted, accuracy_mc_se=est.accuracy_se,
            meta={"draws": self.draws, "exact_budgets": est.exact.tolist()},
        )
