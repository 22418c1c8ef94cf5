"""Synthetic curves with known truth for the analysis tests (labelled: not real data)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.engine.results import Cost, Curve


def curve(
    name: str,
    per_problem: np.ndarray | Sequence[Sequence[float]],
    budgets: Sequence[float] = (1, 2, 4, 8),
    *,
    tokens_per_generation: float = 100.0,
    params: float = 1e9,
    price_per_token: float = 1e-6,
    problem_ids: Sequence[str] | None = None,
    run_id: str = "synthetic",
    strategy: str | None = None,
) -> Curve:
    """A synthetic `Curve`: costs are generations x tokens_per_generation (FLOPs = 2 P T)."""
    pp = np.asarray(per_problem, dtype=float)
    b = np.asarray(budgets, dtype=float)
    if pp.ndim == 1:
        pp = np.broadcast_to(pp, (1, b.size)).copy()
    pids = np.array(
        [f"p{i:03d}" for i in range(pp.shape[0])] if problem_ids is None else list(problem_ids)
    )
    tokens = b * tokens_per_generation
    return Curve(
        strategy=strategy or name, params={} if strategy is None else {"cfg": name},
        run_id=run_id, problem_ids=pids, budgets=b, per_problem=pp,
        mc_se=np.zeros_like(pp),
        cost=Cost(b, tokens, 2 * params * tokens, tokens * price_per_token),
        exact=True,
    )


def noisy_rows(
    truth: Sequence[float], n: int, rng: np.random.Generator, noise: float = 0.2
) -> np.ndarray:
    """(n, B) per-problem curves: truth + a per-problem offset + per-entry noise, clipped."""
    t = np.asarray(truth, dtype=float)
    offset = rng.normal(0, noise, size=(n, 1))
    return np.clip(t[None, :] + offset + rng.normal(0, noise / 4, size=(n, t.size)), 0, 1)
