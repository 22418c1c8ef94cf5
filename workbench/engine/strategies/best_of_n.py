"""best_of_n@N: of N samples, answer with the one the verifier scores highest.

Exact for any score (`workbench.engine.exact.best_of_n`): rank weights C(M-r, N-1)/C(M, N),
score ties sharing their mass (a uniform tie-break). The score is the pool's: an outcome (ORM)
score, or PRM step scores aggregated by `last` (Snell et al. 2024), `min`, `prod` or `mean`,
chosen when the run is loaded (`load_run_data(..., verifier=, agg=)`).

>>> from workbench.engine.data import RunData
>>> from workbench.engine.pool import SamplePool
>>> pool = SamplePool.from_arrays(correct=[[0, 1, 1]], score=[[0.9, 0.5, 0.1]], verifier="v")
>>> BestOfN().curve(RunData.from_pool(pool), [1, 2, 3]).accuracy.round(4).tolist()
[0.6667, 0.3333, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.engine import exact
from workbench.engine.results import Curve
from workbench.engine.sampled import checked_budgets, sampled_curve
from workbench.engine.strategy import RngLike, Strategy, register


@register
class BestOfN(Strategy):
    """Best-of-N by verifier score, exact (no Monte-Carlo noise)."""

    name = "best_of_n"
    needs = frozenset({"samples", "correct", "scores"})
    exact = True

    def curve(
        self, data: Any, budgets: Sequence[int], *, rng: RngLike = None, replace: bool = False
    ) -> Curve:
        nb = checked_budgets(self, data, budgets, replace=replace)
        pool = data.pool
        per = exact.best_of_n(pool.score, pool.correct, pool.sizes, nb, replace=replace)
        return sampled_curve(self.name, data, nb, per, params=data.score_params(), exact=True,
                             replace=replace, verifier=True)
