"""pass@k (oracle coverage): does any of k samples solve the problem?

The unbiased estimator of Chen et al. (2021, eq. 1), exact (`workbench.engine.exact.pass_at_k`).
Works on graded samples and on runs that publish only per-problem counts (n, c).

>>> import numpy as np
>>> from workbench.engine.data import RunData
>>> from workbench.engine.pool import CountsPool
>>> data = RunData.from_pool(CountsPool("toy", np.array(["a", "b"]), np.array([4, 4]),
...                                     np.array([1, 0])))
>>> PassAtK().curve(data, [1, 4]).accuracy.round(6).tolist()
[0.125, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.engine import exact
from workbench.engine.results import Curve
from workbench.engine.sampled import checked_budgets, sampled_curve
from workbench.engine.strategy import RngLike, Strategy, register


@register
class PassAtK(Strategy):
    """pass@k: 1 - C(n-c, k)/C(n, k) per problem (an oracle upper bound, not deployable)."""

    name = "pass_at_k"
    needs = frozenset({"counts"})
    exact = True

    def curve(
        self, data: Any, budgets: Sequence[int], *, rng: RngLike = None, replace: bool = False
    ) -> Curve:
        ks = checked_budgets(self, data, budgets, replace=replace, counts=True)
        counts = data.counts
        per = exact.pass_at_k(counts.n, counts.c, ks, replace=replace)
        return sampled_curve(self.name, data, ks, per, params={}, exact=True,
                             replace=replace, verifier=False)
