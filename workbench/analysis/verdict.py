"""The one verdict path: candidates, bins, the cross-fitted policy and its verdicts for a run.

`workbench optimize`, `workbench plan`, the per-run report, the demo's headline and the
notebooks all call `optimize` here, so for the same run, settings and seed they print the same
numbers: the candidate curves come from one random stream (`Settings.rng("candidates|RUN")`),
the policy from another (`Settings.rng("policy|RUN")`), whatever else was computed before.

A `Verdict` is one comparison of the per-bin compute-optimal policy with the baseline at one
budget: accuracy, gain and efficiency ratio, each with its CI, and in words "better", "worse"
or "no significant difference" (the gain's CI contains 0; the ratio's then contains 1). The
point estimates are means over `Settings.splits` cross-fitting splits and lie inside their
CIs; the ratio is read off the cross-fitted curve as it is and is below 1 when the policy loses
(`workbench.analysis.policy`, `workbench.analysis.efficiency`).

>>> from workbench.store import Problem, Run, RunBundle, RunStore, Sample
>>> store = RunStore(":memory:")  # a synthetic run, labelled as such
>>> _ = store.ingest(RunBundle(Run("toy/run", "toy", "m", "synthetic"),
...     problems=[Problem("toy", f"p{i}") for i in range(8)],
...     samples=[Sample(f"p{i}", j, answer_key=str((i + j) % 3), is_correct=(i + j) % 3 == 0)
...              for i in range(8) for j in range(4)]))
>>> import warnings; warnings.simplefilter("ignore")  # 4 samples per problem: degenerate bins
>>> opt = optimize(store, ["toy/run"], Settings(policy_boot=50, draws=50, n_bins=2),
...                include_oracle=True)
>>> opt.headline().budget, opt.checks.degenerate
(2.0, ('L1', 'L2'))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.analysis.bin_checks import MIN_SAMPLES, BinChecks, check_bins
from workbench.analysis.candidates import CandidateCurves, candidate_curves, load_strategies
from workbench.analysis.inputs import bins_for_run
from workbench.analysis.policy import ALL, PolicyEntry, PolicyResult, compute_optimal_policy
from workbench.analysis.settings import Settings, power_budgets

if TYPE_CHECKING:
    import pandas as pd

    from workbench.analysis.bins import Bins
    from workbench.engine.data import RunData
    from workbench.store import RunStore


@dataclass(frozen=True)
class Verdict:
    """The per-bin compute-optimal policy against the baseline in one bin at one budget.

    Attributes:
        run_id: the run (the first, when several runs compete).
        bin: the bin, or "all" (the per-bin policy over every problem).
        budget, unit: where on the budget axis.
        policy, baseline: labels of the choice and of the baseline.
        accuracy, ci: the policy's cross-fitted accuracy (mean over splits) and its CI.
        baseline_accuracy, baseline_ci: the baseline's accuracy and CI.
        gain, gain_ci: accuracy - baseline accuracy (paired) and its CI.
        efficiency, efficiency_ci, efficiency_bound: the ratio (budget the baseline needs to
            reach the policy's accuracy / budget), its CI and bound ("exact", "lower",
            "upper", "none").
        confidence_level, splits, n_resamples, seed: how it was computed.
    """

    run_id: str
    bin: str
    budget: float
    unit: str
    policy: str
    baseline: str
    accuracy: float
    ci: tuple[float, float]
    baseline_accuracy: float
    baseline_ci: tuple[float, float]
    gain: float
    gain_ci: tuple[float, float]
    efficiency: float
    efficiency_ci: tuple[float, float]
    efficiency_bound: str
    efficiency_text: str
    verdict: str
    confidence_level: float
    splits: int
    n_resamples: int
    seed: int

    @classmethod
    def from_entry(cls, entry: PolicyEntry, policy: PolicyResult, *, run_id: str,
                   seed: int) -> Verdict:
        return cls(
            run_id=run_id, bin=entry.bin, budget=entry.budget, unit=entry.unit,
            policy=entry.label, baseline=policy.baseline, accuracy=entry.accuracy, ci=entry.ci,
            baseline_accuracy=entry.baseline_accuracy, baseline_ci=entry.baseline_ci,
            gain=entry.gain, gain_ci=entry.gain_ci, efficiency=entry.efficiency,
            efficiency_ci=entry.efficiency_ci, efficiency_bound=entry.efficiency_bound,
            efficiency_text=entry.efficiency_text, verdict=entry.verdict,
            confidence_level=policy.confidence_level, splits=policy.splits,
            n_resamples=policy.n_resamples, seed=seed,
        )

    def text(self) -> str:
        """One line: every number with its CI, then the verdict in words.

        e.g. "per-bin policy @4 generations: accuracy 0.930 [0.890, 0.968] vs baseline 0.932
        [...]; gain -0.002 [-0.020, +0.013]; efficiency 0.97x [0.61, 1.95]: no significant
        difference (95% CIs)"
        """
        where = "all problems" if self.bin == ALL else f"bin {self.bin}"
        return (
            f"per-bin compute-optimal policy, {where}, @{self.budget:g} {self.unit}: "
            f"accuracy {_num(self.accuracy)} {_ci(self.ci)} vs baseline "
            f"{_num(self.baseline_accuracy)} {_ci(self.baseline_ci)}; gain "
            f"{_num(self.gain, '+.3f')} {_ci(self.gain_ci, '+.3f')}; efficiency "
            f"{self.efficiency_text} {_ci(self.efficiency_ci, '.2f')}: {self.verdict} "
            f"({self.confidence_level:.0%} CIs, mean of {self.splits} cross-fitting splits, "
            f"seed {self.seed})"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row: this verdict, CIs split into `_low` / `_high`.

        Columns:
            run_id: the run.
            bin: the bin, or "all".
            budget: the grid budget.
            unit: the budget axis.
            policy: the per-bin policy's choice.
            baseline: the baseline.
            accuracy: cross-fitted accuracy (mean over splits).
            ci_low: lower bound of its CI.
            ci_high: upper bound.
            baseline_accuracy: the baseline's accuracy.
            baseline_ci_low: lower bound of its CI.
            baseline_ci_high: upper bound.
            gain: accuracy - baseline accuracy.
            gain_ci_low: lower bound of its CI.
            gain_ci_high: upper bound.
            efficiency: the efficiency ratio.
            efficiency_ci_low: lower bound of its CI.
            efficiency_ci_high: upper bound.
            efficiency_bound: "exact", "lower", "upper" or "none".
            efficiency_text: the ratio as a reader should see it (">= 4.00x").
            verdict: the comparison in words.
            confidence_level: of the CIs.
            splits: cross-fitting splits averaged.
            n_resamples: bootstrap replicates.
            seed: the seed.
        """
        from workbench.frames import record_frame

        return record_frame([self])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (NaN -> None)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, tuple):
                value = [None if not np.isfinite(v) else float(v) for v in value]
            elif isinstance(value, float) and not np.isfinite(value):
                value = None
            out[key] = value
        out["text"] = self.text()
        return out


@dataclass(frozen=True)
class Optimization:
    """Everything `optimize` computed: the candidates' curves, bins, their checks, the policy.

    `notes` holds the plain-language caveats (degenerate bins, Monte-Carlo candidates, oracle
    candidates) to print beside the numbers.
    """

    runs: tuple[str, ...]
    settings: Settings
    candidates: CandidateCurves
    bins: Bins
    checks: BinChecks
    policy: PolicyResult
    notes: tuple[str, ...]

    def headline_budget(self) -> float:
        """The budget the headline reports: the middle of the grid (4 on 1, 2, 4, 8)."""
        grid = self.policy.grid
        return float(grid[grid.size // 2])

    def verdict(self, bin: str = ALL, budget: float | None = None) -> Verdict:
        """The verdict in one bin (default "all") at one grid budget (default the headline's)."""
        b = self.headline_budget() if budget is None else budget
        return Verdict.from_entry(self.policy.entry(bin, b), self.policy, run_id=self.runs[0],
                                  seed=self.settings.seed)

    def headline(self) -> Verdict:
        """What `workbench demo` and `workbench optimize` print first: "all" at mid-grid."""
        return self.verdict()

    def verdicts(self) -> list[Verdict]:
        """Every (bin, budget) verdict, bins first, then "all"."""
        return [Verdict.from_entry(e, self.policy, run_id=self.runs[0], seed=self.settings.seed)
                for e in self.policy.entries]

    def to_frame(self) -> pd.DataFrame:
        """One row per (bin, budget) verdict with its CIs, bins first then "all".

        Columns:
            run_id: the run.
            bin: the bin, or "all".
            budget: the grid budget.
            unit: the budget axis.
            policy: the per-bin policy's choice.
            baseline: the baseline.
            accuracy: cross-fitted accuracy (mean over splits).
            ci_low: lower bound of its CI.
            ci_high: upper bound.
            baseline_accuracy: the baseline's accuracy.
            baseline_ci_low: lower bound of its CI.
            baseline_ci_high: upper bound.
            gain: accuracy - baseline accuracy.
            gain_ci_low: lower bound of its CI.
            gain_ci_high: upper bound.
            efficiency: the efficiency ratio.
            efficiency_ci_low: lower bound of its CI.
            efficiency_ci_high: upper bound.
            efficiency_bound: "exact", "lower", "upper" or "none".
            efficiency_text: the ratio as a reader should see it (">= 4.00x").
            verdict: the comparison in words.
            confidence_level: of the CIs.
            splits: cross-fitting splits averaged.
            n_resamples: bootstrap replicates.
            seed: the seed.
            degenerate_bin: the bin is degenerate (see `checks`).
        """
        import pandas as pd

        bad = set(self.checks.degenerate)
        rows = []
        for v in self.verdicts():
            row = {}
            for key, value in v.__dict__.items():
                if isinstance(value, tuple):
                    row[f"{key}_low"], row[f"{key}_high"] = value
                else:
                    row[key] = value
            row["degenerate_bin"] = v.bin in bad
            rows.append(row)
        return pd.DataFrame(rows)


def policy_budgets(data: RunData) -> list[int] | None:
    """The default budget grid of a run's candidates: powers of two up to the smallest pool and
    the pool itself (the last point is exact for every strategy); a tree bank: powers of two to
    64; otherwise (chains, counts) the candidates' own default."""
    if data.chains is None and data.pool is not None and data.pool.answer is not None:
        return power_budgets(int(np.min(data.pool.sizes)))
    if data.chains is None and data.pool is None and data.tree is not None:
        return power_budgets(64)
    return None


def candidate_set(
    store: RunStore,
    runs: Sequence[str],
    settings: Settings,
    *,
    budgets: Sequence[int] | None = None,
    include_oracle: bool = True,
    progress: Callable[[str], None] | None = None,
) -> CandidateCurves:
    """The candidates' curves of `runs` from the stream `settings.rng("candidates|RUNS")`.

    pass@k (oracle) comes last and draws nothing, so including it does not change the other
    curves: the report (which shows it) and `workbench optimize` (which leaves it out of the
    candidates unless asked) see the same curves.
    """
    from workbench.engine.data import load_run_data

    load_strategies()
    if budgets is None:
        budgets = policy_budgets(load_run_data(store, runs[0]))
    return candidate_curves(store, list(runs), budgets=budgets, include_oracle=include_oracle,
                            draws=settings.draws, rng=settings.rng(f"candidates|{_key(runs)}"),
                            progress=progress)


def optimize(
    store: RunStore,
    runs: Sequence[str],
    settings: Settings | None = None,
    *,
    bins: str = "oracle",
    budgets: Sequence[int] | None = None,
    unit: str = "generations",
    grid: Sequence[float] | np.ndarray | None = None,
    include_oracle: bool = False,
    min_samples: int = MIN_SAMPLES,
    curves: CandidateCurves | None = None,
    on_curve: Callable[[str], None] | None = None,
    on_bootstrap: Callable[[int, int], None] | None = None,
) -> Optimization:
    """Cross-fitted compute-optimal policy of `runs` (the first sets problems, bins, baseline).

    Args:
        store: the store holding the runs.
        runs: run ids; several runs on the same problems compete.
        settings: seed, replicates, splits, folds, bins, draws (default `Settings()`).
        bins: "oracle" or "predicted" difficulty bins of the first run (`settings.n_bins`).
        budgets: generations budgets (default `policy_budgets`).
        unit, grid: the budget axis of the policy (see `compute_optimal_policy`).
        include_oracle: pass@k (oracle) competes as a candidate (an upper bound).
        min_samples: samples per problem below which a bin is flagged as degenerate.
        curves: the result of `candidate_set` for these runs and settings, when the caller has
            it already (the report); computed here otherwise.
        on_curve, on_bootstrap: progress hooks (the CLI's status line and bar).

    Degenerate bins raise a `DegenerateBinWarning` and are listed in `notes`.
    """
    from workbench.engine.data import load_run_data

    settings = settings or Settings()
    cands = curves if curves is not None else candidate_set(
        store, runs, settings, budgets=budgets, include_oracle=include_oracle, progress=on_curve)
    pool = [c for c in cands.curves if include_oracle or c.strategy != "pass_at_k"
            or cands.oracle_only]
    data = load_run_data(store, runs[0])
    run_bins = bins_for_run(data, kind=bins, n_bins=settings.n_bins)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checks = check_bins(run_bins, samples_per_problem(data, run_bins), min_samples=min_samples)
    policy = compute_optimal_policy(
        pool, run_bins, baseline=cands.baseline, unit=unit, grid=grid, folds=settings.folds,
        splits=settings.splits, boot_splits=settings.boot_splits,
        n_resamples=settings.policy_boot,
        confidence_level=settings.confidence, rng=settings.rng(f"policy|{_key(runs)}"),
        progress=on_bootstrap, n_jobs=settings.n_jobs,
    )
    for w in caught:  # re-raise to the caller's filters, after the policy is computed
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes = [*checks.messages(), *policy.notes]
    if bins == "predicted":
        notes.append(
            "predicted bins average the verifier's scores over every cached sample of a "
            "problem, the same samples the strategies draw from: the bin of a problem is not "
            "independent of the samples scored in it (no gold answer is used)")
    return Optimization(tuple(runs), settings, cands, run_bins, checks, policy, tuple(notes))


def samples_per_problem(data: RunData, run_bins: Bins) -> np.ndarray:
    """Samples per problem of the run, aligned with the bins' problems."""
    counts = data.counts
    if counts is None:
        return np.zeros(run_bins.problem_ids.size)
    n = dict(zip(np.asarray(counts.problem_ids).astype(str), counts.n, strict=True))
    return np.array([n.get(str(p), 0) for p in run_bins.problem_ids], dtype=float)


def _key(runs: Sequence[str]) -> str:
    return "+".join(runs)


def _num(v: float, fmt: str = ".3f") -> str:
    if not np.isfinite(v):
        return "n/a"
    text = format(v, fmt)
    # a difference that rounds to zero is shown as +0.000, not -0.000
    return format(0.0, fmt) if float(text) == 0 else text


def _ci(ci: tuple[float, float], fmt: str = ".3f") -> str:
    lo, hi = ci
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "[no CI]"
    return f"[{_num(lo, fmt)}, {_num(hi, fmt)}]"


__all__ = ["Optimization", "Verdict", "candidate_set", "optimize", "policy_budgets",
           "samples_per_problem"]
