"""Fit the scaling laws to one run's data: what each law is fitted to, and every outcome.

- beta-binomial laws: the run's per-problem counts (n_i, c_i) (graded samples or published
  counts);
- coverage law: the run's pass@k curve (engine, exact) at k = 1, 2, 4, ... up to the smallest
  pool, one standard error per k from the spread over problems;
- saturating law: a selection curve: the engine's majority curve for runs with answers, else a
  published majority curve in `Run.meta["published"]` (aggregate only: no standard errors, so
  a common sigma is fitted).

A law that does not apply or does not converge is reported with its reason, never dropped.

>>> import numpy as np
>>> from workbench.engine import CountsPool, RunData
>>> rng = np.random.default_rng(0)  # synthetic counts, truth Beta(0.4, 1.2)
>>> c = rng.binomial(256, rng.beta(0.4, 1.2, 300))
>>> data = RunData.from_pool(CountsPool("toy", np.arange(300).astype(str), np.full(300, 256), c))
>>> [f.law for f in fit_run(data, ["beta-binomial", "coverage"])]
['beta-binomial', 'coverage']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.analysis.inputs import counts_curve, run_counts
from workbench.analysis.laws import LAWS, Law, Prediction, compare_laws
from workbench.engine import RunData, simulate
from workbench.errors import FitError, StrategyError

RngLike = np.random.Generator | int | None


@dataclass(frozen=True)
class LawFit:
    """One law on one run: the fitted law (or why not), what it was fitted to, predictions."""

    law: str
    fitted_to: str
    model: Law | None
    error: str | None
    predictions: Prediction | None = None
    observed: dict[float, float] | None = None

    def to_frame(self) -> Any:
        """One row per parameter of the fitted law; one row with NaNs and `error` if not fitted.

        Columns:
            law: the law's name.
            fitted_to: what it was fitted to.
            parameter: the parameter's name (None when not fitted).
            coef: its estimate.
            se: its standard error.
            lower: lower bound of its interval.
            upper: upper bound.
            AIC: the fit's AIC.
            error: why the law could not be fitted (None when it was).

        Predictions: `fit.predictions.to_frame()`.
        """
        import pandas as pd

        if self.model is None:
            return pd.DataFrame([{
                "law": self.law, "fitted_to": self.fitted_to, "parameter": None,
                "coef": np.nan, "se": np.nan, "lower": np.nan, "upper": np.nan, "AIC": np.nan,
                "error": self.error,
            }])
        df = self.model.to_frame()
        df = df[["parameter", "coef", "se", "lower", "upper", "AIC"]]
        df.insert(0, "fitted_to", self.fitted_to)
        df.insert(0, "law", self.law)
        df["error"] = None
        return df

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"law": self.law, "fitted_to": self.fitted_to, "error": self.error}
        if self.model is not None:
            m = self.model
            out.update(
                formula=m.formula, n_obs=m.n_obs_, log_likelihood=m.log_likelihood_, AIC=m.AIC_,
                ci_method=m.ci_method,
                params={
                    name: {
                        "coef": float(row.iloc[0]), "se": float(row.iloc[1]),
                        "lower": float(row.iloc[2]), "upper": float(row.iloc[3]),
                    }
                    for name, row in m.summary.iterrows()
                },
            )
        if self.predictions is not None:
            p = self.predictions
            out["predictions"] = {
                "method": p.method, "alpha": p.alpha,
                "rows": [
                    {"k": float(k), "estimate": float(e), "lower": float(lo), "upper": float(hi),
                     "observed": (self.observed or {}).get(float(k))}
                    for k, e, lo, hi in zip(p.k, p.estimate, p.lower, p.upper, strict=True)
                ],
            }
        return out


def _pow2_budgets(n_max: int) -> list[int]:
    ks = [1 << i for i in range(int(np.log2(n_max)) + 1)]
    return ks + ([n_max] if ks[-1] != n_max else [])


def _selection_curve(data: RunData, rng: RngLike) -> tuple[Any, str]:
    """(curve or (grid, accuracy), description) of a majority curve for the saturating law."""
    if data.pool is not None and data.pool.answer is not None and data.pool.correct is not None:
        ks = _pow2_budgets(int(data.pool.sizes.min()))
        if len(ks) >= 4:
            curve = simulate(data, "majority", ks, rng=rng)
            return curve, f"majority curve (engine, k = 1..{ks[-1]})"
    published = (data.run.meta or {}).get("published") or {}
    grid, acc = published.get("sel_grid"), published.get("selection")
    if grid is None and isinstance(published.get("within_session"), dict):
        grid = published["within_session"].get("sel_grid")
        acc = published["within_session"].get("selection")
    if grid is not None and acc is not None and np.any(np.asarray(acc, float) > 0):
        return (np.asarray(grid, float), np.asarray(acc, float)), (
            "published selection (majority) curve (Run.meta['published'], aggregate: common "
            "sigma fitted)"
        )
    raise StrategyError(
        "no selection curve: the run has no answer keys for a majority curve (or fewer than 8 "
        "samples per problem) and no usable published selection curve"
    )


def fit_run(
    data: RunData,
    laws: Sequence[str] = ("beta-binomial", "zero-inflated-beta-binomial", "coverage",
                           "saturating"),
    *,
    extrapolate: Sequence[float] = (),
    ci_method: str = "wald",
    alpha: float = 0.05,
    bootstrap: int = 0,
    rng: RngLike = None,
) -> list[LawFit]:
    """Fit each named law to the run's data; predictions (with intervals) at `extrapolate`.

    `bootstrap` > 0 refits on that many problem resamples and gives bootstrap prediction
    intervals (curve laws from published aggregates: parametric); else the delta method.
    `observed` holds the run's own value at each k it can observe (pass@k for k <= the
    smallest pool, for the pass@k laws).
    """
    unknown = [name for name in laws if name not in LAWS]
    if unknown:
        raise ValueError(f"unknown law {unknown[0]!r}; known: {', '.join(LAWS)}")
    gen = np.random.default_rng(rng)
    ks = np.asarray(extrapolate, float)
    out: list[LawFit] = []
    counts = None
    try:
        counts = run_counts(data)
    except StrategyError:
        counts = None
    for name in laws:
        cls = LAWS[name]
        law = cls(alpha=alpha, ci_method=ci_method)
        fitted_to = ""
        observed: dict[float, float] = {}
        try:
            if name in ("beta-binomial", "zero-inflated-beta-binomial", "coverage"):
                if counts is None:
                    raise StrategyError(f"run {data.run_id!r} has no graded samples or counts")
                small_ks = [k for k in ks if k <= counts.n.min() and k == int(k)]
                if small_ks:
                    obs = counts_curve(counts, [int(k) for k in small_ks]).accuracy
                    observed = {float(k): float(v) for k, v in zip(small_ks, obs, strict=True)}
            if name in ("beta-binomial", "zero-inflated-beta-binomial"):
                assert counts is not None
                fitted_to = f"per-problem counts ({counts.n_problems} problems, n = " \
                    f"{int(counts.n.min())}..{int(counts.n.max())})"
                law.fit(counts.n, counts.c)  # type: ignore[attr-defined]
            elif name == "coverage":
                assert counts is not None
                budgets = _pow2_budgets(int(counts.n.min()))
                fitted_to = f"pass@k curve (engine, k = 1..{budgets[-1]})"
                law.fit_curve(counts_curve(counts, budgets))  # type: ignore[attr-defined]
            else:
                source, fitted_to = _selection_curve(data, gen)
                if isinstance(source, tuple):
                    law.fit(*source)  # type: ignore[attr-defined]
                else:
                    law.fit_curve(source)  # type: ignore[attr-defined]
            preds = None
            if ks.size:
                if bootstrap:
                    law.bootstrap(bootstrap, rng=gen)
                    preds = law.predict_interval(ks, method="bootstrap")
                else:
                    preds = law.predict_interval(ks)
            out.append(LawFit(name, fitted_to, law, None, preds, observed or None))
        except (FitError, StrategyError, ValueError) as exc:
            out.append(LawFit(name, fitted_to, None, str(exc)))
    return out


def aic_table(fits: Sequence[LawFit]) -> Any:
    """AIC ranking of the fitted laws that share data (the count laws), or None."""
    groups: dict[Any, list[Law]] = {}
    for f in fits:
        if f.model is not None:
            groups.setdefault(f.model._data_key(), []).append(f.model)
    comparable = [g for g in groups.values() if len(g) > 1]
    return compare_laws(comparable[0]) if comparable else None
