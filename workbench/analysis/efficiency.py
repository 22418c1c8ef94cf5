"""Efficiency ratio: how much budget the baseline needs to match the policy's accuracy.

Snell et al. (2024) report that a compute-optimal policy matches best-of-N weighted with about
4x less test-time compute. Here that number is computed, not read off a plot. At grid budget x
the (cross-fitted) policy reaches accuracy a = policy(x); the ratio is

    budget b at which the baseline reaches a  /  x,

read off both curves AS THEY ARE: neither is monotonised and the policy is not credited with an
earlier budget at which its curve was already as high. So the ratio says the same as the gain
at x: above 1 exactly when the policy beats the baseline at x, below 1 when it loses (a loss is
a loss), and exactly 1 when the two are equal at x (in particular when the policy is the
baseline).

b is found by following the baseline's curve from x, interpolating linearly in log-budget
between grid points (accuracy curves are close to linear in log N on a grid of powers of two):

- the policy wins (a > baseline(x)): b is where the baseline first climbs to a at a budget above
  x; if it never does within the grid, b is the largest grid budget and the ratio is a LOWER
  bound (the true ratio is at least the value);
- the policy loses (a < baseline(x)): b is where the baseline, followed down from x, first falls
  to a; if it stays above a down to the smallest grid budget, b is that budget and the ratio is
  an UPPER bound (at most the value).

Where the baseline cannot be run at x (NaN, e.g. a token budget below its cheapest
configuration) or the policy has no value, the ratio is NaN with the bound NONE. Nothing is
extrapolated past the grid.

Every function is vectorised over leading axes (the loop runs over the few grid budgets), so
the bootstrap inverts all its replicates at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

EXACT, LOWER, UPPER, NONE = 0, 1, 2, 3
"""Codes of `Ratio.bound`: an interpolated value, a lower bound, an upper bound, and not
identified (NaN)."""
BOUND_NAMES = {EXACT: "exact", LOWER: "lower", UPPER: "upper", NONE: "none"}

_TOL = 1e-12
"""Accuracies closer than this count as equal (exact arithmetic gives ties that floats blur)."""


@dataclass(frozen=True)
class Ratio:
    """Efficiency ratios with their bound codes (same shape).

    Attributes:
        budget: the ratio (budget the baseline needs / the policy's budget); NaN if undefined.
        bound: EXACT (0), LOWER (1: the ratio is at least `budget`), UPPER (2: at most) or
            NONE (3: not identified).
    """

    budget: np.ndarray
    bound: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per target (flattened in C order).

        Columns:
            budget: the budget (or ratio) read off the curve.
            bound: "exact", "lower", "upper" or "none" (see `BOUND_NAMES`).
        """
        import pandas as pd

        codes = np.asarray(self.bound).ravel()
        return pd.DataFrame({"budget": np.asarray(self.budget, dtype=float).ravel(),
                             "bound": [BOUND_NAMES[int(c)] for c in codes]})


def efficiency_ratio(grid: np.ndarray, baseline: np.ndarray, policy: np.ndarray) -> Ratio:
    """Budget the baseline needs to reach the policy's accuracy at each grid budget / that budget.

    Args:
        grid: (G,) increasing positive budgets at which both curves are given.
        baseline: (..., G) baseline accuracy.
        policy: (..., G) policy accuracy at the same budgets (leading axes broadcast).

    Worked example: the baseline is [0.2, 0.4, 0.5, 0.6] at budgets 1, 2, 4, 8. A policy at
    0.45 with budget 2 beats it; the baseline reaches 0.45 half way (in accuracy) from 2 to 4,
    so at 2^1.5 and the ratio is 2^1.5 / 2 = 1.41. A policy at 0.3 with budget 4 loses; the
    baseline, followed down from 4, falls to 0.3 half way from 2 to 1, at 2^0.5: ratio
    2^0.5 / 4 = 0.35. A policy at 0.7 with budget 8 is past the baseline's grid: >= 8 / 8.

    >>> r = efficiency_ratio(np.array([1.0, 2, 4, 8]), np.array([.2, .4, .5, .6]),
    ...                      np.array([.2, .45, .3, .7]))
    >>> r.budget.round(4).tolist(), r.bound.tolist()
    ([1.0, 1.4142, 0.3536, 1.0], [0, 0, 0, 1])
    """
    x = np.asarray(grid, dtype=float)
    if x.ndim != 1 or x.size == 0 or np.any(x <= 0) or np.any(np.diff(x) <= 0):
        raise ValueError("`grid` must be a non-empty increasing array of positive budgets")
    base = np.asarray(baseline, dtype=float)
    pol = np.asarray(policy, dtype=float)
    if base.shape[-1] != x.size or pol.shape[-1] != x.size:
        raise ValueError("`baseline` and `policy` must have the grid on their last axis")
    base, pol = np.broadcast_arrays(base, pol)
    logx = np.log(x)
    idx = np.arange(x.size)
    finite = np.isfinite(base)
    ratio = np.full(pol.shape, np.nan)
    bound = np.full(pol.shape, NONE, dtype=np.int8)
    for g in range(x.size):
        t, b0 = pol[..., g], base[..., g]
        ok = np.isfinite(t) & np.isfinite(b0)
        tie = ok & (np.abs(t - b0) <= _TOL)
        win = ok & ~tie & (t > b0)
        lose = ok & ~tie & (t < b0)
        with np.errstate(invalid="ignore"):
            # up: the first grid budget above x where the baseline reaches t
            up = finite & (idx > g) & (base >= t[..., None] - _TOL)
            j_up = np.where(up.any(-1), np.where(up, idx, x.size).min(-1), -1)
            below = finite & (idx >= g) & (idx < j_up[..., None])
            p_up = np.where(below, idx, -1).max(-1)  # last finite point before it (< t)
            # down: the first grid budget below x where the baseline falls to t
            dn = finite & (idx < g) & (base <= t[..., None] + _TOL)
            j_dn = np.where(dn, idx, -1).max(-1)
            above = finite & (idx <= g) & (idx > j_dn[..., None])
            n_dn = np.where(above, idx, x.size).min(-1)  # first finite point after it (> t)
        with np.errstate(over="ignore", invalid="ignore"):  # only where unused
            up_ratio = np.exp(_interp(logx, base, t, p_up, j_up) - logx[g])
            dn_ratio = np.exp(_interp(logx, base, t, j_dn, n_dn) - logx[g])
        r = np.where(tie, 1.0, np.nan)
        r = np.where(win & (j_up >= 0), up_ratio, r)
        r = np.where(win & (j_up < 0), x[-1] / x[g], r)
        r = np.where(lose & (j_dn >= 0), dn_ratio, r)
        r = np.where(lose & (j_dn < 0), x[0] / x[g], r)
        b = np.where(ok, EXACT, NONE)
        b = np.where(win & (j_up < 0), LOWER, b)
        b = np.where(lose & (j_dn < 0), UPPER, b)
        ratio[..., g] = r
        bound[..., g] = b
    return Ratio(ratio, bound)


def _interp(logx: np.ndarray, base: np.ndarray, t: np.ndarray, lo: np.ndarray,
            hi: np.ndarray) -> np.ndarray:
    """Log-budget where the baseline crosses `t` between grid indices `lo` and `hi` (linear in
    accuracy between the two points; NaN where either index is missing). A crossing on a grid
    point returns that point's log-budget exactly."""
    valid = (lo >= 0) & (hi < logx.size) & (hi >= 0)
    lo_c = np.clip(lo, 0, logx.size - 1)
    hi_c = np.clip(hi, 0, logx.size - 1)
    a_lo = np.take_along_axis(base, lo_c[..., None], axis=-1)[..., 0]
    a_hi = np.take_along_axis(base, hi_c[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (t - a_lo) / (a_hi - a_lo)
        out = logx[lo_c] + f * (logx[hi_c] - logx[lo_c])
    out = np.where(np.abs(a_hi - t) <= _TOL, logx[hi_c], out)
    out = np.where(np.abs(a_lo - t) <= _TOL, logx[lo_c], out)
    return np.where(valid, out, np.nan)
