"""Candidate curves continued past the cached pool by the twin, for the policy and the planner.

`continue_curves` takes the engine's curves of one run (majority, best-of-N, weighted best-of-N,
pass@k) and appends, at budgets past the pool, the twin's per-problem predictions (the mean over
parameter draws): the result is an ordinary `Curve` flagged `twin=True`, its `meta` naming the
budgets that are model-based and the real run the twin was calibrated on, so every policy and
plan made from it says it is model-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from workbench.engine.results import Cost, Curve
from workbench.twin.model import RngLike, Twin
from workbench.twin.predict import predict

TWIN_STRATEGIES = frozenset({"majority", "best_of_n", "weighted_bon", "pass_at_k"})
"""Strategies whose curves the twin can continue (they resample a pool of samples)."""


def _per_generation(cost: np.ndarray, budgets: np.ndarray) -> float:
    v = np.asarray(cost, dtype=float) / budgets
    v = v[np.isfinite(v)]
    return float(v[-1]) if len(v) else float("nan")


def continue_curves(curves: Sequence[Curve], twin: Twin, past: Sequence[int], *,
                    rng: RngLike = None) -> list[Curve]:
    """Each curve of `twin`'s run continued at the budgets `past` (others returned as they are).

    Costs past the pool scale with the budget at the curve's largest-budget cost per generation
    (token counts of the twin's pools are not used: the real ones already set that rate).
    """
    gen = np.random.default_rng(rng)
    past_arr = np.asarray(sorted(set(past)), dtype=np.int64)
    out = []
    for c in curves:
        if c.strategy not in TWIN_STRATEGIES or c.run_id != twin.source.run_id or not len(past_arr):
            out.append(c)
            continue
        extra = past_arr[past_arr > c.budgets.max()]
        if not len(extra):
            out.append(c)
            continue
        [pred] = predict(twin, [c.strategy], extra.tolist(), rng=gen)
        order = {str(p): i for i, p in enumerate(pred.problem_ids)}
        rows = np.array([order[str(p)] for p in c.problem_ids])
        budgets = np.concatenate([c.budgets, extra])
        per = np.concatenate([c.per_problem, pred.per_problem[rows]], axis=1)
        cost = Cost(**{u: np.concatenate([getattr(c.cost, u), extra * _per_generation(
            getattr(c.cost, u), c.budgets)]) for u in ("generations", "tokens", "flops", "money")})
        out.append(replace(
            c, budgets=budgets, per_problem=per, cost=cost, twin=True, exact=False,
            mc_se=np.concatenate([c.mc_se, np.zeros((len(rows), len(extra)))], axis=1),
            accuracy_mc_se=None,
            meta={**c.meta, "model_based": True, "twin": twin.label,
                  "model_budgets": extra.tolist()},
        ))
    return out
