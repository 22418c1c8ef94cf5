"""Analysis commands: `workbench bins`, `workbench fit`, `workbench exchange`.

A thin layer over `workbench.analysis`: parse options, open the store read-only, call the
library, print a table (or JSON with --json). To add a command, define it below and append it
to `COMMANDS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from workbench.analysis.exchange import SNELL_R, exchange_runs
from workbench.analysis.fits import aic_table, fit_run
from workbench.analysis.inputs import bins_for_run
from workbench.analysis.laws import LAWS
from workbench.engine import load_run_data
from workbench.store import RunStore, default_store_path


# -- shared options and output ------------------------------------------------------------------
def store_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--store PATH (read-only), shared by every analysis command."""
    return click.option(
        "--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="DuckDB store (default: $WORKBENCH_STORE or cached_runs/workbench.duckdb).",
    )(f)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")(f)


def open_store(store_path: Path | None) -> RunStore:
    return RunStore(store_path or default_store_path(), read_only=True)


def floats(text: str | None, name: str) -> list[float]:
    """Parse "1,2.5,10" into floats; a click error names the option."""
    if text is None or not text.strip():
        return []
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}",
                                 param_hint=name) from None


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def echo_frame(df: pd.DataFrame, digits: int = 4) -> None:
    click.echo(df.to_string(index=False, float_format=lambda x: f"{x:.{digits}g}"))


# -- bins --------------------------------------------------------------------------------------
@click.command("bins")
@click.argument("run")
@click.option("--kind", type=click.Choice(["oracle", "predicted", "absolute"]), default="oracle",
              show_default=True,
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
      workbench bins RUN --kind predicted --verifier math-shepherd-mistral-7b-prm
      workbench bins RUN --kind absolute --edges 0,0.1,0.5,0.9,1
    """
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
    echo_frame(b.to_frame())


# -- fit ---------------------------------------------------------------------------------------
@click.command("fit")
@click.argument("run")
@click.option("--law", "law_name", type=click.Choice([*LAWS, "all"]), default="all",
              show_default=True)
@click.option("--extrapolate", default="1280,10000", show_default=True,
              help="Budgets k to predict at (comma-separated).")
@click.option("--ci", "ci_method", type=click.Choice(["wald", "profile"]), default="wald",
              show_default=True, help="Parameter intervals: Wald (working scale) or profile "
              "likelihood.")
@click.option("--bootstrap", type=click.IntRange(min=0), default=0, show_default=True,
              help="Refit on this many problem resamples for prediction intervals (0: delta "
                   "method).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.05, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@store_option
@json_option
def fit(run: str, law_name: str, extrapolate: str, ci_method: str, bootstrap: int, alpha: float,
        seed: int, store_path: Path | None, as_json: bool) -> None:
    """Fit scaling laws to RUN: parameters with CIs, AIC, predictions past the pool.

    \b
    Laws: coverage (-log pass@k = a k^-b), beta-binomial (per-problem rates ~ Beta;
    pass@k = 1 - B(a, b+k)/B(a, b)), zero-inflated-beta-binomial, saturating
    (acc(N) = a_inf - c N^-d on a majority curve).
    Example:
      workbench fit sampling-ceilings/math500-llama-3.2-1b-s0 --extrapolate 1280,10000
    """
    laws = list(LAWS) if law_name == "all" else [law_name]
    ks = floats(extrapolate, "--extrapolate")
    with open_store(store_path) as store:
        data = load_run_data(store, run)
    fits = fit_run(data, laws, extrapolate=ks, ci_method=ci_method, alpha=alpha,
                   bootstrap=bootstrap, rng=seed)
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
                pred["observed"] = [f.observed.get(float(k)) for k in pred["k"]]
            click.echo(f"predictions ({f.predictions.method}, "
                       f"{100 * (1 - f.predictions.alpha):g}% interval):")
            echo_frame(pred)
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
@click.option("--kind", type=click.Choice(["oracle", "predicted"]), default="oracle",
              show_default=True, help="Difficulty bins of the SMALL model.")
@click.option("--n-bins", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--n-boot", type=click.IntRange(min=100), default=2000, show_default=True)
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.05, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@store_option
@json_option
def exchange(small_run: str, large_run: str, ratio: float | None, r_text: str, kind: str,
             n_bins: int, n_boot: int, alpha: float, seed: int, store_path: Path | None,
             as_json: bool) -> None:
    """Small model + test-time compute vs a larger model used once (Snell et al. 2024, sec. 7).

    At each R the small model gets X = M + 3(M-1)/R generations per question (equal total
    FLOPs); per difficulty bin, its strategy accuracy at X is compared with the large model's
    pass@1, with a bootstrap CI of the difference and the winner ("tie" if the CI covers 0).

    \b
    Example:
      workbench exchange --small sampling-ceilings/llmonkeys-math-llama-3-8b \\
                         --large sampling-ceilings/llmonkeys-math-llama-3-70b --ratio 8.825
    """
    rs = floats(r_text, "--r")
    if not rs:
        raise click.BadParameter("give at least one R", param_hint="--r")
    with open_store(store_path) as store:
        small = load_run_data(store, small_run)
        large = load_run_data(store, large_run)
    report = exchange_runs(small, large, ratio=ratio, r_values=rs, kind=kind, n_bins=n_bins,
                           n_boot=n_boot, alpha=alpha, rng=seed)
    if as_json:
        echo_json(report.to_dict())
        return
    for res in report.results:
        click.echo(f"\n== {res.small_run} (small) vs {res.large_run} (large), M = {res.ratio:.4g}")
        click.echo(f"strategy of the small model: {res.strategy}"
                   + (f"  -- {res.note}" if res.note else ""))
        click.echo(f"large model: pass@1 (one generation). bins: {res.bins_kind} (small model). "
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


COMMANDS: list[click.Command] = [bins, fit, exchange]
