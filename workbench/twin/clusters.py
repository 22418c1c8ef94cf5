"""Answer clustering: a Pitman-Yor (two-parameter Chinese-restaurant) process per problem, with
discount `d` and concentration `theta` fitted by maximum likelihood on the real answer
partitions of all problems (the exchangeable partition probability function is closed form).

A new sample joins an existing answer with probability (n_k - d) / (n + theta) and opens a new
answer with probability (theta + d K) / (n + theta): continuing a real pool this way conditions
on the answers already seen, and d = 0 is the Dirichlet process (Ewens) special case.

>>> sizes = [np.array([5, 1]), np.array([3, 2, 1]), np.array([6])]
>>> py = fit_pitman_yor(sizes)
>>> 0 <= py.d < 1 and py.theta > -py.d
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, gammaln, logit

from workbench.errors import FitError


@dataclass(frozen=True)
class PitmanYor:
    """Pitman-Yor partition prior: discount `d` in [0, 1), concentration `theta` > -d."""

    d: float
    theta: float

    def log_eppf(self, sizes: Sequence[np.ndarray]) -> float:
        """Log probability of the observed partitions (one array of cluster sizes each)."""
        return _log_eppf(self.d, self.theta, *_stack(sizes))

    def expected_clusters(self, n: int) -> float:
        """Expected number of distinct answers among n draws (by the urn recursion)."""
        k = 0.0
        for i in range(n):
            k += 1.0 if i == 0 else (self.theta + self.d * k) / (i + self.theta)
        return k


def _stack(sizes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster sizes flat, clusters per partition, samples per partition), non-empty only."""
    parts = [np.asarray(s, dtype=float) for s in sizes]
    parts = [s[s > 0] for s in parts]
    parts = [s for s in parts if len(s)]
    if not parts:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    flat = np.concatenate(parts)
    k = np.array([len(s) for s in parts], dtype=float)
    n = np.array([s.sum() for s in parts])
    return flat, k, n


def _log_eppf(d: float, theta: float, flat: np.ndarray, k: np.ndarray, n: np.ndarray) -> float:
    # prod_{i=1}^{K-1} (theta + i d) / (theta + 1)_{n-1} * prod_k (1 - d)_{n_k - 1}
    kmax = int(k.max()) if len(k) else 1
    i = np.arange(1, kmax)
    term = np.log(theta + i * d)
    cum = np.concatenate([[0.0], np.cumsum(term)])  # cum[K-1] = sum_{i<K} log(theta + i d)
    new = cum[(k - 1).astype(int)].sum()
    rising = (gammaln(theta + n) - gammaln(theta + 1)).sum()
    within = (gammaln(flat - d) - gammaln(1 - d)).sum()
    return float(new - rising + within)


def fit_pitman_yor(sizes: Sequence[np.ndarray], *, discount: bool = True) -> PitmanYor:
    """ML (d, theta) for partitions given as arrays of cluster sizes (one per problem).

    Problems with one sample carry no information and are harmless. `discount=False` fits
    the Dirichlet process (d = 0). Without any partition of two or more samples the fit
    falls back to theta = 1, d = 0 (a flat, weakly clustered prior) rather than failing.
    """
    flat, k, n = _stack(sizes)
    if len(n) == 0 or n.max() < 2:
        return PitmanYor(0.0, 1.0)
    if np.all(k == 1):  # every problem shows one answer: theta -> 0
        return PitmanYor(0.0, 1e-3)

    def unpack(x: np.ndarray) -> tuple[float, float]:
        d = float(expit(x[0])) * 0.999 if discount else 0.0
        return d, float(np.exp(x[1])) - d

    def nll(x: np.ndarray) -> float:
        d, theta = unpack(x)
        return -_log_eppf(d, theta, flat, k, n)

    start = np.array([logit(0.2) if discount else 0.0, 0.0])
    res = minimize(nll, start, method="L-BFGS-B",
                   bounds=[(-9.0, 9.0) if discount else (0.0, 0.0), (-7.0, 9.0)])
    if not np.isfinite(res.fun):
        raise FitError(f"Pitman-Yor fit failed ({res.message})")
    d, theta = unpack(res.x)
    return PitmanYor(d, theta)


def continue_partition(
    counts: np.ndarray, n_new: np.ndarray, prior: PitmanYor, rng: np.random.Generator
) -> np.ndarray:
    """Draw the clusters of new samples by the Pitman-Yor urn, after the observed ones.

    `counts` (P, K) are the observed cluster sizes per problem (zeros pad), `n_new` (P,) the
    number of new samples. Returns (P, max n_new) cluster labels: 0..K-1 join an observed
    cluster, K.. are new clusters, -1 pads. The loop runs over the new draws (vectorised over
    problems): sequential by nature, as the urn is.
    """
    counts = np.asarray(counts, dtype=float)
    p = counts.shape[0]
    width = int(np.max(n_new, initial=0))
    kmax = counts.shape[1] + width
    table = np.zeros((p, kmax))
    table[:, :counts.shape[1]] = counts
    nk = (counts > 0).sum(axis=1).astype(float)
    # observed clusters are packed first (0..K_p-1 non-zero), so new ones go at index nk
    total = counts.sum(axis=1)
    out = np.full((p, width), -1, dtype=np.int64)
    d, theta = prior.d, prior.theta
    for j in range(width):
        live = j < n_new
        w = np.where(table > 0, table - d, 0.0)
        w_new = np.where(total > 0, theta + d * nk, 1.0)
        w_new = np.maximum(w_new, 1e-12)
        tot = w.sum(axis=1) + w_new
        u = rng.random(p) * tot
        cum = np.cumsum(w, axis=1)
        pick = (u[:, None] >= cum).sum(axis=1)  # index of the chosen cluster, nk = a new one
        pick = np.minimum(pick, nk.astype(np.int64))
        rows = np.flatnonzero(live)
        table[rows, pick[rows]] += 1
        opened = live & (pick == nk)
        nk += opened
        total += live
        out[rows, j] = pick[rows]
    return out
