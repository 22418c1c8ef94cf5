"""The exchange of Snell et al. (2024, section 7) with the small model's compute-optimal policy.

Snell et al. compare a model M times larger, used once, with the SMALL model's compute-optimal
policy at the FLOPs-matched budget X = M + 3 (M - 1) / R (`workbench.analysis.exchange`), per
difficulty bin. `workbench.analysis.exchange.exchange` compares one fixed strategy; here the
small model chooses, in every bin, the best of its candidate strategies at X, and that choice
is CROSS-FITTED exactly as the policy (`workbench.analysis.policy`): chosen on some problems of
the bin, scored on the others, averaged over `splits` random fold splits. The bootstrap
resamples problems within each bin, redraws `boot_splits` splits, re-does the choice and
compares with the
large model on the same resampled problems (paired), so every difference comes with a paired
CI whose replicates include the selection's own noise.

FLOPs matching: with tokens per generation t_s (small) and t_l (large) known from the runs,
equal total FLOPs (6 P D_pre + 2 P D_inf, R = D_inf / D_pre with D_inf the large model's
inference tokens) gives X = (t_l / t_s) (M + 3 (M - 1) / R) generations: a small model that
writes longer answers gets fewer of them. Without token counts t_l / t_s = 1 (Snell's equal-token
assumption) and the result says so.

A candidate is available at X when its curve reaches X (exact at a cached budget, linear in
log-budget between two); past its largest budget it is unavailable there, never extrapolated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from workbench.analysis.exchange import (
    ALL,
    SNELL_R,
    ExchangeResult,
    ExchangeRow,
    _winner,
    at_budget,
    exchange_generations,
)
from workbench.analysis.policy import (
    _assign_folds,
    _bin_index,
    _choose,
    _crossfit,
    _stratified_weights,
    percentile_ci,
)
from workbench.errors import BudgetError

if TYPE_CHECKING:
    from workbench.analysis.bins import Bins
    from workbench.engine.results import Curve

RngLike = np.random.Generator | int | None
STRATEGY = "per-bin compute-optimal policy (cross-fitted)"


def tokens_per_generation(curve: Curve) -> float | None:
    """Mean generated tokens per generation of a curve (cost at its first budget / that budget),
    or None when the run recorded no token counts."""
    tok = np.asarray(curve.cost.tokens, float)
    b = np.asarray(curve.budgets, float)
    if tok.size == 0 or not np.isfinite(tok[0]) or tok[0] <= 0:
        return None
    return float(tok[0] / b[0])


def exchange_policy(
    candidates: Sequence[Curve],
    large: Curve,
    bins: Bins,
    *,
    ratio: float,
    r_values: Sequence[float] = SNELL_R,
    match_tokens: bool = True,
    folds: int = 2,
    splits: int = 100,
    boot_splits: int = 20,
    n_boot: int = 1000,
    confidence_level: float = 0.95,
    rng: RngLike = None,
) -> ExchangeResult:
    """Small model's per-bin compute-optimal policy at the FLOPs-matched budget vs the large
    model once, per bin (of the small model) and R, with paired bootstrap CIs.

    Args:
        candidates: the small model's candidate curves (same problems as `large`).
        large: the large model's curve; its budget-1 column (one generation) is used.
        bins: difficulty bins of the small model's problems.
        ratio: M = large parameters / small parameters.
        r_values: ratios R = D_inf / D_pre (Snell: 0.16, 0.79, 22).
        match_tokens: scale X by t_l / t_s when both curves record token counts.
        folds, splits, boot_splits: cross-fitting of the choice (as
            `compute_optimal_policy`).
        n_boot, confidence_level, rng: the paired bootstrap over problems.

    Hand-worked case (tests/analysis/test_exchange_policy.py): M = 2, R = 3 give X = 3
    generations, read 0.585 of the way from budget 2 to 4 in log-budget. Majority wins bin
    "a", best-of-N bin "b", each by 0.1 on every problem, so every split chooses the same and
    the policy beats the large model by 0.067 in both bins, where majority alone would lose
    bin "b" by 0.033.
    """
    if not candidates:
        raise ValueError("`candidates` must hold at least one curve of the small model")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 100:
        raise ValueError(f"`n_boot` must be >= 100 for a percentile interval; got {n_boot!r}")
    if not isinstance(splits, int | np.integer) or splits < 1:
        raise ValueError(f"`splits` must be a positive integer; got {splits!r}")
    if not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"`folds` must be an integer >= 2; got {folds!r}")
    rs = [float(r) for r in r_values]
    if not rs:
        raise ValueError("`r_values` must hold at least one ratio R")
    gen = np.random.default_rng(rng)

    base = candidates[0]
    pids = np.asarray(base.problem_ids).astype(str)
    l_ids = np.asarray(large.problem_ids).astype(str)
    if set(pids.tolist()) != set(l_ids.tolist()):
        raise ValueError(
            f"the exchange with a policy is paired: runs {base.run_id!r} and {large.run_id!r} "
            "must hold the same problems"
        )
    large_pp, _ = at_budget(large, 1.0)
    pos = {p: i for i, p in enumerate(l_ids.tolist())}
    large_pp = np.asarray(large_pp, float)[[pos[p] for p in pids.tolist()]]

    t_s, t_l = tokens_per_generation(base), tokens_per_generation(large)
    scale = t_l / t_s if match_tokens and t_s and t_l else 1.0
    xs = [scale * exchange_generations(ratio, r) for r in rs]

    # (P, S, nR): each candidate's per-problem accuracy at each X (NaN: unavailable there)
    cols = []
    for c in candidates:
        own = np.asarray(c.problem_ids).astype(str)
        row = {p: i for i, p in enumerate(own.tolist())}
        per_x = []
        for x in xs:
            try:
                v, _ = at_budget(c, x)
                v = np.asarray(v, float)
            except BudgetError:
                v = np.full(own.size, np.nan)
            out = np.full(pids.size, np.nan)
            have = np.array([p in row for p in pids])
            out[have] = v[[row[p] for p in pids[have]]]
            per_x.append(out)
        cols.append(np.stack(per_x, axis=1))
    a = np.stack(cols, axis=1)
    bin_idx, names = _bin_index(bins, pids)
    k = len(names)
    counts = np.bincount(bin_idx, minlength=k)
    if counts.min() < folds:
        raise ValueError(f"a bin has {counts.min()} problems, fewer than `folds`={folds}")
    avail = np.stack([~np.isnan(a[bin_idx == j]).any(axis=0) for j in range(k)])  # (K, S, nR)
    if not avail.any(axis=1).all():
        bad = [f"{names[j]} at X = {xs[g]:.3g}" for j in range(k) for g in range(len(xs))
               if not avail[j, :, g].any()]
        raise BudgetError(
            "no candidate of the small model reaches the FLOPs-matched budget in "
            + ", ".join(bad) + ": its pool is too small for this size ratio (the exchange with "
            "one strategy can extrapolate pass@k; a policy is never extrapolated)"
        )
    a0 = np.nan_to_num(a, nan=0.0)

    def stats(w: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        """(R, K + 1, nR) policy and large accuracies for weight rows `w` (R, P), the policy
        averaged over `m` fresh fold splits per row."""
        r = w.shape[0]
        fold_of = _assign_folds(bin_idx, k, folds, gen, r * m)
        pol, _ = _crossfit(a0, avail, bin_idx, k, np.repeat(w, m, axis=0), fold_of, folds)
        pol = pol.reshape(r, m, k, len(xs)).mean(axis=1)
        lar = np.stack([w[:, bin_idx == j] @ large_pp[bin_idx == j] for j in range(k)], axis=1)
        n = counts[None, :, None].astype(float)
        pol_all = np.concatenate([pol / n, pol.sum(1, keepdims=True) / counts.sum()], axis=1)
        lar = lar[:, :, None] / n
        lar_all = np.concatenate([lar, (lar * n).sum(1, keepdims=True) / counts.sum()], axis=1)
        return pol_all, np.broadcast_to(lar_all, pol_all.shape)

    ones = np.ones((1, pids.size))
    point_pol, point_large = stats(ones, splits)
    m_boot = max(1, min(boot_splits, splits))
    dist = []
    done = 0
    while done < n_boot:
        r = min(100, n_boot - done)
        w = _stratified_weights(bin_idx, k, counts, gen, r)
        p, q = stats(w, m_boot)
        dist.append(p - q)
        done += r
    diffs = np.concatenate(dist)  # (n_boot, K + 1, nR)

    # the choice each bin deploys at X (made on all its problems), named in every row
    means = np.stack([a0[bin_idx == j].mean(axis=0) for j in range(k)])  # (K, S, nR)
    chosen = _choose(means, avail)  # (K, nR)
    how = (f"X scaled by tokens per generation (large / small = {scale:.3g})" if scale != 1.0
           else "X in generations (equal tokens per generation assumed)")
    rows = []
    for kk, name in enumerate([*names, ALL]):
        n_k = int(counts[kk]) if kk < k else int(pids.size)
        for g, (rr, x) in enumerate(zip(rs, xs, strict=True)):
            d = float(point_pol[0, kk, g] - point_large[0, kk, g])
            lo, hi = percentile_ci(diffs[:, kk, g], confidence_level)
            lo, hi = min(lo, d), max(hi, d)  # an interval never excludes its estimate
            choice = (candidates[int(chosen[kk, g])].label if kk < k else
                      ", ".join(f"{names[j]}: {candidates[int(chosen[j, g])].label}"
                                for j in range(k)))
            rows.append(ExchangeRow(
                bin=name, r=rr, budget=x, n_problems=n_k,
                small_accuracy=float(point_pol[0, kk, g]),
                large_accuracy=float(point_large[0, kk, g]), difference=d, lower=lo, upper=hi,
                winner=_winner(lo, hi), small_method=f"policy: {choice}",
            ))
    return ExchangeResult(
        small_run=base.run_id, large_run=large.run_id, ratio=float(ratio), strategy=STRATEGY,
        note=f"the small model's per-bin compute-optimal policy over {len(candidates)} "
        f"candidates, chosen with {folds}-fold cross-fitting (mean of {splits} splits); {how}",
        paired=True, bins_kind=bins.kind, alpha=1 - confidence_level, n_boot=int(n_boot),
        ci_method="paired bootstrap over problems within each bin, splits and choice re-done "
        "in every replicate (percentile)",
        rows=tuple(rows), bootstrap_distribution=diffs.reshape(diffs.shape[0], -1).T,
    )


__all__ = ["STRATEGY", "exchange_policy", "tokens_per_generation"]
