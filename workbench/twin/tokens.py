"""Token counts: log output tokens = m + b_i + e, with a per-problem effect b_i ~ N(0, tau^2)
and e ~ N(0, sigma^2) fitted by the method of moments; prompt tokens are the problem's own.

>>> rng = np.random.default_rng(0)
>>> prob = np.repeat(np.arange(40), 5)
>>> tok = np.exp(5 + rng.normal(0, 0.5, 40)[prob] + rng.normal(0, 0.2, 200))
>>> model = fit_tokens(tok, prob, 40)
>>> round(model.m, 1), round(model.sigma, 1)
(5.0, 0.2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TokenModel:
    """Log-normal output tokens with a per-problem effect."""

    m: float
    tau: float
    sigma: float

    def draw(self, tokens: np.ndarray, prob: np.ndarray, n_problems: int, n_new: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
        """(P, max n_new) new output-token counts, given each problem's observed counts."""
        lt = np.log(np.maximum(tokens, 1.0))
        ok = np.isfinite(lt)
        n = np.bincount(prob[ok], minlength=n_problems).astype(float)
        s = np.bincount(prob[ok], weights=lt[ok], minlength=n_problems)
        prec = 1.0 / max(self.tau**2, 1e-12) + n / max(self.sigma**2, 1e-12)
        mean = (s - n * self.m) / max(self.sigma**2, 1e-12) / prec
        b = mean + rng.standard_normal(n_problems) / np.sqrt(prec)
        width = int(np.max(n_new, initial=0))
        e = rng.standard_normal((n_problems, width)) * self.sigma
        return np.asarray(np.round(np.exp(self.m + b[:, None] + e)))


def fit_tokens(tokens: np.ndarray, prob: np.ndarray, n_problems: int) -> TokenModel:
    """Method-of-moments fit on real output-token counts (NaN = unknown)."""
    lt = np.log(np.maximum(tokens, 1.0))
    ok = np.isfinite(lt)
    lt, prob = lt[ok], prob[ok]
    if len(lt) == 0:
        return TokenModel(float("nan"), 0.0, 0.0)
    n = np.bincount(prob, minlength=n_problems).astype(float)
    has = n > 0
    mean_p = np.bincount(prob, weights=lt, minlength=n_problems)[has] / n[has]
    resid = lt - (np.bincount(prob, weights=lt, minlength=n_problems) / np.maximum(n, 1))[prob]
    dof = (n[has] - 1).sum()
    sigma2 = float((resid**2).sum() / dof) if dof > 0 else 0.0
    tau2 = max(float(np.var(mean_p)) - sigma2 * float(np.mean(1 / n[has])), 0.0)
    return TokenModel(float(mean_p.mean()), float(np.sqrt(tau2)), float(np.sqrt(sigma2)))
