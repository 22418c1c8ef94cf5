"""Unbiased pass@k from counts, as a `Curve` (TEMPORARY, private).

The engine (workbench/engine, helper B1) owns the pass@k estimator; until its pass@k strategy
lands, this tiny private copy lets the analysis run on counts. Replace every use with the
engine's estimator once it is available (one function, one caller set: `counts_curve`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln

from workbench.engine.results import Cost, Curve


def _pass_at_k(n: np.ndarray, c: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(P, K) 1 - C(n - c, k) / C(n, k), by log-gamma; 1 where n - c < k; NaN where k > n."""
    n = n[:, None].astype(float)
    c = c[:, None].astype(float)
    k = k[None, :].astype(float)
    f = n - c
    with np.errstate(invalid="ignore"):
        log_ratio = gammaln(f + 1) - gammaln(f - k + 1) - gammaln(n + 1) + gammaln(n - k + 1)
        out = np.where(f < k, 1.0, np.where(c == 0, 0.0, -np.expm1(log_ratio)))
    return np.where(k > n, np.nan, out)


def counts_curve(run_id: str, problem_ids: Any, n: Any, c: Any, budgets: Any) -> Curve:
    """pass@k curve (oracle coverage) of counts at integer budgets k <= min(n)."""
    k = np.asarray(budgets, float)
    c_arr = np.asarray(c)
    n_arr = np.broadcast_to(np.asarray(n), c_arr.shape)
    if np.any(k != np.round(k)) or np.any(k < 1) or np.any(k > n_arr.min()):
        raise ValueError(
            f"`budgets` must be whole numbers in [1, {int(n_arr.min())}] (the smallest pool)"
        )
    pp = _pass_at_k(n_arr, c_arr, k)
    nan = np.full(k.size, np.nan)
    return Curve(
        strategy="pass@k", params={}, run_id=run_id, problem_ids=np.asarray(problem_ids),
        budgets=k, per_problem=pp, mc_se=np.zeros_like(pp),
        cost=Cost(k.copy(), nan, nan, nan), exact=True,
    )
