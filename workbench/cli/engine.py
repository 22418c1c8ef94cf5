"""Engine command: `workbench simulate`: a strategy's accuracy at each budget, with CIs and cost.

A thin layer over `workbench.engine`: load the run, run the strategy, bootstrap over problems,
print one row per budget (or JSON). Progress bars (Monte-Carlo blocks, bootstrap) go to stderr,
only on a terminal, never with --json.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workbench.cli._choices import AGGREGATIONS, STRATEGY_NAMES, STRATEGY_PARAMS, UNITS
from workbench.cli._common import (
    SuggestChoice,
    check_n_jobs,
    echo_json,
    ints,
    json_option,
    open_store,
    progress_hook,
    store_option,
    text_table,
)

if TYPE_CHECKING:
    from workbench.engine import BootstrapResult, Curve

PROGRESS_MIN_WORK = 20
"""Draw a progress bar only for tasks of at least this many blocks / bootstrap batches."""


def _budgets(text: str | None, smallest_pool: int | None) -> list[int]:
    if text is None:
        if not smallest_pool:
            raise click.BadParameter("give the budgets, e.g. 1,2,4,8 (no sample pool to "
                                     "derive them from)", param_hint="--budgets")
        import numpy as np

        top = int(np.log2(smallest_pool))
        return sorted({*(2**i for i in range(top + 1)), smallest_pool})
    out = ints(text, "--budgets")
    if not out or min(out) < 1:
        raise click.BadParameter("budgets must be integers >= 1", param_hint="--budgets")
    return out


def _value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _pairs(items: tuple[str, ...], option: str) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        out[key.strip()] = _value(value.strip())
    return out


def _prices(path: Path | None, price_in: float | None, price_out: float | None) -> Any:
    if path is not None:
        if price_in is not None or price_out is not None:
            raise click.BadParameter("give --prices or --price-in/--price-out, not both",
                                     param_hint="--prices")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"{path}: not JSON ({exc.msg})",
                                     param_hint="--prices") from None
    if (price_in is None) != (price_out is None):
        raise click.BadParameter("give both --price-in and --price-out",
                                 param_hint="--price-in/--price-out")
    return None if price_in is None else {"input_per_1k": price_in, "output_per_1k": price_out}


def _strategy_params(items: tuple[str, ...], strategy: str) -> dict[str, Any]:
    """--params KEY=VALUE for `strategy`, checked against its parameters (with did-you-mean)."""
    params = _pairs(items, "--params")
    accepted = [name for name, _ in STRATEGY_PARAMS[strategy]]
    for key in params:
        if key in accepted:
            continue
        if key in ("policy", "verifier"):
            hint = f"parameter counts moved to --{key}-params"
        else:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f"did you mean {close[0]}?" if close else "see `workbench simulate --help`"
        known = ", ".join(accepted) or "none"
        raise click.BadParameter(f"{strategy} has no parameter {key!r} ({hint}); its "
                                 f"parameters: {known}", param_hint="--params")
    return params


def _strategy_help() -> str:
    """The epilog of `simulate --help`: every strategy with its --params and defaults."""
    lines = ["\b", "Strategies and their --params (defaults):"]
    for name, params in STRATEGY_PARAMS.items():
        text = ", ".join(f"{k}={v}" for k, v in params) or "(none)"
        lines.append(f"  {name:<17} {text}")
    return "\n".join(lines)


def _num(x: float) -> float | None:
    """A JSON-safe number: None for NaN/inf (unknown cost units, undefined CIs)."""
    return float(x) if math.isfinite(x) else None


def _estimators(curve: Curve) -> list[str]:
    """The estimator of each budget: the curve's own record, else exact / Monte Carlo."""
    names = curve.meta.get("estimators")
    if names is not None:
        return list(names)
    return ["exact" if curve.exact else "Monte Carlo"] * len(curve.budgets)


def _rows(curve: Curve, boot: BootstrapResult | None) -> list[dict[str, Any]]:
    # `accuracy` and `accuracy_se` reduce the whole (problems x budgets) matrix: take each once,
    # not once per budget (at every N of a large pool that was most of the command's time)
    estimators = _estimators(curve)
    accuracy, se = curve.accuracy.tolist(), curve.accuracy_se.tolist()
    low = high = None
    if boot is not None:
        low = boot.confidence_interval.low.tolist()
        high = boot.confidence_interval.high.tolist()
    costs = {unit: curve.cost.unit(unit).tolist() for unit in UNITS}
    return [{
        "budget": int(n),
        "estimator": estimators[i],
        "accuracy": _num(accuracy[i]),
        "ci_low": None if low is None else _num(low[i]),
        "ci_high": None if high is None else _num(high[i]),
        "mc_se": _num(se[i]),
        **{unit: _num(values[i]) for unit, values in costs.items()},
    } for i, n in enumerate(curve.budgets.tolist())]


def _fmt(value: float | None, kind: str) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if kind == "pct":
        return f"{100 * value:.2f}%"
    if kind == "se":
        return f"{100 * value:.3f}" if value else "0"
    if kind == "money":
        return f"{value:.4g}"
    return f"{value:,.0f}" if abs(value) < 1e7 else f"{value:.3g}"


def _table(rows: list[dict[str, Any]], level: float | None) -> str:
    ci = f"{round(100 * level)}% CI" if level is not None else "CI"
    headers = ["N", "accuracy", ci, "MC SE (pp)", "estimator", "tokens", "FLOPs", "money"]

    def interval(r: dict[str, Any]) -> str:
        if r["ci_low"] is None or r["ci_high"] is None:
            return "-"
        return f"[{_fmt(r['ci_low'], 'pct')}, {_fmt(r['ci_high'], 'pct')}]"

    cells = [[
        str(r["budget"]), _fmt(r["accuracy"], "pct"), interval(r),
        _fmt(r["mc_se"], "se"), r["estimator"], _fmt(r["tokens"], "n"), _fmt(r["flops"], "n"),
        _fmt(r["money"], "money"),
    ] for r in rows]
    return text_table(headers, cells, right=[h != "estimator" for h in headers])


@click.command("simulate", epilog=_strategy_help())
@click.argument("run")
@click.option("--strategy", "strategy_name", required=True,
              type=SuggestChoice(STRATEGY_NAMES), help="Strategy to replay on the cache.")
@click.option("--verifier", default=None,
              help="Verifier whose scores rank samples (default: the run's only verifier).")
@click.option("--agg", type=click.Choice(AGGREGATIONS), default="last", show_default=True,
              help="PRM step-score aggregation (Snell et al. 2024 use last).")
@click.option("--budgets", default=None,
              help="Budgets N in generations, e.g. 1,2,4,8 (default: powers of two up to the "
                   "smallest pool).")
@click.option("--params", "strategy_params", multiple=True, metavar="KEY=VALUE",
              help="Strategy hyper-parameter, e.g. --params width=4 (repeatable; each "
                   "strategy's are listed below).")
@click.option("--n-boot", "n_resamples", type=click.IntRange(min=0), default=2000,
              show_default=True, help="Bootstrap resamples over problems (0: no CI).")
@click.option("--ci", "ci_method", type=click.Choice(["percentile", "BCa", "basic"]),
              default="percentile", show_default=True,
              help="Bootstrap interval (percentile, as in reports, optimize and exchange).")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of every random draw (Monte Carlo and bootstrap).")
@click.option("--draws", type=click.IntRange(min=2), default=None,
              help="Monte-Carlo draws per problem for stochastic strategies (default 1000).")
@click.option("--estimator", type=click.Choice(["auto", "exact", "montecarlo"]), default="auto",
              show_default=True,
              help="Majority / weighted best-of-N: exact wherever it exists (auto), exact only, "
                   "or Monte Carlo at every budget.")
@click.option("--with-replacement", "replace", is_flag=True,
              help="Allow budgets past the cached pool by resampling with replacement "
                   "(biased; the result says so).")
@click.option("--twin", "use_twin", is_flag=True,
              help="Budgets past the cached pool come from the twin, a model calibrated on RUN "
                   "(`workbench twin`); those rows are labelled model-based.")
@click.option("--prices", "prices_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help='JSON price table {"input_per_1k": .., "output_per_1k": ..}.')
@click.option("--price-in", type=click.FloatRange(min=0), default=None,
              help="Price per 1,000 prompt tokens (with --price-out).")
@click.option("--price-out", type=click.FloatRange(min=0), default=None,
              help="Price per 1,000 generated tokens (with --price-in).")
@click.option("--policy-params", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Policy model's parameter count for FLOPs, e.g. 7.6e9 (default: the run's).")
@click.option("--verifier-params", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Verifier's parameter count for FLOPs (default: the run's).")
@click.option("--n-jobs", type=int, default=1, show_default=True, callback=check_n_jobs,
              help="Parallel workers for Monte-Carlo blocks and the bootstrap (joblib: -1 = "
                   "every core); small jobs run in one process and say so. Results do not "
                   "depend on it.")
@store_option
@json_option
def simulate_command(
    run: str, strategy_name: str, verifier: str | None, agg: str, budgets: str | None,
    strategy_params: tuple[str, ...], n_resamples: int, ci_method: str, confidence: float,
    seed: int, draws: int | None, estimator: str, replace: bool, use_twin: bool,
    prices_path: Path | None, price_in: float | None, price_out: float | None,
    policy_params: float | None, verifier_params: float | None, n_jobs: int,
    store_path: Path | None, as_json: bool,
) -> None:
    """Accuracy of a strategy on RUN at each budget, with a bootstrap CI and its cost.

    \b
    Examples:
      workbench simulate tot-game24/gpt-4-cot --strategy pass_at_k --budgets 1,10,100
      workbench simulate qwen25-math-rm/math-cot-100 --strategy best_of_n --budgets 1,2,4,8
      workbench simulate RUN --strategy majority --budgets 1,4,16 --json
      workbench simulate RUN --strategy weighted_bon --params transform=sigmoid
      workbench simulate RUN --strategy majority --estimator montecarlo --draws 4000
      workbench simulate RUN --strategy beam --params width=4 --budgets 4,16
    """
    import numpy as np

    from workbench.engine import (
        STRATEGIES,
        bootstrap_curve,
        get_strategy,
        load_run_data,
        simulate,
    )

    prices = _prices(prices_path, price_in, price_out)
    params = _strategy_params(strategy_params, strategy_name)
    accepted = inspect.signature(STRATEGIES[strategy_name].__init__).parameters
    if draws is not None and "draws" in accepted:  # exact strategies take no draws
        params["draws"] = draws
    if "n_jobs" in accepted:
        params["n_jobs"] = n_jobs
    if "estimator" in accepted:
        params["estimator"] = estimator
    with open_store(store_path) as store:
        data = load_run_data(store, run, verifier=verifier, agg=agg,
                             policy_params=policy_params, verifier_params=verifier_params,
                             prices=prices)
    with warnings.catch_warnings(record=True) as caught, \
            progress_hook("monte carlo", enabled=not as_json,
                          min_total=PROGRESS_MIN_WORK) as hook:
        warnings.simplefilter("always")
        if "progress" in accepted:
            params["progress"] = hook
        strategy = get_strategy(strategy_name, **params)
        data.require(strategy.needs, strategy.name)  # says what the run lacks, before budgets
        sizes = (data.pool.sizes if data.pool is not None
                 else data.counts.n if data.counts is not None else None)
        grid = _budgets(budgets, None if sizes is None else int(np.min(sizes)))
        past: list[int] = []
        if use_twin and sizes is not None:  # the twin answers the budgets past the pool
            past = [n for n in grid if n > int(np.min(sizes))]
            grid = [n for n in grid if n <= int(np.min(sizes))]
        twin_label, twin_rows = None, []
        if past:
            from workbench.cli.twin import twin_rows as make_twin_rows

            twin_label, twin_rows = make_twin_rows(
                data, strategy, past, seed=seed, confidence=confidence, n_boot=40,
                n_resamples=n_resamples)
        if not grid:
            _echo_twin_only(run, twin_label, twin_rows, as_json)
            return
        gen = np.random.default_rng(seed)
        curve = simulate(data, strategy, grid, rng=gen, replace=replace)
        if curve.per_problem.shape[0] == 0:
            from workbench.errors import StrategyError

            raise StrategyError(
                f"{strategy.name} could replay no problem of {run} at budgets "
                f"{', '.join(map(str, grid))} from the cache (coverage 0): the cached tree has "
                "too few expanded children for them; try smaller budgets or another width")
        boot = None
        if n_resamples:
            with progress_hook("bootstrap", enabled=not as_json,
                               min_total=PROGRESS_MIN_WORK) as bar:
                boot = bootstrap_curve(curve, n_resamples=n_resamples,
                                       confidence_level=confidence, method=ci_method, rng=gen,
                                       progress=bar, n_jobs=n_jobs)
    notices = list(dict.fromkeys(str(w.message) for w in caught))
    for text in notices:
        click.echo(f"warning: {text}", err=True)
    rows = [*_rows(curve, boot), *twin_rows]
    # Monte-Carlo draws per problem and budget: the curve's record, else the strategy's own
    # (tree replays); None when every budget is exact
    n_draws = None if curve.exact else curve.meta.get("draws", getattr(strategy, "draws", None))
    header = {
        "run": run, "strategy": curve.strategy, "label": curve.label,
        "params": {k: v for k, v in curve.params.items()}, "problems": len(curve.problem_ids),
        "exact": curve.exact, "biased": curve.biased, "coverage": curve.coverage,
        "ci": None if boot is None else {"method": boot.method, "confidence": confidence,
                                         "resamples": n_resamples},
        "seed": seed, "draws": n_draws, "warnings": notices,
        "twin": twin_label,
    }
    if as_json:
        echo_json({**header, "rows": rows})
        return
    kinds = set(_estimators(curve))
    notes = ["exact" if curve.exact else
             f"Monte Carlo, {n_draws} draws" if kinds == {"Monte Carlo"} else
             f"exact where the estimator column says so, else Monte Carlo with "
             f"{n_draws} draws"]
    if curve.biased:
        notes.append("BIASED: resampled with replacement")
    if curve.coverage < 1:
        notes.append(f"covers {100 * curve.coverage:.0f}% of problems")
    click.echo(f"{run}: {curve.label} on {len(curve.problem_ids)} problems ({'; '.join(notes)})")
    click.echo(_table(rows, confidence if boot is not None else None))
    if twin_label is not None:
        click.echo(f"rows past {max(grid)}: {twin_label} (MODEL-BASED, not real samples; "
                   "interval over parameter draws and problems)")
    click.echo("cost per question; FLOPs = 2 x params x tokens (policy + verifier); '-' = unknown"
               " (no token counts, parameter count or price)")


def _echo_twin_only(run: str, label: str | None, rows: list[dict[str, Any]],
                    as_json: bool) -> None:
    if as_json:
        echo_json({"run": run, "twin": label, "rows": rows})
        return
    click.echo(f"{run}: every budget lies past the cached pool; {label} (MODEL-BASED)")
    click.echo(_table(rows, None))


COMMANDS = [simulate_command]
