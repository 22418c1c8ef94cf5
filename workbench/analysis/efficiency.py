"""Efficiency ratio: how much more budget the baseline needs to match an accuracy.

Snell et al. (2024) report that a compute-optimal policy matches best-of-N weighted with about
4x less test-time compute. Here that number is computed, not read off a plot. At grid budget x
the policy reaches accuracy a = policy(x); the ratio is

    budget the baseline needs to reach a  /  budget the policy needs to reach a,

each found by inverting that curve at a, interpolating linearly in log-budget between grid
points (accuracy curves are close to linear in log N over a grid of powers of two). The policy
needs x itself wherever its curve still rises; where it has plateaued (both curves at 100% on
easy problems, say) it needs the first budget of the plateau, so a saturated bin gives 1, not
the meaningless "baseline needs 1/8 of the budget". Both curves are made monotone first
(running maximum over the grid): "the budget a curve needs" is the smallest budget at which it
has reached the accuracy, so a dip at a larger budget (majority voting can dip) does not create
a second crossing. Where the two curves coincide on every grid budget up to x (the baseline
as the only candidate, say) the ratio is exactly 1, whatever their shape.

Targets outside a curve's range cannot be inverted without extrapolating, which this module
never does: a target the baseline never reaches within the grid gives the largest grid budget and
the bound "lower" (the true ratio is at least the value); a target the curve already exceeds at
its smallest grid budget gives that budget and the bound "upper" for the required budget. When
both required budgets are such upper bounds the ratio is not identified ("none").

Every function is vectorised over leading axes, so the bootstrap inverts all its replicates at
once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXACT, LOWER, UPPER, NONE = 0, 1, 2, 3
"""Codes of `RequiredBudget.bound`: an interpolated value, a lower bound, an upper bound, and
(ratios only) not identified from the grid."""
BOUND_NAMES = {EXACT: "exact", LOWER: "lower", UPPER: "upper", NONE: "none"}

_TOL = 1e-12
"""Accuracies closer than this count as equal (exact arithmetic gives ties that floats blur)."""


@dataclass(frozen=True)
class RequiredBudget:
    """Budget the baseline needs to reach each target (same shape as the targets).

    Attributes:
        budget: the interpolated budget, or the grid end when the target is out of range.
        bound: EXACT (0), LOWER (1: the baseline needs at least `budget`) or UPPER (2: at most).
    """

    budget: np.ndarray
    bound: np.ndarray


def required_budget(
    grid: np.ndarray, baseline: np.ndarray, target: np.ndarray
) -> RequiredBudget:
    """Smallest budget at which the (monotonised) baseline reaches each target accuracy.

    Args:
        grid: (G,) increasing positive budgets.
        baseline: (..., G) baseline accuracy at each grid budget.
        target: (..., T) accuracies to reach; leading axes broadcast against `baseline`'s.

    A target equal (within 1e-12) to the monotone curve at a grid point returns that grid budget
    exactly; otherwise the budget is interpolated linearly in log-budget. NaN baseline entries
    (grid budgets the baseline cannot be run at, e.g. below its cheapest configuration) are
    skipped: a target first reached right after them gives an "upper" bound there.

    >>> r = required_budget(np.array([1.0, 4.0]), np.array([0.2, 0.6]), np.array([0.4, 0.6, 0.9]))
    >>> r.budget.round(6).tolist(), r.bound.tolist()
    ([2.0, 4.0, 4.0], [0, 0, 1])
    """
    x = np.asarray(grid, dtype=float)
    if x.ndim != 1 or x.size == 0 or np.any(x <= 0) or np.any(np.diff(x) <= 0):
        raise ValueError("`grid` must be a non-empty increasing array of positive budgets")
    raw = np.asarray(baseline, dtype=float)
    curve = np.maximum.accumulate(np.where(np.isnan(raw), -np.inf, raw), axis=-1)
    tgt = np.asarray(target, dtype=float)
    if curve.shape[-1] != x.size:
        raise ValueError("`baseline` must have the grid on its last axis")
    reach = curve[..., None, :] >= tgt[..., :, None] - _TOL  # (..., T, G)
    reached = reach.any(axis=-1)
    i = reach.argmax(axis=-1)  # first grid point that reaches the target
    cm_i = np.take_along_axis(curve[..., None, :], i[..., None], axis=-1)[..., 0]
    cm_prev = np.take_along_axis(
        curve[..., None, :], np.maximum(i - 1, 0)[..., None], axis=-1
    )[..., 0]
    on_point = np.abs(cm_i - tgt) <= _TOL
    below_grid = reached & ~on_point & ((i == 0) | np.isneginf(cm_prev))
    interp = reached & ~on_point & ~below_grid
    logx = np.log(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(interp, (tgt - cm_prev) / (cm_i - cm_prev), 0.0)
    log_b = np.where(interp, (1 - t) * logx[np.maximum(i - 1, 0)] + t * logx[i], logx[i])
    budget = np.where(on_point & reached, x[i], np.exp(log_b))
    budget = np.where(reached, budget, x[-1])
    bound = np.full(budget.shape, EXACT, dtype=np.int8)
    bound[~reached] = LOWER
    bound[below_grid] = UPPER
    nan = np.isnan(tgt) | np.isnan(raw).all(axis=-1, keepdims=True)
    return RequiredBudget(np.where(nan, np.nan, budget), bound)


def efficiency_ratio(
    grid: np.ndarray, baseline: np.ndarray, policy: np.ndarray
) -> RequiredBudget:
    """Budget the baseline needs to reach the policy's accuracy / budget the policy needs.

    Args:
        grid: (G,) increasing positive budgets at which both curves are given.
        baseline: (..., G) baseline accuracy.
        policy: (..., G) policy accuracy at the same budgets.

    Returns the ratio at each grid budget with its bound code: LOWER, the ratio is at least
    the value (the baseline never got there within the grid, or the policy got there before
    the grid starts); UPPER, at most; NONE, not identified (both were there before the grid).

    >>> grid = np.array([1.0, 2.0, 4.0])
    >>> r = efficiency_ratio(grid, np.array([.2, .4, .6]), np.array([.4, .6, .6]))
    >>> r.budget.tolist(), r.bound.tolist()   # at 4 the policy's plateau began at 2
    ([2.0, 2.0, 2.0], [0, 0, 0])
    """
    x = np.asarray(grid, dtype=float)
    pol = np.asarray(policy, dtype=float)
    num = required_budget(x, baseline, pol)
    den = required_budget(x, pol, pol)
    bound = np.where(den.bound == UPPER, np.where(num.bound == UPPER, NONE, LOWER), num.bound)
    ratio = num.budget / den.budget
    # curves that coincide up to x need the same budget for any accuracy they reach: exactly 1
    # (this also covers the cases the grid alone cannot identify, e.g. a falling majority curve)
    same = np.cumprod(np.abs(np.asarray(baseline, dtype=float) - pol) <= _TOL, axis=-1) > 0
    ratio = np.where(same, 1.0, ratio)
    bound = np.where(same, EXACT, bound)
    return RequiredBudget(ratio, bound.astype(np.int8))
