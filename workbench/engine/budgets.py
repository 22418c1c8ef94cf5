"""Budget checks shared by every estimator: positive integers that the cached pool can serve.

A budget N larger than a problem's cached pool cannot be served by drawing without replacement;
the engine refuses it (`BudgetError`) unless the caller asks for with-replacement resampling,
whose estimates are biased and flagged as such (DESIGN.md, "Estimators").

>>> check_budgets([1, 4, 2], np.array([4, 4])).tolist()
[1, 4, 2]
>>> check_budgets([8], np.array([4, 2]))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
workbench.errors.BudgetError: budget N=8 exceeds the cached pool of 2 problems (smallest ...
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.errors import BudgetError


def check_budgets(
    budgets: Sequence[int] | np.ndarray,
    sizes: np.ndarray | None = None,
    *,
    replace: bool = False,
) -> np.ndarray:
    """Validate budgets (positive integers) against per-problem pool sizes; returns int64 (B,).

    Without replacement every budget must be at most every problem's pool size.
    """
    arr = np.asarray(budgets)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("`budgets` must be a non-empty 1-D sequence of positive integers")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"`budgets` must be integers; got {arr.tolist()}")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"`budgets` must be integers; got {arr.tolist()}")
    out = arr.astype(np.int64)
    if np.any(out < 1):
        raise ValueError(f"`budgets` must be >= 1; got {out.tolist()}")
    if sizes is not None and not replace:
        smallest = int(np.min(sizes))
        too_big = out[out > smallest]
        if too_big.size:
            n = int(too_big.max())
            short = int(np.sum(sizes < n))
            raise BudgetError(
                f"budget N={n} exceeds the cached pool of {short} problem"
                f"{'s' if short != 1 else ''} (smallest pool: {smallest} samples, largest budget"
                f" allowed: {smallest}); pass replace=True (--with-replacement) for "
                "with-replacement resampling, which is biased, or use the twin"
            )
    return out
