"""Laws fitted to per-problem counts (n_i samples, c_i correct): the distributional estimator.

Per-problem success rates p_i are modelled as draws from a Beta distribution; the counts are then
beta-binomial, and the likelihood is maximised over the Beta's parameters (on the log scale).
Pass@k of a fresh problem is E[1 - (1 - p)^k] = 1 - B(alpha, beta + k) / B(alpha, beta), which
extrapolates past the pool. The zero-inflated variant adds a point mass of problems the model
never solves (p = 0), the plateau the sampling-ceilings paper discusses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from scipy.special import betaln, digamma, gammaln

from workbench.analysis.laws._base import Law


@dataclass(frozen=True)
class CountsData:
    """Validated per-problem counts: n (P,) samples, c (P,) correct, optional problem ids."""

    n: np.ndarray
    c: np.ndarray
    problem_ids: np.ndarray | None = None


def counts_data(
    n: Any, c: Any, problem_ids: Any = None
) -> CountsData:
    """Validate counts: equal length, integers, 1 <= n, 0 <= c <= n, at least 2 problems."""
    n_arr = np.asarray(n)
    c_arr = np.asarray(c)
    if n_arr.ndim == 0:
        n_arr = np.full(c_arr.shape, int(n_arr))
    if n_arr.ndim != 1 or c_arr.ndim != 1 or n_arr.shape != c_arr.shape:
        raise ValueError(
            f"`n` and `c` must be 1-D arrays of equal length; got shapes {n_arr.shape} and "
            f"{c_arr.shape}"
        )
    if n_arr.size < 2:
        raise ValueError(f"`c` must hold at least 2 problems; got {n_arr.size}")
    for name, arr in (("n", n_arr), ("c", c_arr)):
        if not np.all(np.isfinite(arr.astype(float))) or np.any(arr != np.round(arr)):
            raise ValueError(f"`{name}` must hold whole numbers")
    n_i, c_i = n_arr.astype(np.int64), c_arr.astype(np.int64)
    if np.any(n_i < 1):
        raise ValueError(f"`n` must be >= 1 for every problem; got min {n_i.min()}")
    if np.any(c_i < 0) or np.any(c_i > n_i):
        bad = int(np.flatnonzero((c_i < 0) | (c_i > n_i))[0])
        raise ValueError(
            f"`c` must satisfy 0 <= c <= n; problem {bad} has c={c_i[bad]}, n={n_i[bad]}"
        )
    ids = None if problem_ids is None else np.asarray(problem_ids)
    if ids is not None and ids.shape != n_i.shape:
        raise ValueError(f"`problem_ids` must have {n_i.size} entries; got {ids.shape}")
    return CountsData(n_i, c_i, ids)


def _beta_pass_at_k(a: float, b: float, k: np.ndarray) -> np.ndarray:
    """1 - B(a, b + k) / B(a, b): pass@k under p ~ Beta(a, b); betaln keeps large k exact."""
    return np.asarray(-np.expm1(betaln(a, b + k) - betaln(a, b)))


class BetaBinomialLaw(Law):
    """Per-problem pass rates ~ Beta(alpha, beta), fitted by beta-binomial maximum likelihood.

    pass@k = 1 - B(alpha, beta + k) / B(alpha, beta). Optimised in (log alpha, log beta).
    Intervals for pass@k: the delta method on the logit scale with the observed information
    (tested for coverage on synthetic data: `tests/analysis/test_laws_slow.py`), or
    `bootstrap(kind="problems")` for percentile intervals that do not trust the Beta shape.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)  # synthetic: truth alpha=0.5, beta=1.5
    >>> n = np.full(2000, 100); c = rng.binomial(n, rng.beta(0.5, 1.5, 2000))
    >>> law = BetaBinomialLaw().fit(n, c)
    >>> bool(abs(law.params_["alpha"] - 0.5) < 0.05)
    True
    >>> p = law.predict_interval([1, 10000])
    >>> bool(p.lower[1] < p.estimate[1] < p.upper[1])
    True
    """

    name: ClassVar[str] = "beta-binomial"
    formula: ClassVar[str] = "p_i ~ Beta(alpha, beta); pass@k = 1 - B(alpha, beta+k)/B(alpha, beta)"
    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    transforms: ClassVar[tuple[str, ...]] = ("log", "log")
    prediction_scale: ClassVar[str] = "logit"

    def fit(self, n: Any, c: Any, problem_ids: Any = None) -> Self:
        """Fit to counts: n (P,) samples per problem (or one int), c (P,) correct per problem."""
        data = counts_data(n, c, problem_ids)
        self._set_data(data)
        return self._fit()

    def _bb_logpmf(self, a: float, b: float) -> np.ndarray:
        d: CountsData = self._data
        return np.asarray(self._log_binom + betaln(d.c + a, d.n - d.c + b) - betaln(a, b))

    def _neg_log_likelihood(self, theta: np.ndarray) -> float:
        a, b = theta[0], theta[1]
        return float(-self._bb_logpmf(a, b).sum())

    def _gradient(self, theta: np.ndarray) -> np.ndarray | None:
        if type(self)._neg_log_likelihood is not BetaBinomialLaw._neg_log_likelihood:
            return None  # a subclass with another likelihood falls back to numerical gradients
        a, b = theta[0], theta[1]
        d: CountsData = self._data
        common = digamma(a + b) - digamma(d.n + a + b)
        ga = digamma(d.c + a) - digamma(a) + common
        gb = digamma(d.n - d.c + b) - digamma(b) + common
        return -np.array([ga.sum(), gb.sum()])

    def _initial(self) -> np.ndarray:
        d: CountsData = self._data
        p = d.c / d.n
        m = float(np.clip(p.mean(), 0.02, 0.98))
        v = float(p.var())
        s = float(np.clip(m * (1 - m) / v - 1, 0.2, 1e3)) if v > 0 else 1e3
        return np.array([m * s, (1 - m) * s])

    def _predict(self, theta: np.ndarray, k: np.ndarray) -> np.ndarray:
        return _beta_pass_at_k(theta[0], theta[1], k)

    def _n_obs(self) -> int:
        return int(self._data.n.size)

    def _resample(self, rng: np.random.Generator) -> CountsData:
        d: CountsData = self._data
        rows = rng.integers(0, d.n.size, d.n.size)
        return CountsData(d.n[rows], d.c[rows], None)

    def _simulate(self, theta: np.ndarray, rng: np.random.Generator) -> CountsData:
        d: CountsData = self._data
        p = self._draw_rates(theta, d.n.size, rng)
        return CountsData(d.n, rng.binomial(d.n, p), None)

    def _draw_rates(self, theta: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        return rng.beta(theta[0], theta[1], size)

    def _set_data(self, data: Any) -> None:
        super()._set_data(data)
        d: CountsData = data
        # log C(n, c) does not depend on the parameters; kept so log L and AIC are the real ones
        self._log_binom = gammaln(d.n + 1) - gammaln(d.c + 1) - gammaln(d.n - d.c + 1)

    def _data_key(self) -> Any:
        d: CountsData = self._data
        h = hashlib.sha256(d.n.tobytes() + b"|" + d.c.tobytes()).hexdigest()
        return ("counts", h)

    def predict_per_problem(self, k: Any) -> np.ndarray:
        """(P, K) posterior expected pass@k of each fitted problem (empirical Bayes).

        Given the fitted prior and problem i's counts, p_i ~ Beta(alpha + c_i, beta + n_i - c_i),
        so E[1 - (1 - p_i)^k] = 1 - B(alpha + c_i, beta + n_i - c_i + k) / B(alpha + c_i,
        beta + n_i - c_i). Used to extrapolate a per-problem curve past the pool.
        """
        self._require_fit()
        kk = np.atleast_1d(np.asarray(k, float))
        d: CountsData = self._data
        a, b = self.params_["alpha"], self.params_["beta"]
        a_post = (a + d.c)[:, None]
        b_post = (b + d.n - d.c)[:, None]
        return np.asarray(-np.expm1(betaln(a_post, b_post + kk) - betaln(a_post, b_post)))


class ZeroInflatedBetaBinomialLaw(BetaBinomialLaw):
    """A share pi0 of problems is never solved (p = 0); the rest have p ~ Beta(alpha, beta).

    pass@k = (1 - pi0) (1 - B(alpha, beta + k) / B(alpha, beta)), which plateaus at 1 - pi0.
    Optimised in (log alpha, log beta, logit pi0).

    >>> import numpy as np
    >>> rng = np.random.default_rng(2)  # synthetic: 20% never solved, rest Beta(0.8, 1.2)
    >>> p = np.where(rng.random(3000) < 0.2, 0.0, rng.beta(0.8, 1.2, 3000))
    >>> law = ZeroInflatedBetaBinomialLaw().fit(200, rng.binomial(200, p))
    >>> bool(abs(law.params_["pi0"] - 0.2) < 0.03)
    True
    """

    name: ClassVar[str] = "zero-inflated-beta-binomial"
    formula: ClassVar[str] = (
        "p_i = 0 w.p. pi0, else Beta(alpha, beta); "
        "pass@k = (1-pi0)(1 - B(alpha, beta+k)/B(alpha, beta))"
    )
    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "pi0")
    transforms: ClassVar[tuple[str, ...]] = ("log", "log", "logit")

    def _neg_log_likelihood(self, theta: np.ndarray) -> float:
        a, b, pi0 = theta
        d: CountsData = self._data
        log_bb = np.log1p(-pi0) + self._bb_logpmf(a, b)
        zero = np.logaddexp(np.log(pi0), log_bb)
        return float(-np.where(d.c == 0, zero, log_bb).sum())

    def _initial(self) -> np.ndarray:
        d: CountsData = self._data
        a, b = super()._initial()
        zero_share = float(np.mean(d.c == 0))
        return np.array([a, b, float(np.clip(zero_share / 2, 0.01, 0.9))])

    def _predict(self, theta: np.ndarray, k: np.ndarray) -> np.ndarray:
        return (1 - theta[2]) * _beta_pass_at_k(theta[0], theta[1], k)

    def _draw_rates(self, theta: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        p = rng.beta(theta[0], theta[1], size)
        return np.where(rng.random(size) < theta[2], 0.0, p)

    def predict_per_problem(self, k: Any) -> np.ndarray:
        """(P, K) posterior expected pass@k per problem: P(not a never-solved problem | counts)
        times the Beta-posterior pass@k (problems with c_i > 0 cannot be in the zero class)."""
        beta_part = super().predict_per_problem(k)
        d: CountsData = self._data
        a, b, pi0 = self.params_.to_numpy()
        log_bb0 = betaln(a, d.n + b) - betaln(a, b)  # P(c = 0 | Beta part)
        w_zero = np.where(d.c == 0, pi0 / (pi0 + (1 - pi0) * np.exp(log_bb0)), 0.0)
        return np.asarray((1 - w_zero)[:, None] * beta_part)
