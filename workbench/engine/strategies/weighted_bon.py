"""weighted_bon@N: sum the verifier scores of the samples sharing an answer; the largest sum
wins (weighted best-of-N, Li et al. 2023 "Making Language Models Better Reasoners with
Step-Aware Verifier"; the "best-of-N weighted" of Snell et al. 2024, section 5).

Monte Carlo (`workbench.engine.montecarlo.vote_curve` with the scores as weights). Ties between
summed scores (equal to a relative 1e-9) are shared like majority ties: the expected
correctness of a uniform tie-break is used in each draw. Samples without an answer never win.

>>> from workbench.engine.data import RunData
>>> from workbench.engine.pool import SamplePool
>>> pool = SamplePool.from_arrays(correct=[[1, 1, 0]], answer=[[5, 5, 2]],
...                               score=[[0.2, 0.3, 0.9]], verifier="v")
>>> WeightedBoN(draws=200).curve(RunData.from_pool(pool), [3], rng=0).accuracy.tolist()
[0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.engine.budgets import check_budgets
from workbench.engine.montecarlo import Progress, vote_curve
from workbench.engine.results import Curve
from workbench.engine.sampled import sampled_curve
from workbench.engine.strategy import RngLike, Strategy, register


@register
class WeightedBoN(Strategy):
    """Weighted best-of-N (Monte Carlo with `draws` replicates per problem)."""

    name = "weighted_bon"
    needs = frozenset({"samples", "correct", "answers", "scores"})
    exact = False

    def __init__(self, draws: int = 1000, n_jobs: int = 1,
                 progress: Progress | None = None) -> None:
        self.draws = draws
        self.n_jobs = n_jobs
        self.progress = progress

    def curve(
        self, data: Any, budgets: Sequence[int], *, rng: RngLike = None, replace: bool = False
    ) -> Curve:
        data.require(self.needs, self.name)
        pool = data.pool
        nb = check_budgets(budgets, pool.sizes, replace=replace)
        est = vote_curve(pool.answer, pool.class_correct, pool.sizes, nb, weights=pool.score,
                         draws=self.draws, rng=rng, replace=replace, n_jobs=self.n_jobs,
                         progress=self.progress)
        return sampled_curve(
            self.name, data, nb, est.mean, est.se, params=data.score_params(),
            exact=bool(est.exact.all()), replace=replace, verifier=True,
            accuracy_mc_se=est.accuracy_se,
            meta={"draws": self.draws, "exact_budgets": est.exact.tolist()},
        )
