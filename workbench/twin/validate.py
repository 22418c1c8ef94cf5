"""Held-out validation of the twin on a real run.

For each of `n_splits` random splits, every problem keeps `fit_size` of its real samples
(drawn without replacement; for counts-only runs the correct count of the kept part is drawn
hypergeometrically, which is exactly what a random subset of the samples would give). The twin
is fitted on that part only and continues it to the full real pool size; its predicted curves
(majority, best-of-N, weighted best-of-N, pass@k: whichever the run supports) are compared with
the exact curves of the FULL real pool at every budget.

What "the real value lies inside the interval" means: the real value is the accuracy the full
real pool shows on these same problems. Given the kept samples it is still random: it depends
on the held-out samples, which the twin has not seen. The twin's interval is therefore a
posterior-predictive interval for that number: each draw refits the parameters on problems
resampled with replacement (parameter uncertainty), draws every problem's rate, answers and
verifier effects from its posterior, and draws the held-out samples (their sampling noise).
The problems themselves are not resampled for the truth, because the truth is about these
problems; the bootstrap over problems only enters through the parameters.

>>> from workbench.engine.synthetic import synthetic_pool
>>> v = validate(synthetic_pool(30, 16, rng=0), fit_size=4, n_splits=2, n_draws=8, rng=0)
>>> sorted(v.to_frame().strategy.unique())
['best_of_n', 'majority', 'pass_at_k', 'weighted_bon']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.engine.data import RunData
from workbench.engine.pool import CountsPool, SamplePool
from workbench.twin.model import MODEL_LABEL, Pool, RngLike, fit_twin
from workbench.twin.predict import _strategy, predict

STRATEGIES = ("majority", "best_of_n", "weighted_bon", "pass_at_k")
"""The curves validation compares (each where the run supports it)."""

TARGET_MAE = 0.02
TARGET_COVERAGE = 0.90


@dataclass(frozen=True)
class Validation:
    """Validation of the twin on one run (see the module docstring).

    Attributes:
        run_id: the real run.
        fit_size / full_size: samples per problem the twin saw / the real pool holds (min).
        strategies / budgets: what was compared.
        real: (S, B) exact accuracy of the full real pool.
        pred, low, high: (splits, S, B) the twin's mean prediction and interval per split.
        confidence, n_draws: level of the intervals, parameter draws per split.
    """

    run_id: str
    fit_size: int
    full_size: int
    strategies: tuple[str, ...]
    budgets: np.ndarray
    real: np.ndarray
    pred: np.ndarray
    low: np.ndarray
    high: np.ndarray
    confidence: float
    n_draws: int
    label: str = MODEL_LABEL

    @property
    def n_splits(self) -> int:
        return int(self.pred.shape[0])

    @property
    def abs_error(self) -> np.ndarray:
        return np.asarray(np.abs(self.pred - self.real[None]))

    @property
    def inside(self) -> np.ndarray:
        return np.asarray((self.low <= self.real[None] + 1e-12)
                          & (self.real[None] <= self.high + 1e-12))

    @property
    def mae(self) -> float:
        """Mean absolute error over splits, strategies and budgets (accuracy, 0-1 scale)."""
        return float(self.abs_error.mean())

    @property
    def coverage(self) -> float:
        """Share of (split, strategy, budget) whose real value lies inside the interval."""
        return float(self.inside.mean())

    @property
    def bias(self) -> float:
        """Mean signed error (prediction - real): negative = the twin predicts low."""
        return float((self.pred - self.real[None]).mean())

    @property
    def meets_targets(self) -> bool:
        return self.mae <= TARGET_MAE and self.coverage >= TARGET_COVERAGE

    def by_strategy(self) -> list[dict[str, Any]]:
        """Per strategy: MAE, bias, coverage, mean interval width, worst budget."""
        rows = []
        for j, s in enumerate(self.strategies):
            err = self.abs_error[:, j]
            worst = int(np.argmax(err.mean(axis=0)))
            rows.append({
                "strategy": s, "mae": float(err.mean()),
                "bias": float((self.pred[:, j] - self.real[j][None]).mean()),
                "coverage": float(self.inside[:, j].mean()),
                "width": float((self.high[:, j] - self.low[:, j]).mean()),
                "worst_budget": int(self.budgets[worst]),
                "worst_mae": float(err.mean(axis=0)[worst]),
            })
        return rows

    def to_frame(self) -> Any:
        """One row per strategy and budget, averaged over splits; labelled model-based.

        Columns:
            run: the run the twin was calibrated on.
            strategy: the strategy.
            budget: the budget.
            real: accuracy measured on the held-out half.
            predicted: the twin's prediction (mean over splits).
            low: lower bound of the prediction interval.
            high: upper bound.
            mae: mean absolute error of the prediction.
            coverage: share of splits whose interval held the real value.
            model_based: always True.
            source: which twin, calibrated on which run.
        """
        import pandas as pd

        rows = []
        for j, s in enumerate(self.strategies):
            for b, n in enumerate(self.budgets.tolist()):
                rows.append({
                    "run": self.run_id, "strategy": s, "budget": n,
                    "real": float(self.real[j, b]), "predicted": float(self.pred[:, j, b].mean()),
                    "low": float(self.low[:, j, b].mean()),
                    "high": float(self.high[:, j, b].mean()),
                    "mae": float(self.abs_error[:, j, b].mean()),
                    "coverage": float(self.inside[:, j, b].mean()),
                    "model_based": True, "source": f"{self.label} calibrated on {self.run_id}",
                })
        return pd.DataFrame(rows)

    def verdict(self) -> str:
        """One line: targets met, or by how much they are missed."""
        parts = [f"MAE {100 * self.mae:.2f} points (target <= {100 * TARGET_MAE:.0f})",
                 f"coverage {100 * self.coverage:.1f}% (target >= {100 * TARGET_COVERAGE:.0f}%)"]
        if self.meets_targets:
            return "meets targets: " + ", ".join(parts)
        miss = []
        if self.mae > TARGET_MAE:
            miss.append(f"MAE over by {100 * (self.mae - TARGET_MAE):.2f} points")
        if self.coverage < TARGET_COVERAGE:
            miss.append(f"coverage short by {100 * (TARGET_COVERAGE - self.coverage):.1f} points")
        return "MISSES targets (" + "; ".join(miss) + "): " + ", ".join(parts)


def default_budgets(size: int) -> list[int]:
    """Powers of two up to the pool, and the pool size itself."""
    return sorted({*(2**i for i in range(int(np.log2(size)) + 1)), int(size)})


def supported(pool: Pool) -> tuple[str, ...]:
    """The validation strategies `pool` supports."""
    data = RunData.from_pool(pool)
    ok = set(data.supported())
    return tuple(s for s in STRATEGIES if s in ok)


def split(pool: Pool, fit_size: int, rng: np.random.Generator) -> Pool:
    """A random `fit_size` of every problem's samples (all of them where it holds fewer)."""
    if isinstance(pool, CountsPool):
        m = np.minimum(fit_size, pool.n)
        c = rng.hypergeometric(pool.c, pool.n - pool.c, m) if m.sum() else pool.c
        return CountsPool(pool.run_id, pool.problem_ids, m, np.asarray(c, dtype=np.int64))
    keys = rng.random(pool.mask.shape)
    keys[~pool.mask] = np.inf
    take = np.argsort(keys, axis=1)[:, :fit_size]
    sizes = np.minimum(pool.sizes, fit_size)

    def cut(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.take_along_axis(a, take, axis=1)

    out = SamplePool.from_arrays(
        correct=cut(pool.correct), score=cut(pool.score), answer=cut(pool.answer),
        sizes=sizes, output_tokens=cut(pool.output_tokens), prompt_tokens=cut(pool.prompt_tokens),
        run_id=pool.run_id, problem_ids=pool.problem_ids, verifier=pool.verifier,
    )
    return out


def real_curves(pool: Pool, strategies: Sequence[str], budgets: Sequence[int], *,
                mc_draws: int = 4000, rng: RngLike = 0) -> np.ndarray:
    """(S, B) accuracy of the real pool (exact, or Monte Carlo with many draws)."""
    data = RunData.from_pool(pool)
    gen = np.random.default_rng(rng)
    return np.stack([_strategy(s, mc_draws, twin=False).curve(data, budgets, rng=gen).accuracy
                     for s in strategies])


def validate(
    pool: Pool,
    *,
    fit_size: int,
    strategies: Sequence[str] | None = None,
    budgets: Sequence[int] | None = None,
    n_splits: int = 20,
    n_draws: int = 30,
    confidence: float = 0.95,
    mc_draws: int = 200,
    real_mc_draws: int = 4000,
    rng: RngLike = 0,
    progress: Any = None,
) -> Validation:
    """Fit on `fit_size` samples per problem, predict the full pool, compare (module doc)."""
    sizes = pool.n if isinstance(pool, CountsPool) else pool.sizes
    full = int(np.min(sizes))
    if not 1 <= fit_size < full:
        raise ValueError(f"`fit_size` must lie in 1..{full - 1} (the smallest pool holds "
                         f"{full}); got {fit_size}")
    strats = tuple(strategies or supported(pool))
    grid = np.asarray(budgets or default_budgets(full), dtype=np.int64)
    gen = np.random.default_rng(rng)
    real = real_curves(pool, strats, grid, mc_draws=real_mc_draws, rng=gen)
    pred = np.empty((n_splits, len(strats), len(grid)))
    low, high = np.empty_like(pred), np.empty_like(pred)
    for i in range(n_splits):
        part = split(pool, fit_size, gen)
        twin = fit_twin(part, n_boot=n_draws, rng=gen, calibrated_on=(pool.run_id,),
                        note=f"fit on {fit_size} of {full} samples per problem")
        preds = predict(twin, strats, grid, size=sizes, confidence=confidence,
                        mc_draws=mc_draws, rng=gen)
        for j, p in enumerate(preds):
            pred[i, j], low[i, j], high[i, j] = p.mean, p.low, p.high
        if progress is not None:
            progress(i + 1, n_splits)
    return Validation(run_id=pool.run_id, fit_size=fit_size, full_size=full, strategies=strats,
                      budgets=grid, real=real, pred=pred, low=low, high=high,
                      confidence=confidence, n_draws=n_draws)
