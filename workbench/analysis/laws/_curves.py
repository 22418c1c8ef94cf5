"""Laws fitted to a curve of (budget, accuracy[, standard error]) points.

The likelihood treats each point as Gaussian around the law with its standard error (weighted
least squares); without standard errors a common `sigma` is fitted as a nuisance parameter (it
counts in AIC). The points of one curve usually come from the same samples, so they are
correlated and Wald intervals that treat them as independent are too narrow: when the curve comes
from a `Curve` (per-problem rows), `bootstrap(kind="problems")` refits on resampled problems and
gives honest percentile intervals. For extrapolating coverage from counts, prefer the
beta-binomial law, whose likelihood is that of the counts themselves.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from workbench.analysis.laws._base import Law

if TYPE_CHECKING:
    from workbench.engine.results import Curve


@dataclass(frozen=True)
class CurveData:
    """Points of a curve on the law's response scale; `per_problem` (P, B) when known."""

    budgets: np.ndarray
    y: np.ndarray
    se: np.ndarray | None
    per_problem: np.ndarray | None = None


class CurveLaw(Law):
    """Base of the curve laws: subclasses give `_law(theta, k)` on the accuracy scale.

    `space="raw"` fits accuracy itself; a subclass may offer a transformed space (the coverage
    law's log(-log pass@k)) by overriding `_response`.
    """

    spaces: ClassVar[tuple[str, ...]] = ("raw",)
    min_points: ClassVar[int] = 3

    def __init__(self, *, space: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        space = self.spaces[0] if space is None else space
        if space not in self.spaces:
            raise ValueError(f"`space` must be one of {self.spaces}; got {space!r}")
        self.space = space
        self._with_sigma = False

    @abstractmethod
    def _law(self, theta: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Accuracy at budgets k."""

    def _response(self, acc: np.ndarray, se: np.ndarray | None) -> tuple[np.ndarray, Any]:
        """Map accuracy (and its se, by the delta method) to the fitting space."""
        return acc, se

    def _mean(self, theta: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The law on the fitting space."""
        return self._law(theta, k)

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, budgets: Any, accuracy: Any, se: Any = None) -> Self:
        """Fit to points (budget, accuracy[, se]); se None fits a common sigma instead."""
        k = np.asarray(budgets, float)
        acc = np.asarray(accuracy, float)
        if k.ndim != 1 or acc.shape != k.shape:
            raise ValueError(
                f"`budgets` and `accuracy` must be 1-D of equal length; got {k.shape}, {acc.shape}"
            )
        if not (np.all(np.isfinite(k)) and np.all(k > 0)):
            raise ValueError("`budgets` must be finite and > 0")
        if not np.all(np.isfinite(acc)):
            raise ValueError("`accuracy` must be finite")
        se_arr = None
        if se is not None:
            se_arr = np.asarray(se, float)
            if se_arr.shape != k.shape or not np.all(np.isfinite(se_arr)) or np.any(se_arr <= 0):
                raise ValueError(
                    "`se` must be positive and finite, one per budget; pass se=None to fit a "
                    "common sigma"
                )
        return self._fit_points(k, acc, se_arr, None)

    def fit_curve(self, curve: Curve) -> Self:
        """Fit to an engine `Curve`: its mean accuracy with the problem-sampling standard error.

        se at each budget = sqrt(var over problems / P + Monte-Carlo se^2), floored at 1/(2P)
        (the resolution of a mean over P problems) so a budget where every problem agrees does
        not get infinite weight. Keeps the per-problem rows for `bootstrap(kind="problems")`.
        """
        pp = np.asarray(curve.per_problem, float)
        p = pp.shape[0]
        if p < 2:
            raise ValueError(f"`curve` must hold at least 2 problems; got {p}")
        se = np.sqrt(pp.var(axis=0, ddof=1) / p + np.asarray(curve.accuracy_se, float) ** 2)
        se = np.maximum(se, 0.5 / p)
        return self._fit_points(np.asarray(curve.budgets, float), pp.mean(axis=0), se, pp)

    def _fit_points(
        self, k: np.ndarray, acc: np.ndarray, se: np.ndarray | None, pp: np.ndarray | None
    ) -> Self:
        order = np.argsort(k, kind="stable")
        k, acc = k[order], acc[order]
        se = None if se is None else se[order]
        pp = None if pp is None else pp[:, order]
        y, s = self._response(acc, se)
        keep = np.isfinite(y) & (np.ones_like(y, bool) if s is None else np.isfinite(s) & (s > 0))
        self.dropped_budgets_ = k[~keep]
        self._with_sigma = se is None
        need = len(self.param_names) + 1
        if keep.sum() < need:
            raise ValueError(
                f"{self.name}: needs at least {need} usable points; got {int(keep.sum())} "
                f"(dropped budgets {k[~keep].tolist()}: outside the law's range on space "
                f"{self.space!r})"
            )
        self._set_data(
            CurveData(k[keep], y[keep], None if s is None else s[keep],
                      None if pp is None else pp[:, keep])
        )
        return self._fit()

    # -- Law hooks ---------------------------------------------------------------------------
    def _names(self) -> tuple[str, ...]:
        return self.param_names + (("sigma",) if self._with_sigma else ())

    def _transforms(self) -> tuple[str, ...]:
        return self.transforms + (("log",) if self._with_sigma else ())

    def _point_se(self, theta: np.ndarray) -> np.ndarray:
        """Standard error of each point: the fitted common sigma, or the given se."""
        d: CurveData = self._data
        if self._with_sigma or d.se is None:
            return np.full(d.budgets.size, theta[len(self.param_names)])
        return d.se

    def _neg_log_likelihood(self, theta: np.ndarray) -> float:
        d: CurveData = self._data
        p = len(self.param_names)
        mu = self._mean(theta[:p], d.budgets)
        s = self._point_se(theta)
        z = (d.y - mu) / s
        return float(np.sum(0.5 * z**2 + np.log(s)) + 0.5 * mu.size * np.log(2 * np.pi))

    def _initial(self) -> np.ndarray:
        theta = self._initial_law()
        if not self._with_sigma:
            return theta
        d: CurveData = self._data
        resid = d.y - self._mean(theta, d.budgets)
        return np.append(theta, max(float(np.sqrt(np.mean(resid**2))), 1e-6))

    @abstractmethod
    def _initial_law(self) -> np.ndarray:
        """Starting values of the law's own parameters."""

    def _predict(self, theta: np.ndarray, k: np.ndarray) -> np.ndarray:
        return self._law(theta[: len(self.param_names)], k)

    def _n_obs(self) -> int:
        return int(self._data.budgets.size)

    def _resample(self, rng: np.random.Generator) -> CurveData | None:
        d: CurveData = self._data
        if d.per_problem is None:
            return None
        p = d.per_problem.shape[0]
        rows = d.per_problem[rng.integers(0, p, p)]
        se = np.maximum(rows.std(axis=0, ddof=1) / np.sqrt(p), 0.5 / p)
        y, s = self._response(rows.mean(axis=0), None if self._with_sigma else se)
        return CurveData(d.budgets, y, s, rows)

    def _simulate(self, theta: np.ndarray, rng: np.random.Generator) -> CurveData:
        d: CurveData = self._data
        p = len(self.param_names)
        s = self._point_se(theta)
        y = self._mean(theta[:p], d.budgets) + s * rng.standard_normal(d.budgets.size)
        return CurveData(d.budgets, y, d.se, None)

    def _data_key(self) -> Any:
        d: CurveData = self._data
        h = hashlib.sha256(d.budgets.tobytes() + b"|" + d.y.tobytes()).hexdigest()
        return ("curve", self.space, self._with_sigma, h)


class CoverageLaw(CurveLaw):
    """Coverage power law of Large Language Monkeys (Brown et al. 2024): -log pass@k = a k^(-b).

    space="log" (default, as the paper fits it): y = log(-log pass@k) = log a - b log k is a
    straight line, fitted by weighted least squares (se mapped by the delta method:
    se_y = se / (pass |log pass|)); points with pass@k of 0 or 1 are dropped (listed in
    `dropped_budgets_`). space="raw" fits pass@k = exp(-a k^(-b)) directly, so its AIC is
    comparable with the saturating law on the same curve.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)  # synthetic: a = 1.3, b = 0.35, se = 0.005
    >>> k = 2.0 ** np.arange(0, 9)
    >>> acc = np.exp(-1.3 * k ** -0.35) + 0.005 * rng.standard_normal(k.size)
    >>> law = CoverageLaw().fit(k, acc, se=np.full(k.size, 0.005))
    >>> bool(abs(law.params_["b"] - 0.35) < 3 * law.standard_errors_["b"])
    True
    """

    name: ClassVar[str] = "coverage"
    formula: ClassVar[str] = "-log pass@k = a * k^(-b)"
    param_names: ClassVar[tuple[str, ...]] = ("a", "b")
    transforms: ClassVar[tuple[str, ...]] = ("log", "identity")
    prediction_scale: ClassVar[str] = "logit"
    spaces: ClassVar[tuple[str, ...]] = ("log", "raw")

    def _law(self, theta: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.asarray(np.exp(-theta[0] * k ** (-theta[1])))

    def _response(self, acc: np.ndarray, se: np.ndarray | None) -> tuple[np.ndarray, Any]:
        if self.space == "raw":
            return acc, se
        with np.errstate(all="ignore"):
            inside = (acc > 0) & (acc < 1)
            y = np.where(inside, np.log(-np.log(acc)), np.nan)
            s = None if se is None else np.where(inside, se / (acc * np.abs(np.log(acc))), np.nan)
        return y, s

    def _mean(self, theta: np.ndarray, k: np.ndarray) -> np.ndarray:
        if self.space == "raw":
            return self._law(theta, k)
        return np.asarray(np.log(theta[0]) - theta[1] * np.log(k))

    def _initial_law(self) -> np.ndarray:
        d: CurveData = self._data
        if self.space == "log":
            y = d.y
        else:
            acc = np.clip(d.y, 1e-6, 1 - 1e-6)
            y = np.log(-np.log(acc))
        slope, intercept = np.polyfit(np.log(d.budgets), y, 1)
        return np.array([np.exp(intercept), -slope])


class SaturatingLaw(CurveLaw):
    """Saturating selection curve acc(N) = a_inf - c N^(-d), d > 0 (a_inf: the plateau).

    For majority voting or best-of-N accuracy against budget N; fitted on the accuracy scale.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)  # synthetic: a_inf = 0.87, c = 0.11, d = 0.6
    >>> n = 2.0 ** np.arange(0, 11)
    >>> acc = 0.87 - 0.11 * n ** -0.6 + 0.002 * rng.standard_normal(n.size)
    >>> law = SaturatingLaw().fit(n, acc, se=np.full(n.size, 0.002))
    >>> round(float(law.params_["a_inf"]), 2)
    0.87
    """

    name: ClassVar[str] = "saturating"
    formula: ClassVar[str] = "acc(N) = a_inf - c * N^(-d)"
    param_names: ClassVar[tuple[str, ...]] = ("a_inf", "c", "d")
    transforms: ClassVar[tuple[str, ...]] = ("identity", "identity", "log")
    prediction_scale: ClassVar[str] = "identity"

    def _law(self, theta: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.asarray(theta[0] - theta[1] * k ** (-theta[2]))

    def _initial_law(self) -> np.ndarray:
        # d by grid search, then a_inf, c by least squares (the law is linear in them given d)
        d: CurveData = self._data
        best: tuple[float, np.ndarray] | None = None
        for power in np.geomspace(0.02, 5.0, 60):
            x = np.column_stack([np.ones_like(d.budgets), -(d.budgets ** (-power))])
            coef, *_ = np.linalg.lstsq(x, d.y, rcond=None)
            rss = float(np.sum((x @ coef - d.y) ** 2))
            if best is None or rss < best[0]:
                best = (rss, np.array([coef[0], coef[1], power]))
        assert best is not None
        return best[1]
