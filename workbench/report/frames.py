"""Result objects -> the tidy DataFrames that `workbench.report.charts` builders take.

One function per result type, each returning plain columns (documented per function) so the
same frame feeds a chart, an HTML table or a notebook cell. Nothing here computes a statistic:
values and intervals come from the engine and analysis results as they are.

>>> import numpy as np
>>> from workbench.engine import RunData, SamplePool, bootstrap_curve, simulate
>>> curve = simulate(RunData.from_pool(SamplePool.from_arrays(
...     correct=[[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]])), "pass_at_k", [1, 2])
>>> frame = curve_frame([LabelledCurve("pass@k", curve, bootstrap_curve(curve, rng=0,
...                                    n_resamples=200, method="percentile"))])
>>> frame[["strategy", "budget", "accuracy"]].round(4).values.tolist()
[['pass@k', 1.0, 0.25], ['pass@k', 2.0, 0.4444]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.analysis.labelled import LabelledCurve

if TYPE_CHECKING:
    from workbench.analysis.bins import Bins
    from workbench.analysis.exchange import ExchangeResult
    from workbench.analysis.laws import Law
    from workbench.analysis.planner import Plan
    from workbench.analysis.policy import PolicyResult
    from workbench.engine.bootstrap import BootstrapResult

def _bounds(boot: BootstrapResult | None, size: int) -> tuple[np.ndarray, np.ndarray]:
    if boot is None:
        return np.full(size, np.nan), np.full(size, np.nan)
    return (np.asarray(boot.confidence_interval.low, dtype=float),
            np.asarray(boot.confidence_interval.high, dtype=float))


def curve_frame(curves: Sequence[LabelledCurve]) -> pd.DataFrame:
    """Columns: strategy, budget (x position), n (the strategy's own budget), accuracy, lo, hi,
    kind, coverage, problems, run_id, exact. Input of `charts.accuracy_vs_budget`."""
    rows = []
    for lc in curves:
        c = lc.curve
        lo, hi = _bounds(lc.boot, c.budgets.size)
        acc = np.asarray(c.accuracy, dtype=float)
        for j, (x, n) in enumerate(zip(lc.positions(), c.budgets, strict=True)):
            rows.append({
                "strategy": lc.label, "budget": float(x), "n": float(n),
                "accuracy": float(acc[j]), "lo": float(lo[j]), "hi": float(hi[j]),
                "kind": lc.kind, "coverage": float(c.coverage),
                "problems": int(c.per_problem.shape[0]), "run_id": c.run_id,
                "exact": bool(c.exact),
            })
    return pd.DataFrame(rows)


def per_bin_frame(
    curves: Sequence[LabelledCurve], bins: Bins, boots: dict[tuple[str, str], BootstrapResult]
) -> pd.DataFrame:
    """Columns: bin, strategy, budget, accuracy, lo, hi, problems. `boots[(label, bin)]` holds
    the bootstrap of the curve restricted to that bin (missing: no band). Input of
    `charts.per_bin_curves`."""
    rows = []
    for lc in curves:
        parts = bins.split(lc.curve)
        for label, sub in parts.items():
            if sub.per_problem.shape[0] == 0:
                continue
            lo, hi = _bounds(boots.get((lc.label, label)), sub.budgets.size)
            acc = np.asarray(sub.accuracy, dtype=float)
            xs = LabelledCurve(lc.label, sub, None, lc.kind, lc.x).positions()
            for j, x in enumerate(xs):
                rows.append({
                    "bin": label, "strategy": lc.label, "budget": float(x),
                    "accuracy": float(acc[j]), "lo": float(lo[j]), "hi": float(hi[j]),
                    "problems": int(sub.per_problem.shape[0]),
                })
    return pd.DataFrame(rows)


def difficulty_frame(bins: Bins) -> pd.DataFrame:
    """Columns: problem_id, value (the binning statistic, e.g. pass@1), bin. Input of
    `charts.difficulty_histogram`."""
    labels = np.asarray(bins.labels, dtype=object)[bins.bin_index]
    return pd.DataFrame({
        "problem_id": np.asarray(bins.problem_ids).astype(str),
        "value": np.asarray(bins.values, dtype=float),
        "bin": labels,
    })


def bins_table(bins: Bins) -> pd.DataFrame:
    """One row per bin: bin, problems, min, max, mean of the statistic (display table)."""
    df = bins.to_frame().drop(columns=["statistic", "kind"])
    return df.rename(columns={"mean": f"mean {bins.statistic}"})


def policy_table(policy: PolicyResult, *, digits: int = 3) -> pd.DataFrame:
    """The policy per bin and budget, as a reader wants it: choice, cross-fitted accuracy with
    its CI, the baseline, the gain with its CI, and the efficiency ratio as text (">= 4.00x"
    for a bound)."""
    rows = []
    for e in policy.entries:
        rows.append({
            "bin": e.bin,
            "budget": e.budget,
            "policy": e.label,
            "accuracy": e.accuracy,
            "95% CI": _interval(e.ci, digits),
            "baseline": e.baseline_accuracy,
            "gain": e.gain,
            "gain 95% CI": _interval(e.gain_ci, digits),
            "efficiency": e.efficiency_text,
            "efficiency 95% CI": _interval(e.efficiency_ci, 2),
            "oracle": "upper bound" if e.oracle else "",
        })
    return pd.DataFrame(rows)


def policy_matrix(policy: PolicyResult, names: dict[str, str] | None = None) -> pd.DataFrame:
    """The policy at a glance: one row per bin (then "all"), one column per budget, each cell
    "choice: accuracy [CI]". `names` maps curve labels to display names."""
    names = names or {}
    cells: dict[str, dict[str, str]] = {}
    for e in policy.entries:
        col = f"{e.budget:g} {_short_unit(e.unit)}"
        if not np.isfinite(e.accuracy):
            text = "n/a"
        else:
            text = f"{names.get(e.label, e.label)}: {e.accuracy:.3f} {_interval(e.ci, 2)}"
        cells.setdefault(e.bin, {})[col] = text
    return pd.DataFrame([{"bin": b, **row} for b, row in cells.items()])


def _short_unit(unit: str) -> str:
    return {"generations": "gen.", "tokens": "tok.", "flops": "FLOPs", "money": "$"}.get(unit,
                                                                                      unit)


def efficiency_frame(policy: PolicyResult, *, bins: Sequence[str] | None = None) -> pd.DataFrame:
    """Columns: bin, budget, efficiency, lo, hi, bound. Entries without a finite ratio are left
    out. Input of `charts.efficiency_chart`."""
    keep = None if bins is None else set(bins)
    rows = []
    for e in policy.entries:
        if keep is not None and e.bin not in keep:
            continue
        if not np.isfinite(e.efficiency) or e.efficiency <= 0 or e.efficiency_bound == "none":
            continue
        lo, hi = e.efficiency_ci
        rows.append({
            "bin": e.bin, "budget": e.budget, "efficiency": e.efficiency,
            "lo": lo if np.isfinite(lo) and lo > 0 else e.efficiency,
            "hi": hi if np.isfinite(hi) and hi > 0 else e.efficiency,
            "bound": e.efficiency_bound, "policy": e.label,
        })
    return pd.DataFrame(rows)


def exchange_frame(results: Sequence[tuple[str, ExchangeResult]]) -> pd.DataFrame:
    """Columns: panel, bin, R (text), budget, small, large, difference, lo, hi, winner, how.
    Input of `charts.exchange_chart`; `results` pairs a panel title with each result."""
    rows = []
    for panel, res in results:
        for r in res.rows:
            rows.append({
                "panel": panel, "bin": r.bin, "R": f"{r.r:g}", "budget": r.budget,
                "small": r.small_accuracy, "large": r.large_accuracy,
                "difference": r.difference, "lo": r.lower, "hi": r.upper,
                "winner": r.winner, "how": r.small_method,
            })
    return pd.DataFrame(rows)


def exchange_table(results: Sequence[tuple[str, ExchangeResult]]) -> pd.DataFrame:
    """The exchange rows for display: X generations of the small model vs one of the large."""
    df = exchange_frame(results)
    if df.empty:
        return df
    return pd.DataFrame({
        "comparison": df["panel"], "bin": df["bin"], "R": df["R"],
        "small: generations X": df["budget"], "small accuracy": df["small"],
        "large accuracy (1 gen.)": df["large"], "difference": df["difference"],
        "95% CI": [_interval((a, b), 3) for a, b in zip(df["lo"], df["hi"], strict=True)],
        "winner": df["winner"],
    })


def law_summary(law: Law) -> pd.DataFrame:
    """One row per parameter: estimate, s.e. and CI, plus the law and its AIC."""
    s = law.summary
    out = s.reset_index().rename(columns={s.index.name or "index": "parameter"})
    out.insert(0, "law", law.name)
    out["AIC"] = float(s.attrs["AIC"])
    return out


def plan_table(plan: Plan, names: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per (bin, configuration) of a budget plan, with the bin's accuracy CI.
    `names` maps curve labels to display names."""
    names = names or {}
    rows = []
    for b in plan.bins:
        for c in b.choices:
            rows.append({
                "bin": b.bin, "weight": b.weight, "policy": names.get(c.label, c.label),
                "budget": c.budget,
                "share of bin": c.share, "bin accuracy": b.accuracy,
                "95% CI": _interval(b.ci, 3),
            })
    return pd.DataFrame(rows)


def _interval(ci: tuple[float, float], digits: int) -> str:
    lo, hi = ci
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    lo_t, hi_t = (f"{v:.{digits}f}" for v in (lo, hi))
    zero = f"{0.0:.{digits}f}"  # an end that rounds to zero reads 0.000, not -0.000
    return f"[{zero if float(lo_t) == 0 else lo_t}, {zero if float(hi_t) == 0 else hi_t}]"
