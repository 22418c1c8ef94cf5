"""The base class every scaling law derives from (the lifelines fitter pattern).

A law declares its parameter names, the working scale each parameter is optimised on (so bounds
such as "positive" never need a constrained optimiser) and three small functions: the negative
log-likelihood, starting values and the prediction at budgets `k`. The base class does the rest:
maximum likelihood with scipy, standard errors from the observed information (the numerical
Hessian of the negative log-likelihood at the optimum), Wald or profile-likelihood confidence
intervals, AIC, a `summary` DataFrame, and prediction intervals by the delta method or by a
bootstrap (over problems when the data has problems as rows, else parametric).

Conventions (scikit-learn / lifelines): `fit(...)` returns the fitted law; fitted attributes end in
`_`; a fit that does not converge raises `FitError` saying what to try.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.tools.numdiff import approx_fprime, approx_hess3

from workbench.errors import FitError

RngLike = np.random.Generator | int | None

# working-scale transforms: name -> (to_working, to_natural, d natural / d working)
_TRANSFORMS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]] = {
    "identity": (lambda x: x, lambda w: w, lambda w: np.ones_like(w)),
    "log": (np.log, np.exp, np.exp),
    "logit": (
        lambda x: np.log(x) - np.log1p(-x),
        lambda w: 1.0 / (1.0 + np.exp(-w)),
        lambda w: np.exp(-w) / (1.0 + np.exp(-w)) ** 2,
    ),
}

# prediction scales for the delta method: name -> (link, inverse link)
_LINKS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "identity": (lambda y: y, lambda z: z),
    "logit": (
        lambda y: np.log(y) - np.log1p(-y),
        lambda z: 1.0 / (1.0 + np.exp(-z)),
    ),
    "log": (np.log, np.exp),
}

_BOUNDARY = 20.0  # |working value| past which a log/logit parameter is at its boundary

_WHAT_TO_TRY = (
    "What to try: check the data is not degenerate (all successes, all failures, a flat curve); "
    "give more points or more problems; fit a simpler law; compare laws with `compare_laws`."
)


@dataclass(frozen=True)
class Prediction:
    """A law's prediction at budgets `k` with a (1 - alpha) interval.

    `method` says how the interval was made: "delta" (delta method on the `scale` named in
    `scale`, then mapped back) or "bootstrap" (percentile interval of the bootstrap fits, with
    `kind` "problems" or "parametric").
    """

    law: str
    k: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    alpha: float
    method: str
    scale: str

    def to_frame(self) -> pd.DataFrame:
        """One row per budget.

        Columns:
            k: the budget.
            estimate: the law's prediction.
            lower: lower bound of the (1 - alpha) interval.
            upper: upper bound.
        """
        return pd.DataFrame(
            {"k": self.k, "estimate": self.estimate, "lower": self.lower, "upper": self.upper}
        )


class Law(ABC):
    """Base class of the scaling laws: maximum likelihood, standard errors, CIs, AIC, prediction.

    Subclasses set `name`, `formula`, `param_names`, `transforms` (one of "identity", "log",
    "logit" per parameter: the scale the optimiser works on) and `prediction_scale` (the link on
    which the delta method is applied, e.g. "logit" for a probability), and implement
    `_neg_log_likelihood(theta)`, `_initial(data)` and `_predict(theta, k)`. Data handling is the
    subclass's `fit(...)`, which stores its data with `_set_data` and calls `_fit()`.

    Fitted attributes: `params_` (Series), `standard_errors_`, `confidence_intervals_`
    (DataFrame), `variance_matrix_` (natural scale), `log_likelihood_`, `AIC_`, `n_obs_`,
    `bootstrap_params_` (after `bootstrap`).
    """

    name: ClassVar[str]
    formula: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    transforms: ClassVar[tuple[str, ...]]
    prediction_scale: ClassVar[str] = "identity"

    def __init__(self, *, alpha: float = 0.05, ci_method: str = "wald") -> None:
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"`alpha` must be in (0, 1); got {alpha!r}")
        if ci_method not in ("wald", "profile"):
            raise ValueError(f"`ci_method` must be 'wald' or 'profile'; got {ci_method!r}")
        self.alpha = alpha
        self.ci_method = ci_method
        self._data: Any = None

    # -- what a subclass provides ------------------------------------------------------------
    @abstractmethod
    def _neg_log_likelihood(self, theta: np.ndarray) -> float:
        """-log L(theta) on the stored data (`self._data`), theta on the natural scale."""

    @abstractmethod
    def _initial(self) -> np.ndarray:
        """Starting values on the natural scale."""

    @abstractmethod
    def _predict(self, theta: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The law's prediction at budgets k for natural-scale parameters theta."""

    def _gradient(self, theta: np.ndarray) -> np.ndarray | None:
        """d(-log L)/d theta on the natural scale, if the law has it in closed form (speed)."""
        return None

    def _n_obs(self) -> int:
        """Number of observations (for AIC bookkeeping and summaries)."""
        return 0

    def _resample(self, rng: np.random.Generator) -> Any:
        """Data resampled over problems (rows) with replacement; None if rows aren't problems."""
        return None

    def _simulate(self, theta: np.ndarray, rng: np.random.Generator) -> Any:
        """New data drawn from the fitted model (parametric bootstrap)."""
        raise NotImplementedError(f"{self.name} has no parametric simulator")

    def _names(self) -> tuple[str, ...]:
        """Parameter names of this fit (a subclass may add a nuisance parameter)."""
        return self.param_names

    def _transforms(self) -> tuple[str, ...]:
        return self.transforms

    def _data_key(self) -> Any:
        """A hashable fingerprint of the fitted data and response scale (for `compare_laws`)."""
        return None

    # -- machinery ---------------------------------------------------------------------------
    def _set_data(self, data: Any) -> None:
        self._data = data

    def _to_natural(self, w: np.ndarray) -> np.ndarray:
        return np.array([_TRANSFORMS[t][1](x) for t, x in zip(self._transforms(), w, strict=True)])

    def _to_working(self, theta: np.ndarray) -> np.ndarray:
        return np.array(
            [_TRANSFORMS[t][0](x) for t, x in zip(self._transforms(), theta, strict=True)]
        )

    def _jacobian(self, w: np.ndarray) -> np.ndarray:
        """d theta / d w (diagonal: each parameter has its own transform)."""
        return np.diag(
            [_TRANSFORMS[t][2](x) for t, x in zip(self._transforms(), w, strict=True)]
        )

    def _nll_working(self, w: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = float(self._neg_log_likelihood(self._to_natural(np.asarray(w, float))))
        return value if math.isfinite(value) else 1e300

    def _grad_working(self, w: np.ndarray) -> np.ndarray:
        """Chain rule: d(-log L)/dw = (d theta/dw) * d(-log L)/d theta (transforms are 1-D)."""
        with np.errstate(all="ignore"):
            g = self._gradient(self._to_natural(np.asarray(w, float)))
        out = np.diag(self._jacobian(np.asarray(w, float))) * np.asarray(g, float)
        return np.where(np.isfinite(out), out, 0.0)

    def _minimise(
        self, fun: Callable[[np.ndarray], float], w0: np.ndarray, jac: Any = None
    ) -> Any:
        """BFGS, then Nelder-Mead from the best point when BFGS stalls (flat or kinked surface)."""
        best = optimize.minimize(
            fun, w0, jac=jac, method="BFGS", options={"gtol": 1e-7, "maxiter": 2000}
        )
        if not best.success:
            nm = optimize.minimize(
                fun, best.x, method="Nelder-Mead",
                options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 20000, "maxfev": 40000},
            )
            if nm.fun <= best.fun:
                best = nm
            polish = optimize.minimize(
                fun, best.x, jac=jac, method="BFGS", options={"gtol": 1e-7}
            )
            if polish.fun <= best.fun + 1e-12:
                best = polish
        return best

    def _mle(self) -> np.ndarray:
        """Working-scale maximiser of the likelihood; FitError if it does not converge."""
        w0 = self._to_working(np.asarray(self._initial(), float))
        if not np.all(np.isfinite(w0)):
            raise FitError(f"{self.name}: starting values are not finite ({w0}). {_WHAT_TO_TRY}")
        has_grad = self._gradient(self._to_natural(w0)) is not None
        res = self._minimise(self._nll_working, w0, self._grad_working if has_grad else None)
        grad = approx_fprime(res.x, self._nll_working, centered=True)
        scale = max(1.0, abs(res.fun))
        if not np.isfinite(res.fun) or res.fun >= 1e299 or np.max(np.abs(grad)) > 1e-3 * scale:
            raise FitError(
                f"{self.name}: the maximum-likelihood fit did not converge "
                f"(-log L = {res.fun:.6g}, |gradient| = {np.max(np.abs(grad)):.3g}, "
                f"parameters {dict(zip(self._names(), self._to_natural(res.x), strict=True))}). "
                + _WHAT_TO_TRY
            )
        w = np.asarray(res.x, float)
        for name, t, x in zip(self._names(), self._transforms(), w, strict=True):
            # a parameter run off to its boundary (e.g. a mixing share -> 0) is not an interior
            # optimum: the observed information and the Wald / delta intervals would be invalid
            if t != "identity" and abs(x) > _BOUNDARY:
                raise FitError(
                    f"{self.name}: parameter `{name}` ran to the boundary of its range "
                    f"(estimate {_TRANSFORMS[t][1](x):.3g}), so the data do not support this "
                    f"law's extra structure. What to try: a simpler law (e.g. without that "
                    f"parameter); check for degenerate data; compare laws with `compare_laws`."
                )
        return w

    def _fit(self) -> Self:
        """Fit on the stored data: MLE, observed information, CIs, AIC."""
        w = self._mle()
        hess = approx_hess3(w, self._nll_working)
        hess = (hess + hess.T) / 2
        try:
            cov_w = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            cov_w = np.full_like(hess, np.nan)
        if not np.all(np.isfinite(cov_w)) or np.any(np.linalg.eigvalsh(hess) <= 0):
            raise FitError(
                f"{self.name}: the observed information is singular at the optimum, so the "
                f"parameters {list(self._names())} are not identified by this data. " + _WHAT_TO_TRY
            )
        names = list(self._names())
        theta = self._to_natural(w)
        jac = self._jacobian(w)
        self._w_ = w
        self._cov_w_ = cov_w
        self.params_ = pd.Series(theta, index=names, name="coef")
        self.variance_matrix_ = pd.DataFrame(jac @ cov_w @ jac.T, index=names, columns=names)
        self.standard_errors_ = pd.Series(
            np.sqrt(np.diag(self.variance_matrix_.to_numpy())), index=names, name="se"
        )
        self.log_likelihood_ = -self._nll_working(w)
        self.n_obs_ = self._n_obs()
        self.AIC_ = 2 * len(names) - 2 * self.log_likelihood_
        self.confidence_intervals_ = self._intervals()
        self.bootstrap_params_: np.ndarray | None = None
        self.bootstrap_kind_: str | None = None
        return self

    def _intervals(self) -> pd.DataFrame:
        z = stats.norm.ppf(1 - self.alpha / 2)
        se_w = np.sqrt(np.diag(self._cov_w_))
        if self.ci_method == "wald":
            # Wald on the working scale, mapped back: positive parameters keep positive bounds
            lo = self._to_natural(self._w_ - z * se_w)
            hi = self._to_natural(self._w_ + z * se_w)
        else:
            lo, hi = self._profile_intervals(se_w)
        pct = 100 * (1 - self.alpha)
        return pd.DataFrame(
            {f"lower {pct:g}%": lo, f"upper {pct:g}%": hi}, index=list(self._names())
        )

    def _profile_intervals(self, se_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Profile-likelihood bounds: where 2 (profile -log L - min -log L) = chi2_1(1 - alpha)."""
        cut = stats.chi2.ppf(1 - self.alpha, 1) / 2
        nll0 = self._nll_working(self._w_)
        p = len(self._w_)
        lo_w, hi_w = np.empty(p), np.empty(p)
        for j in range(p):
            others = [i for i in range(p) if i != j]

            def excess(v: float, j: int = j, others: list[int] = others) -> float:
                def inner(u: np.ndarray) -> float:
                    w = self._w_.copy()
                    w[j] = v
                    w[others] = u
                    return self._nll_working(w)

                if not others:
                    return inner(np.empty(0)) - nll0 - cut
                u0 = self._w_[others]
                return float(self._minimise(inner, u0).fun) - nll0 - cut

            for sign, out in ((-1, lo_w), (1, hi_w)):
                step = max(se_w[j], 1e-8)
                edge = self._w_[j] + sign * step
                for _ in range(40):  # expand until the likelihood has dropped past the cut
                    if excess(edge) > 0:
                        break
                    step *= 2
                    edge = self._w_[j] + sign * step
                else:
                    out[j] = sign * np.inf
                    continue
                out[j] = optimize.brentq(excess, self._w_[j], edge, xtol=1e-8)
        return self._to_natural(lo_w), self._to_natural(hi_w)

    # -- public API --------------------------------------------------------------------------
    def _require_fit(self) -> None:
        if not hasattr(self, "params_"):
            raise FitError(f"{self.name}: call `fit(...)` before using the law")

    @property
    def summary(self) -> pd.DataFrame:
        """One row per parameter: coef, se, CI bounds (`ci_method`), plus the fit's AIC."""
        self._require_fit()
        df = pd.concat([self.params_, self.standard_errors_, self.confidence_intervals_], axis=1)
        df.index.name = self.name
        df.attrs.update(
            law=self.name, formula=self.formula, AIC=self.AIC_,
            log_likelihood=self.log_likelihood_, n_obs=self.n_obs_, ci_method=self.ci_method,
        )
        return df

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter of the fitted law (the tidy form of `summary`).

        Columns:
            law: the law's name.
            parameter: the parameter's name.
            coef: its estimate.
            se: its standard error.
            lower: lower bound of its (1 - alpha) interval (`ci_method`).
            upper: upper bound.
            ci_method: "wald" or "profile".
            AIC: the fit's AIC.
            n_obs: observations fitted.
        """
        df = self.summary
        return pd.DataFrame({
            "law": self.name, "parameter": list(df.index),
            "coef": df.iloc[:, 0].to_numpy(float), "se": df.iloc[:, 1].to_numpy(float),
            "lower": df.iloc[:, 2].to_numpy(float), "upper": df.iloc[:, 3].to_numpy(float),
            "ci_method": self.ci_method, "AIC": self.AIC_, "n_obs": self.n_obs_,
        })

    def print_summary(self) -> str:
        """The summary as readable text (the CLI prints it; the library does not)."""
        df = self.summary
        head = (
            f"{self.name}: {self.formula}\n"
            f"n_obs = {self.n_obs_}, log L = {self.log_likelihood_:.4f}, AIC = {self.AIC_:.4f}, "
            f"CI = {self.ci_method}\n"
        )
        return head + df.to_string(float_format=lambda x: f"{x:.6g}")

    def predict(self, k: Sequence[float] | np.ndarray | float) -> np.ndarray:
        """The law at budgets k (fitted parameters)."""
        self._require_fit()
        kk = np.atleast_1d(np.asarray(k, float))
        return np.asarray(self._predict(self.params_.to_numpy(), kk))

    def predict_interval(
        self,
        k: Sequence[float] | np.ndarray | float,
        *,
        alpha: float | None = None,
        method: str = "delta",
    ) -> Prediction:
        """Prediction at budgets k with a (1 - alpha) interval.

        method="delta": the delta method on the law's `prediction_scale` (logit for a
        probability, so bounds stay inside (0, 1)) with the working-scale covariance from the
        observed information. method="bootstrap": percentile interval of the predictions of the
        bootstrap fits (call `bootstrap(...)` first).
        """
        self._require_fit()
        alpha = self.alpha if alpha is None else alpha
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"`alpha` must be in (0, 1); got {alpha!r}")
        kk = np.atleast_1d(np.asarray(k, float))
        est = self.predict(kk)
        if method == "delta":
            link, inv = _LINKS[self.prediction_scale]

            def g(w: np.ndarray) -> np.ndarray:
                with np.errstate(all="ignore"):
                    return np.asarray(link(self._predict(self._to_natural(w), kk)), float)

            grad = np.atleast_2d(approx_fprime(self._w_, g, centered=True))
            if grad.shape != (kk.size, self._w_.size):
                grad = grad.reshape(kk.size, self._w_.size)
            se = np.sqrt(np.einsum("ij,jk,ik->i", grad, self._cov_w_, grad))
            z = stats.norm.ppf(1 - alpha / 2)
            centre = g(self._w_)
            with np.errstate(all="ignore"):
                lo, hi = inv(centre - z * se), inv(centre + z * se)
            # a prediction at its bound (e.g. pass@k = 1) has a degenerate link: the point is it
            lo = np.where(np.isfinite(centre), lo, est)
            hi = np.where(np.isfinite(centre), hi, est)
            return Prediction(self.name, kk, est, lo, hi, alpha, "delta", self.prediction_scale)
        if method == "bootstrap":
            if self.bootstrap_params_ is None:
                raise FitError(f"{self.name}: call `bootstrap(...)` before method='bootstrap'")
            draws = np.array([self._predict(t, kk) for t in self.bootstrap_params_])
            lo = np.quantile(draws, alpha / 2, axis=0)
            hi = np.quantile(draws, 1 - alpha / 2, axis=0)
            return Prediction(
                self.name, kk, est, lo, hi, alpha, f"bootstrap ({self.bootstrap_kind_})", "natural"
            )
        raise ValueError(f"`method` must be 'delta' or 'bootstrap'; got {method!r}")

    def bootstrap(
        self, n_boot: int = 200, *, kind: str = "auto", rng: RngLike = None
    ) -> Self:
        """Refit on `n_boot` resampled data sets; keeps `bootstrap_params_` (n_boot, n_params).

        kind="problems" resamples problems (rows) with replacement: valid without trusting the
        law's noise model. kind="parametric" draws data from the fitted law. "auto" uses problems
        when the data has problems as rows, else parametric. Refits that fail are dropped and
        counted in `bootstrap_failures_` (never silently).
        """
        self._require_fit()
        if n_boot < 2:
            raise ValueError(f"`n_boot` must be >= 2; got {n_boot!r}")
        if kind not in ("auto", "problems", "parametric"):
            raise ValueError(f"`kind` must be 'auto', 'problems' or 'parametric'; got {kind!r}")
        gen = np.random.default_rng(rng)
        if kind == "auto":
            has_rows = self._resample(np.random.default_rng(0)) is not None
            kind = "problems" if has_rows else "parametric"
        theta = self.params_.to_numpy()
        draws, failures = [], 0
        original = self._data
        try:
            for _ in range(n_boot):
                self._set_data(original)  # always resample the ORIGINAL data, not the last draw
                data = self._resample(gen) if kind == "problems" else self._simulate(theta, gen)
                if data is None:
                    raise ValueError(f"{self.name}: this data has no problem rows to resample")
                self._set_data(data)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        draws.append(self._to_natural(self._mle()))
                except FitError:
                    failures += 1
        finally:
            self._set_data(original)
        self.bootstrap_params_ = np.array(draws)
        self.bootstrap_kind_ = kind
        self.bootstrap_failures_ = failures
        return self

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"<{type(self).__name__}: not fitted>"
        inner = ", ".join(f"{n}={v:.4g}" for n, v in self.params_.items())
        return f"<{type(self).__name__}: {inner}, AIC={self.AIC_:.2f}>"


def compare_laws(laws: Sequence[Law]) -> pd.DataFrame:
    """Rank fitted laws by AIC (lowest first) with Akaike weights.

    Laws are comparable only when fitted to the same data on the same response scale (e.g. the
    beta-binomial and its zero-inflated variant on the same counts); otherwise ValueError.

    >>> import numpy as np
    >>> from workbench.analysis.laws import BetaBinomialLaw, ZeroInflatedBetaBinomialLaw
    >>> rng = np.random.default_rng(0)  # synthetic counts: 30% never solved, rest Beta(1, 1)
    >>> p = np.where(rng.random(400) < 0.3, 0.0, rng.beta(1.0, 1.0, 400))
    >>> n = np.full(400, 64); c = rng.binomial(n, p)
    >>> table = compare_laws([BetaBinomialLaw().fit(n, c), ZeroInflatedBetaBinomialLaw().fit(n, c)])
    >>> list(table.columns)
    ['law', 'n_params', 'log_likelihood', 'AIC', 'delta_AIC', 'akaike_weight']
    """
    if not laws:
        raise ValueError("`laws` must hold at least one fitted law")
    for law in laws:
        law._require_fit()
    keys = {law._data_key() for law in laws}
    if len(keys) != 1 or None in keys:
        raise ValueError(
            "`laws` were not fitted to the same data on the same response scale, so their AIC "
            "values are not comparable; fit them to the same data (and `space`) first"
        )
    aic = np.array([law.AIC_ for law in laws])
    delta = aic - aic.min()
    weight = np.exp(-delta / 2)
    df = pd.DataFrame(
        {
            "law": [law.name for law in laws],
            "n_params": [len(law.params_) for law in laws],
            "log_likelihood": [law.log_likelihood_ for law in laws],
            "AIC": aic,
            "delta_AIC": delta,
            "akaike_weight": weight / weight.sum(),
        }
    )
    return df.sort_values("AIC", kind="stable").reset_index(drop=True)
