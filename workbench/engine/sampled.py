"""Plumbing shared by the strategies that resample a pool of independent samples.

`sampled_curve` assembles a `Curve` from per-problem estimates: cost of N generations (and of
the verifier reading them), the biased flag and its warning for with-replacement resampling.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from workbench.engine.data import RunData
from workbench.engine.results import Curve
from workbench.errors import BiasedEstimateWarning


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
