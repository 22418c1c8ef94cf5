"""Twin commands: `workbench twin fit | sample | validate RUN`: a generative model of a run's
pool, for budgets past the cache. Every output says it is model-based and names the real run
the twin was calibrated on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workbench.cli._common import (
    echo_json,
    ints,
    json_option,
    open_store,
    progress_hook,
    store_option,
    text_table,
)

if TYPE_CHECKING:
    from workbench.engine.pool import CountsPool, SamplePool


def load_pool(store_path: Path | None, run: str, verifier: str | None,
              agg: str) -> SamplePool | CountsPool:
    """The run's sample pool (or its counts when it has only counts) for the twin."""
    from workbench.engine import load_run_data
    from workbench.errors import StrategyError

    with open_store(store_path) as store:
        data = load_run_data(store, run, verifier=verifier, agg=agg)
    if data.pool is not None and data.pool.correct is not None:
        return data.pool
    if data.counts is not None:
        return data.counts
    raise StrategyError(f"the twin needs graded samples or per-problem counts, but run {run!r} "
                        f"holds {data.holds()}")


def _run_options(f: Any) -> Any:
    f = click.option("--agg", type=click.Choice(["last", "min", "prod", "mean"]), default="last",
                     show_default=True, help="PRM step-score aggregation.")(f)
    f = click.option("--verifier", default=None,
                     help="Verifier whose scores the twin models (default: the run's only one).")(f)
    f = click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed of every random draw.")(f)
    f = click.option("--n-boot", type=click.IntRange(min=2), default=40, show_default=True,
                     help="Bootstrap refits of the parameters (problems resampled).")(f)
    return f


@click.group("twin")
def twin_group() -> None:
    """The twin: a generative model of a run's pool, calibrated on the real run, for what-if
    questions past the cache (every output is labelled model-based)."""


@twin_group.command("fit")
@click.argument("run")
@_run_options
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True)
@store_option
@json_option
def fit_command(run: str, agg: str, verifier: str | None, seed: int, n_boot: int,
                confidence: float, store_path: Path | None, as_json: bool) -> None:
    """Fit the twin on RUN and print its parameters with bootstrap intervals.

    \b
    Example:
      workbench twin fit qwen25-math-rm/math-cot-100 --n-boot 40
    """
    from workbench.twin import fit_twin

    pool = load_pool(store_path, run, verifier, agg)
    twin = fit_twin(pool, n_boot=n_boot, rng=seed)
    rows = twin.parameter_table(confidence)
    if as_json:
        echo_json({"run": run, "model_based": True, "label": twin.label, "n_boot": n_boot,
                   "confidence": confidence, "seed": seed, "parameters": rows})
        return
    click.echo(twin.label)
    level = f"{round(100 * confidence)}% interval"
    click.echo(text_table(["parameter", "estimate", level], [
        [r["parameter"], f"{r['estimate']:.4g}", f"[{r['low']:.4g}, {r['high']:.4g}]"]
        for r in rows]))


@twin_group.command("sample")
@click.argument("run")
@_run_options
@click.option("--size", type=click.IntRange(min=1), required=True,
              help="Samples per problem of the drawn pool (real ones kept, the rest drawn).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the pool as Parquet (one row per sample).")
@store_option
@json_option
def sample_command(run: str, agg: str, verifier: str | None, seed: int, n_boot: int, size: int,
                   out_path: Path | None, store_path: Path | None, as_json: bool) -> None:
    """Draw RUN's pool continued to SIZE samples per problem from the twin.

    \b
    Example:
      workbench twin sample qwen25-math-rm/math-cot-100 --size 64 --out twin.parquet
    """
    import numpy as np

    from workbench.engine.pool import CountsPool
    from workbench.twin import fit_twin
    from workbench.twin.io import write_pool

    pool = load_pool(store_path, run, verifier, agg)
    twin = fit_twin(pool, n_boot=n_boot, rng=seed)
    drawn = twin.extend(size, draw=0, rng=np.random.default_rng(seed + 1))
    if out_path is not None:
        write_pool(drawn, out_path, label=twin.label)
    n = drawn.n if isinstance(drawn, CountsPool) else drawn.sizes
    c = drawn.c if isinstance(drawn, CountsPool) else drawn.to_counts().c
    real_n = pool.n if isinstance(pool, CountsPool) else pool.sizes
    summary = {"run": run, "model_based": True, "label": twin.label, "pool_run_id": drawn.run_id,
               "problems": int(len(n)), "samples": int(n.sum()), "real_samples": int(real_n.sum()),
               "drawn_samples": int(n.sum() - real_n.sum()), "accuracy": float(c.sum() / n.sum()),
               "seed": seed, "out": None if out_path is None else str(out_path)}
    if as_json:
        echo_json(summary)
        return
    click.echo(twin.label)
    click.echo(f"{summary['problems']} problems, {summary['samples']:,} samples "
               f"({summary['real_samples']:,} real, {summary['drawn_samples']:,} drawn by the "
               f"model), sample accuracy {100 * summary['accuracy']:.2f}%")
    if out_path is not None:
        click.echo(f"wrote {out_path}")


@twin_group.command("validate")
@click.argument("run")
@_run_options
@click.option("--fit-size", type=click.IntRange(min=1), required=True,
              help="Samples per problem the twin is fitted on (e.g. 25 of 100).")
@click.option("--splits", type=click.IntRange(min=1), default=20, show_default=True,
              help="Random splits.")
@click.option("--budgets", default=None, help="Budgets (default: powers of two and the pool).")
@click.option("--draws", "mc_draws", type=click.IntRange(min=10), default=200,
              show_default=True, help="Monte-Carlo draws per twin pool for vote strategies.")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True)
@store_option
@json_option
def validate_command(run: str, agg: str, verifier: str | None, seed: int, n_boot: int,
                     fit_size: int, splits: int, budgets: str | None, mc_draws: int,
                     confidence: float, store_path: Path | None, as_json: bool) -> None:
    """Fit the twin on FIT_SIZE samples per problem of RUN, predict the full pool's curves
    (majority, best-of-N, weighted best-of-N, pass@k), compare with the real ones.

    \b
    Example:
      workbench twin validate qwen25-math-rm/math-cot-100 --fit-size 2 --splits 20
    """
    from workbench.twin import validate

    pool = load_pool(store_path, run, verifier, agg)
    grid = ints(budgets, "--budgets") or None
    with progress_hook("splits", enabled=not as_json) as bar:
        try:
            v = validate(pool, fit_size=fit_size, budgets=grid, n_splits=splits,
                         n_draws=n_boot, confidence=confidence, mc_draws=mc_draws, rng=seed,
                         progress=bar)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--fit-size/--budgets") from None
    out = validation_summary(v)
    if as_json:
        echo_json({**out, "seed": seed, "rows": v.to_frame().to_dict(orient="records")})
        return
    click.echo(f"{out['label']}: {run}, fit on {fit_size} of {v.full_size} samples per problem, "
               f"{splits} splits, {n_boot} parameter draws")
    click.echo(text_table(
        ["strategy", "MAE (pts)", "bias (pts)", f"coverage of {round(100 * confidence)}%",
         "width (pts)", "worst N"],
        [[r["strategy"], f"{100 * r['mae']:.2f}", f"{100 * r['bias']:+.2f}",
          f"{100 * r['coverage']:.1f}%", f"{100 * r['width']:.1f}",
          f"{r['worst_budget']} ({100 * r['worst_mae']:.2f})"] for r in out["by_strategy"]],
        right=[False, True, True, True, True, True]))
    click.echo(out["verdict"])


def validation_summary(v: Any) -> dict[str, Any]:
    """The JSON-able summary of a `Validation` (shared by the table and --json)."""
    return {
        "run": v.run_id, "model_based": True, "label": f"{v.label} calibrated on {v.run_id}",
        "fit_size": v.fit_size, "full_size": v.full_size, "splits": v.n_splits,
        "draws": v.n_draws, "confidence": v.confidence, "budgets": v.budgets.tolist(),
        "mae": v.mae, "bias": v.bias, "coverage": v.coverage, "meets_targets": v.meets_targets,
        "verdict": v.verdict(), "by_strategy": v.by_strategy(),
    }


COMMANDS = [twin_group]


def twin_rows(data: Any, strategy: Any, budgets: list[int], *, seed: int, confidence: float,
              n_boot: int, n_resamples: int) -> tuple[str, list[dict[str, Any]]]:
    """`simulate --twin`: the twin's rows for budgets past RUN's cached pool.

    The twin is fitted on the whole run; each row's interval is over the population of
    problems (parameter draws and problems resampled), like the real rows' bootstrap CI.
    """
    from workbench.twin import fit_twin, predict

    pool = data.pool if data.pool is not None and data.pool.correct is not None else data.counts
    twin = fit_twin(pool, n_boot=n_boot, rng=seed)
    [pred] = predict(twin, [strategy], budgets, confidence=confidence, rng=seed + 1)
    low, high = pred.population_interval(max(n_resamples, 200), rng=seed + 2)
    rows = [{"budget": int(n), "accuracy": float(pred.mean[i]), "ci_low": float(low[i]),
             "ci_high": float(high[i]), "mc_se": None, "estimator": "twin", "tokens": None,
             "flops": None, "money": None, "source": twin.label, "model_based": True}
            for i, n in enumerate(budgets)]
    return twin.label, rows


def split_budgets(store: Any, run: str, budgets: list[int] | None) -> tuple[list[int] | None,
                                                                           list[int]]:
    """`plan --twin`: (budgets the cache covers, budgets past it). Without budgets past the
    pool, the twin adds 2x, 4x and 8x the smallest pool."""
    import numpy as np

    from workbench.engine import load_run_data

    data = load_run_data(store, run)
    sizes = (data.pool.sizes if data.pool is not None
             else data.counts.n if data.counts is not None else None)
    if sizes is None:
        return budgets, []
    m = int(np.min(sizes))
    if budgets is None:
        return None, [2 * m, 4 * m, 8 * m]
    inside = [n for n in budgets if n <= m]
    past = [n for n in budgets if n > m] or [2 * m, 4 * m, 8 * m]
    return inside or None, past


def twin_candidates(store: Any, run: str, cands: Any, past: list[int], *, seed: int) -> Any:
    """`plan --twin`: the candidates of `run` continued at `past` budgets by the twin."""
    from dataclasses import replace

    from workbench.engine import load_run_data
    from workbench.twin import fit_twin
    from workbench.twin.extend_curves import continue_curves

    data = load_run_data(store, run)
    pool = data.pool if data.pool is not None and data.pool.correct is not None else data.counts
    if pool is None or not past:
        return cands
    twin = fit_twin(pool, n_boot=40, rng=seed)
    curves = continue_curves([*cands.curves], twin, past, rng=seed + 1)
    by_label = {(c.run_id, c.label): c for c in curves}
    base = by_label.get((cands.baseline.run_id, cands.baseline.label), cands.baseline)
    return replace(cands, curves=tuple(curves), baseline=base)
