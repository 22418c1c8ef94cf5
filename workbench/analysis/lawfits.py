"""Scaling-law fits as a report shows them: laws, observed points, bands and held-out checks.

Fitting is `workbench.analysis` (`fit_run` for a run's pass@k laws, the law classes for curves);
this module chooses what is fitted on what, what is held out to check the extrapolation, and
which fits are identified well enough to draw (`identified`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.analysis.fits import aic_table, fit_run
from workbench.analysis.inputs import counts_curve
from workbench.analysis.laws import CoverageLaw, Law, SaturatingLaw
from workbench.analysis.settings import Notes, Settings, power_budgets
from workbench.errors import FitError, StrategyError

if TYPE_CHECKING:
    from workbench.analysis.laws import Prediction
    from workbench.engine import CountsPool, RunData
    from workbench.engine.results import Curve

MIN_CURVE_POINTS = 6
"""Budgets a curve needs before a three-parameter curve law is fitted to it in a report."""

@dataclass(frozen=True)
class LawFit:
    """Scaling laws fitted to one curve or set of counts, with what they are checked against.

    `observed` (k, value, role) and `fitted` (law, k, pred, lo, hi) feed
    `charts.law_fit_chart`; `pool_size` marks where extrapolation starts; `comparison` is the
    AIC table when several laws were fitted to the same data; `check` compares predictions
    with held-out observations when there are any.
    """

    title: str
    laws: tuple[Law, ...]
    observed: pd.DataFrame
    fitted: pd.DataFrame
    pool_size: float
    y_title: str
    comparison: pd.DataFrame | None
    check: pd.DataFrame | None
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The fitted laws' prediction bands and the observations, stacked (one row per point).

        Columns:
            title: what was fitted.
            series: the law's name, or the observations' role ("fitted on", "held out").
            k: the budget.
            estimate: the law's prediction, or the observed value.
            lower: lower bound of the prediction band (NaN for observations).
            upper: upper bound (NaN for observations).
            extrapolated: k is beyond the cached pool.
        """
        fitted = pd.DataFrame({
            "series": self.fitted["law"], "k": self.fitted["k"], "estimate": self.fitted["pred"],
            "lower": self.fitted["lo"], "upper": self.fitted["hi"]})
        observed = pd.DataFrame({
            "series": self.observed["role"], "k": self.observed["k"],
            "estimate": self.observed["value"], "lower": np.nan, "upper": np.nan})
        frame = pd.concat([fitted, observed], ignore_index=True)
        frame.insert(0, "title", self.title)
        frame["extrapolated"] = frame["k"].astype(float) > self.pool_size
        return frame


def counts_laws(data: RunData, title: str, settings: Settings, *, horizon: float = 4.0,
                check: tuple[CountsPool, str] | None = None) -> LawFit:
    """The pass@k laws of `workbench.analysis.fits.fit_run` (beta-binomial, its zero-inflated
    variant, the coverage law) on a run's counts, predicting pass@k past the pool
    (model-based). A law the data do not support is listed in `notes` with the reason.

    `check=(counts, what)`: observed pass@k from a larger pool of the same problems to compare
    the extrapolation with (e.g. all five sessions when one was fitted).
    """
    counts = data.counts
    if counts is None:
        raise StrategyError(f"run {data.run_id!r} has no graded samples or counts")
    pool = int(np.min(counts.n))
    top = pool * horizon
    if check is not None:
        top = max(top, float(np.min(check[0].n)))
    grid = np.unique(np.round(np.geomspace(1, top, 40)))
    caught = Notes()
    with caught.catching():
        fits = fit_run(data, ("beta-binomial", "zero-inflated-beta-binomial", "coverage"),
                       extrapolate=grid.tolist(), alpha=1 - settings.confidence,
                       rng=settings.rng(f"laws|{data.run_id}"))
    shown = [f for f in fits if f.model is not None and identified(f.model)]
    laws = [f.model for f in shown if f.model is not None]
    notes = tuple(caught.items) + tuple(
        f"{f.law} not fitted: {f.error}" for f in fits if f.model is None) + tuple(
        _unidentified_note(f.model) for f in fits
        if f.model is not None and not identified(f.model))
    if not laws:
        raise FitError(f"no pass@k law could be fitted to run {data.run_id!r}: "
                       + "; ".join(notes))
    fitted = [law_frames(f.model, grid, prediction=f.predictions) for f in shown
              if f.model is not None]
    k_obs = power_budgets(pool, include_top=False)
    observed = [observed_frame(k_obs, counts_curve(counts, k_obs).accuracy,
                               role=f"observed (fitted on {pool} per problem)")]
    table = None
    if check is not None:
        big, what = check
        k_chk = [k for k in power_budgets(int(np.min(big.n)), include_top=False) if k > pool]
        if k_chk:
            obs = counts_curve(big, k_chk).accuracy
            observed.append(observed_frame(k_chk, obs, role=f"held out: {what}"))
            table = _check_table(laws, k_chk, obs)
    return LawFit(title, tuple(laws), pd.concat(observed, ignore_index=True),
                  pd.concat(fitted, ignore_index=True), float(pool), "pass@k", aic_table(shown),
                  table, notes)


def curve_law(source: Curve | tuple[Sequence[float], Sequence[float]], title: str, *,
              law: str = "saturating", fit_upto: float | None = None, horizon: float = 4.0,
              y_title: str = "accuracy") -> LawFit:
    """A curve law fitted to a strategy's curve: "saturating" (selection strategies) or
    "coverage" (pass@k). `source` is an engine `Curve` (standard errors from the spread over
    problems) or published (budgets, accuracy) points (a common sigma is fitted). With
    `fit_upto`, only budgets up to it are fitted and the rest are the held-out check."""
    if isinstance(source, tuple):
        budgets = np.asarray(source[0], dtype=float)
        acc = np.asarray(source[1], dtype=float)
    else:
        budgets = np.asarray(source.budgets, dtype=float)
        acc = np.asarray(source.accuracy, dtype=float)
    fit_rows = budgets <= (fit_upto if fit_upto is not None else budgets.max())
    model = (SaturatingLaw if law == "saturating" else CoverageLaw)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # optimiser trial steps
        if isinstance(source, tuple):
            model.fit(budgets[fit_rows], acc[fit_rows])
        else:
            model.fit_curve(replace(
                source, budgets=budgets[fit_rows], per_problem=source.per_problem[:, fit_rows],
                mc_se=source.mc_se[:, fit_rows], accuracy_mc_se=None))
    if not identified(model):
        raise FitError(_unidentified_note(model))
    top = budgets[fit_rows].max()
    grid = np.unique(np.round(np.geomspace(1, max(top * horizon, budgets.max()), 40)))
    observed = [observed_frame(budgets[fit_rows], acc[fit_rows], role="observed (fitted)")]
    table = None
    if (~fit_rows).any():
        observed.append(observed_frame(budgets[~fit_rows], acc[~fit_rows], role="held out"))
        table = _check_table([model], budgets[~fit_rows], acc[~fit_rows])
    return LawFit(title, (model,), pd.concat(observed, ignore_index=True),
                  law_frames(model, grid), float(top), y_title, None, table)


def law_frames(
    law: Law,
    k: Sequence[float] | np.ndarray,
    *,
    prediction: Prediction | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """Columns: law, k, pred, lo, hi: the fitted law with its prediction band on a budget grid.
    Input (`fitted`) of `charts.law_fit_chart`."""
    pred = prediction if prediction is not None else law.predict_interval(np.asarray(k, float))
    return pd.DataFrame({
        "law": name or law.name, "k": np.asarray(pred.k, dtype=float),
        "pred": np.asarray(pred.estimate, dtype=float),
        "lo": np.asarray(pred.lower, dtype=float), "hi": np.asarray(pred.upper, dtype=float),
    })


def observed_frame(k: Any, value: Any, *, role: str = "observed") -> pd.DataFrame:
    """Columns: k, value, role (e.g. "fitted on", "held out"). Input (`observed`) of
    `charts.law_fit_chart`."""
    kk = np.asarray(k, dtype=float)
    return pd.DataFrame({"k": kk, "value": np.asarray(value, dtype=float),
                         "role": [role] * kk.size})


MAX_RELATIVE_SE = 5.0
"""A fitted law is shown only when every parameter's standard error is below this multiple of
its estimate: beyond that the data do not identify it and its prediction band means nothing."""


def identified(law: Law) -> bool:
    """True when the data pin down every parameter of a fitted law (see `MAX_RELATIVE_SE`).

    >>> import numpy as np
    >>> from workbench.analysis.laws import BetaBinomialLaw
    >>> rng = np.random.default_rng(0)  # synthetic counts, truth Beta(0.5, 1)
    >>> identified(BetaBinomialLaw().fit(np.full(300, 64), rng.binomial(64, rng.beta(.5, 1, 300))))
    True
    """
    est = np.abs(law.params_.to_numpy(dtype=float))
    se = law.standard_errors_.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(se)) and np.all(se <= MAX_RELATIVE_SE * est))


def _unidentified_note(law: Law) -> str:
    pars = ", ".join(f"{k} = {v:.3g} (s.e. {e:.3g})" for (k, v), e in
                     zip(law.params_.items(), law.standard_errors_, strict=True))
    return (f"{law.name}: not shown, the data do not identify its parameters ({pars}); its "
            "prediction band would be meaningless")


def _check_table(laws: Sequence[Law], k: Sequence[float] | np.ndarray,
                 observed: np.ndarray) -> pd.DataFrame:
    rows = []
    for law in laws:
        pred = law.predict_interval(np.asarray(k, float))
        for j, kk in enumerate(np.asarray(k, float)):
            lo, hi = float(pred.lower[j]), float(pred.upper[j])
            rows.append({
                "law": law.name, "k": kk, "predicted": float(pred.estimate[j]),
                "95% interval": f"[{lo:.3f}, {hi:.3f}]", "observed": float(observed[j]),
                "inside": "yes" if lo <= observed[j] <= hi else "no",
            })
    return pd.DataFrame(rows)
