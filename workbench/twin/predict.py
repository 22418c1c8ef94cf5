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
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from workbench.engine.cost import CostModel
from workbench.engine.data import RunData
from workbench.engine.results import Cost, Curve
from workbench.engine.strategy import Strategy, get_strategy
from workbench.errors import SignedScoreWarning
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
        confidence: level of [low, high], the prediction interval from `draws` (see `low`).
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
    per_problem_draws: np.ndarray | None = None

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.draws.mean(axis=0))

    @property
    def low(self) -> np.ndarray:
        return self._interval()[0]

    @property
    def high(self) -> np.ndarray:
        return self._interval()[1]

    def _interval(self) -> tuple[np.ndarray, np.ndarray]:
        """Prediction interval for one more draw from the predictive distribution, from the D
        draws at hand: mean +- t(D-1) * sd * sqrt(1 + 1/D), clipped to [0, 1]. With few draws
        (tens) plain percentiles of the draws are too narrow (their 2.5% and 97.5% points of 30
        draws cover a new draw ~90% of the time); the t form widens with few draws instead."""
        from scipy import stats

        d = self.draws.shape[0]
        if d < 2:
            return self.mean, self.mean
        half = (stats.t.ppf((1 + self.confidence) / 2, d - 1)
                * self.draws.std(axis=0, ddof=1) * np.sqrt(1 + 1 / d))
        return np.clip(self.mean - half, 0, 1), np.clip(self.mean + half, 0, 1)

    def population_interval(self, n_resamples: int = 2000,
                            rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) at each budget for the accuracy on the POPULATION of problems: each
        replicate picks one parameter draw and resamples the problems (the bootstrap over
        problems that real curves' CIs use), so the interval holds both the twin's
        uncertainty and the finite problem set. `low`/`high` are about these problems only."""
        if self.per_problem_draws is None:
            raise ValueError("this prediction kept no per-problem draws")
        gen = np.random.default_rng(rng)
        d, p, _ = self.per_problem_draws.shape
        which = gen.integers(0, d, n_resamples)
        rows = gen.integers(0, p, (n_resamples, p))
        reps = np.stack([self.per_problem_draws[w][r].mean(axis=0)
                         for w, r in zip(which, rows, strict=True)])
        alpha = (1 - self.confidence) / 2
        return (np.asarray(np.quantile(reps, alpha, axis=0)),
                np.asarray(np.quantile(reps, 1 - alpha, axis=0)))

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


TWIN_ENUMERATION_LIMIT = 2048
"""Subsets a twin pool's weighted best-of-N may enumerate before it turns to Monte Carlo: every
parameter draw runs the strategy again, so exact enumeration of large pools costs more than
the draws' own spread, which dominates the interval, is worth."""


def _strategy(spec: Strategy | str, mc_draws: int, *, twin: bool = True) -> Strategy:
    """A strategy by name, with `mc_draws` Monte-Carlo draws where it takes them (and, on
    twin pools, a small enumeration limit)."""
    if isinstance(spec, Strategy):
        return spec
    from workbench.engine.strategy import STRATEGIES

    accepted = inspect.signature(STRATEGIES[spec]).parameters if spec in STRATEGIES else {}
    kwargs: dict[str, Any] = {}
    if "draws" in accepted:
        kwargs["draws"] = mc_draws
    if twin and "enumeration_limit" in accepted:
        kwargs["enumeration_limit"] = TWIN_ENUMERATION_LIMIT
    if twin and "estimator" in accepted:
        # every parameter draw runs the strategy again: Monte Carlo (its noise is part of the
        # draws' spread) is ~13x cheaper than exact majority on pools of 100
        kwargs["estimator"] = "montecarlo"
    return get_strategy(spec, **kwargs)


def twin_run_data(twin: Twin, pool: Any, cost_model: CostModel | None = None) -> RunData:
    """RunData around a twin-drawn pool, its run record labelled model-based."""
    run = Run(run_id=pool.run_id, dataset="twin", policy_model=twin.label, source=MODEL_LABEL)
    return RunData.from_pool(pool, run=run, cost_model=cost_model)


def _one_draw(twin: Twin, strats: list[Strategy], budgets: np.ndarray, target: Any, i: int,
              gen: np.random.Generator, acc: np.ndarray, per: np.ndarray) -> None:
    """Draw pool i and run every strategy on it (fills acc[:, i] and per[:, i])."""
    pool = twin.extend(target, draw=i if twin.n_draws else None, rng=gen)
    data = twin_run_data(twin, pool)
    with warnings.catch_warnings():
        # the real run's curve gives this warning once; every twin pool would repeat it
        warnings.simplefilter("ignore", SignedScoreWarning)
        for j, s in enumerate(strats):
            curve = s.curve(data, budgets, rng=gen)
            acc[j, i] = curve.accuracy
            per[j, i] = curve.per_problem


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
    per = np.empty((len(strats), d, twin.source.n_problems, len(budgets)))
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
            per_problem=per[j].mean(axis=0), problem_ids=ids, confidence=confidence,
            model_label=twin.label, calibrated_on=twin.calibrated_on, pool_size=pool_size,
            params=s.params(), per_problem_draws=per[j],
        ))
    return out


@dataclass(frozen=True)
class TwinContinuation:
    """One strategy's REAL curve on the cached pool and the twin's continuation past it.

    `real_*` are the engine's exact/MC values with bootstrap CIs over problems; `model_*` are
    the twin's mean and population interval (parameter draws x problems resampled), so both
    bands answer the same question: accuracy on problems like these.
    """

    run_id: str
    label: str
    real_budgets: np.ndarray
    real: np.ndarray
    real_low: np.ndarray
    real_high: np.ndarray
    model_budgets: np.ndarray
    model: np.ndarray
    model_low: np.ndarray
    model_high: np.ndarray
    model_label: str
    confidence: float

    def to_frame(self) -> Any:
        """Chart-ready rows, each labelled with its source.

        Columns:
            strategy: the strategy's label.
            budget: the budget.
            accuracy: measured (real) or predicted (model) accuracy.
            lo: lower bound of its interval.
            hi: upper bound.
            kind: "real" for the cached pool, "model" for the twin.
            source: where the number comes from.
        """
        import pandas as pd

        real = pd.DataFrame({"budget": self.real_budgets, "accuracy": self.real,
                             "lo": self.real_low, "hi": self.real_high, "kind": "real",
                             "source": f"real samples of {self.run_id}"})
        model = pd.DataFrame({"budget": self.model_budgets, "accuracy": self.model,
                              "lo": self.model_low, "hi": self.model_high, "kind": "model",
                              "source": self.model_label})
        out = pd.concat([real, model], ignore_index=True)
        out.insert(0, "strategy", self.label)
        return out


def continue_curve(
    data: RunData, strategy: str, budgets: Sequence[int], *, n_boot: int = 40,
    n_resamples: int = 1000, confidence: float = 0.95, rng: RngLike = None,
) -> TwinContinuation:
    """`strategy` on the run's real pool at the budgets it covers (bootstrap CIs), and the
    twin's prediction at the budgets past it (population intervals).

    >>> from workbench.engine.synthetic import synthetic_pool
    >>> c = continue_curve(RunData.from_pool(synthetic_pool(20, 4, rng=0)), "best_of_n",
    ...                    [1, 2, 4, 8, 16], n_boot=4, n_resamples=100, rng=0)
    >>> c.real_budgets.tolist(), c.model_budgets.tolist(), c.to_frame().kind.unique().tolist()
    ([1, 2, 4], [8, 16], ['real', 'model'])
    """
    from workbench.engine.bootstrap import bootstrap_curve
    from workbench.engine.simulate import simulate
    from workbench.twin.model import fit_twin

    gen = np.random.default_rng(rng)
    pool = data.pool if data.pool is not None and data.pool.correct is not None else data.counts
    assert pool is not None
    sizes = pool.n if hasattr(pool, "c") else pool.sizes
    grid = np.asarray(sorted(set(budgets)), dtype=np.int64)
    inside, past = grid[grid <= int(np.min(sizes))], grid[grid > int(np.min(sizes))]
    curve = simulate(data, _strategy(strategy, 1000, twin=False), inside.tolist(), rng=gen)
    boot = bootstrap_curve(curve, n_resamples=n_resamples, confidence_level=confidence,
                           method="percentile", rng=gen)
    twin = fit_twin(pool, n_boot=n_boot, rng=gen)
    empty = np.zeros(0)
    model = low = high = empty
    if len(past):
        [pred] = predict(twin, [strategy], past.tolist(), confidence=confidence, rng=gen)
        model = pred.mean
        low, high = pred.population_interval(n_resamples, rng=gen)
    return TwinContinuation(
        run_id=data.run_id, label=curve.label, real_budgets=inside, real=curve.accuracy,
        real_low=np.asarray(boot.confidence_interval.low),
        real_high=np.asarray(boot.confidence_interval.high), model_budgets=past, model=model,
        model_low=low, model_high=high, model_label=twin.label, confidence=confidence,
    )
