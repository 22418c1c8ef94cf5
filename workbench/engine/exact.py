"""Closed-form estimators: curves with no Monte-Carlo noise (DESIGN.md, "Estimators").

* pass@k, the unbiased estimator of Chen et al. (2021, "Evaluating Large Language Models Trained
  on Code", eq. 1): ``1 - C(n-c, k) / C(n, k)``, the probability that a uniform k-subset of the
  n cached samples holds at least one of the c correct ones.
* best-of-N for any score: sort a pool of M samples by score once; the sample at rank r
  (1 = best) is the maximum of a uniform N-subset with probability ``C(M-r, N-1) / C(M, N)``
  (the order-statistic argument used for best-of-N resampling, e.g. by Snell et al. 2024 and
  Brown et al. 2024, "Large Language Monkeys"). Samples with EQUAL scores form a tie group: the
  subset's maximum falls in the group with the summed mass of its ranks, and a uniform tie-break
  inside the group then picks each of the group's members present in the subset with equal
  probability, so the group contributes its mass times its MEAN correctness. Replacing each
  sample's correctness by its tie group's mean and weighting ranks by the formula above is
  therefore exact, ties included.

Both are vectorised over problems and budgets: pass@k is one cumulative sum over k; best-of-N
is one sort per problem and one matrix product (samples x budgets) per pool size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.engine.budgets import check_budgets

_CHUNK = 1 << 22
"""Largest intermediate array (elements) built at once; bounds memory for huge pools."""
_TAIL_LOG = 42
"""exp(-42) < 2^-60: the tail mass `best_of_n` may leave out (see `_rank_cutoff`)."""


def pass_at_k(
    n: np.ndarray | Sequence[int],
    c: np.ndarray | Sequence[int],
    ks: Sequence[int] | np.ndarray,
    *,
    replace: bool = False,
) -> np.ndarray:
    """Unbiased pass@k per problem and k: a (P, K) array.

    ``1 - C(n-c, k)/C(n, k) = 1 - prod_{i<k} (1 - c/(n-i))`` (Chen et al. 2021, eq. 1; the
    product form is their numerically stable implementation), computed for every k up to the
    largest at once as ``-expm1(cumsum(log1p(-c/(n-i))))``, which keeps full relative precision
    for tiny probabilities. With ``replace=True`` the with-replacement (biased, Chen et al.'s
    "1 - (1 - c/n)^k") estimator is used and k may exceed n.

    >>> pass_at_k([4], [1], [1, 2, 4]).round(6).tolist()
    [[0.25, 0.5, 1.0]]
    """
    n_arr = np.asarray(n, dtype=np.int64)
    c_arr = np.asarray(c, dtype=np.int64)
    if n_arr.shape != c_arr.shape or n_arr.ndim != 1:
        raise ValueError("`n` and `c` must be 1-D arrays of one length")
    if np.any(n_arr < 1) or np.any(c_arr < 0) or np.any(c_arr > n_arr):
        raise ValueError("need n >= 1 and 0 <= c <= n for every problem")
    k_arr = check_budgets(ks, n_arr, replace=replace)
    p = len(n_arr)
    out = np.empty((p, len(k_arr)))
    rate = c_arr / n_arr
    if replace:
        with np.errstate(divide="ignore"):
            out[:] = -np.expm1(k_arr[None, :] * np.log1p(-rate)[:, None])
        return out
    kmax = int(k_arr.max())
    step = max(1, _CHUNK // kmax)
    i = np.arange(kmax)
    for lo in range(0, p, step):
        nn, cc = n_arr[lo:lo + step, None], c_arr[lo:lo + step, None]
        # factor i is the chance that draw i misses the c correct ones given draws < i did;
        # it reaches 1 (log -inf) once fewer than i+1 wrong samples remain: pass@k = 1 from there
        frac = np.minimum(cc / np.maximum(nn - i[None, :], 1), 1.0)
        with np.errstate(divide="ignore"):
            logmiss = np.cumsum(np.log1p(-frac), axis=1)
        out[lo:lo + step] = -np.expm1(logmiss[:, k_arr - 1])
    return out


def rank_weights(
    m: int, budgets: np.ndarray, *, replace: bool = False, ranks: int | None = None
) -> np.ndarray:
    """(B, R) probability that the sample at rank r (0-based, best first) is an N-subset's max.

    Without replacement ``C(M-r-1, N-1)/C(M, N)`` for 0-based r, built by the ratio of
    consecutive ranks ``(M-r-N+1)/(M-r)`` (a cumulative product: no factorials, no overflow).
    With replacement (N independent draws) ``((M-r)/M)^N - ((M-r-1)/M)^N``. Only the first
    `ranks` ranks are returned (default all M).

    >>> rank_weights(3, np.array([1, 2, 3])).round(4).tolist()
    [[0.3333, 0.3333, 0.3333], [0.6667, 0.3333, 0.0], [1.0, 0.0, 0.0]]
    """
    nb = np.asarray(budgets, dtype=np.int64)[:, None]
    width = m if ranks is None else min(ranks, m)
    r = np.arange(width)[None, :]
    if replace:
        return np.asarray(((m - r) / m) ** nb - ((m - r - 1) / m) ** nb)
    ratio = np.empty((nb.shape[0], width))
    ratio[:, 0] = nb[:, 0] / m
    ratio[:, 1:] = np.maximum(m - r[:, 1:] - nb + 1, 0) / (m - r[:, 1:])
    return np.asarray(np.cumprod(ratio, axis=1))


def _rank_cutoff(m: int, n: int, replace: bool) -> int:
    """Ranks past which an N-subset's maximum lies with probability below 2^-60.

    P(max rank >= J) = C(M-J, N)/C(M, N) <= (1 - J/M)^N <= exp(-J N / M) (the same bound
    holds with replacement), so J = ceil(42 M / N) leaves out less than 2^-60 of the mass:
    below the rounding of the float64 sum, so the truncated product is exact to machine
    precision while skipping most of the (samples x budgets) product for large N.
    """
    return min(m, -(-_TAIL_LOG * m // n))


def tie_group_means(sorted_scores: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """Replace each entry of rows sorted by score by the mean over its run of equal scores.

    >>> tie_group_means(np.array([[3., 2., 2., 1.]]), np.array([[1., 1., 0., 0.]])).tolist()
    [[1.0, 0.5, 0.5, 0.0]]
    """
    p, m = sorted_scores.shape
    if m == 0:
        return sorted_values.astype(float)
    new = np.ones((p, m), dtype=bool)
    new[:, 1:] = sorted_scores[:, 1:] != sorted_scores[:, :-1]
    gid = np.cumsum(new.ravel()) - 1  # group ids, never shared across rows (col 0 is new)
    sums = np.bincount(gid, weights=sorted_values.ravel().astype(float))
    cnts = np.bincount(gid)
    return np.asarray((sums / cnts)[gid].reshape(p, m))


def best_of_n(
    score: np.ndarray,
    correct: np.ndarray,
    sizes: np.ndarray,
    budgets: Sequence[int] | np.ndarray,
    *,
    replace: bool = False,
) -> np.ndarray:
    """Exact best-of-N accuracy per problem and budget: (P, B), ties sharing their mass.

    `score` and `correct` are (P, M) with row p's first `sizes[p]` entries real; `correct`
    may be any per-sample value in [0, 1] (the expectation of the picked sample's value).

    >>> best_of_n(np.array([[0.9, 0.5, 0.5, 0.1]]), np.array([[0, 1, 0, 1]]), np.array([4]),
    ...           [1, 2, 4]).round(4).tolist()
    [[0.5, 0.25, 0.0]]
    """
    score = np.asarray(score, dtype=float)
    values = np.asarray(correct, dtype=float)
    sizes = np.asarray(sizes, dtype=np.int64)
    nb = check_budgets(budgets, sizes, replace=replace)
    order = np.argsort(nb, kind="stable")  # sorted budgets: each block is a column slice
    sorted_nb = nb[order]
    unsort = None if np.all(order[1:] > order[:-1]) else np.argsort(order)
    out = np.empty((len(sizes), len(nb)))
    for m in np.unique(sizes):
        m = int(m)
        rows = np.flatnonzero(sizes == m)
        step = max(1, _CHUNK // m)
        blocks = _budget_blocks(m, sorted_nb, replace)
        for lo in range(0, len(rows), step):
            r = rows[lo:lo + step]
            s = score[r, :m]
            idx = np.argsort(-s, axis=1)  # order within ties is irrelevant: groups average
            ss = np.take_along_axis(s, idx, axis=1)
            y = tie_group_means(ss, np.take_along_axis(values[r, :m], idx, axis=1))
            res = np.empty((len(r), len(nb)))
            for cols, weights in blocks:
                res[:, cols] = y[:, :weights.shape[1]] @ weights.T
            if unsort is not None:
                res = res[:, unsort]
            if r[-1] - r[0] == len(r) - 1:  # contiguous rows: a slice, no fancy indexing
                out[r[0]:r[-1] + 1] = res
            else:
                out[r] = res
    return out


def _budget_blocks(
    m: int, nb: np.ndarray, replace: bool
) -> list[tuple[slice, np.ndarray]]:
    """Sorted budgets grouped by their rank cutoff (rounded up to a power of two), each group
    a column slice with its rank weights: one matrix product per group, over the ranks that
    matter to it."""
    cuts = np.array([_rank_cutoff(m, int(n), replace) for n in nb])
    level = np.ceil(np.log2(cuts)).astype(np.int64)
    starts = np.flatnonzero(np.diff(level, prepend=level[0] + 1))
    ends = [*starts[1:], len(nb)]
    return [
        (slice(a, b), rank_weights(m, nb[a:b], replace=replace, ranks=int(cuts[a:b].max())))
        for a, b in zip(starts, ends, strict=True)
    ]
