"""Exchanging pretraining for test-time compute (Snell et al. 2024, section 7).

FLOPs model (Kaplan-style, as in the paper): pretraining a model of P parameters on D_pre tokens
costs 6 P D_pre; inference on D_inf tokens costs 2 P D_inf. Let R = D_inf / D_pre.

A model M times larger (M P parameters), pretrained on the same D_pre tokens and used once per
question, costs 6 M P D_pre + 2 M P D_inf. The small model, given X generations per question
(X times the inference tokens, assuming the same tokens per generation), costs
6 P D_pre + 2 P X D_inf. Equal total FLOPs:

    6 M D_pre + 2 M D_inf = 6 D_pre + 2 X D_inf
    X = M + 3 (M - 1) D_pre / D_inf = M + 3 (M - 1) / R.

So at small R (little inference relative to pretraining) the small model gets many generations;
as R grows, X falls towards M. Snell et al. use R in {0.16, 0.79, 22}.

For each difficulty bin and R, `exchange` compares the small model's test-time strategy at budget
X with the large model's accuracy from one generation (pass@1) on the same problems, with a
bootstrap CI of the difference (small - large), paired by problem when both models saw the same
problems (resampling problems within each bin), and says which wins ("tie" when the CI covers 0).

The strategy is named in the result. With counts-only runs the strategy is pass@k (oracle
coverage: the chance that ANY of X samples is right), which is an UPPER BOUND on what a real
selection strategy (majority, best-of-N) can reach at that budget; the result labels it so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from workbench.engine.bootstrap import bootstrap_matrix
from workbench.engine.simulate import simulate
from workbench.errors import BudgetError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.analysis.bins import Bins
    from workbench.engine.data import RunData
    from workbench.engine.results import Curve

SNELL_R = (0.16, 0.79, 22.0)
"""The ratios R = D_inf / D_pre of Snell et al. (2024), section 7."""

ALL = "all"
ORACLE_NOTE = "pass@k is oracle coverage: an UPPER BOUND on any selection strategy at that budget"
RngLike = np.random.Generator | int | None


def exchange_generations(m: float, r: float) -> float:
    """Generations per question of the small model that match, in total FLOPs, a model `m` times
    larger used once: X = M + 3 (M - 1) / R (derivation in the module docstring).

    >>> round(exchange_generations(70.6 / 8.0, 0.16), 2)
    155.54
    >>> exchange_generations(1.0, 5.0)  # same model: one generation
    1.0
    """
    if not np.isfinite(m) or m < 1:
        raise ValueError(f"`m` (the size ratio large/small) must be >= 1; got {m!r}")
    if not np.isfinite(r) or r <= 0:
        raise ValueError(f"`r` (D_inf / D_pre) must be > 0; got {r!r}")
    return float(m + 3 * (m - 1) / r)


@dataclass(frozen=True)
class ExchangeRow:
    """One (bin, R) comparison. `difference` = small - large; CI from the bootstrap."""

    bin: str
    r: float
    budget: float
    n_problems: int
    small_accuracy: float
    large_accuracy: float
    difference: float
    lower: float
    upper: float
    winner: str
    small_method: str

    def to_frame(self) -> pd.DataFrame:
        """One row: this comparison.

        Columns:
            bin: the bin, or "all".
            r: R = D_inf / D_pre.
            budget: generations per question the small model gets (X).
            n_problems: problems compared.
            small_accuracy: the small model's accuracy with test-time compute.
            large_accuracy: the large model's accuracy with one generation.
            difference: small - large.
            lower: lower bound of the difference's CI.
            upper: upper bound.
            winner: "small", "large" or "tie" (CI containing 0).
            small_method: how the small model's accuracy was computed.
        """
        from workbench.frames import record_frame

        return record_frame([self])


@dataclass(frozen=True)
class ExchangeResult:
    """The exchange table plus what it rests on.

    Attributes:
        small_run, large_run: run ids; ratio: M (large / small parameters).
        strategy: the small model's strategy label; note: how to read it (e.g. the oracle bound).
        paired: True when both models saw the same problems (paired bootstrap by problem).
        bins_kind: how the problems were binned ("oracle" bins of the SMALL model, ...).
        alpha, n_boot: interval level and bootstrap size; ci_method: how the CI was made.
        rows: one `ExchangeRow` per (bin, R), bins easiest first then "all".
        bootstrap_distribution: (rows, n_boot) bootstrap differences (None when not a bootstrap).
        pairing_check: Spearman correlation of the two models' per-problem pass@1 (paired runs):
            a high value supports that problem ids really match across runs.
    """

    small_run: str
    large_run: str
    ratio: float
    strategy: str
    note: str
    paired: bool
    bins_kind: str
    alpha: float
    n_boot: int
    ci_method: str
    rows: tuple[ExchangeRow, ...]
    bootstrap_distribution: np.ndarray | None = None
    pairing_check: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per (bin, R); run ids, ratio and note are in `frame.attrs`.

        Columns:
            bin: the bin, or "all".
            r: R = D_inf / D_pre.
            budget: generations per question the small model gets (X).
            n_problems: problems compared.
            small_accuracy: the small model's accuracy with test-time compute.
            large_accuracy: the large model's accuracy with one generation.
            difference: small - large.
            lower: lower bound of the difference's CI.
            upper: upper bound.
            winner: "small", "large" or "tie" (CI containing 0).
            small_method: how the small model's accuracy was computed.
        """
        import pandas as pd

        df = pd.DataFrame([r.__dict__ for r in self.rows])
        df.attrs.update(
            small_run=self.small_run, large_run=self.large_run, ratio=self.ratio,
            strategy=self.strategy, note=self.note, paired=self.paired, alpha=self.alpha,
        )
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the CLI's --json); drops the bootstrap distribution."""
        return {
            "small_run": self.small_run, "large_run": self.large_run, "ratio": self.ratio,
            "strategy": self.strategy, "note": self.note, "paired": self.paired,
            "bins_kind": self.bins_kind, "alpha": self.alpha, "n_boot": self.n_boot,
            "ci_method": self.ci_method, "pairing_check": self.pairing_check,
            "rows": [dict(r.__dict__) for r in self.rows],
            **({"meta": self.meta} if self.meta else {}),
        }


def _winner(lower: float, upper: float) -> str:
    if lower > 0:
        return "small"
    if upper < 0:
        return "large"
    return "tie"


def at_budget(
    curve: Curve,
    budget: float,
    *,
    extrapolate: Callable[[float], np.ndarray] | None = None,
    extrapolate_label: str = "extrapolated",
) -> tuple[np.ndarray, str]:
    """(P,) per-problem accuracy of `curve` at `budget` and how it was obtained.

    Exact at a budget of the curve; between two budgets, linear in log-budget; past the largest
    budget, `extrapolate(budget)` (e.g. a fitted law's per-problem prediction) or BudgetError.

    >>> from workbench.engine.results import Cost, Curve
    >>> b = np.array([1.0, 4.0]); z = np.zeros(2)
    >>> c = Curve("s", {}, "r", np.array(["a"]), b, np.array([[0.2, 0.6]]), np.zeros((1, 2)),
    ...           Cost(b, z, z, z), True)
    >>> at_budget(c, 2.0)
    (array([0.4]), 'interpolated in log-budget')
    """
    b = np.asarray(curve.budgets, float)
    pp = np.asarray(curve.per_problem, float)
    if budget < b.min():
        raise BudgetError(f"budget {budget:g} is below the curve's smallest budget {b.min():g}")
    hit = np.flatnonzero(np.isclose(b, budget, rtol=0, atol=1e-9))
    if hit.size:
        return pp[:, hit[0]], "exact"
    if budget > b.max():
        if extrapolate is None:
            raise BudgetError(
                f"budget {budget:g} exceeds the curve's largest budget {b.max():g}; pass an "
                "`extrapolate` function (e.g. a fitted beta-binomial law's per-problem "
                "prediction)"
            )
        return np.asarray(extrapolate(budget), float), extrapolate_label
    order = np.argsort(b)
    b, pp = b[order], pp[:, order]
    j = int(np.searchsorted(b, budget))
    w = (np.log(budget) - np.log(b[j - 1])) / (np.log(b[j]) - np.log(b[j - 1]))
    return (1 - w) * pp[:, j - 1] + w * pp[:, j], "interpolated in log-budget"


def exchange(
    small: Curve,
    large: Curve,
    *,
    ratio: float,
    r_values: Sequence[float] = SNELL_R,
    bins: Bins | None = None,
    n_boot: int = 2000,
    alpha: float = 0.05,
    rng: RngLike = None,
    extrapolate: Callable[[float], np.ndarray] | None = None,
    extrapolate_label: str = "extrapolated",
    note: str = "",
    method: str = "percentile",
) -> ExchangeResult:
    """Small model + test-time compute vs a `ratio` times larger model used once, per bin and R.

    Args:
        small: the small model's strategy curve (per problem, at budgets in generations).
        large: the large model's curve; its budget-1 column (one generation) is used.
        ratio: M = large parameters / small parameters.
        r_values: ratios R = D_inf / D_pre.
        bins: difficulty bins covering the problems of both curves (e.g. oracle bins of the
            small model); None compares on all problems only.
        n_boot, alpha, rng: bootstrap size, interval level, random generator.
        extrapolate: per-problem prediction of the small strategy past the curve's largest
            budget (see `at_budget`); its label goes into each row's `small_method`.
        note: how to read the strategy (e.g. `ORACLE_NOTE` for pass@k).
        method: bootstrap interval of the paired difference ("percentile", "basic", "BCa";
            `workbench.engine.bootstrap_matrix`). Percentile by default: in easy bins the
            differences are often all 0, where BCa is undefined.

    Paired (same problem ids in both curves): the engine's bootstrap resamples the problems of
    each bin (and, for the "all" row, of all problems) and takes the mean difference. Unpaired:
    each model's problems are resampled independently and the percentile interval of the
    difference of the two bootstrap distributions is used.

    >>> from workbench.analysis.inputs import counts_curve
    >>> from workbench.engine import CountsPool
    >>> rng = np.random.default_rng(0)  # synthetic counts: the large model is better at pass@1
    >>> ids = np.array([str(i) for i in range(200)])
    >>> theta = rng.beta(0.5, 1.0, 200)
    >>> n = np.full(200, 1000)
    >>> small = counts_curve(CountsPool("small", ids, n, rng.binomial(n, theta)), [1, 2, 38, 39])
    >>> large = counts_curve(CountsPool("large", ids, n, rng.binomial(n, theta ** 0.5)), [1])
    >>> res = exchange(small, large, ratio=8.8, r_values=[0.79], rng=1)
    >>> row = res.rows[-1]
    >>> row.bin, round(row.budget, 1), row.winner, res.paired
    ('all', 38.4, 'small', True)
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 100:
        raise ValueError(f"`n_boot` must be >= 100 for a percentile interval; got {n_boot!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1); got {alpha!r}")
    rs = [float(r) for r in r_values]
    if not rs:
        raise ValueError("`r_values` must hold at least one ratio R")
    budgets = [exchange_generations(ratio, r) for r in rs]
    gen = np.random.default_rng(rng)

    large_pp, _ = at_budget(large, 1.0)
    small_cols, methods = [], []
    for x in budgets:
        col, how = at_budget(small, x, extrapolate=extrapolate, extrapolate_label=extrapolate_label)
        small_cols.append(col)
        methods.append(how)
    small_pp = np.column_stack(small_cols)  # (Ps, nR)

    s_ids = np.asarray(small.problem_ids).astype(str)
    l_ids = np.asarray(large.problem_ids).astype(str)
    paired = set(s_ids.tolist()) == set(l_ids.tolist())
    if paired:  # align the large model's rows to the small model's order
        pos = {p: i for i, p in enumerate(l_ids.tolist())}
        large_pp = large_pp[[pos[p] for p in s_ids.tolist()]]
        l_ids = s_ids
    groups: list[tuple[str, np.ndarray, np.ndarray]] = []
    if bins is not None:
        s_bin, l_bin = bins.index_for(s_ids), bins.index_for(l_ids)
        for j, label in enumerate(bins.labels):
            rows_s, rows_l = np.flatnonzero(s_bin == j), np.flatnonzero(l_bin == j)
            if rows_s.size and rows_l.size:
                groups.append((label, rows_s, rows_l))
    groups.append((ALL, np.arange(s_ids.size), np.arange(l_ids.size)))

    rows: list[ExchangeRow] = []
    dists: list[np.ndarray] = []
    level = 1 - alpha
    for name, rows_s, rows_l in groups:
        if paired:  # one bootstrap of the per-problem differences (engine: rows = problems)
            res = bootstrap_matrix(
                small_pp[rows_s] - large_pp[rows_s][:, None], n_resamples=n_boot,
                confidence_level=level, method=method, rng=gen,
            )
            lo, hi = res.confidence_interval.low, res.confidence_interval.high
            dist = res.bootstrap_distribution
        else:  # independent bootstraps of the two models' problems, percentile interval
            bs = bootstrap_matrix(small_pp[rows_s], n_resamples=n_boot, confidence_level=level,
                                  method="percentile", rng=gen)
            bl = bootstrap_matrix(large_pp[rows_l][:, None], n_resamples=n_boot,
                                  confidence_level=level, method="percentile", rng=gen)
            dist = bs.bootstrap_distribution - bl.bootstrap_distribution
            lo, hi = np.quantile(dist, [alpha / 2, 1 - alpha / 2], axis=0)
        ps = small_pp[rows_s].mean(axis=0)
        pl = float(large_pp[rows_l].mean())
        for j, r in enumerate(rs):
            rows.append(
                ExchangeRow(
                    bin=name, r=r, budget=budgets[j], n_problems=int(rows_s.size),
                    small_accuracy=float(ps[j]), large_accuracy=pl,
                    difference=float(ps[j] - pl), lower=float(lo[j]), upper=float(hi[j]),
                    winner=_winner(float(lo[j]), float(hi[j])), small_method=methods[j],
                )
            )
            dists.append(dist[:, j])

    check = None
    if paired and s_ids.size > 2 and np.any(np.isclose(small.budgets, 1.0)):
        small_p1 = at_budget(small, 1.0)[0]
        if np.ptp(small_p1) > 0 and np.ptp(large_pp) > 0:  # undefined for a constant input
            check = float(stats.spearmanr(small_p1, large_pp).statistic)
    how = f"paired, {method}" if paired else "unpaired, percentile"
    return ExchangeResult(
        small_run=small.run_id, large_run=large.run_id, ratio=float(ratio), strategy=small.label,
        note=note, paired=paired, bins_kind="none" if bins is None else bins.kind,
        alpha=alpha, n_boot=n_boot,
        ci_method=f"bootstrap over problems within each bin ({how})",
        rows=tuple(rows), bootstrap_distribution=np.array(dists), pairing_check=check,
    )


def exchange_published(
    small_grid: Sequence[float],
    small_accuracy: Sequence[float],
    large: Curve,
    *,
    ratio: float,
    n_small_problems: int,
    small_run: str,
    strategy: str,
    r_values: Sequence[float] = SNELL_R,
    alpha: float = 0.05,
) -> ExchangeResult:
    """The same comparison when the small model's strategy is known only as a published
    aggregate curve (e.g. majority voting in Run.meta["published"]): all problems only, no bins.

    The published accuracy at X is interpolated in log-budget on its grid. Its standard error is
    bounded by sqrt(a (1 - a) / P) (the largest variance of a mean of P values in [0, 1]); the
    large model's from its per-problem values. The two are combined as if independent: with
    positively correlated per-problem accuracies this over-states the variance of the difference,
    so the normal interval is conservative.
    """
    g = np.asarray(small_grid, float)
    a = np.asarray(small_accuracy, float)
    if g.ndim != 1 or g.shape != a.shape or g.size < 2:
        raise ValueError("`small_grid` and `small_accuracy` must be 1-D of equal length >= 2")
    if np.all(a == 0):
        raise ValueError(
            "the published curve is all zeros: it carries no information (the upstream selection "
            "curve is missing for this run), so it cannot be compared"
        )
    rs = [float(r) for r in r_values]
    large_pp, _ = at_budget(large, 1.0)
    pl = float(large_pp.mean())
    se_l = float(large_pp.std(ddof=1) / np.sqrt(large_pp.size))
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    order = np.argsort(g)
    g, a = g[order], a[order]
    for r in rs:
        x = exchange_generations(ratio, r)
        if x < g[0] or x > g[-1]:
            raise BudgetError(
                f"budget {x:g} (R = {r:g}) is outside the published grid [{g[0]:g}, {g[-1]:g}]"
            )
        ps = float(np.interp(np.log(x), np.log(g), a))
        method = "exact" if np.any(np.isclose(g, x)) else "interpolated in log-budget (published)"
        se_s = float(np.sqrt(ps * (1 - ps) / n_small_problems))
        half = z * np.hypot(se_s, se_l)
        d = ps - pl
        rows.append(
            ExchangeRow(ALL, r, x, n_small_problems, ps, pl, d, d - half, d + half,
                        _winner(d - half, d + half), method)
        )
    return ExchangeResult(
        small_run=small_run, large_run=large.run_id, ratio=float(ratio), strategy=strategy,
        note="published aggregate curve: all problems only, no bins, unpaired normal interval "
        "with a bounded-variance standard error (conservative)",
        paired=False, bins_kind="none", alpha=alpha, n_boot=0,
        ci_method="normal, conservative (bounded variance for the published curve)",
        rows=tuple(rows),
    )


@dataclass(frozen=True)
class ExchangeReport:
    """Every comparison made for one (small, large) pair of runs, and what was not possible."""

    results: tuple[ExchangeResult, ...]
    skipped: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """All rows of every comparison, with the strategy and the CI method as columns.

        Columns:
            strategy: the small model's strategy.
            bin: the bin, or "all".
            r: R = D_inf / D_pre.
            budget: generations per question the small model gets (X).
            n_problems: problems compared.
            small_accuracy: the small model's accuracy with test-time compute.
            large_accuracy: the large model's accuracy with one generation.
            difference: small - large.
            lower: lower bound of the difference's CI.
            upper: upper bound.
            winner: "small", "large" or "tie" (CI containing 0).
            small_method: how the small model's accuracy was computed.
            ci_method: how the CI was made.
        """
        import pandas as pd

        frames = []
        for res in self.results:
            df = res.to_frame()
            df.insert(0, "strategy", res.strategy)
            df["ci_method"] = res.ci_method
            frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        return {"results": [r.to_dict() for r in self.results], "skipped": list(self.skipped)}


def _curve_budgets(xs: Sequence[float], pool: int) -> list[int]:
    """Integer budgets bracketing each X (within the pool), plus 1 for the pairing check."""
    out = {1}
    for x in xs:
        for k in (int(np.floor(x)), int(np.ceil(x))):
            if 1 <= k <= pool:
                out.add(k)
    return sorted(out)


def exchange_runs(
    small: RunData,
    large: RunData,
    *,
    ratio: float | None = None,
    r_values: Sequence[float] = SNELL_R,
    kind: str = "oracle",
    n_bins: int = 5,
    n_boot: int = 2000,
    alpha: float = 0.05,
    rng: RngLike = None,
    allow_different_datasets: bool = False,
) -> ExchangeReport:
    """Run the exchange comparison on two stored runs (the CLI's `workbench exchange`).

    Strategies compared: pass@k (always possible from counts; oracle coverage, an upper bound)
    and majority voting: from the engine when the small run has answers and the pool covers the
    budget, else from a published majority curve in `Run.meta["published"]` (all problems only).
    Bins are the small model's (`kind`, `n_bins`) when both runs share problems; otherwise only
    all problems are compared (unpaired). `ratio` defaults to the runs' parameter counts.
    Budgets past the small run's pool are extrapolated per problem with the beta-binomial
    law's posterior (`BetaBinomialLaw.predict_per_problem`) and labelled so.

    Runs on different datasets are refused unless `allow_different_datasets=True`: the gap
    between, say, MATH and Game of 24 says nothing about model size.
    """
    from workbench.analysis.inputs import bins_for_run, counts_curve, run_counts
    from workbench.analysis.laws import BetaBinomialLaw

    if small.run.dataset != large.run.dataset and not allow_different_datasets:
        raise ValueError(
            f"the runs are on different datasets ({small.run_id}: {small.run.dataset!r}, "
            f"{large.run_id}: {large.run.dataset!r}): the exchange compares two models on the "
            "same questions; pass `allow_different_datasets=True` to compare them anyway "
            "(unpaired)"
        )
    if ratio is None:
        ps, pl = small.run.policy_params, large.run.policy_params
        if not ps or not pl:
            raise ValueError(
                "`ratio` is needed: the runs do not both record their parameter counts "
                f"({small.run_id}: {ps}, {large.run_id}: {pl}); give the ratio M of their "
                "parameter counts"
            )
        ratio = float(pl) / float(ps)
    gen = np.random.default_rng(rng)
    xs = [exchange_generations(ratio, r) for r in r_values]
    s_counts, l_counts = run_counts(small), run_counts(large)
    pool = int(s_counts.n.min())
    small_curve = counts_curve(s_counts, _curve_budgets(xs, pool))
    large_curve = counts_curve(l_counts, [1])
    same = set(map(str, s_counts.problem_ids)) == set(map(str, l_counts.problem_ids))
    skipped: list[str] = []
    bins = bins_for_run(small, kind=kind, n_bins=n_bins) if same else None
    if not same:
        skipped.append("bins: the runs do not share problems, so only all problems are compared "
                       "(unpaired)")
    extrapolate, label = None, "extrapolated"
    if max(xs) > pool:
        law = BetaBinomialLaw().fit(s_counts.n, s_counts.c)
        extrapolate = law.predict_per_problem
        label = "extrapolated (beta-binomial posterior per problem)"
    common = dict(ratio=ratio, r_values=r_values, bins=bins, n_boot=n_boot, alpha=alpha)
    results = [
        exchange(small_curve, large_curve, rng=gen, extrapolate=extrapolate,
                 extrapolate_label=label, note=ORACLE_NOTE, **common)  # type: ignore[arg-type]
    ]
    # majority voting (a deployable selection strategy): engine, else the published curve
    pool_ok = small.pool is not None and small.pool.answer is not None
    if pool_ok and max(xs) <= int(small.pool.sizes.min()):  # type: ignore[union-attr]
        maj = simulate(small, "majority", _curve_budgets(xs, pool), rng=gen)
        results.append(
            exchange(maj, large_curve, rng=gen, note="majority voting (engine, Monte Carlo)",
                     **common)  # type: ignore[arg-type]
        )
    else:
        published = (small.run.meta or {}).get("published") or {}
        grid, acc = published.get("sel_grid"), published.get("selection")
        if grid is None or acc is None:
            skipped.append("majority: the small run has no answer keys covering the budgets and "
                           "no published selection curve")
        else:
            try:
                results.append(exchange_published(
                    grid, acc, large_curve, ratio=ratio, n_small_problems=s_counts.n_problems,
                    small_run=small.run_id, strategy="majority (published curve)",
                    r_values=r_values, alpha=alpha,
                ))
            except (ValueError, BudgetError) as exc:
                skipped.append(f"majority (published curve): {exc}")
    return ExchangeReport(tuple(results), tuple(skipped))
