"""Per-problem success rates: a prior over rates fitted by beta-binomial maximum likelihood on
real counts, and each problem's posterior given its own counts (shrinkage towards the prior).

The prior is a mixture of K Betas (K = 1 is the plain beta-binomial); `fit_rates` picks K by
AIC. Real pass rates are often bimodal (many problems never or always solved), which one Beta
cannot follow: it then shrinks unsolved problems towards the mean and over-predicts coverage.
A problem's posterior is again a Beta mixture: component k with weight proportional to
w_k * BetaBinomial(c | n, a_k, b_k), and Beta(a_k + c, b_k + n - c) within it.

>>> prior = fit_beta_binomial(np.array([10, 10, 10, 10]), np.array([0, 3, 7, 10]))
>>> bool(prior.a[0] > 0 and prior.b[0] > 0), round(prior.mean, 2)
(True, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, logsumexp, softmax

from workbench.errors import FitError

_BOUND = (-9.0, 13.8)
"""Bounds of log a and log b: a + b up to ~1e6 is a point mass for every practical purpose."""


@dataclass(frozen=True)
class BetaPrior:
    """A mixture of Betas over per-problem success rates: weights `w`, shapes `a`, `b`."""

    w: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @property
    def n_components(self) -> int:
        return len(self.w)

    @property
    def mean(self) -> float:
        return float((self.w * self.a / (self.a + self.b)).sum())

    def log_marginal(self, n: np.ndarray, c: np.ndarray) -> np.ndarray:
        """(P, K) log w_k + log P(c | n, component k) without the binomial coefficient."""
        n = np.asarray(n, dtype=float)[:, None]
        c = np.asarray(c, dtype=float)[:, None]
        return np.asarray(np.log(self.w)[None] + betaln(c + self.a, n - c + self.b)
                          - betaln(self.a, self.b))

    def posterior_draw(self, n: np.ndarray, c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One draw of each problem's rate from its posterior (a Beta mixture)."""
        logp = self.log_marginal(n, c)
        prob = softmax(logp, axis=1)
        k = (rng.random(len(prob))[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
        k = np.minimum(k, self.n_components - 1)
        return np.asarray(rng.beta(self.a[k] + c, self.b[k] + np.asarray(n) - c))


def _fit_k(n: np.ndarray, c: np.ndarray, k: int) -> tuple[BetaPrior, float]:
    """ML mixture of k Betas; returns the prior and its negative log-likelihood."""
    rate = np.clip(c / n, 0.02, 0.98)
    qs = np.quantile(rate, (np.arange(k) + 0.5) / k) if k > 1 else [float(np.mean(rate))]
    conc = 2.0 if k == 1 else 8.0
    start = np.concatenate([np.zeros(k - 1), np.log(np.asarray(qs) * conc),
                            np.log((1 - np.asarray(qs)) * conc)])

    def unpack(x: np.ndarray) -> BetaPrior:
        w = softmax(np.concatenate([[0.0], x[:k - 1]]))
        return BetaPrior(w, np.exp(x[k - 1:2 * k - 1]), np.exp(x[2 * k - 1:]))

    def nll(x: np.ndarray) -> tuple[float, np.ndarray]:
        prior = unpack(x)
        logp = prior.log_marginal(n, c)
        total = logsumexp(logp, axis=1)
        r = np.exp(logp - total[:, None])  # responsibilities
        a, b = prior.a[None], prior.b[None]
        nn, cc = n[:, None], c[:, None]
        common = digamma(nn + a + b) - digamma(a + b)
        da = (r * a * (digamma(cc + a) - digamma(a) - common)).sum(axis=0)
        db = (r * b * (digamma(nn - cc + b) - digamma(b) - common)).sum(axis=0)
        dw = (r - prior.w[None]).sum(axis=0)[1:]
        return float(-total.sum()), -np.concatenate([dw, da, db])

    bounds = [(-12.0, 12.0)] * (k - 1) + [_BOUND] * (2 * k)
    res = minimize(nll, start, jac=True, method="L-BFGS-B", bounds=bounds)
    if not np.all(np.isfinite(res.x)) or not np.isfinite(res.fun):
        raise FitError(f"beta-binomial fit failed ({res.message}); check the counts")
    return unpack(res.x), float(res.fun)


def fit_beta_binomial(n: np.ndarray, c: np.ndarray, *, components: int = 1) -> BetaPrior:
    """The mixture of `components` Betas maximising the beta-binomial likelihood of counts."""
    n = np.asarray(n, dtype=float)
    c = np.asarray(c, dtype=float)
    if len(n) == 0:
        raise FitError("cannot fit success rates: no problems")
    return _fit_k(n, c, components)[0]


def fit_rates(n: np.ndarray, c: np.ndarray, *, max_components: int = 3) -> BetaPrior:
    """The Beta mixture (1..`max_components` components) with the lowest AIC.

    >>> n = np.full(60, 16); c = np.r_[np.zeros(30), np.full(30, 12)].astype(int)
    >>> fit_rates(n, c).n_components > 1
    True
    """
    n = np.asarray(n, dtype=float)
    c = np.asarray(c, dtype=float)
    if len(n) == 0:
        raise FitError("cannot fit success rates: no problems")
    best: tuple[float, BetaPrior] | None = None
    for k in range(1, max_components + 1):
        if 3 * k - 1 >= len(n):
            break
        prior, nll = _fit_k(n, c, k)
        aic = 2 * nll + 2 * (3 * k - 1)
        if best is None or aic < best[0] - 1e-9:
            best = (aic, prior)
    assert best is not None
    return best[1]
