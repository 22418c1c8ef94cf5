"""majority@N: the most frequent answer among N samples (self-consistency, Wang et al. 2023).

Monte Carlo (`workbench.engine.montecarlo.vote_curve`): uniform N-subsets without replacement,
vectorised. Ties between answers are broken uniformly at random in the definition; the engine
does not sample that tie-break but uses its expectation (the share of correct answers among the
tied ones) in every draw. Samples without an answer never win; if no drawn sample has an
answer, the draw scores 0.

>>> from workbench.engine.data import RunData
>>> from workbench.engine.pool import SamplePool
>>> pool = SamplePool.from_arrays(correct=[[1, 1, 0]], answer=[[5, 5, 2]])
>>> Majority(draws=200).curve(RunData.from_pool(pool), [1, 3], rng=0).accuracy.round(4).tolist()
[0.6667, 1.0]
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
class Majority(Strategy):
    """Majority vote over N samples (Monte Carlo with `draws` replicates per problem)."""

    name = "majority"
    needs = frozenset({"samples", "correct", "answers"})
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
        est = vote_curve(pool.answer, pool.class_correct, pool.sizes, nb, draws=self.draws,
                         rng=rng, replace=replace, n_jobs=self.n_jobs, progress=self.progress)
        return sampled_curve(
            self.name, data, nb, est.mean, est.se, params={}, exact=bool(est.exact.all()),
            replace=replace, verifier=False, accuracy_mc_se=est.accuracy_se,
            meta={"draws": self.draws, "exact_budgets": est.exact.tolist()},
        )
