"""Exact voting estimators: majority@N by generating functions, weighted best-of-N by enumeration.

Majority@N (DESIGN.md, "Estimators"). A pool of M samples falls into answer clusters of sizes
m_1..m_K plus m_0 samples without an answer. The votes (x_0, .., x_K) of a uniform N-subset
follow the multivariate hypergeometric law, which is the law of independent
x_i ~ Binomial(m_i, p) conditioned on their sum being N, for any p (we take p = N/M, which keeps
every factor a probability: no factorial overflows, whatever the pool). With replacement the
votes are multinomial, i.e. independent x_i ~ Poisson(N m_i / M) conditioned on the sum N. So

    P(cluster j wins) = sum_t P(x_j = t) * [z^(N-t)] prod_{i != j} g_i(z) / P(sum = N),

where the tie-break is uniform: give every cluster a uniform priority; j wins a tie against i
when its priority is higher, and integrating j's priority u over [0, 1] turns a tie with s
others into the weight 1/(s+1). Hence g_i(z, u) = sum_{x < t} P(x_i = x) z^x + u P(x_i = t) z^t,
and the share of j is sum_s [u^s] / (s + 1). Clusters that cannot reach t votes (m_i < t,
without replacement) never tie or beat j: they merge with the unanswered samples into one
Binomial(A, p) factor, so only the at most M/t clusters of size >= t are multiplied one by one.
Cost per problem: sum over t of (M/t) polynomial products of degree <= N - t, i.e.
O(M N log N) numpy work per problem, vectorised over problems (no loop over samples); answers
that are wrong need no computation at all (only clusters with positive correctness are
targets). Every term is positive: no cancellation, so the result is exact to rounding.

Weighted best-of-N has no such product form (a subset's winner depends on the summed scores),
so it is exact by ENUMERATING every N-subset (or ordered N-tuple with replacement) where their
number is at most `limit`, vectorised over chunks of problems and draws (the winner is found
among the N drawn answers, O(N^2) per draw); elsewhere the caller falls back to Monte Carlo.

Neither has a Python loop over samples or problems: majority loops over budgets, vote counts t
and the clusters that can reach t; enumeration over budgets and chunks. Measured on one core
(Qwen2.5-Math, 100 problems x 8 samples, N = 1..8): majority 55 ms, weighted best-of-N 16 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import chain, combinations, product
from math import comb

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats

from workbench.engine.budgets import check_budgets
from workbench.engine.montecarlo import _TIE_RTOL

ENUMERATION_LIMIT = 10_000
"""Largest number of subsets (per problem and budget) that weighted best-of-N enumerates.
Measured on one core: 200 problems x C(32, 3) = 4,960 subsets take 0.5 s (Monte Carlo with 1,000
draws: 0.3 s); C(32, 4) = 35,960 would take 11 s, so it is left to Monte Carlo; every budget of
an 8-sample pool (at most C(8, 4) = 70) is enumerated in milliseconds."""
_NEGLIGIBLE = 1e-16
"""A vote count t of the target whose probability is below this (relative to P(sum = N)) is
skipped: its term is at most that, so even N skipped terms stay far below the 1e-12 target."""
_CHUNK = 1 << 22
"""Largest (problems x subsets x N) index array built at once."""


def majority(
    answer: np.ndarray,
    class_correct: np.ndarray,
    sizes: np.ndarray,
    budgets: Sequence[int] | np.ndarray,
    *,
    replace: bool = False,
) -> np.ndarray:
    """Exact majority@N per problem and budget, ties shared uniformly: a (P, B) array.

    `answer` (P, M) holds answer codes 0..K-1 (-1: no answer or padding, never wins; a draw
    with no answer at all scores 0), `class_correct` (P, K) each answer's correctness,
    `sizes` (P,) the real entries per row.

    >>> majority(np.array([[0, 0, 1, 2]]), np.array([[1.0, 0.0, 0.0]]), np.array([4]),
    ...          [1, 2, 3]).round(6).tolist()   # N=2: 1/6 (0,0) + 4/6 x 1/2 (0 tied with 1 or 2)
    [[0.5, 0.5, 0.666667]]
    """
    answer = np.asarray(answer)
    sizes = np.asarray(sizes, dtype=np.int64)
    cc = np.asarray(class_correct, dtype=float)
    nb = check_budgets(budgets, sizes, replace=replace)
    out = np.zeros((len(sizes), len(nb)))
    for m in np.unique(sizes).tolist():
        rows = np.flatnonzero(sizes == m)
        codes = answer[rows, :m].astype(np.int64)
        k = max(int(codes.max(initial=-1)) + 1, 1)
        counts = _cluster_sizes(codes, k)
        ccg = np.zeros((len(rows), k))
        kk = min(k, cc.shape[1])
        ccg[:, :kk] = cc[rows, :kk]
        # targets: (problem, cluster) pairs whose cluster is present and (partly) correct
        tr, tj = np.nonzero((counts > 0) & (ccg > 0))
        if tr.size == 0:
            continue
        mj = counts[tr, tj]
        others = counts[tr].copy()
        others[np.arange(tr.size), tj] = 0
        others = -np.sort(-others, axis=1)  # descending: clusters that reach t come first
        others = others[:, :max(int((others > 0).sum(axis=1).max()), 1)]
        m0 = m - counts[tr].sum(axis=1)
        for b, n in enumerate(nb.tolist()):
            share = _win_probability(mj, others, m0, m, n, replace)
            out[rows, b] = np.bincount(tr, weights=share * ccg[tr, tj], minlength=len(rows))
    return out


def _cluster_sizes(codes: np.ndarray, k: int) -> np.ndarray:
    """(P, K) samples per answer cluster."""
    p = codes.shape[0]
    real = codes >= 0
    flat = (np.arange(p)[:, None] * k + codes)[real]
    return np.bincount(flat, minlength=p * k).reshape(p, k)


def _pmf(x: np.ndarray, size: np.ndarray, m: int, n: int, replace: bool) -> np.ndarray:
    """P(a group of `size` samples gets x votes) in the independent (Poissonised) model."""
    if replace:
        return np.asarray(stats.poisson.pmf(x, n * size / m))
    return np.asarray(stats.binom.pmf(x, size, n / m))


def _win_probability(
    mj: np.ndarray, others: np.ndarray, m0: np.ndarray, m: int, n: int, replace: bool
) -> np.ndarray:
    """(T,) probability that target cluster j (size mj) wins majority@n, ties shared; `others`
    (T, K') the sizes of the other clusters (descending, zero-padded), `m0` the unanswered."""
    total = np.zeros(mj.size)
    norm = float(_pmf(np.array([n]), np.array([m]), m, n, replace)[0])  # P(sum of votes = n)
    top = n if replace else min(n, int(mj.max()))
    for t in range(1, top + 1):
        p_t = _pmf(np.full(mj.size, t), mj, m, n, replace)
        if p_t.max() < _NEGLIGIBLE * norm:  # adds < 1e-16 to every target: below rounding
            continue
        big = (others > 0) if replace else (others >= t)  # clusters that can reach t votes
        nbig = int(big.sum(axis=1).max())
        d = n - t  # votes left for the others
        s_max = min(nbig, d // t)  # at most d // t other clusters can tie at t
        rest = m0 + np.where(big, 0, others).sum(axis=1)  # merged: unanswered + small
        poly = np.zeros((mj.size, d + 1, s_max + 1))
        poly[:, 0, 0] = 1.0
        x = np.arange(t + 1)
        for c in range(nbig):
            size = np.where(big[:, c], others[:, c], 0)
            # kernel[i] is the factor's coefficient of z^(t - i): i = 0 is the tie term
            kern = _pmf(t - x[None, :], size[:, None], m, n, replace)
            kern[~big[:, c]] = np.eye(1, t + 1, t)[0]  # no factor: the identity polynomial
            padded = np.concatenate([np.zeros((mj.size, t, s_max + 1)), poly], axis=1)
            win = sliding_window_view(padded, t + 1, axis=1)  # (T, d+1, s+1, t+1)
            new = np.einsum("rzsi,ri->rzs", win[..., 1:], kern[:, 1:])
            new[:, :, 1:] += win[:, :, :-1, 0] * kern[:, :1, None]
            poly = new
        rest_pmf = _pmf(d - np.arange(d + 1)[None, :], rest[:, None], m, n, replace)
        coef = np.einsum("rz,rzs->rs", rest_pmf, poly)  # [z^d] of rest x poly, per tie count
        share = coef @ (1.0 / np.arange(1, s_max + 2))
        total += p_t * share
    return total / norm


def enumerable(m: int, n: int, *, replace: bool = False, limit: int = ENUMERATION_LIMIT) -> bool:
    """Whether weighted best-of-N enumerates the draws of n from a pool of m (at most `limit`).

    >>> enumerable(8, 4), enumerable(32, 3), enumerable(32, 4)
    (True, True, False)
    """
    count = m**n if replace else comb(m, n)
    return count <= limit


@lru_cache(maxsize=64)
def _draws(m: int, n: int, replace: bool) -> np.ndarray:
    """(C, n) every N-subset (or ordered tuple with replacement) of range(m), each once."""
    it = product(range(m), repeat=n) if replace else combinations(range(m), n)
    count = m**n if replace else comb(m, n)
    flat = np.fromiter(chain.from_iterable(it), dtype=np.int64, count=count * n)
    out = flat.reshape(count, n)
    out.flags.writeable = False
    return out


def weighted_bon(
    answer: np.ndarray,
    class_correct: np.ndarray,
    sizes: np.ndarray,
    budgets: Sequence[int] | np.ndarray,
    weights: np.ndarray,
    *,
    replace: bool = False,
    limit: int = ENUMERATION_LIMIT,
) -> np.ndarray:
    """Exact weighted best-of-N by enumerating every draw: (P, B).

    Every budget must be `enumerable` for every pool size (the caller checks). Ties between
    summed scores (to a relative 1e-9) share uniformly; unanswered samples never win.

    >>> weighted_bon(np.array([[0, 0, 0, 1]]), np.array([[1.0, 0.0]]), np.array([4]), [4],
    ...              np.array([[-1.0, -1.0, -1.0, -0.5]])).tolist()   # raw signed sums
    [[0.0]]
    """
    answer = np.asarray(answer)
    sizes = np.asarray(sizes, dtype=np.int64)
    cc = np.asarray(class_correct, dtype=float)
    wts = np.asarray(weights, dtype=float)
    nb = check_budgets(budgets, sizes, replace=replace)
    out = np.zeros((len(sizes), len(nb)))
    for m in np.unique(sizes).tolist():
        rows = np.flatnonzero(sizes == m)
        codes = answer[rows, :m].astype(np.int64)
        k = max(int(codes.max(initial=-1)) + 1, 1)
        ccg = np.zeros((len(rows), k))
        kk = min(k, cc.shape[1])
        ccg[:, :kk] = cc[rows, :kk]
        w = wts[rows, :m]
        for b, n in enumerate(nb.tolist()):
            if not enumerable(m, n, replace=replace, limit=limit):
                raise ValueError(f"{m}^{n} or C({m}, {n}) draws exceed the enumeration "
                                 f"limit {limit}")
            idx = _draws(m, n, replace)
            step = max(1, _CHUNK // (idx.size * n))  # (rows x draws x n x n) per chunk
            for lo in range(0, len(rows), step):
                sel = slice(lo, lo + step)
                out[rows[sel], b] = _enumerated(codes[sel], w[sel], ccg[sel], idx, k)
    return out


def _enumerated(codes: np.ndarray, w: np.ndarray, cc: np.ndarray, idx: np.ndarray,
                k: int) -> np.ndarray:
    """Mean over the draws `idx` (C, n) of the weighted vote's expected correctness: (R,).

    No tally over all K answers: the winner is among the n drawn ones, so each drawn sample's
    answer total is a sum over the n x n "same answer" matrix (O(n^2) per draw, however many
    answers the pool has). Tied top answers share uniformly: each position counts 1/(copies of
    its answer in the draw), so every distinct tied answer weighs one.
    """
    drawn = codes[:, idx]  # (R, C, n)
    real = drawn >= 0
    same = (drawn[..., :, None] == drawn[..., None, :]) & real[..., None, :]  # (R, C, n, n)
    total = np.einsum("rcij,rcj->rci", same, w[:, idx])  # each position's answer's sum
    copies = same.sum(axis=-1)
    top = np.where(real, total, -np.inf).max(axis=-1, keepdims=True)
    tol = _TIE_RTOL * np.maximum(1.0, np.abs(np.where(np.isfinite(top), top, 0.0)))
    tied = real & (total >= top - tol)
    ok = np.take_along_axis(cc, np.maximum(drawn, 0).reshape(len(cc), -1), axis=1)
    unit = np.where(tied, 1.0 / np.maximum(copies, 1), 0.0)
    hit = (unit * ok.reshape(drawn.shape)).sum(axis=-1)
    n_tied = unit.sum(axis=-1)
    share = np.where(n_tied > 0, hit / np.maximum(n_tied, 1e-300), 0.0)
    return np.asarray(share.mean(axis=1))
