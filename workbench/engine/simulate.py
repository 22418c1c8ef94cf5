"""One call from a run's data to curves: check what the strategy needs, then run it.

`simulate` runs one strategy; `simulate_many` runs several independent configurations in
parallel with joblib (each with its own random stream spawned from `rng`, so results do not
depend on `n_jobs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.engine.data import RunData
from workbench.engine.results import Curve
from workbench.engine.strategy import RngLike, Strategy, get_strategy


def _resolve(strategy: Strategy | str, params: dict[str, Any]) -> Strategy:
    if isinstance(strategy, Strategy):
        if params:
            raise ValueError("give strategy parameters either in the instance or as keywords")
        return strategy
    return get_strategy(strategy, **params)


def simulate(
    data: RunData,
    strategy: Strategy | str,
    budgets: Sequence[int],
    *,
    rng: RngLike = None,
    replace: bool = False,
    **params: Any,
) -> Curve:
    """The per-problem curve of one strategy on one run's data.

    >>> from workbench.engine.pool import SamplePool
    >>> data = RunData.from_pool(SamplePool.from_arrays(correct=[[1, 0, 0, 0]]))
    >>> simulate(data, "pass_at_k", [1, 2]).accuracy.round(6).tolist()
    [0.25, 0.5]
    """
    strat = _resolve(strategy, params)
    data.require(strat.needs, strat.name)
    return strat.curve(data, budgets, rng=rng, replace=replace)


def simulate_many(
    data: RunData,
    strategies: Sequence[Strategy | str],
    budgets: Sequence[int],
    *,
    rng: RngLike = None,
    replace: bool = False,
    n_jobs: int = 1,
) -> list[Curve]:
    """Curves of several strategies on the same data, in parallel (joblib) when n_jobs != 1.

    >>> from workbench.engine.pool import SamplePool
    >>> pool = SamplePool.from_arrays(correct=[[1, 0, 1]], answer=[[3, 4, 3]])
    >>> [c.strategy for c in simulate_many(RunData.from_pool(pool), ["pass_at_k", "majority"],
    ...                                    [1, 3], rng=0)]
    ['pass_at_k', 'majority']
    """
    strats = [_resolve(s, {}) for s in strategies]
    for s in strats:
        data.require(s.needs, s.name)
    children = np.random.default_rng(rng).spawn(len(strats))
    if n_jobs == 1:
        return [s.curve(data, budgets, rng=g, replace=replace)
                for s, g in zip(strats, children, strict=True)]
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=n_jobs)(
        delayed(s.curve)(data, budgets, rng=g, replace=replace)
        for s, g in zip(strats, children, strict=True)
    ))
