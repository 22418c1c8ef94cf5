"""Vectorised Monte Carlo for voting strategies (majority, weighted best-of-N).

Each replicate draws a uniform random ORDER of a problem's pool; the first N entries are a
uniform N-subset drawn without replacement, so one ordering serves every budget at once (the
budgets are nested prefixes). Votes are tallied per answer with one `np.bincount` over
(problem, replicate, budget bracket, answer) and a cumulative sum over brackets; there is no
Python loop over samples or draws.

Cost-saving choices, each keeping every per-problem estimate unbiased:

* Orderings come from sorting uniform keys (argpartition + sort of the first L); one ordering
  per replicate is shared by the problems of a block, each ROTATED by its own uniform offset.
  A fixed relabelling of a uniform ordering is uniform, so each problem's subsets are exactly
  uniform; problems of a block are mildly dependent within a replicate, which is why the
  accuracy's Monte-Carlo standard error is computed from replicate-level means (i.i.d. across
  replicates) rather than by pooling per-problem errors.
* Ties between the winning answers are not broken by sampling: the expected correctness of a
  uniform tie-break (the share of correct answers among the tied ones) is used directly, which
  removes that part of the Monte-Carlo noise (a Rao-Blackwellisation).
* N = 1 and N = M (the whole pool, without replacement) have closed forms and are computed
  exactly (zero standard error).

With ``replace=True`` the draws are N independent uniform picks (with replacement).

Reproducibility: the random stream of every block comes from ``rng.spawn`` in a fixed order,
so results depend on the seed, not on ``n_jobs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workbench.engine.budgets import check_budgets

if TYPE_CHECKING:
    import pandas as pd

RngLike = np.random.Generator | int | None
Progress = Callable[[int, int], None]
"""`progress(done, total)`: called after each block of replicates (the CLI's tqdm)."""

_BLOCK = 1 << 18
"""Elements of the largest (problems x replicates x positions) array a block builds."""
_TIE_RTOL = 1e-9
"""Relative tolerance for ties between summed scores: sums over different subsets round
differently, so equal-in-exact-arithmetic sums may differ in the last bits."""


@dataclass(frozen=True)
class MCEstimate:
    """Per-problem Monte-Carlo estimates and their standard errors.

    Attributes:
        mean: (P, B) estimated expected success per problem and budget.
        se: (P, B) Monte-Carlo standard error of each entry (0 where computed exactly).
        accuracy_se: (B,) Monte-Carlo standard error of the mean over problems.
        draws: replicates per problem and budget.
        exact: (B,) True where the budget was computed in closed form for every problem.
    """

    mean: np.ndarray
    se: np.ndarray
    accuracy_se: np.ndarray
    draws: int
    exact: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per (problem, budget) position (the estimate has no ids or budgets).

        Columns:
            problem_index: row of the pool.
            budget_index: position in the budget list.
            mean: estimated expected success.
            se: its Monte-Carlo standard error.
            exact: the budget was computed in closed form.
            draws: replicates per problem and budget.
        """
        import pandas as pd

        p, b = self.mean.shape
        return pd.DataFrame({
            "problem_index": np.repeat(np.arange(p), b), "budget_index": np.tile(np.arange(b), p),
            "mean": np.asarray(self.mean, dtype=float).ravel(),
            "se": np.asarray(self.se, dtype=float).ravel(),
            "exact": np.tile(np.asarray(self.exact, dtype=bool), p), "draws": self.draws,
        })


def vote_share(
    counts: np.ndarray | None,
    class_correct: np.ndarray,
    sums: np.ndarray | None = None,
) -> np.ndarray:
    """Expected correctness of the winning answer, ties shared uniformly.

    `counts` (P, ..., K) are votes per answer for P problems; without `sums` the answer with
    most votes wins (majority), with `sums` (P, ..., K) the answer with the largest score sum
    among answers that received at least one vote wins (weighted best-of-N). `class_correct`
    is each answer's correctness, (P, K) per problem or (K,) shared by all rows. No vote at
    all (every drawn sample had no answer) scores 0. Returns (P, ...). When every score is
    positive, `counts` may be None for a weighted vote: an answer is present iff its sum is
    positive (which saves tallying the votes).

    >>> vote_share(np.array([[2, 2, 1]]), np.array([[1.0, 0.0, 0.0]])).tolist()
    [0.5]
    >>> vote_share(np.array([[2, 1]]), np.array([1.0, 0.0]), np.array([[0.2, 0.9]])).tolist()
    [0.0]
    """
    if sums is None:
        if counts is None:
            raise ValueError("give `counts` (majority) or `sums` (weighted best-of-N)")
        top = counts.max(axis=-1, keepdims=True)
        tied = counts == top
        valid = top[..., 0] > 0
    else:
        s = np.where((sums > 0) if counts is None else (counts > 0), sums, -np.inf)
        top = s.max(axis=-1, keepdims=True)
        valid = np.isfinite(top[..., 0])
        tol = _TIE_RTOL * np.maximum(1.0, np.abs(np.where(np.isfinite(top), top, 0.0)))
        tied = s >= top - tol
    p, k = tied.shape[0], tied.shape[-1]
    flat = tied.reshape(p, -1, k).astype(float)
    n_tied = flat.sum(axis=-1)
    cc = np.asarray(class_correct, dtype=float)
    # one matrix product per problem: tied indicators x class correctness
    hit = flat @ cc if cc.ndim == 1 else np.matmul(flat, cc[:, :, None])[..., 0]
    share = np.where(valid.reshape(p, -1), hit / np.maximum(n_tied, 1), 0.0)
    return share.reshape(tied.shape[:-1])


def vote_curve(
    answer: np.ndarray,
    class_correct: np.ndarray,
    sizes: np.ndarray,
    budgets: Sequence[int] | np.ndarray,
    *,
    weights: np.ndarray | None = None,
    draws: int = 1000,
    rng: RngLike = None,
    replace: bool = False,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> MCEstimate:
    """Monte-Carlo majority (or, with `weights`, weighted best-of-N) accuracy per problem.

    `answer` (P, M) holds answer codes 0..K-1 per problem (-1: no answer / padding),
    `class_correct` (P, K) each answer's correctness, `sizes` (P,) the real entries per row,
    `weights` (P, M) the verifier scores summed per answer for weighted best-of-N.

    >>> est = vote_curve(np.array([[0, 0, 1, -1]]), np.array([[1.0, 0.0]]), np.array([4]),
    ...                  [1, 2, 4], draws=2000, rng=0)
    >>> est.mean[0, [0, 2]].tolist(), est.exact.tolist()  # N = 1 and N = M are exact
    ([0.5, 1.0], [True, False, True])
    >>> bool(abs(est.mean[0, 1] - 2 / 3) < 4 * est.se[0, 1])  # exact value 2/3
    True
    """
    if not isinstance(draws, int | np.integer) or draws < 2:
        raise ValueError(f"`draws` must be an integer >= 2; got {draws!r}")
    if not isinstance(n_jobs, int | np.integer) or n_jobs == 0:
        raise ValueError(f"`n_jobs` must be a non-zero integer (joblib convention); got {n_jobs!r}")
    answer = np.asarray(answer)
    sizes = np.asarray(sizes, dtype=np.int64)
    cc = np.asarray(class_correct, dtype=float)
    nb = check_budgets(budgets, sizes, replace=replace)
    p, b = len(sizes), len(nb)
    gen = np.random.default_rng(rng)
    mean = np.zeros((p, b))
    s2 = np.zeros((p, b))
    rep = np.zeros((draws, b))
    mc = np.zeros((p, b), dtype=bool)
    tasks = []
    for m in np.unique(sizes):
        rows = np.flatnonzero(sizes == m)
        m = int(m)
        codes = answer[rows, :m].astype(np.int64)
        k = max(int(codes.max(initial=-1)) + 1, 1)
        ccg = np.zeros((len(rows), k))
        kk = min(k, cc.shape[1])
        ccg[:, :kk] = cc[rows, :kk]
        wts = None if weights is None else np.asarray(weights, dtype=float)[rows, :m]
        # closed forms: one sample is its own winner; the whole pool is deterministic
        one = nb == 1
        full = (nb == m) & ~replace
        if one.any():
            mean[np.ix_(rows, np.flatnonzero(one))] = _single_draw(codes, ccg)[:, None]
        if full.any():
            mean[np.ix_(rows, np.flatnonzero(full))] = _whole_pool(codes, ccg, wts)[:, None]
        cols = np.flatnonzero(~one & ~full)
        if cols.size == 0:
            continue
        mc[np.ix_(rows, cols)] = True
        tasks.extend(_plan(rows, cols, nb, m, k, codes, ccg, wts, draws, replace,
                           gen.spawn(1)[0]))
    children = gen.spawn(len(tasks)) if tasks else []
    results = _run(tasks, children, n_jobs, progress)
    for (rows, cols, r0, _), (s1_blk, s2_blk, rep_blk) in zip(tasks, results, strict=True):
        mean[np.ix_(rows, cols)] += s1_blk / draws
        s2[np.ix_(rows, cols)] += s2_blk
        rep[r0:r0 + rep_blk.shape[0], cols] += rep_blk
    var = np.where(mc, (s2 - draws * mean**2) / (draws - 1), 0.0)
    se = np.sqrt(np.maximum(var, 0.0) / draws)
    acc_se = rep.std(axis=0, ddof=1) / max(p, 1) / np.sqrt(draws)
    return MCEstimate(mean=mean, se=se, accuracy_se=acc_se, draws=draws,
                      exact=np.asarray(~mc.any(axis=0)))


def _single_draw(codes: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """N = 1: the drawn sample's answer wins; mean correctness of the pool's answers."""
    val = np.where(codes >= 0, np.take_along_axis(cc, np.maximum(codes, 0), axis=1), 0.0)
    return np.asarray(val.mean(axis=1))


def _tally(
    codes: np.ndarray, k: int, wts: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Votes (and score sums) per answer over whole rows: (P, K)."""
    p = codes.shape[0]
    real = codes >= 0
    flat = (np.arange(p)[:, None] * k + codes)[real]
    counts = np.bincount(flat, minlength=p * k).reshape(p, k)
    sums = None
    if wts is not None:
        sums = np.bincount(flat, weights=wts[real], minlength=p * k).reshape(p, k)
    return counts, sums


def _whole_pool(codes: np.ndarray, cc: np.ndarray, wts: np.ndarray | None) -> np.ndarray:
    counts, sums = _tally(codes, cc.shape[1], wts)
    return vote_share(counts, cc, sums)


Task = tuple[np.ndarray, np.ndarray, int, dict]


def _plan(
    rows: np.ndarray, cols: np.ndarray, nb: np.ndarray, m: int, k: int, codes: np.ndarray,
    cc: np.ndarray, wts: np.ndarray | None, draws: int, replace: bool,
    shuffle: np.random.Generator,
) -> list[Task]:
    """Split one pool size's work into blocks of (problems x replicates) of bounded memory.

    Each problem's samples are first put in a random order of its own (once): the blocks'
    orderings are then shared by problems without sharing sample indices, so any structure
    in the cached order (batches, seeds) cannot correlate problems within a replicate.
    """
    order = np.argsort(nb[cols], kind="stable")
    cols = cols[order]
    ub, bracket_of_budget = np.unique(nb[cols], return_inverse=True)
    length = int(ub[-1])
    # bracket of each position of the ordering: the first budget whose prefix contains it
    pos_bracket = np.searchsorted(ub, np.arange(length), side="right")
    kk = k + 1
    width = max(length, len(ub) * kk)
    pc = max(1, min(len(rows), _BLOCK // width))
    rc = max(1, min(draws, _BLOCK // (pc * width)))
    relabel = np.argsort(shuffle.random((len(rows), m)), axis=1)
    codes = np.take_along_axis(codes, relabel, axis=1)
    if wts is not None:
        wts = np.take_along_axis(wts, relabel, axis=1)
    # bin of a vote = ((problem * rc + replicate) * brackets + bracket) * kk + (code + 1);
    # the problem part is folded into the codes once, the rest is added per block
    stride = rc * len(ub) * kk
    offsets = ((np.arange(rc)[:, None] * len(ub) + pos_bracket[None, :]) * kk)
    # problems whose scores are all positive show an answer's presence in its score sum and
    # need no vote tally: they are blocked apart from the others
    positive = (np.zeros(len(rows), dtype=bool) if wts is None
                else np.asarray(np.all(wts > 0, axis=1)))
    tasks: list[Task] = []
    for kind in (True, False):
        members = np.flatnonzero(positive == kind)
        for lo in range(0, len(members), pc):
            sel = members[lo:lo + pc]
            folded = codes[sel] + 1 + (np.arange(len(sel), dtype=np.int64) * stride)[:, None]
            job = {
                "codes": folded, "wts": None if wts is None else wts[sel], "cc": cc[sel],
                "positive": kind, "m": m, "kk": kk, "length": length,
                "n_brackets": len(ub), "rc": rc, "offsets": offsets,
                "bracket_of_budget": bracket_of_budget, "replace": replace,
            }
            for r0 in range(0, draws, rc):
                tasks.append((rows[sel], cols, r0, {**job, "reps": min(rc, draws - r0)}))
    return tasks


def _run(
    tasks: list[Task], children: list[np.random.Generator], n_jobs: int,
    progress: Progress | None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    total = len(tasks)
    if n_jobs == 1 or total <= 1:
        out = []
        for i, (task, child) in enumerate(zip(tasks, children, strict=True)):
            out.append(_block(child, **task[3]))
            if progress is not None:
                progress(i + 1, total)
        return out
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_block)(child, **task[3]) for task, child in zip(tasks, children, strict=True)
    )
    out = []
    for i, res in enumerate(results):
        out.append(res)
        if progress is not None:
            progress(i + 1, total)
    return out


def _block(
    gen: np.random.Generator, *, codes: np.ndarray, wts: np.ndarray | None, cc: np.ndarray,
    m: int, kk: int, length: int, n_brackets: int, rc: int, offsets: np.ndarray,
    bracket_of_budget: np.ndarray, replace: bool, reps: int, positive: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One block: `reps` replicates for the block's problems; returns (sum, sum of squares)
    over replicates per (problem, budget) and the per-replicate sums over problems."""
    pc = codes.shape[0]
    if replace:
        idx = gen.integers(0, m, size=(reps, length))
    else:
        keys = gen.random((reps, m))
        if length < m:
            part = np.argpartition(keys, length - 1, axis=1)[:, :length]
            inner = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1)
            idx = np.take_along_axis(part, inner, axis=1)
        else:
            idx = np.argsort(keys, axis=1)
    bins = np.take(codes, idx, axis=1)  # (pc, reps, length)
    bins += offsets[None, :reps]
    size = pc * rc * n_brackets * kk
    shape = (pc, rc, n_brackets, kk)
    counts = sums = None
    if not positive:
        counts = np.bincount(bins.ravel(), minlength=size).reshape(shape)[:, :reps, :, 1:]
        np.cumsum(counts, axis=2, out=counts)
    if wts is not None:
        w = np.take(wts, idx, axis=1).ravel()
        sums = np.bincount(bins.ravel(), weights=w, minlength=size).reshape(shape)[:, :reps]
        sums = np.cumsum(sums[..., 1:], axis=2)
    share = vote_share(counts, cc, sums)  # (pc, reps, brackets)
    y = share[:, :, bracket_of_budget]
    return y.sum(axis=1), (y * y).sum(axis=1), y.sum(axis=0)
