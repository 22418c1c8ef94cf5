"""Bootstrap confidence intervals over problems for curves and paired differences.

Problems are the unit of resampling (the cluster), not samples: a curve's per-problem matrix
(P x B) is computed once and the bootstrap resamples its ROWS. One replicate's mean over
resampled rows is ``counts @ X / P`` with ``counts`` the multiplicity of each problem, so a
whole batch of replicates is one matrix product, with no loop over replicates.

Intervals (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13-14; the
procedure and result shape follow `scipy.stats.bootstrap`):

* ``percentile``: the alpha/2 and 1-alpha/2 quantiles of the bootstrap distribution;
* ``basic``: the percentile interval reflected about the estimate;
* ``BCa``: bias-corrected and accelerated, with bias ``z0 = Phi^-1(share of replicates below
  the estimate, ties counted half)`` and acceleration ``a`` from the jackknife over problems
  (eq. 14.15), computed in closed form for a mean: leave-one-out means are ``(S - x_i)/(P-1)``.

Paired differences (strategy A minus strategy B on the same problems) resample the SAME rows
for both, which is what makes a small difference between correlated curves detectable.

Degenerate data (fewer than two problems; for BCa a bootstrap distribution or jackknife
without spread) give NaN bounds and a `DegenerateDataWarning`, not an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr, ndtri

from workbench.engine.parallel import chunk_streams, run_chunks
from workbench.engine.results import Curve
from workbench.errors import CoverageWarning, DegenerateDataWarning

if TYPE_CHECKING:
    import pandas as pd

RngLike = np.random.Generator | int | None
Progress = Callable[[int, int], None]
"""`progress(done, total)`: called after each batch of replicates (the CLI's tqdm)."""

METHODS = ("percentile", "basic", "BCa")
_BATCH = 1 << 22
"""Elements of the largest (replicates x problems) multiplicity matrix built at once."""


@dataclass(frozen=True)
class ConfidenceInterval:
    """Lower and upper bounds, one per budget."""

    low: np.ndarray
    high: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per budget.

        Columns:
            low: lower bound.
            high: upper bound.
        """
        import pandas as pd

        return pd.DataFrame({"low": np.asarray(self.low, dtype=float),
                             "high": np.asarray(self.high, dtype=float)})


@dataclass(frozen=True)
class BootstrapResult:
    """A bootstrap over problems of a curve's accuracy (or of a paired difference).

    Attributes:
        estimate: (B,) the statistic on the original problems (mean accuracy or difference).
        confidence_interval: bounds at each budget.
        bootstrap_distribution: (n_resamples, B) the statistic in every replicate.
        standard_error: (B,) standard deviation of the bootstrap distribution.
        budgets: (B,) the budgets.
        method, confidence_level, n_resamples: how the interval was made.
        label: what was bootstrapped (a curve label, or "A - B").
        n_problems: problems resampled.
    """

    estimate: np.ndarray
    confidence_interval: ConfidenceInterval
    bootstrap_distribution: np.ndarray
    standard_error: np.ndarray
    budgets: np.ndarray
    method: str
    confidence_level: float
    n_resamples: int
    label: str
    n_problems: int

    def to_frame(self) -> pd.DataFrame:
        """One row per budget: the estimate with its interval (the distribution is not in it).

        Columns:
            label: what was bootstrapped (a curve label, or "A - B").
            budget: the budget.
            estimate: the statistic on the original problems.
            ci_low: lower bound of the interval.
            ci_high: upper bound of the interval.
            standard_error: standard deviation of the bootstrap distribution.
            method: "percentile", "basic" or "BCa".
            confidence_level: of the interval.
            n_resamples: bootstrap replicates.
            n_problems: problems resampled.

        >>> res = bootstrap_matrix(np.array([[0.0], [1.0], [1.0]]), n_resamples=99,
        ...                        method="percentile", rng=0)
        >>> res.to_frame()[["budget", "estimate"]].round(3).values.tolist()
        [[1.0, 0.667]]
        """
        import pandas as pd

        return pd.DataFrame({
            "label": self.label, "budget": np.asarray(self.budgets, dtype=float),
            "estimate": np.asarray(self.estimate, dtype=float),
            "ci_low": np.asarray(self.confidence_interval.low, dtype=float),
            "ci_high": np.asarray(self.confidence_interval.high, dtype=float),
            "standard_error": np.asarray(self.standard_error, dtype=float),
            "method": self.method, "confidence_level": self.confidence_level,
            "n_resamples": self.n_resamples, "n_problems": self.n_problems,
        })


def _bootstrap_iv(
    x: np.ndarray, n_resamples: int, confidence_level: float, method: str, batch: int | None
) -> tuple[np.ndarray, str]:
    """Input validation for every bootstrap function: ValueErrors name the parameter."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError("`per_problem` must be a non-empty 2-D (problems x budgets) array")
    if not np.all(np.isfinite(x)):
        raise ValueError("`per_problem` must be finite (drop problems a strategy did not cover)")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) \
            or n_resamples < 1:
        raise ValueError(f"`n_resamples` must be a positive integer; got {n_resamples!r}")
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, int | float) \
            or not 0 < confidence_level < 1:
        raise ValueError(f"`confidence_level` must be in (0, 1); got {confidence_level!r}")
    lowered = {m.lower(): m for m in METHODS}
    if not isinstance(method, str) or method.lower() not in lowered:
        raise ValueError(f"`method` must be one of {', '.join(METHODS)}; got {method!r}")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int | np.integer)
                              or batch < 1):
        raise ValueError(f"`batch` must be a positive integer or None; got {batch!r}")
    return x, lowered[method.lower()]


def bootstrap_matrix(
    per_problem: np.ndarray,
    *,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    method: str = "BCa",
    rng: RngLike = None,
    batch: int | None = None,
    progress: Progress | None = None,
    budgets: np.ndarray | None = None,
    label: str = "",
    n_jobs: int | None = None,
) -> BootstrapResult:
    """Bootstrap the column means of a (problems x budgets) matrix by resampling rows.

    `n_jobs` spreads chunks of replicates over joblib workers (or a Dask cluster inside
    `joblib.parallel_config(backend="dask")`); the result does not depend on it.

    >>> x = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    >>> res = bootstrap_matrix(x, n_resamples=999, method="percentile", rng=0)
    >>> res.estimate.tolist(), res.bootstrap_distribution.shape
    ([0.5, 0.75], (999, 2))
    >>> bool(res.confidence_interval.low[0] < 0.5 < res.confidence_interval.high[0])
    True
    """
    x, method = _bootstrap_iv(per_problem, n_resamples, confidence_level, method, batch)
    p, b = x.shape
    gen = np.random.default_rng(rng)
    # chunks of a size fixed by the data, each with its own spawned stream: the replicates are
    # the same whichever process (or Dask worker) computes a chunk
    step = batch or max(1, _BATCH // p)
    starts = list(range(0, n_resamples, step))
    sizes = [min(step, n_resamples - lo) for lo in starts]
    streams = chunk_streams(gen, len(starts))
    parts = run_chunks(
        _replicates, [{"x": x, "n": n, "gen": g} for n, g in zip(sizes, streams, strict=True)],
        work=float(n_resamples) * p * (b + 4), n_jobs=n_jobs, progress=progress,
        done_of=lambda i: starts[i] + sizes[i], total=n_resamples,
    )
    dist = np.concatenate(parts) if parts else np.empty((0, b))
    estimate = x.mean(axis=0)
    low, high = _interval(x, dist, estimate, confidence_level, method)
    se = dist.std(axis=0, ddof=1) if n_resamples > 1 else np.full(b, np.nan)
    return BootstrapResult(
        estimate=estimate, confidence_interval=ConfidenceInterval(low, high),
        bootstrap_distribution=dist, standard_error=se,
        budgets=np.arange(1, b + 1) if budgets is None else np.asarray(budgets),
        method=method, confidence_level=float(confidence_level), n_resamples=int(n_resamples),
        label=label, n_problems=p,
    )


def _replicates(x: np.ndarray, n: int, gen: np.random.Generator) -> np.ndarray:
    """(n, B) column means of `n` row-resamples of x: one matrix product, no replicate loop."""
    p = x.shape[0]
    draws = gen.integers(0, p, size=(n, p))
    counts = np.bincount((draws + np.arange(n)[:, None] * p).ravel(), minlength=n * p)
    return np.asarray(counts.reshape(n, p).astype(float) @ x / p)


def bootstrap_curve(
    curve: Curve,
    *,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    method: str = "BCa",
    rng: RngLike = None,
    batch: int | None = None,
    progress: Progress | None = None,
    n_jobs: int | None = None,
) -> BootstrapResult:
    """Bootstrap CI over problems of a curve's accuracy at each budget (`n_jobs`: see
    `bootstrap_matrix`).

    >>> from workbench.engine.results import Cost, Curve
    >>> z = np.zeros(1)
    >>> c = Curve("s", {}, "r", np.array(["a", "b", "c"]), np.array([4]),
    ...           np.array([[0.2], [0.4], [0.9]]), np.zeros((3, 1)), Cost(z, z, z, z), True)
    >>> res = bootstrap_curve(c, n_resamples=500, rng=1)
    >>> res.estimate.round(3).tolist(), res.method
    ([0.5], 'BCa')
    """
    return bootstrap_matrix(
        curve.per_problem, n_resamples=n_resamples, confidence_level=confidence_level,
        method=method, rng=rng, batch=batch, progress=progress, budgets=curve.budgets,
        label=curve.label, n_jobs=n_jobs,
    )


def paired_difference(
    curve_a: Curve,
    curve_b: Curve,
    *,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    method: str = "BCa",
    rng: RngLike = None,
    batch: int | None = None,
    progress: Progress | None = None,
    n_jobs: int | None = None,
) -> BootstrapResult:
    """Bootstrap CI of accuracy(A) - accuracy(B) on the problems both curves cover.

    Rows are matched by problem id; problems only one curve has are dropped with a
    `CoverageWarning`. Budgets must be equal.

    >>> from workbench.engine.results import Cost, Curve
    >>> z = np.zeros(1)
    >>> ids = np.array(["a", "b", "c", "d"])
    >>> a = Curve("a", {}, "r", ids, np.array([2]), np.array([[1.0], [1.0], [0.5], [0.0]]),
    ...           np.zeros((4, 1)), Cost(z, z, z, z), True)
    >>> b = Curve("b", {}, "r", ids[::-1], np.array([2]), np.array([[0.0], [0.5], [0.5], [1.0]]),
    ...           np.zeros((4, 1)), Cost(z, z, z, z), True)
    >>> paired_difference(a, b, n_resamples=200, rng=0).estimate.tolist()
    [0.125]
    """
    if not np.array_equal(np.asarray(curve_a.budgets), np.asarray(curve_b.budgets)):
        raise ValueError(
            f"`curve_b` has budgets {np.asarray(curve_b.budgets).tolist()}, `curve_a` has "
            f"{np.asarray(curve_a.budgets).tolist()}: compute both at the same budgets"
        )
    ids_a = [str(i) for i in curve_a.problem_ids]
    ids_b = {str(i): k for k, i in enumerate(curve_b.problem_ids)}
    common = [k for k, i in enumerate(ids_a) if i in ids_b]
    if not common:
        raise ValueError("`curve_a` and `curve_b` share no problem: nothing to pair")
    dropped = len(ids_a) + len(ids_b) - 2 * len(common)
    if dropped:
        warnings.warn(
            f"paired difference uses the {len(common)} problems both curves cover "
            f"({dropped} rows without a partner dropped)", CoverageWarning, stacklevel=2,
        )
    rows_b = [ids_b[ids_a[k]] for k in common]
    diff = curve_a.per_problem[common] - curve_b.per_problem[rows_b]
    return bootstrap_matrix(
        diff, n_resamples=n_resamples, confidence_level=confidence_level, method=method,
        rng=rng, batch=batch, progress=progress, budgets=curve_a.budgets,
        label=f"{curve_a.label} - {curve_b.label}", n_jobs=n_jobs,
    )


def _quantiles(sorted_dist: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-column quantiles (linear interpolation, numpy's default) at per-column levels q."""
    n = sorted_dist.shape[0]
    pos = np.clip(q, 0.0, 1.0) * (n - 1)
    lo = np.floor(np.nan_to_num(pos)).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    cols = np.arange(sorted_dist.shape[1])
    out = sorted_dist[lo, cols] * (1 - frac) + sorted_dist[hi, cols] * frac
    return np.where(np.isnan(q), np.nan, out)


def _interval(
    x: np.ndarray, dist: np.ndarray, estimate: np.ndarray, level: float, method: str
) -> tuple[np.ndarray, np.ndarray]:
    p, b = x.shape
    alpha = (1.0 - level) / 2.0
    nan = np.full(b, np.nan)
    if p < 2:
        warnings.warn("a bootstrap over problems needs at least 2 problems; the interval is NaN",
                      DegenerateDataWarning, stacklevel=3)
        return nan, nan.copy()
    srt = np.sort(dist, axis=0)
    if method in ("percentile", "basic"):
        lo = _quantiles(srt, np.full(b, alpha))
        hi = _quantiles(srt, np.full(b, 1.0 - alpha))
        if method == "basic":
            lo, hi = 2 * estimate - hi, 2 * estimate - lo
        return lo, hi
    # BCa (Efron & Tibshirani 1993, eqs. 14.9-14.15), as scipy.stats.bootstrap computes it
    share = ((dist < estimate).sum(axis=0) + (dist <= estimate).sum(axis=0)) / (2 * len(dist))
    with np.errstate(divide="ignore", invalid="ignore"):
        z0 = ndtri(share)
        jack = (x.sum(axis=0) - x) / (p - 1)  # leave-one-out means, (P, B)
        d = jack.mean(axis=0) - jack
        den = 6.0 * (d**2).sum(axis=0) ** 1.5
        acc = (d**3).sum(axis=0) / den
        z_lo, z_hi = ndtri(alpha), ndtri(1.0 - alpha)
        a1 = ndtr(z0 + (z0 + z_lo) / (1 - acc * (z0 + z_lo)))
        a2 = ndtr(z0 + (z0 + z_hi) / (1 - acc * (z0 + z_hi)))
    bad = ~np.isfinite(a1) | ~np.isfinite(a2) | (den == 0)
    a1 = np.where(bad, np.nan, a1)
    a2 = np.where(bad, np.nan, a2)
    if bad.any():
        warnings.warn(
            f"the BCa interval cannot be computed at {int(bad.sum())} of {b} budgets (the "
            "bootstrap distribution or the jackknife has no spread, e.g. every problem has "
            "the same value); those bounds are NaN: use method='percentile' there",
            DegenerateDataWarning, stacklevel=3,
        )
    return _quantiles(srt, a1), _quantiles(srt, a2)

