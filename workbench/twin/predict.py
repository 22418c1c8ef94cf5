"""Curves from the twin, with intervals: run the engine's own strategies on pools the twin
draws, one pool per parameter draw, and read the spread across draws.

Each draw continues the real pool under one bootstrap refit of the parameters and one
posterior draw of every problem's rate, answers and verifier effects, then draws the new
samples: the spread over draws therefore holds both the parameter uncertainty and the
sampling noise of samples not yet generated. The interval is a posterior-predictive interval
for the accuracy that the continued pool (real samples plus the ones a real run would add)
would show on these problems.

>>> from workbench.engine.synthetic import synthetic_pool
>>> from workbench.twin.model import fit_twin
>>> twin = fit_twin(synthetic_pool(20, 8, rng=0), n_boot=5, rng=0)
>>> [pred] = predict(twin, ["pass_at_k"], [1, 16, 64], rng=0)
>>> bool(pred.low[-1] <= pred.mean[-1] <= pred.high[-1]), pred.model_based
(True, True)
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from workbench.engine.cost import CostModel
from workbench.engine.data import RunData
from workbench.engine.results import Cost, Curve
from workbench.engine.strategy import Strategy, get_strategy
from workbench.store.records import Run
from workbench.twin.model import MODEL_LABEL, RngLike, Twin


@dataclass(frozen=True)
class TwinPrediction:
    """A strategy's accuracy curve predicted by the twin, with its interval.

    Attributes:
        strategy / label: the strategy and its readable name.
        budgets: (B,) budgets in generations per question.
        draws: (D, B) accuracy under each parameter draw (the predictive distribution).
        per_problem: (P, B) each problem's accuracy averaged over draws.
        confidence: level of [low, high], the percentile interval of `draws`.
        model_label: "model-based (twin) calibrated on RUN ..." (always present).
        calibrated_on: the real runs the twin was fitted on.
        pool_size: samples per problem of the pools the twin drew.
    """

    strategy: str
    label: str
    budgets: np.ndarray
    draws: np.ndarray
    per_problem: np.ndarray
    problem_ids: np.ndarray
    confidence: float
    model_label: str
    calibrated_on: tuple[str, ...]
    pool_size: int
    params: dict[str, Any] = field(default_factory=dict)
    model_based: bool = True

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.draws.mean(axis=0))

    @property
    def low(self) -> np.ndarray:
        return np.asarray(np.quantile(self.draws, (1 - self.confidence) / 2, axis=0))

    @property
    def high(self) -> np.ndarray:
        return np.asarray(np.quantile(self.draws, (1 + self.confidence) / 2, axis=0))

    def to_frame(self) -> Any:
        """One row per budget: accuracy, interval, and the model-based label.

        Columns:
            strategy: the strategy's label.
            budget: the budget.
            accuracy: the twin's mean predicted accuracy.
            low: lower bound of the interval.
            high: upper bound.
            confidence: the interval's level.
            model_based: always True (a model's prediction, not a measurement).
            source: which twin made it.
        """
        import pandas as pd

        return pd.DataFrame({
            "strategy": self.label, "budget": self.budgets, "accuracy": self.mean,
            "low": self.low, "high": self.high, "confidence": self.confidence,
            "model_based": True, "source": self.model_label,
        })

    def to_curve(self, run_id: str) -> Curve:
        """The mean per-problem curve as an engine `Curve` flagged `twin=True` (for bins,
        policies and plans); the interval and the label travel in `meta`."""
        nan = np.full(len(self.budgets), np.nan)
        return Curve(
            strategy=self.strategy, params=dict(self.params), run_id=run_id,
            problem_ids=self.problem_ids, budgets=self.budgets, per_problem=self.per_problem,
            mc_se=np.zeros_like(self.per_problem),
            cost=Cost(generations=self.budgets.astype(float), tokens=nan, flops=nan, money=nan),
            exact=False, twin=True,
            meta={"model_based": True, "source": self.model_label,
                  "calibrated_on": list(self.calibrated_on), "low": self.low.tolist(),
                  "high": self.high.tolist(), "confidence": self.confidence,
                  "draws": int(self.draws.shape[0])},
        )


def _strategy(spec: Strategy | str, mc_draws: int) -> Strategy:
    if isinstance(spec, Strategy):
        return spec
    from workbench.engine.strategy import STRATEGIES

    if spec in STRATEGIES and "draws" in inspect.signature(STRATEGIES[spec]).parameters:
        return get_strategy(spec, draws=mc_draws)
    return get_strategy(spec)


def twin_run_data(twin: Twin, pool: Any, cost_model: CostModel | None = None) -> RunData:
    """RunData around a twin-drawn pool, its run record labelled model-based."""
    run = Run(run_id=pool.run_id, dataset="twin", policy_model=twin.label, source=MODEL_LABEL)
    return RunData.from_pool(pool, run=run, cost_model=cost_model)


def _one_draw(twin: Twin, strats: list[Strategy], budgets: np.ndarray, target: Any, i: int,
              gen: np.random.Generator, acc: np.ndarray, per: list[np.ndarray]) -> None:
    """Draw pool i and run every strategy on it (fills acc[:, i] and adds to per)."""
    pool = twin.extend(target, draw=i if twin.n_draws else None, rng=gen)
    data = twin_run_data(twin, pool)
    for j, s in enumerate(strats):
        curve = s.curve(data, budgets, rng=gen)
        acc[j, i] = curve.accuracy
        per[j] = curve.per_problem if i == 0 else per[j] + curve.per_problem


def predict(
    twin: Twin,
    strategies: Sequence[Strategy | str],
    budgets: Sequence[int],
    *,
    size: int | np.ndarray | None = None,
    n_draws: int | None = None,
    confidence: float = 0.95,
    mc_draws: int = 200,
    rng: RngLike = None,
) -> list[TwinPrediction]:
    """Predicted curves of `strategies` at `budgets`, one pool per parameter draw.

    `size` is the pool the twin draws per problem (default: the largest budget, and never
    fewer samples than the real pool holds); `n_draws` defaults to the twin's bootstrap draws;
    `mc_draws` are the Monte-Carlo draws of stochastic strategies per pool.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must lie in (0, 1); got {confidence}")
    budgets = np.asarray(budgets, dtype=np.int64)
    d = n_draws or max(twin.n_draws, 1)
    gen = np.random.default_rng(rng)
    strats = [_strategy(s, mc_draws) for s in strategies]
    target = int(budgets.max()) if size is None else size
    acc = np.empty((len(strats), d, len(budgets)))
    per: list[np.ndarray] = [np.zeros(0)] * len(strats)
    with threadpool_limits(1):  # small arrays: BLAS threads only contend
        for i in range(d):
            _one_draw(twin, strats, budgets, target, i, gen, acc, per)
    ids = twin.source.problem_ids
    pool_size = int(np.max(target))
    out = []
    for j, s in enumerate(strats):
        name = s.label if hasattr(s, "label") else s.name
        out.append(TwinPrediction(
            strategy=s.name, label=str(name), budgets=budgets, draws=acc[j],
            per_problem=per[j] / d, problem_ids=ids, confidence=confidence,
            model_label=twin.label, calibrated_on=twin.calibrated_on, pool_size=pool_size,
            params=s.params(),
        ))
    return out
