"""Verifier scores given correctness, with per-problem and per-answer effects.

Scores are first mapped to a normal scale through their pooled empirical distribution (a
Gaussian copula: any marginal, e.g. a reward model's logits or a judge's probabilities, is kept
exactly on the way back). On that scale a sample of class y (1 = correct, 0 = wrong) in answer
cluster k of problem i scores

    z = mu_y + a_iy + c_ik + sigma_y * eps,   (a_i1, a_i0) ~ N(0, Sigma_a),
    c_ik ~ N(0, tau_c^2),   eps ~ N(0, 1).

`a` is the per-problem effect (its correlation across classes is what makes some problems
hard for the verifier: a wrong answer scoring as high as the right one), `c` the per-answer
effect (samples that share an answer get similar scores, which is what weighted best-of-N
sums). Parameters are fitted by the method of moments on real scores; a problem's effects are
drawn from their exact Gaussian posterior given its observed scores, so a continued pool keeps
each problem's verifier behaviour.

>>> rng = np.random.default_rng(0)
>>> prob = np.repeat(np.arange(50), 6); y = np.tile([1, 1, 1, 0, 0, 0], 50)
>>> clus = np.tile([0, 0, 0, 1, 2, 2], 50); s = rng.normal(y, 0.5)
>>> model = fit_scores(s, prob, y, clus)
>>> bool(model.mu[1] > model.mu[0])
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

_EPS = 1e-9


@dataclass(frozen=True)
class ScoreTransform:
    """Monotone map between scores and the normal scale (pooled empirical quantiles)."""

    u: np.ndarray
    s: np.ndarray

    @classmethod
    def fit(cls, scores: np.ndarray) -> ScoreTransform:
        vals, inv, cnt = np.unique(scores, return_inverse=True, return_counts=True)
        n = len(scores)
        upper = np.cumsum(cnt)
        mid = (upper - cnt / 2) / n  # mid-rank of each distinct value
        return cls(u=np.asarray(mid), s=np.asarray(vals))

    def to_z(self, scores: np.ndarray) -> np.ndarray:
        u = np.interp(scores, self.s, self.u)
        edge = 0.5 / (4 * len(self.u) + 1)  # keeps the extremes finite
        return np.asarray(ndtri(np.clip(u, edge, 1 - edge)))

    def from_z(self, z: np.ndarray) -> np.ndarray:
        if len(self.s) == 1:
            return np.full(np.shape(z), self.s[0])
        return np.asarray(np.interp(ndtr(z), self.u, self.s))


@dataclass(frozen=True)
class ScoreModel:
    """Fitted score model (see the module docstring); index 0 = wrong, 1 = correct."""

    transform: ScoreTransform
    mu: np.ndarray  # (2,)
    sigma: np.ndarray  # (2,) within-answer standard deviation
    tau_c: float  # per-answer effect standard deviation
    cov_a: np.ndarray  # (2, 2) per-problem effect covariance (rows/cols: wrong, correct)

    def posterior_problem_effects(
        self, z: np.ndarray, prob: np.ndarray, y: np.ndarray, clus: np.ndarray, n_problems: int,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, dict[tuple[int, int], float]]:
        """One posterior draw of every problem's (a_i0, a_i1) and of each observed answer's
        effect c_ik, given observed normal-scale scores (flat arrays, `clus` per problem)."""
        st = _cluster_stats(z, prob, y, clus)
        s2 = self.sigma[st.y] ** 2
        w = 1.0 / (self.tau_c**2 + s2 / st.n + _EPS)
        dev = st.mean - self.mu[st.y]
        wsum = np.zeros((n_problems, 2))
        wdev = np.zeros((n_problems, 2))
        np.add.at(wsum, (st.prob, st.y), w)
        np.add.at(wdev, (st.prob, st.y), w * dev)
        prior_prec = np.linalg.inv(self.cov_a + _EPS * np.eye(2))
        prec = prior_prec[None, :, :] + wsum[:, :, None] * np.eye(2)[None, :, :]
        cov = np.linalg.inv(prec)
        mean = np.einsum("pij,pj->pi", cov, wdev)
        chol = np.linalg.cholesky(cov + 1e-12 * np.eye(2))
        a = mean + np.einsum("pij,pj->pi", chol, rng.standard_normal((n_problems, 2)))
        # answer effects given a: a normal-normal update per observed answer
        resid = dev - a[st.prob, st.y]
        r = self.tau_c**2 / (self.tau_c**2 + s2 / st.n + _EPS)
        c = r * resid + np.sqrt(np.maximum(r * s2 / st.n, 0)) * rng.standard_normal(len(r))
        effects = {(int(p), int(k)): float(v) for p, k, v in zip(st.prob, st.clus, c, strict=True)}
        return a, effects


@dataclass(frozen=True)
class _ClusterStats:
    prob: np.ndarray
    clus: np.ndarray
    y: np.ndarray
    n: np.ndarray
    mean: np.ndarray
    ss: np.ndarray


def _cluster_stats(z: np.ndarray, prob: np.ndarray, y: np.ndarray,
                   clus: np.ndarray) -> _ClusterStats:
    key = prob.astype(np.int64) * (int(clus.max(initial=0)) + 1) + clus
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    n = np.bincount(inv).astype(float)
    s1 = np.bincount(inv, weights=z)
    mean = s1 / n
    ss = np.bincount(inv, weights=(z - mean[inv]) ** 2)
    # an answer's class is its majority correctness (canonical answers are one or the other)
    ybar = np.bincount(inv, weights=y.astype(float)) / n
    return _ClusterStats(prob=prob[first], clus=clus[first], y=(ybar >= 0.5).astype(np.int64),
                         n=n, mean=mean, ss=ss)


def fit_scores(scores: np.ndarray, prob: np.ndarray, y: np.ndarray,
               clus: np.ndarray) -> ScoreModel:
    """Method-of-moments fit of the score model on real scores (flat arrays: one per sample;
    `clus` numbers the answers within each problem, a unique number per sample when the run
    has no answers)."""
    transform = ScoreTransform.fit(scores)
    z = transform.to_z(scores)
    y = np.asarray(y, dtype=np.int64)
    st = _cluster_stats(z, prob, y, clus)
    total_var = float(np.var(z)) if len(z) > 1 else 1.0
    sigma = np.empty(2)
    for k in (0, 1):
        m = st.y == k
        dof = (st.n[m] - 1).sum()
        sigma[k] = np.sqrt(st.ss[m].sum() / dof) if dof > 0 else np.nan
    if np.all(np.isnan(sigma)):  # no repeated answer anywhere: samples independent
        sigma[:] = np.sqrt(total_var)
    sigma = np.where(np.isnan(sigma), np.nanmean(sigma), sigma)
    sigma = np.maximum(sigma, 1e-3 * np.sqrt(total_var))
    # answer effect: spread of answer means within a problem and class beyond sampling noise
    pc = st.prob * 2 + st.y
    uniq, inv, cnt = np.unique(pc, return_inverse=True, return_counts=True)
    multi = cnt[inv] >= 2
    if multi.any():
        gmean = np.bincount(inv, weights=st.mean) / cnt
        dev2 = (st.mean - gmean[inv]) ** 2
        dof = (cnt[cnt >= 2] - 1).sum()
        between = dev2[multi].sum() / dof
        noise = (sigma[st.y] ** 2 / st.n)[multi].mean()
        tau_c2 = max(between - noise, 0.0)
    else:
        tau_c2 = 0.0
    # per-problem class means and their noise, then the problem-effect covariance
    w = 1.0 / (tau_c2 + sigma[st.y] ** 2 / st.n)
    wsum = np.bincount(inv, weights=w)
    emean = np.bincount(inv, weights=w * st.mean) / wsum
    evar = 1.0 / wsum
    ey = uniq % 2
    ep = uniq // 2
    mu = np.zeros(2)
    var_a = np.zeros(2)
    for k in (0, 1):
        m = ey == k
        if m.sum() >= 1:
            mu[k] = emean[m].mean()
        if m.sum() >= 2:
            var_a[k] = max(float(np.var(emean[m], ddof=1) - evar[m].mean()), 0.0)
    for k in (0, 1):  # a class never seen borrows the other's
        if not (ey == k).any():
            mu[k] = mu[1 - k]
            var_a[k] = var_a[1 - k]
            sigma[k] = sigma[1 - k]
    cov = 0.0
    both = np.intersect1d(ep[ey == 0], ep[ey == 1])
    if len(both) >= 3 and var_a.min() > 0:
        e0 = emean[ey == 0][np.searchsorted(ep[ey == 0], both)]
        e1 = emean[ey == 1][np.searchsorted(ep[ey == 1], both)]
        rho = np.corrcoef(e0, e1)[0, 1] if np.std(e0) > 0 and np.std(e1) > 0 else 0.0
        # the observed correlation is attenuated by noise; de-attenuate, then clip
        rel = np.sqrt(np.prod(var_a) / np.prod([np.var(e0) + _EPS, np.var(e1) + _EPS]))
        rho = float(np.clip(rho / max(rel, _EPS), -0.95, 0.95)) if np.isfinite(rho) else 0.0
        cov = rho * np.sqrt(var_a[0] * var_a[1])
    cov_a = np.array([[var_a[0], cov], [cov, var_a[1]]]) + 1e-6 * np.eye(2)
    return ScoreModel(transform=transform, mu=mu, sigma=sigma, tau_c=float(np.sqrt(tau_c2)),
                      cov_a=cov_a)
