"""Compute-optimal policy per difficulty bin and budget (Snell et al. 2024, section 3.2).

Given candidate configurations (each a `Curve`: per-problem expected accuracy at each budget),
the compute-optimal policy picks, for every difficulty bin and budget, the configuration with the
highest accuracy. Picking and scoring on the same problems is optimistic (the maximum of noisy
means is biased upwards), so the choice is CROSS-FITTED: problems are split into K folds
stratified by bin; the choice made on the other folds is scored on each fold; every problem is
scored exactly once by a choice made without it, and the split's accuracy is the mean of those
scores. One split is a coin toss of its own (which problems happen to choose), so the point
estimate is the MEAN OVER `splits` random splits (100 by default): the cross-fitted curve.

Confidence intervals come from a bootstrap over problems (the cluster): rows of the per-problem
matrices are resampled within each bin (bins are a given partition, so every replicate keeps the
bin sizes), `boot_splits` fold splits (20 by default) are redrawn and averaged as for the
point estimate, and the SELECTION IS RE-DONE inside every replicate. Fewer splits per replicate
than for the point keep the bootstrap cheap; a replicate then carries a little more split noise
than the point, so the interval errs on the wide side. A CI that kept the choice fixed would
ignore the selection's own noise and be too narrow when candidates are close. The whole
procedure is vectorised: the (replicate, split) weights form one matrix and one matrix product
per (fold, bin) gives every replicate's fold means at once.

Bins are held fixed inside the bootstrap (resampling is stratified by bin) rather than redrawn:
the estimand is the policy for THIS partition of the problems, the one a user deploys with
(per-bin choices for the problems in each bin). Redrawing quantile bins on a resampled problem
set would mix in a different question (what if the bin edges had fallen elsewhere) while the
dominant uncertainty of a problem's bin, the finite samples behind its pass@1, is not captured
by resampling problems either. `workbench.analysis.bin_checks` flags bins whose membership the
samples cannot support (too few samples per problem, no spread).

The percentile interval of every statistic is reported together with its point estimate; when
a skewed or discrete bootstrap distribution puts the point just outside the percentile
interval, the interval is widened to include it (the entry's `widened` names which), so an
interval never excludes its own estimate.

Compared with the baseline (best-of-N weighted with the run's verifier, else majority), each
entry reports the gain at equal budget with a paired CI (same replicate, same problems) and the
efficiency ratio (`workbench.analysis.efficiency`: read off the cross-fitted curve as it is,
below 1 when the policy loses) with its CI. `PolicyEntry.verdict` says it in words, "no
significant difference" when the gain's CI contains 0 or the ratio's contains 1.

Ties between candidates (common at N = 1, where most strategies reduce to one sample) resolve
to the baseline, then to candidate order: a tie is no reason to switch strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.analysis.budget_axis import UNITS, budget_costs, check_unit, grid_index, on_grid
from workbench.analysis.efficiency import BOUND_NAMES, EXACT, efficiency_ratio
from workbench.engine.parallel import chunk_streams, run_chunks

if TYPE_CHECKING:
    import pandas as pd

    from workbench.analysis.bins import Bins
    from workbench.engine.results import Curve

RngLike = np.random.Generator | int | None
Progress = Callable[[int, int], None]
"""`progress(done, total)`: called after each chunk of bootstrap replicates (the CLI's tqdm)."""

ORACLE_STRATEGIES = frozenset({"pass@k", "pass_at_k", "coverage", "oracle"})
"""Strategies that pick with the gold answer: an upper bound, not a deployable policy."""

ALL = "all"
"""Name of the pseudo-bin that aggregates the per-bin policy over every problem."""

_TIE = 1e-12
_CHUNK = 100  # bootstrap replicates per vectorised step (bounds memory, paces progress)
_CHUNK_CELLS = 4_000_000  # at most this many (replicate x split x problem) weights per step


@dataclass(frozen=True)
class PolicyEntry:
    """The compute-optimal choice in one bin at one budget, with its cross-fitted accuracy.

    `label`/`strategy`/`params` are the choice made on ALL problems of the bin (what one would
    deploy); `fold_choices` are the choices made on each training split, whose scores on the
    held-out folds make up `accuracy`. `in_sample_accuracy` is the optimistic accuracy of the
    deployed choice on the problems that chose it (shown for comparison only). `efficiency` is
    the budget at which the baseline reaches `accuracy` over `budget` (below 1 when the policy
    loses; see `workbench.analysis.efficiency`); with `efficiency_bound` "lower" the true ratio
    is at least the value (the baseline never reached the policy's accuracy within the grid),
    with "upper" at most, "none" not identified. `efficiency_censored` is the share of
    bootstrap replicates in which the ratio was such a bound (then the CI end on that side is a
    bound too). Point estimates are means over `splits` cross-fitting splits; `widened` lists
    the statistics whose percentile interval was widened to include the point estimate.
    """

    bin: str
    budget: float
    unit: str
    label: str
    strategy: str
    params: dict[str, Any]
    run_id: str
    spent: float
    costs: dict[str, float]
    n_problems: int
    accuracy: float
    ci: tuple[float, float]
    in_sample_accuracy: float
    baseline_accuracy: float
    baseline_ci: tuple[float, float]
    gain: float
    gain_ci: tuple[float, float]
    efficiency: float
    efficiency_ci: tuple[float, float]
    efficiency_bound: str
    efficiency_censored: float
    fold_choices: tuple[str, ...]
    oracle: bool
    confidence_level: float = 0.95
    widened: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row: this entry (the same columns as `PolicyResult.to_frame`).

        Columns:
            bin: the bin, or "all".
            budget: the grid budget.
            unit: the budget axis.
            policy: label of the configuration deployed (chosen on all the bin's problems).
            strategy: its strategy.
            run_id: its run.
            spent: its mean spend per question in `unit`.
            n_problems: problems in the bin.
            accuracy: cross-fitted accuracy (mean over splits).
            ci_low: lower bound of its CI.
            ci_high: upper bound.
            in_sample_accuracy: optimistic accuracy of the deployed choice (comparison only).
            baseline_accuracy: the baseline's accuracy.
            baseline_ci_low: lower bound of its CI.
            baseline_ci_high: upper bound.
            gain: accuracy - baseline accuracy (paired).
            gain_ci_low: lower bound of its CI.
            gain_ci_high: upper bound.
            efficiency: budget the baseline needs to reach `accuracy` / budget.
            efficiency_ci_low: lower bound of its CI.
            efficiency_ci_high: upper bound.
            efficiency_bound: "exact", "lower", "upper" or "none".
            efficiency_censored: share of replicates whose ratio was a bound.
            verdict: the comparison in words ("no significant difference", ...).
            fold_choices: the choices made on each training split.
            oracle: a candidate picks with the gold answer (an upper bound).
        """
        import pandas as pd

        e = self
        return pd.DataFrame([{
            "bin": e.bin, "budget": e.budget, "unit": e.unit, "policy": e.label,
            "strategy": e.strategy, "run_id": e.run_id, "spent": e.spent,
            "n_problems": e.n_problems, "accuracy": e.accuracy, "ci_low": e.ci[0],
            "ci_high": e.ci[1], "in_sample_accuracy": e.in_sample_accuracy,
            "baseline_accuracy": e.baseline_accuracy, "baseline_ci_low": e.baseline_ci[0],
            "baseline_ci_high": e.baseline_ci[1], "gain": e.gain, "gain_ci_low": e.gain_ci[0],
            "gain_ci_high": e.gain_ci[1], "efficiency": e.efficiency,
            "efficiency_ci_low": e.efficiency_ci[0], "efficiency_ci_high": e.efficiency_ci[1],
            "efficiency_bound": e.efficiency_bound, "efficiency_censored": e.efficiency_censored,
            "verdict": e.verdict, "fold_choices": ", ".join(e.fold_choices), "oracle": e.oracle,
        }])

    @property
    def efficiency_text(self) -> str:
        """The ratio as a reader should see it: ">= 4.0x" for a lower bound."""
        if not np.isfinite(self.efficiency) or self.efficiency_bound == "none":
            return "n/a"
        prefix = {"exact": "", "lower": ">= ", "upper": "<= "}[self.efficiency_bound]
        return f"{prefix}{self.efficiency:.2f}x"

    @property
    def gain_significant(self) -> bool | None:
        """True when the gain's CI excludes 0, False when it contains 0, None without a CI."""
        return _excludes(self.gain_ci, 0.0)

    @property
    def efficiency_significant(self) -> bool | None:
        """True when the ratio's CI excludes 1, False when it contains 1, None without a CI."""
        return _excludes(self.efficiency_ci, 1.0)

    @property
    def verdict(self) -> str:
        """The comparison with the baseline in words: "better", "worse" or "no significant
        difference" (from the gain's CI; the ratio's CI agrees in direction by construction)."""
        sig = self.gain_significant
        if sig is None:
            return "no CI"
        if not sig:
            return "no significant difference"
        return "better than the baseline" if self.gain > 0 else "worse than the baseline"


@dataclass(frozen=True)
class PolicyBootstrap:
    """Bootstrap distributions, each (R, K + 1, G): bins in `PolicyResult.bins` order, then "all".

    `efficiency_bound` holds the bound code of each replicate's ratio (0 exact, 1 lower, 2 upper).
    """

    accuracy: np.ndarray
    baseline: np.ndarray
    gain: np.ndarray
    efficiency: np.ndarray
    efficiency_bound: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per (replicate, bin, grid budget) position: the bootstrap distributions.

        Columns:
            replicate: bootstrap replicate.
            bin_index: position in `PolicyResult.bins`, then "all" last.
            grid_index: position in `PolicyResult.grid`.
            accuracy: the policy's accuracy in the replicate.
            baseline: the baseline's accuracy.
            gain: accuracy - baseline.
            efficiency: the efficiency ratio.
            efficiency_bound: its bound code (0 exact, 1 lower, 2 upper, 3 none).
        """
        import pandas as pd

        r, k, g = self.accuracy.shape
        idx = np.indices((r, k, g)).reshape(3, -1)
        return pd.DataFrame({
            "replicate": idx[0], "bin_index": idx[1], "grid_index": idx[2],
            **{name: np.asarray(getattr(self, name)).ravel()
               for name in ("accuracy", "baseline", "gain", "efficiency", "efficiency_bound")},
        })


@dataclass(frozen=True)
class PolicyResult:
    """Per-bin compute-optimal policies on a budget grid, with bootstrap CIs.

    Attributes:
        entries: one `PolicyEntry` per (bin, budget), bins first then "all".
        unit: the budget axis ("generations", "tokens", "flops" or "money").
        grid: (G,) the budgets in `unit`.
        bins: bin names in order (without "all").
        candidates: labels of the candidate configurations (the baseline first).
        baseline: the baseline's label.
        candidate_accuracy: (K + 1, S, G) in-sample accuracy of every candidate in every bin (and
            "all"); NaN where a candidate is unavailable.
        folds, splits, n_resamples, confidence_level: how it was computed.
        oracle: True when a candidate picks with the gold answer (the policy is an upper bound).
        notes: plain-language caveats to show beside the numbers.
        bootstrap: the raw bootstrap distributions.
    """

    entries: tuple[PolicyEntry, ...]
    unit: str
    grid: np.ndarray
    bins: tuple[str, ...]
    candidates: tuple[str, ...]
    baseline: str
    candidate_accuracy: np.ndarray
    folds: int
    splits: int
    n_resamples: int
    confidence_level: float
    oracle: bool
    notes: tuple[str, ...]
    bootstrap: PolicyBootstrap = field(repr=False)

    def entry(self, bin: str, budget: float) -> PolicyEntry:
        """The entry of one bin (or "all") at one grid budget."""
        for e in self.entries:
            if e.bin == str(bin) and np.isclose(e.budget, budget):
                return e
        raise KeyError(f"no entry for bin {bin!r} at budget {budget!r}")

    def to_frame(self) -> pd.DataFrame:
        """One row per (bin, budget), bins first then "all": the choice, accuracy and CIs,
        gain, efficiency.

        Columns:
            bin: the bin, or "all".
            budget: the grid budget.
            unit: the budget axis.
            policy: label of the configuration deployed (chosen on all the bin's problems).
            strategy: its strategy.
            run_id: its run.
            spent: its mean spend per question in `unit`.
            n_problems: problems in the bin.
            accuracy: cross-fitted accuracy (mean over splits).
            ci_low: lower bound of its CI.
            ci_high: upper bound.
            in_sample_accuracy: optimistic accuracy of the deployed choice (comparison only).
            baseline_accuracy: the baseline's accuracy.
            baseline_ci_low: lower bound of its CI.
            baseline_ci_high: upper bound.
            gain: accuracy - baseline accuracy (paired).
            gain_ci_low: lower bound of its CI.
            gain_ci_high: upper bound.
            efficiency: budget the baseline needs to reach `accuracy` / budget.
            efficiency_ci_low: lower bound of its CI.
            efficiency_ci_high: upper bound.
            efficiency_bound: "exact", "lower", "upper" or "none".
            efficiency_censored: share of replicates whose ratio was a bound.
            verdict: the comparison in words ("no significant difference", ...).
            fold_choices: the choices made on each training split.
            oracle: a candidate picks with the gold answer (an upper bound).
        """
        import pandas as pd

        return pd.concat([e.to_frame() for e in self.entries], ignore_index=True)

    def table(self) -> pd.DataFrame:
        """The same as `to_frame` (the older name)."""
        return self.to_frame()

    def candidates_table(self) -> pd.DataFrame:
        """In-sample accuracy of every candidate per bin and budget (long format)."""
        import pandas as pd

        names = [*self.bins, ALL]
        k, s, g = np.meshgrid(
            np.arange(len(names)), np.arange(len(self.candidates)), np.arange(self.grid.size),
            indexing="ij",
        )
        return pd.DataFrame({
            "bin": np.array(names, dtype=object)[k.ravel()],
            "candidate": np.array(self.candidates, dtype=object)[s.ravel()],
            "budget": self.grid[g.ravel()],
            "accuracy": self.candidate_accuracy.ravel(),
        })

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no bootstrap distributions)."""
        return {
            "unit": self.unit, "grid": self.grid.tolist(), "bins": list(self.bins),
            "candidates": list(self.candidates), "baseline": self.baseline,
            "folds": self.folds, "splits": self.splits, "n_resamples": self.n_resamples,
            "confidence_level": self.confidence_level, "oracle": self.oracle,
            "notes": list(self.notes),
            "entries": [_jsonable({**e.__dict__, "verdict": e.verdict}) for e in self.entries],
        }


def compute_optimal_policy(
    candidates: Sequence[Curve],
    bins: Bins | Mapping[str, Hashable] | Sequence[Hashable] | np.ndarray,
    *,
    baseline: Curve | None = None,
    unit: str = "generations",
    grid: Sequence[float] | np.ndarray | None = None,
    folds: int = 2,
    splits: int = 100,
    boot_splits: int = 20,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    rng: RngLike = None,
    progress: Progress | None = None,
    n_jobs: int | None = None,
) -> PolicyResult:
    """Cross-fitted compute-optimal policy per difficulty bin and budget, with bootstrap CIs.

    Args:
        candidates: the candidate configurations' curves (any runs; rows are matched to the
            baseline's problems by problem id; a candidate missing a problem, or NaN for it, is
            unavailable in that problem's bin).
        bins: the bin of each problem: a `Bins` (order kept, easiest first), a mapping
            problem_id -> bin, or a sequence aligned with the baseline's `problem_ids` (bins
            then ordered by their sorted labels).
        baseline: the reference curve (default: the first candidate). It joins the candidates
            if it is not among them and wins ties.
        unit: budget axis: "generations" (the curves' budgets) or "tokens"/"flops"/"money"
            (`Curve.cost`); see `workbench.analysis.budget_axis` for how curves meet the grid.
        grid: budgets in `unit` (default: the baseline's own budgets in that unit).
        folds: K of the K-fold cross-fitting (>= 2; folds stratified by bin).
        splits: random fold splits averaged for the point estimate (100 by default).
        boot_splits: splits averaged in each bootstrap replicate (at most `splits`).
        n_resamples: bootstrap replicates (0 for point estimates only; CIs are then NaN).
        confidence_level: of the percentile intervals.
        rng: seed or Generator (fold split, then bootstrap).
        progress: `progress(done, total)` after each chunk of replicates.
        n_jobs: joblib workers for the bootstrap's chunks of replicates (None: as
            `joblib.parallel_config` says; inside `parallel_config(backend="dask")` they run
            on the Dask cluster). The result is the same for every value.

    Example (synthetic curves, labelled as such):

    >>> from workbench.analysis.policy import _demo_curves
    >>> base, better = _demo_curves()
    >>> res = compute_optimal_policy([base, better], ["easy", "hard"] * 20, rng=0,
    ...                              n_resamples=200)
    >>> e = res.entry("hard", 4)
    >>> e.label, round(e.accuracy, 3), round(e.efficiency, 2), e.efficiency_bound
    ('better', 0.6, 2.0, 'exact')
    """
    check_unit(unit)
    if not candidates:
        raise ValueError("`candidates` must hold at least one curve")
    if not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"`folds` must be an integer >= 2; got {folds!r}")
    if not isinstance(splits, int | np.integer) or splits < 1:
        raise ValueError(f"`splits` must be a positive integer; got {splits!r}")
    if not isinstance(boot_splits, int | np.integer) or boot_splits < 1:
        raise ValueError(f"`boot_splits` must be a positive integer; got {boot_splits!r}")
    boot_splits = min(boot_splits, splits)
    if not isinstance(n_resamples, int | np.integer) or n_resamples < 0:
        raise ValueError(f"`n_resamples` must be a non-negative integer; got {n_resamples!r}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"`confidence_level` must be in (0, 1); got {confidence_level!r}")
    gen = np.random.default_rng(rng)

    base = candidates[0] if baseline is None else baseline
    curves = _order_candidates(candidates, base)
    labels = _labels(curves)
    x = _grid(base, unit, grid)
    pids = np.asarray(base.problem_ids).astype(str)
    bin_idx, bin_names = _bin_index(bins, pids)
    counts = np.bincount(bin_idx, minlength=len(bin_names))
    empty_bins = [n for n, c in zip(bin_names, counts, strict=True) if c == 0]
    if empty_bins:  # absolute thresholds can leave bins empty: nothing to choose there
        keep = np.flatnonzero(counts > 0)
        bin_idx = np.searchsorted(keep, bin_idx)
        bin_names = [bin_names[int(j)] for j in keep]
        counts = counts[keep]
    if counts.min() < folds:
        small = bin_names[int(counts.argmin())]
        raise ValueError(
            f"bin {small!r} has {counts.min()} problems, fewer than `folds`={folds}: "
            "use fewer bins or fewer folds"
        )

    a = np.stack([_aligned(c, pids, x, unit) for c in curves], axis=1)  # (P, S, G)
    costs = {u: np.stack([_costs_on_grid(c, x, unit, u) for c in curves]) for u in UNITS}
    if np.isnan(a[:, 0, :]).all():
        raise ValueError(
            f"the baseline {labels[0]!r} has no value at any budget of the grid "
            f"{x.tolist()} {unit}: choose a grid within its budgets"
        )
    k_bins = len(bin_names)
    avail = np.stack([~np.isnan(a[bin_idx == j]).any(axis=0) for j in range(k_bins)])  # (K,S,G)
    a0 = np.nan_to_num(a, nan=0.0)
    oracle_flags = np.array([c.strategy in ORACLE_STRATEGIES for c in curves])

    # point estimate: the mean over `splits` stratified splits, unit weights
    ones = np.ones((1, pids.size))
    fold_of = _assign_folds(bin_idx, k_bins, folds, gen, splits)
    pol_sum, fold_choice = _crossfit(a0, avail, bin_idx, k_bins,
                                     np.ones((splits, pids.size)), fold_of, folds)
    pol_sum = pol_sum.mean(axis=0, keepdims=True)
    full_choice = _choose(_bin_means(a0, bin_idx, k_bins, ones)[0], avail)  # (K, G)
    point = _summaries(pol_sum, a0, avail, bin_idx, k_bins, ones, counts, x)
    in_sample = _bin_means(a0, bin_idx, k_bins, ones)[0]  # (K, S, G)
    overall = a0.mean(axis=0)[None]  # (1, S, G) in-sample over all problems
    cand_acc = np.concatenate([
        np.where(avail, in_sample, np.nan),
        np.where(avail.all(axis=0), overall, np.nan),
    ])

    boot = _bootstrap(a0, avail, bin_idx, k_bins, counts, x, folds, boot_splits, n_resamples,
                      gen, progress, n_jobs)
    widened: list[str] = []

    def ci(name: str, k: int, g: int) -> tuple[float, float]:
        if boot is None:
            return (float("nan"), float("nan"))
        lo, hi = percentile_ci(getattr(boot, name)[:, k, g], confidence_level)
        est = float(getattr(point, name)[0, k, g])
        if np.isfinite(est) and np.isfinite(lo) and not lo <= est <= hi:
            widened.append(name)
            lo, hi = min(lo, est), max(hi, est)
        return (lo, hi)

    any_avail = np.asarray(avail.any(axis=1))  # (K, G)
    entries = []
    for k, name in enumerate([*bin_names, ALL]):
        n_k = int(counts[k]) if k < k_bins else int(pids.size)
        for g, budget in enumerate(x):
            if k < k_bins and not any_avail[k, g]:
                chosen = _unavailable_fields()
            elif k < k_bins:
                s = int(full_choice[k, g])
                c = curves[s]
                chosen = dict(
                    label=labels[s], strategy=c.strategy, params=dict(c.params),
                    run_id=c.run_id, spent=float(costs[unit][s, g]),
                    costs={u: float(costs[u][s, g]) for u in UNITS},
                    in_sample_accuracy=float(in_sample[k, s, g]),
                    fold_choices=tuple(labels[int(i)] for i in fold_choice[0, :, k, g]),
                    oracle=bool(oracle_flags[s]),
                )
            else:
                chosen = _overall_fields(
                    full_choice[:, g], curves, labels, counts, in_sample[:, :, g],
                    {u: costs[u][:, g] for u in UNITS}, oracle_flags,
                )
            bounds = boot.efficiency_bound[:, k, g] if boot is not None else np.zeros(0)
            eff = float(point.efficiency[0, k, g])
            widened.clear()
            entries.append(PolicyEntry(
                bin=name, budget=float(budget), unit=unit, n_problems=n_k,
                accuracy=float(point.accuracy[0, k, g]), ci=ci("accuracy", k, g),
                baseline_accuracy=float(point.baseline[0, k, g]),
                baseline_ci=ci("baseline", k, g),
                gain=float(point.gain[0, k, g]), gain_ci=ci("gain", k, g),
                efficiency=eff, efficiency_ci=ci("efficiency", k, g),
                efficiency_bound=(
                    BOUND_NAMES[int(point.efficiency_bound[0, k, g])] if np.isfinite(eff)
                    else "none"
                ),
                efficiency_censored=float(np.mean(bounds != EXACT)) if bounds.size else 0.0,
                confidence_level=confidence_level, widened=tuple(widened),
                **chosen,
            ))

    empty = np.zeros((0, k_bins + 1, x.size))
    return PolicyResult(
        entries=tuple(entries), unit=unit, grid=x, bins=tuple(bin_names),
        candidates=tuple(labels), baseline=labels[0], candidate_accuracy=cand_acc,
        folds=int(folds), splits=int(splits), n_resamples=int(n_resamples),
        confidence_level=confidence_level,
        oracle=bool(oracle_flags.any()),
        notes=tuple(
            [f"bin {n} holds no problems of the run: left out" for n in empty_bins]
            + _notes(curves, labels, avail, oracle_flags, unit)
        ),
        bootstrap=boot if boot is not None else PolicyBootstrap(
            empty, empty, empty, empty, empty.astype(np.int8)
        ),
    )


def _unavailable_fields() -> dict[str, Any]:
    """Entry fields where no candidate can run in a bin at a budget."""
    return dict(
        label="unavailable", strategy="", params={}, run_id="", spent=float("nan"),
        costs={u: float("nan") for u in UNITS}, in_sample_accuracy=float("nan"),
        fold_choices=(), oracle=False,
    )


def _overall_fields(
    choice: np.ndarray, curves: Sequence[Curve], labels: Sequence[str], counts: np.ndarray,
    in_sample: np.ndarray, costs: dict[str, np.ndarray], oracle: np.ndarray,
) -> dict[str, Any]:
    """Entry fields of the "all" row: the per-bin choices at one budget, weighted by bin size.

    choice (K,) chosen candidate per bin; in_sample (K, S); costs[u] (S,).
    """
    used = np.unique(choice)
    one = curves[int(used[0])] if used.size == 1 else None
    share = counts / counts.sum()
    return dict(
        label=labels[int(used[0])] if one else "per-bin policy",
        strategy=one.strategy if one else "per-bin",
        params=dict(one.params) if one else {},
        run_id=",".join(dict.fromkeys(curves[int(i)].run_id for i in used)),
        spent=float("nan"), fold_choices=(),
        costs={u: float((share * c[choice]).sum()) for u, c in costs.items()},
        in_sample_accuracy=float((share * in_sample[np.arange(choice.size), choice]).sum()),
        oracle=bool(oracle[used].any()),
    )


# -- the vectorised core ----------------------------------------------------------------------
def _bin_means(
    a: np.ndarray, bin_idx: np.ndarray, k_bins: int, w: np.ndarray
) -> np.ndarray:
    """(R, K, S, G) weighted mean of each candidate in each bin for each weight row."""
    p, s, g = a.shape
    flat = a.reshape(p, s * g)
    out = np.empty((w.shape[0], k_bins, s, g))
    for j in range(k_bins):
        m = bin_idx == j
        tot = w[:, m].sum(axis=1)
        out[:, j] = ((w[:, m] @ flat[m]) / np.maximum(tot, 1e-300)[:, None]).reshape(-1, s, g)
    return out


def _choose(means: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """Index of the best available candidate on axis -2; ties go to the lowest index.

    means (..., S, G), avail broadcastable to it. Index 0 is the baseline, so a tie keeps it.
    """
    m = np.where(avail, means, -np.inf)
    best = m.max(axis=-2, keepdims=True)
    return np.asarray((m >= best - _TIE).argmax(axis=-2))


def _crossfit(
    a: np.ndarray, avail: np.ndarray, bin_idx: np.ndarray, k_bins: int,
    w: np.ndarray, fold_of: np.ndarray, folds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-fitted policy: weighted sum of held-out scores per bin, and the fold choices.

    a (P, S, G) accuracies (NaN replaced); w (R, P) replicate weights; fold_of (R, P).
    Returns (R, K, G) sums over each bin's problems of the score of the choice made without
    them, and the choices (R, F, K, G).
    """
    p, s, g = a.shape
    flat = a.reshape(p, s * g)
    r = w.shape[0]
    pol = np.zeros((r, k_bins, g))
    choices = np.zeros((r, folds, k_bins, g), dtype=np.int64)
    for f in range(folds):
        test = fold_of == f
        w_tr = np.where(test, 0.0, w)
        w_te = np.where(test, w, 0.0)
        for j in range(k_bins):
            m = bin_idx == j
            tr = (w_tr[:, m] @ flat[m]).reshape(r, s, g)
            n_tr = w_tr[:, m].sum(axis=1)
            # an empty training split (possible in a replicate) leaves all means 0: a tie,
            # so the baseline is kept
            choice = _choose(tr / np.maximum(n_tr, 1e-300)[:, None, None], avail[j])  # (R, G)
            te = (w_te[:, m] @ flat[m]).reshape(r, s, g)
            pol[:, j] += np.take_along_axis(te, choice[:, None, :], axis=1)[:, 0]
            choices[:, f, j] = choice
    return pol, choices


@dataclass(frozen=True)
class _Stats:
    accuracy: np.ndarray  # (R, K + 1, G)
    baseline: np.ndarray
    gain: np.ndarray
    efficiency: np.ndarray
    efficiency_bound: np.ndarray


def _summaries(
    pol_sum: np.ndarray, a: np.ndarray, avail: np.ndarray, bin_idx: np.ndarray, k_bins: int,
    w: np.ndarray, counts: np.ndarray, x: np.ndarray,
) -> _Stats:
    """Per bin and overall: policy accuracy, baseline accuracy, gain, efficiency ratio.

    NaN where nothing (policy) or the baseline is available in a bin at a budget.
    """
    base_sum = np.stack(
        [w[:, bin_idx == j] @ a[bin_idx == j, 0, :] for j in range(k_bins)], axis=1
    )  # (R, K, G)
    pol_sum = np.where(np.asarray(avail.any(axis=1))[None], pol_sum, np.nan)
    base_sum = np.where(avail[:, 0][None], base_sum, np.nan)
    # stratified resampling keeps each bin's total weight equal to its size
    n = counts[None, :, None].astype(float)
    acc = np.concatenate([pol_sum / n, pol_sum.sum(1, keepdims=True) / counts.sum()], axis=1)
    base = np.concatenate([base_sum / n, base_sum.sum(1, keepdims=True) / counts.sum()], axis=1)
    eff = efficiency_ratio(x, base, acc)
    gain = acc - base
    gain[np.abs(gain) < _TIE] = 0.0  # same choice, different summation order: no -0.000
    return _Stats(acc, base, gain, eff.budget, eff.bound)


def _bootstrap(
    a: np.ndarray, avail: np.ndarray, bin_idx: np.ndarray, k_bins: int, counts: np.ndarray,
    x: np.ndarray, folds: int, splits: int, n_resamples: int, gen: np.random.Generator,
    progress: Progress | None, n_jobs: int | None = None,
) -> PolicyBootstrap | None:
    if n_resamples == 0:
        return None
    # replicates per step: about _CHUNK_CELLS (replicate x split x problem) weights in memory;
    # the chunks depend on the data's shape only and each has its own spawned random stream,
    # so the replicates are the same whichever worker (joblib, Dask) computes them
    chunk = max(1, min(_CHUNK, _CHUNK_CELLS // (splits * bin_idx.size)))
    starts = list(range(0, n_resamples, chunk))
    sizes = [min(chunk, n_resamples - lo) for lo in starts]
    shared = {"a": a, "avail": avail, "bin_idx": bin_idx, "k_bins": k_bins, "counts": counts,
              "x": x, "folds": folds, "splits": splits}
    p, s, g = a.shape
    parts: list[_Stats] = run_chunks(
        _replicate_chunk,
        [{**shared, "r": r, "gen": c}
         for r, c in zip(sizes, chunk_streams(gen, len(starts)), strict=True)],
        work=float(n_resamples) * splits * p * s * g * folds, n_jobs=n_jobs,
        progress=progress, done_of=lambda i: starts[i] + sizes[i], total=n_resamples,
    )
    return PolicyBootstrap(*(
        np.concatenate([getattr(p, f) for p in parts])
        for f in ("accuracy", "baseline", "gain", "efficiency", "efficiency_bound")
    ))


def _replicate_chunk(
    a: np.ndarray, avail: np.ndarray, bin_idx: np.ndarray, k_bins: int, counts: np.ndarray,
    x: np.ndarray, folds: int, splits: int, r: int, gen: np.random.Generator,
) -> _Stats:
    """`r` bootstrap replicates of the whole cross-fitted policy search."""
    w = _stratified_weights(bin_idx, k_bins, counts, gen, r)
    # every replicate averages `splits` fold splits, like the point estimate
    fold_of = _assign_folds(bin_idx, k_bins, folds, gen, r * splits)
    pol_sum, _ = _crossfit(a, avail, bin_idx, k_bins, np.repeat(w, splits, axis=0),
                           fold_of, folds)
    pol_sum = pol_sum.reshape(r, splits, *pol_sum.shape[1:]).mean(axis=1)
    return _summaries(pol_sum, a, avail, bin_idx, k_bins, w, counts, x)


def _stratified_weights(
    bin_idx: np.ndarray, k_bins: int, counts: np.ndarray, gen: np.random.Generator, r: int
) -> np.ndarray:
    """(r, P) bootstrap multiplicities: each bin's rows resampled with replacement within it."""
    w = np.zeros((r, bin_idx.size))
    for j in range(k_bins):
        idx = np.flatnonzero(bin_idx == j)
        w[:, idx] = gen.multinomial(counts[j], np.full(idx.size, 1.0 / idx.size), size=r)
    return w


def _assign_folds(
    bin_idx: np.ndarray, k_bins: int, folds: int, gen: np.random.Generator, r: int
) -> np.ndarray:
    """(r, P) fold of each problem, balanced within each bin, independently per row."""
    out = np.empty((r, bin_idx.size), dtype=np.int64)
    for j in range(k_bins):
        idx = np.flatnonzero(bin_idx == j)
        # a random offset spreads the remainder rows over the folds across bins
        pattern = (np.arange(idx.size) + gen.integers(folds)) % folds
        out[:, idx] = gen.permuted(np.broadcast_to(pattern, (r, idx.size)), axis=1)
    return out


# -- input handling ---------------------------------------------------------------------------
def _order_candidates(candidates: Sequence[Curve], base: Curve) -> list[Curve]:
    """The baseline first (it wins ties), then the others without duplicates."""
    def key(c: Curve) -> tuple[str, str]:
        return (c.run_id, c.label)

    out = [base]
    seen = {key(base)}
    for c in candidates:
        if key(c) not in seen:
            seen.add(key(c))
            out.append(c)
    return out


def _labels(curves: Sequence[Curve]) -> list[str]:
    """Curve labels, prefixed by the run id when candidates come from several runs."""
    if len({c.run_id for c in curves}) > 1:
        return [f"{c.run_id}:{c.label}" for c in curves]
    return [c.label for c in curves]


def _grid(base: Curve, unit: str, grid: Sequence[float] | np.ndarray | None) -> np.ndarray:
    x = budget_costs(base, unit) if grid is None else np.asarray(grid, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)) or np.any(x <= 0):
        what = "the baseline's costs" if grid is None else "`grid`"
        raise ValueError(
            f"{what} in {unit} must be finite positive numbers; got {x.tolist()}"
            + (" (does the run record token counts / parameter counts / prices?)"
               if grid is None and unit != "generations" else "")
        )
    if np.any(np.diff(x) <= 0):
        raise ValueError(f"`grid` must be strictly increasing; got {x.tolist()}")
    return x


def _bin_index(bins: Any, pids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    if hasattr(bins, "index_for") and hasattr(bins, "labels"):
        # a `workbench.analysis.bins.Bins`: keep its order (L1 = easiest first)
        try:
            return np.asarray(bins.index_for(pids), dtype=np.int64), list(bins.labels)
        except KeyError as exc:
            raise ValueError(f"`bins`: {exc.args[0]}") from None
    if isinstance(bins, Mapping):
        missing = [p for p in pids if p not in bins]
        if missing:
            raise ValueError(f"`bins` has no bin for problem(s) {missing[:5]}")
        labels = [bins[p] for p in pids]
    else:
        labels = list(bins)
        if len(labels) != pids.size:
            raise ValueError(
                f"`bins` has {len(labels)} labels for {pids.size} problems; pass a mapping "
                "problem_id -> bin or a sequence aligned with the baseline's problem_ids"
            )
    uniq = sorted(set(labels), key=lambda v: (str(type(v)), v))  # type: ignore[arg-type, return-value]
    pos = {v: i for i, v in enumerate(uniq)}
    return np.array([pos[v] for v in labels], dtype=np.int64), [str(v) for v in uniq]


def _aligned(curve: Curve, pids: np.ndarray, x: np.ndarray, unit: str) -> np.ndarray:
    """The curve on the grid with rows in `pids` order (NaN rows for problems it lacks)."""
    pp, _ = on_grid(curve, x, unit)
    own = np.asarray(curve.problem_ids).astype(str)
    if own.shape == pids.shape and np.array_equal(own, pids):
        return pp
    row = {p: i for i, p in enumerate(own)}
    out = np.full((pids.size, x.size), np.nan)
    have = np.array([p in row for p in pids])
    out[have] = pp[[row[p] for p in pids[have]]]
    return out


def _costs_on_grid(curve: Curve, x: np.ndarray, unit: str, other: str) -> np.ndarray:
    """(G,) cost in unit `other` of the budget the curve uses at each grid budget (in `unit`)."""
    idx = grid_index(budget_costs(curve, unit), x)
    return np.where(idx >= 0, budget_costs(curve, other)[np.maximum(idx, 0)], np.nan)


def _notes(
    curves: Sequence[Curve], labels: Sequence[str], avail: np.ndarray,
    oracle: np.ndarray, unit: str,
) -> list[str]:
    notes = []
    if oracle.any():
        names = ", ".join(labels[int(i)] for i in np.flatnonzero(oracle))
        notes.append(
            f"{names} is oracle coverage (it picks with the gold answer): where it is chosen, "
            "the policy is an upper bound, not a deployable strategy"
        )
    if len(curves) == 1:
        notes.append("only one candidate: the policy is the baseline itself")
    for s, c in enumerate(curves):
        if not avail[:, s].all():
            notes.append(
                f"{labels[s]} is unavailable at some (bin, budget) pairs (no budget fits under "
                f"the grid budget, or problems it could not evaluate)"
            )
        if c.biased:
            notes.append(f"{labels[s]} resamples past the pool with replacement (biased)")
        if c.twin:
            notes.append(f"{labels[s]} comes from the twin (a model), not real samples")
        if not c.exact:
            se = float(np.max(c.accuracy_se)) if c.mc_se.size else 0.0
            notes.append(f"{labels[s]} is a Monte-Carlo estimate (max accuracy s.e. {se:.4f})")
    if unit != "generations":
        notes.append(
            f"budgets in {unit}: a configuration counts at its largest budget costing at most "
            "the grid budget (mean cost per question over all problems)"
        )
    return notes


def _excludes(ci: tuple[float, float], value: float) -> bool | None:
    lo, hi = ci
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    return bool(value < lo or value > hi)


def percentile_ci(dist: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of a bootstrap distribution (NaN replicates dropped; NaN if none).

    >>> percentile_ci(np.arange(5.0), 0.5)
    (1.0, 3.0)
    """
    d = np.asarray(dist, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _demo_curves() -> tuple[Curve, Curve]:
    """Two synthetic curves on 40 problems for the docstring example (known truth).

    "base" doubles its accuracy per 4x budget on hard problems; "better" is 2x as efficient on
    hard problems and equal on easy ones.
    """
    from workbench.engine.results import Cost, Curve

    b = np.array([1.0, 2.0, 4.0, 8.0])
    easy = np.array([0.8, 0.85, 0.9, 0.95])
    hard_base = np.array([0.3, 0.4, 0.5, 0.6])
    hard_better = np.array([0.4, 0.5, 0.6, 0.7])

    def make(name: str, hard: np.ndarray) -> Curve:
        pp = np.array([easy if i % 2 == 0 else hard for i in range(40)])
        return Curve(
            strategy=name, params={}, run_id="synthetic",
            problem_ids=np.array([f"p{i}" for i in range(40)]), budgets=b, per_problem=pp,
            mc_se=np.zeros_like(pp), cost=Cost(b, 100 * b, 2e9 * 100 * b, 1e-3 * b),
            exact=True,
        )

    return make("base", hard_base), make("better", hard_better)
