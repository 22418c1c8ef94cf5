"""Analysis commands: `workbench bins`, `fit`, `exchange`, `optimize`, `plan`.

A thin layer over `workbench.analysis`: parse options, open the store read-only, call the
library, print a table (or JSON with --json). To add a command, define it below and append it
to `COMMANDS`. The library (scipy, statsmodels, pandas) is imported inside each command, so
that `workbench --help` and the other areas' commands do not load it.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workbench.cli._choices import LAW_NAMES, SNELL_R, UNITS
from workbench.cli._common import (
    check_n_jobs,
    confidence_option,
    echo_frame,
    echo_json,
    floats,
    ints,
    json_option,
    open_store,
    progress_bar,
    progress_hook,
    store_option,
)
from workbench.errors import DegenerateBinWarning, FitError, SerialFallbackWarning

if TYPE_CHECKING:
    import numpy as np


# -- bins --------------------------------------------------------------------------------------
@click.command("bins")
@click.argument("run")
@click.option("--bins", "kind", type=click.Choice(["oracle", "predicted", "absolute"]),
              default="oracle", show_default=True,
              help="oracle: pass@1 quantiles; predicted: mean verifier score quantiles (no gold); "
                   "absolute: --edges thresholds.")
@click.option("--n-bins", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--edges", default=None, help="Absolute thresholds, e.g. 0,0.2,0.4,0.6,0.8,1.")
@click.option("--statistic", type=click.Choice(["pass@1", "score"]), default="pass@1",
              show_default=True, help="What --edges apply to (absolute bins).")
@click.option("--verifier", default=None, help="Verifier for predicted bins (default: the "
              "run's only verifier).")
@click.option("--agg", type=click.Choice(["last", "min", "prod", "mean"]), default="last",
              show_default=True, help="PRM step-score aggregation.")
@store_option
@json_option
def bins(run: str, kind: str, n_bins: int, edges: str | None, statistic: str,
         verifier: str | None, agg: str, store_path: Path | None, as_json: bool) -> None:
    """Difficulty bins of RUN's problems (L1 = easiest), as in Snell et al. (2024).

    \b
    Examples:
      workbench bins sampling-ceilings/math500-llama-3.2-1b
      workbench bins RUN --bins predicted --verifier math-shepherd-mistral-7b-prm
      workbench bins RUN --bins absolute --edges 0,0.1,0.5,0.9,1
    """
    from workbench.analysis.inputs import bins_for_run
    from workbench.engine import load_run_data

    with open_store(store_path) as store:
        data = load_run_data(store, run, verifier=verifier, agg=agg)
    edge_list = floats(edges, "--edges") or None
    if kind == "absolute" and edge_list is None:
        raise click.BadParameter("absolute bins need --edges", param_hint="--edges")
    b = bins_for_run(data, kind=kind, n_bins=n_bins, edges=edge_list,
                     statistic="score" if statistic == "score" else "pass@1")
    if as_json:
        echo_json({"run": run, **b.to_dict()})
        return
    click.echo(f"{run}: {b.kind} bins on {b.statistic} ({len(b.problem_ids)} problems; "
               "L1 = easiest)")
    click.echo("edges: " + ", ".join(f"{e:.4g}" for e in b.edges)
               + ("  (quantiles, for display: assignment is by rank)" if kind != "absolute"
                  else ""))
    echo_frame(b.to_frame().drop(columns=["statistic", "kind"]))  # both are in the header


# -- verifiers ---------------------------------------------------------------------------------
@click.command("verifiers")
@click.argument("run")
@click.option("--verifier", "names", multiple=True, help="Only this verifier (repeatable; "
              "default: every verifier of RUN).")
@click.option("--agg", type=click.Choice(["last", "min", "prod", "mean"]), default="last",
              show_default=True, help="PRM step-score aggregation (outcome verifiers ignore it).")
@click.option("--n-boot", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap resamples over problems (0: no CI).")
@confidence_option
@click.option("--seed", type=int, default=0, show_default=True)
@store_option
@json_option
def verifiers(run: str, names: tuple[str, ...], agg: str, n_boot: int, confidence: float,
              seed: int, store_path: Path | None, as_json: bool) -> None:
    """How much signal each verifier of RUN carries: AUC against the gold grade, with CIs.

    \b
    pooled AUC: a correct sample outscores a wrong one, over all pairs of the run.
    within-problem AUC: the same inside each problem's pool, which is what best-of-N
    needs (0.5 = no better than a random pick).
    Examples:
      workbench verifiers math500-coder/qwen2.5-coder-0.5b
      workbench verifiers RUN --verifier probe --agg min --json
    """
    import pandas as pd

    from workbench.analysis.verifier_quality import verifier_quality
    from workbench.engine import load_run_data

    with open_store(store_path) as store:
        store.run_record(run)  # an unknown run: one line naming it
        kinds = store.verifiers(run)
        unknown = sorted(set(names) - set(kinds))
        if unknown or not kinds:
            raise click.BadParameter(
                f"run {run!r} has no verifier {', '.join(unknown) or '(none at all)'}; it has: "
                f"{', '.join(sorted(kinds)) or 'none'}", param_hint="--verifier")
        pools = [load_run_data(store, run, verifier=v, agg=agg).pool
                 for v in (names or sorted(kinds))]
    rows, skipped = [], []
    for pool in pools:
        assert pool is not None
        if pool.score is None:
            skipped.append(f"{pool.verifier}: {pool.missing.get('score', 'no scores')}")
            continue
        rows.append(verifier_quality(pool, n_boot=n_boot, confidence=confidence, seed=seed))
    if as_json:
        echo_json({"run": run, "verifiers": [r.to_frame().iloc[0].to_dict() for r in rows],
                   "skipped": skipped})
        return
    pct = f"{confidence:.0%} CI"
    click.echo(f"{run}: verifier AUC against the gold grade ({pct}: bootstrap over problems, "
               f"{n_boot} resamples)")
    table = pd.DataFrame([{
        "verifier": r.verifier + (f" ({r.agg})" if r.agg else ""),
        "problems": r.problems, "samples": r.samples,
        "AUC": f"{r.auc:.3f}", pct: f"[{r.auc_low:.3f}, {r.auc_high:.3f}]",
        "within-problem AUC": f"{r.within_auc:.3f}",
        f"within {pct}": f"[{r.within_low:.3f}, {r.within_high:.3f}]",
        "problems with pairs": r.problems_with_pairs} for r in rows])
    if len(table):
        echo_frame(table)
    for line in skipped:
        click.echo(f"skipped {line}")


# -- fit ---------------------------------------------------------------------------------------
@click.command("fit")
@click.argument("run")
@click.option("--law", "law_name", type=click.Choice([*LAW_NAMES, "all"]), default="all",
              show_default=True)
@click.option("--extrapolate", default="1280,10000", show_default=True,
              help="Budgets k to predict at (comma-separated).")
@click.option("--ci", "ci_method", type=click.Choice(["wald", "profile"]), default="wald",
              show_default=True, help="Parameter intervals: Wald (working scale) or profile "
              "likelihood.")
@click.option("--n-boot", "bootstrap", type=click.IntRange(min=0), default=0, show_default=True,
              help="Refit on this many problem resamples for prediction intervals (0: delta "
                   "method).")
@confidence_option
@click.option("--seed", type=int, default=0, show_default=True)
@store_option
@json_option
def fit(run: str, law_name: str, extrapolate: str, ci_method: str, bootstrap: int,
        confidence: float, seed: int, store_path: Path | None, as_json: bool) -> None:
    """Fit scaling laws to RUN: parameters with CIs, AIC, predictions past the pool.

    \b
    Laws: coverage (-log pass@k = a k^-b), beta-binomial (per-problem rates ~ Beta;
    pass@k = 1 - B(a, b+k)/B(a, b)), zero-inflated-beta-binomial, saturating
    (acc(N) = a_inf - c N^-d on a majority curve).
    Example:
      workbench fit sampling-ceilings/math500-llama-3.2-1b-s0 --extrapolate 1280,10000
    """
    from workbench.analysis.fits import aic_table, fit_run
    from workbench.engine import load_run_data

    laws = list(LAW_NAMES) if law_name == "all" else [law_name]
    ks = floats(extrapolate, "--extrapolate")
    if any(k < 1 for k in ks):
        raise click.BadParameter("budgets k must be >= 1", param_hint="--extrapolate")
    with open_store(store_path) as store:
        data = load_run_data(store, run)
    fits = fit_run(data, laws, extrapolate=ks, ci_method=ci_method, alpha=1 - confidence,
                   bootstrap=bootstrap, rng=seed)
    if all(f.model is None for f in fits):
        laws_by_reason: dict[str, list[str]] = {}
        for f in fits:
            laws_by_reason.setdefault(str(f.error), []).append(f.law)
        reasons = "; ".join(f"{', '.join(laws)}: {why}" for why, laws in laws_by_reason.items())
        raise FitError(f"nothing fitted on {run}: {reasons}")
    table = aic_table(fits)
    if as_json:
        echo_json({"run": run, "fits": [f.to_dict() for f in fits],
                   "aic": None if table is None else table.to_dict(orient="records")})
        return
    for f in fits:
        click.echo(f"\n== {f.law}" + (f"  [fitted to: {f.fitted_to}]" if f.fitted_to else ""))
        if f.model is None:
            click.echo(f"not fitted: {f.error}")
            continue
        click.echo(f.model.print_summary())
        if f.predictions is not None:
            pred = f.predictions.to_frame()
            if f.observed:
                pred["observed"] = [f.observed.get(float(k), "-") for k in pred["k"]]
            click.echo(f"predictions ({f.predictions.method}, "
                       f"{100 * (1 - f.predictions.alpha):g}% interval):")
            echo_frame(pred)
            if f.law in ("coverage", "saturating") and not bootstrap:
                click.echo("note: the points of one curve are correlated; the delta interval "
                           "treats them as independent and is too narrow. Use --n-boot N.")
    if table is not None:
        click.echo("\n== model choice (AIC, same data)")
        echo_frame(table)


# -- exchange ----------------------------------------------------------------------------------
@click.command("exchange")
@click.option("--small", "small_run", required=True, help="The small model's run.")
@click.option("--large", "large_run", required=True, help="The large model's run.")
@click.option("--ratio", type=click.FloatRange(min=1), default=None,
              help="M = large / small parameters (default: from the runs' parameter counts).")
@click.option("--r", "r_text", default=",".join(f"{r:g}" for r in SNELL_R), show_default=True,
              help="R = D_inf / D_pre values (comma-separated).")
@click.option("--bins", "kind", type=click.Choice(["oracle", "predicted"]), default="oracle",
              show_default=True, help="Difficulty bins of the SMALL model.")
@click.option("--n-bins", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--n-boot", type=click.IntRange(min=100), default=2000, show_default=True)
@confidence_option
@click.option("--allow-different-datasets", "allow_different", is_flag=True,
              help="Compare runs on different datasets anyway (unpaired; the answer then mixes "
                   "model size with question difficulty).")
@click.option("--seed", type=int, default=0, show_default=True)
@store_option
@json_option
def exchange(small_run: str, large_run: str, ratio: float | None, r_text: str, kind: str,
             n_bins: int, n_boot: int, confidence: float, allow_different: bool, seed: int,
             store_path: Path | None, as_json: bool) -> None:
    """Small model + test-time compute vs a larger model used once (Snell et al. 2024, sec. 7).

    At each R the small model gets X = M + 3(M-1)/R generations per question (equal total
    FLOPs); per difficulty bin, its strategy accuracy at X is compared with the large model's
    pass@1, with a bootstrap CI of the difference and the winner ("tie" if the CI covers 0).

    \b
    Example:
      workbench exchange --small sampling-ceilings/llmonkeys-math-llama-3-8b \\
                         --large sampling-ceilings/llmonkeys-math-llama-3-70b --ratio 8.825
    """
    from workbench.analysis.exchange import exchange_runs
    from workbench.engine import load_run_data

    rs = floats(r_text, "--r")
    if not rs:
        raise click.BadParameter("give at least one R", param_hint="--r")
    with open_store(store_path) as store:
        small = load_run_data(store, small_run)
        large = load_run_data(store, large_run)
    report = exchange_runs(small, large, ratio=ratio, r_values=rs, kind=kind, n_bins=n_bins,
                           n_boot=n_boot, alpha=1 - confidence, rng=seed,
                           allow_different_datasets=allow_different)
    if small.run.dataset != large.run.dataset:
        click.echo(f"warning: different datasets ({small.run.dataset} vs {large.run.dataset}), "
                   "compared unpaired as asked: the difference mixes model size with question "
                   "difficulty", err=True)
    if as_json:
        echo_json(report.to_dict())
        return
    for res in report.results:
        click.echo(f"\n== {res.small_run} (small) vs {res.large_run} (large), M = {res.ratio:.4g}")
        click.echo(f"strategy of the small model: {res.strategy}"
                   + (f"  -- {res.note}" if res.note else ""))
        binned = "none" if res.bins_kind == "none" else f"{res.bins_kind} (of the small model)"
        click.echo(f"large model: pass@1 (one generation). bins: {binned}. "
                   f"CI: {100 * (1 - res.alpha):g}% {res.ci_method}")
        if res.pairing_check is not None:
            click.echo(f"pairing check: Spearman rho of per-problem pass@1 = "
                       f"{res.pairing_check:.3f}")
        df = res.to_frame()[["bin", "r", "budget", "n_problems", "small_accuracy",
                             "large_accuracy", "difference", "lower", "upper", "winner",
                             "small_method"]]
        df = df.rename(columns={"budget": "X (gens)", "n_problems": "n", "small_accuracy": "small",
                                "large_accuracy": "large", "difference": "small-large",
                                "small_method": "how"})
        echo_frame(df)
    for note in report.skipped:
        click.echo(f"\nnot compared: {note}")


# -- optimize / plan (compute-optimal policy and budget planner) ------------------------------
def _int_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    out = ints(value)  # no option name: inside a callback click names the option itself
    if not out or any(v < 1 for v in out):
        raise click.BadParameter(f"expected positive integers, got {value!r}")
    return sorted(set(out))


def _policy_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `optimize` and `plan` (how the policy is built)."""
    for option in reversed([
        store_option,
        click.option("--bins", "bin_kind", type=click.Choice(["oracle", "predicted"]),
                     default="oracle", show_default=True,
                     help="Difficulty bins: quantiles of pass@1 (oracle) or of the mean verifier "
                          "score (predicted), from the first run's samples."),
        click.option("--n-bins", type=click.IntRange(1, 50), default=5, show_default=True),
        click.option("--budgets", callback=_int_list, default=None,
                     help="Budgets in generations, e.g. 1,2,4,8 (default: powers of two up to "
                          "the first run's smallest pool)."),
        click.option("--folds", type=click.IntRange(2, None), default=2, show_default=True,
                     help="K of the K-fold cross-fitting of the strategy choice."),
        click.option("--n-boot", "n_resamples", type=click.IntRange(0, None), default=1000,
                     show_default=True, help="Bootstrap replicates over problems (0: none)."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--draws", type=click.IntRange(1, None), default=1000, show_default=True,
                     help="Monte-Carlo draws per problem for majority / weighted BoN / search."),
        click.option("--n-jobs", type=int, default=None, callback=check_n_jobs,
                     help="Workers for the policy bootstrap (joblib; -1: all cores). Small jobs "
                          "run in one process and say so. Results do not depend on it."),
        click.option("--oracle", "include_oracle", is_flag=True,
                     help="Also consider pass@k (oracle coverage: an upper bound, not a "
                          "deployable strategy)."),
        json_option,
    ]):
        f = option(f)  # type: ignore[arg-type]
    return f


@contextmanager
def _progress(enabled: bool) -> Iterator[tuple[Callable[[str], None], Callable[[int, int], None]]]:
    """Progress hooks for the library: a status line per candidate curve, a bootstrap bar.

    Drawn on stderr, only on a terminal (tqdm `disable=None`), never with --json.
    """
    with progress_bar(total=0, bar_format="{desc}", disable=None if enabled else True) as status, \
            progress_hook("bootstrap", enabled=enabled, unit="rep") as on_bootstrap:

        def on_candidate(label: str) -> None:
            status.set_description_str(f"curve: {label}")

        yield on_candidate, on_bootstrap


def _build_policy(
    runs: Sequence[str], *, store_path: Path | None, bin_kind: str, n_bins: int,
    budgets: list[int] | None, unit: str, folds: int, n_resamples: int, seed: int, draws: int,
    include_oracle: bool, show_progress: bool, pooled_grid: bool, twin: bool = False,
    n_jobs: int | None = None,
) -> tuple[Any, dict[str, float]]:
    """The run's `Optimization` (+ timings) from `workbench.analysis.verdict.optimize`, the call
    the report and the demo make, so all three print the same numbers for the same seed."""
    from workbench.analysis.settings import Settings
    from workbench.analysis.verdict import candidate_set, optimize

    settings = Settings(seed=seed, policy_boot=n_resamples, draws=draws, n_bins=n_bins,
                        folds=folds, n_jobs=n_jobs)
    times: dict[str, float] = {}
    with open_store(store_path) as store, _progress(show_progress) as (on_cand, on_boot):
        t0 = time.perf_counter()
        past: list[int] = []
        if twin:  # budgets past the first run's pool go to the twin (model-based, labelled)
            from workbench.cli.twin import split_budgets

            budgets, past = split_budgets(store, runs[0], budgets)
        cands = candidate_set(store, list(runs), settings, budgets=budgets, progress=on_cand)
        if twin:
            from workbench.cli.twin import twin_candidates

            cands = twin_candidates(store, runs[0], cands, past, seed=seed)
        times["curves"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        grid = _pooled_grid(cands.curves, unit) if pooled_grid else None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("ignore", DegenerateBinWarning)  # printed with the notes
                warnings.simplefilter("always", SerialFallbackWarning)
                opt = optimize(store, list(runs), settings, bins=bin_kind, budgets=budgets,
                               unit=unit, grid=grid, include_oracle=include_oracle,
                               curves=cands, on_bootstrap=on_boot)
        except ValueError as exc:  # the library names the offending option in its message
            raise click.UsageError(str(exc)) from None
        for w in caught:
            if issubclass(w.category, SerialFallbackWarning):
                click.echo(f"note: {w.message}", err=True)
            else:  # back to the caller's filters
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        times["policy"] = time.perf_counter() - t0
    return opt, times


def _pooled_grid(curves: Sequence[Any], unit: str) -> np.ndarray | None:
    """Every cost any candidate has in `unit`, so a plan may pick any run's budgets."""
    import numpy as np

    from workbench.analysis.budget_axis import budget_costs

    costs = np.concatenate([budget_costs(c, unit) for c in curves])
    costs = np.unique(costs[np.isfinite(costs) & (costs > 0)])
    return costs if costs.size else None


def _num(v: float, fmt: str = "{:.3f}") -> str:
    if not math.isfinite(v):
        return "-"
    text = fmt.format(v)
    return fmt.format(0.0) if float(text) == 0 else text  # no "-0.000"


def _interval(ci: Sequence[float], fmt: str = "{:.3f}") -> str:
    return f"[{_num(ci[0], fmt)}, {_num(ci[1], fmt)}]" if all(map(math.isfinite, ci)) else ""


def _policy_header(opt: Any) -> None:
    cands, run_bins, policy, runs = opt.candidates, opt.bins, opt.policy, opt.runs
    click.echo(f"runs: {', '.join(runs)}")
    click.echo(f"bins: {run_bins.kind} ({run_bins.statistic}), {run_bins.n_bins} bins of "
               f"{', '.join(map(str, run_bins.counts.tolist()))} problems (L1 = easiest)")
    click.echo(f"candidates ({len(policy.candidates)}; baseline first):")
    for c in policy.candidates:
        click.echo(f"  - {c}")
    for lab, why in cands.skipped:
        click.echo(f"  - skipped {lab}: {why}")
    click.echo(f"cross-fitting: {policy.folds}-fold, stratified by bin, mean of "
               f"{policy.splits} splits; bootstrap: {policy.n_resamples} replicates over "
               f"problems, splits and selection re-done in each (seed {opt.settings.seed}); "
               f"{policy.confidence_level:.0%} percentile intervals")
    if cands.oracle_only or policy.oracle:
        click.echo("ORACLE: pass@k picks with the gold answer, so where it is used the accuracy "
                   "is oracle coverage, an UPPER BOUND on any deployable strategy")


def _notes(notes: Sequence[str]) -> None:
    if notes:
        click.echo("notes:")
        for note in notes:
            click.echo(f"  - {note}")


@click.command("optimize")
@click.argument("runs", nargs=-1, required=True)
@click.option("--unit", type=click.Choice(UNITS), default="generations", show_default=True,
              help="Budget axis (tokens/flops/money need token counts, parameter counts, "
                   "prices).")
@_policy_options
def optimize(runs: tuple[str, ...], unit: str, as_json: bool, **kw: Any) -> None:
    """Compute-optimal strategy per difficulty bin and budget, with CIs and efficiency ratios.

    For each bin and budget the candidate configuration with the best accuracy is chosen on one
    fold of problems and scored on the other (cross-fitting), and compared with the baseline
    (weighted best-of-N with the run's verifier; majority without one; pass@k for counts-only
    runs). Several RUNs on the same problems compete (the first sets problems, bins, baseline).

    \b
    Examples:
      workbench optimize qwen25-math-rm/math-cot-100
      workbench optimize tot-game24/gpt-4-cot tot-game24/gpt-4-direct --unit money
      workbench optimize sampling-ceilings/llmonkeys-math-llama-3-8b --budgets 1,4,16,64,256
    """
    import pandas as pd

    opt, times = _build_policy(runs, unit=unit, show_progress=not as_json, pooled_grid=False,
                               **kw)
    policy = opt.policy
    if as_json:
        echo_json({**policy.to_dict(), "runs": list(runs), "bins_detail": opt.bins.to_dict(),
                   "headline": opt.headline().to_dict(),
                   "degenerate_bins": list(opt.checks.degenerate), "notes": list(opt.notes),
                   "skipped": [list(s) for s in opt.candidates.skipped], "seconds": times})
        return
    _policy_header(opt)
    click.echo(f"\nheadline: {opt.headline().text()}")
    for name in [*policy.bins, "all"]:
        sub = [e for e in policy.entries if e.bin == name]
        click.echo(f"\nbin {name} ({sub[0].n_problems} problems)" if name != "all"
                   else f"\nall bins ({sub[0].n_problems} problems; per-bin policy)")
        df = pd.DataFrame({
            f"budget ({unit})": [f"{e.budget:g}" for e in sub],
            "policy": [e.label for e in sub],
            "acc": [_num(e.accuracy) for e in sub],
            "95% CI": [_interval(e.ci) for e in sub],
            "baseline": [_num(e.baseline_accuracy) for e in sub],
            "gain": [_num(e.gain, "{:+.3f}") for e in sub],
            "gain 95% CI": [_interval(e.gain_ci, "{:+.3f}") for e in sub],
            "efficiency": [e.efficiency_text for e in sub],
            "eff. 95% CI": [_interval(e.efficiency_ci, "{:.2f}") for e in sub],
            "verdict": [e.verdict for e in sub],
        })
        click.echo(df.to_string(index=False))
    click.echo("")
    _notes(opt.notes)
    click.echo("efficiency = budget at which the baseline reaches the policy's accuracy / the "
               "budget (log-budget interpolation, curves as they are: below 1 when the policy "
               "loses); '>=' = lower bound (the baseline never gets there within the cached "
               "budgets), '<=' = upper bound")
    click.echo(f"time: curves {times['curves']:.1f} s, policy + bootstrap {times['policy']:.1f} s")


@click.command("plan")
@click.argument("runs", nargs=-1, required=True)
@click.option("--budget", type=float, default=None,
              help="Expected budget per question, in --unit (maximise accuracy).")
@click.option("--target", type=float, default=None,
              help="Accuracy to reach at the least expected cost (instead of --budget).")
@click.option("--unit", type=click.Choice(UNITS), default="generations", show_default=True)
@click.option("--mix", default=None,
              help="Share of questions per bin, L1 first, summing to 1 (default: observed).")
@click.option("--twin", "use_twin", is_flag=True,
              help="Continue the first run's curves past its cached pool with the twin (a "
                   "model calibrated on it; budgets past the pool in --budgets, default 2x, 4x "
                   "and 8x the pool); results are labelled model-based.")
@_policy_options
def plan(runs: tuple[str, ...], budget: float | None, target: float | None, unit: str,
         mix: str | None, use_twin: bool, as_json: bool, **kw: Any) -> None:
    """Allocate a per-question budget across difficulty bins, or meet a target cheaply.

    Builds the compute-optimal policy of the RUNs on the --unit axis (several runs on the same
    problems compete, e.g. a small and a large model on FLOPs), then spends the budget where it
    buys the most accuracy (greedy on each bin's concave hull; at most one bin mixes two
    budgets). Says so explicitly when the cache cannot cover the request.

    \b
    Examples:
      workbench plan qwen25-math-rm/math-cot-100 --budget 4
      workbench plan tot-game24/gpt-4-cot tot-game24/gpt-4-direct --budget 0.05 --unit money
      workbench plan sampling-ceilings/llmonkeys-math-llama-3-8b --target 0.8 --oracle
    """
    import pandas as pd

    from workbench.analysis.planner import plan as make_plan

    if (budget is None) == (target is None):
        raise click.UsageError("give exactly one of --budget and --target")
    weights = floats(mix, "--mix") or None
    opt, times = _build_policy(runs, unit=unit, show_progress=not as_json,
                               pooled_grid=len(runs) > 1, twin=use_twin, **kw)
    twin_label = next((c.meta["twin"] for c in opt.candidates.curves if c.twin), None)
    policy = opt.policy
    try:
        result = make_plan(policy, budget=budget, target=target, mix=weights)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        echo_json({**result.to_dict(), "runs": list(runs), "policy": policy.to_dict(),
                   "twin": twin_label, "model_based": twin_label is not None,
                   "seconds": times})
        return
    _policy_header(opt)
    what = (f"a budget of {budget:g} {unit} per question" if budget is not None
            else f"target accuracy {target:g}")
    click.echo(f"\nplan for {what}:")
    df = pd.DataFrame([
        {"bin": b.bin, "weight": f"{b.weight:.3f}", "policy": c.label,
         f"budget ({unit})": f"{c.budget:g}", "share": f"{c.share:.3f}",
         "acc": _num(c.accuracy), "bin acc": _num(b.accuracy), "95% CI": _interval(b.ci)}
        for b in result.bins for c in b.choices
    ])
    click.echo(df.to_string(index=False))
    spend = ", ".join(f"{u} {v:.4g}" for u, v in result.costs.items() if math.isfinite(v))
    click.echo(f"\nexpected accuracy {result.accuracy:.3f} {_interval(result.ci)}; expected "
               f"budget {result.cost:.4g} {unit} per question (spend of the chosen "
               f"configurations: {spend})")
    click.echo(("covered: " if result.covered else "NOT COVERED by the cache: ") + result.message)
    if result.oracle:
        click.echo("ORACLE: the plan uses pass@k (gold-answer selection): an upper bound")
    if twin_label is not None:
        click.echo(f"MODEL-BASED past the cached pool: {twin_label}")
    _notes(opt.notes)
    click.echo(f"time: curves {times['curves']:.1f} s, policy + bootstrap {times['policy']:.1f} s")


COMMANDS: list[click.Command] = [bins, fit, exchange, optimize, plan, verifiers]
