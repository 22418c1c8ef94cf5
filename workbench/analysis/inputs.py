"""Thin adapters from the engine's run data (pools, counts) to the analysis inputs.

The analysis functions take plain arrays and `Curve`s; these helpers build them from a stored
run through the engine (`workbench.engine.load_run_data`), so nothing here re-implements an
estimator: pass@k comes from the engine's `pass_at_k` strategy.

>>> import numpy as np
>>> from workbench.engine import CountsPool
>>> n = np.array([4, 4, 4])
>>> counts = CountsPool("toy", np.array(["a", "b", "c"]), n, np.array([4, 1, 0]))
>>> oracle_bins_from_counts(counts, n_bins=3).as_mapping()
{'a': 'L1', 'b': 'L2', 'c': 'L3'}
>>> counts_curve(counts, [1, 2]).accuracy.round(4).tolist()
[0.4167, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from workbench.analysis.bins import Bins, absolute_bins, oracle_bins, predicted_bins
from workbench.engine import CountsPool, RunData, SamplePool, simulate
from workbench.errors import StrategyError

if TYPE_CHECKING:
    from workbench.engine.results import Curve


def counts_curve(counts: CountsPool, budgets: Sequence[int]) -> Curve:
    """The engine's pass@k curve (oracle coverage) of per-problem counts at integer budgets."""
    return simulate(RunData.from_pool(counts), "pass_at_k", budgets)


def run_counts(data: RunData) -> CountsPool:
    """Per-problem (n, c) of a run: its graded samples or its published counts."""
    data.require({"counts"}, "this analysis")
    assert data.counts is not None
    return data.counts


def mean_scores(pool: SamplePool) -> tuple[np.ndarray, np.ndarray]:
    """(problem_ids, mean verifier score per problem) over the real samples of the pool."""
    if pool.score is None:
        why = pool.missing.get("score", "the pool has no verifier scores")
        raise StrategyError(
            f"predicted bins need verifier scores, but in run {pool.run_id!r} {why}"
        )
    score = np.where(pool.mask, pool.score, np.nan)
    return np.asarray(pool.problem_ids), np.nanmean(score, axis=1)


def oracle_bins_from_counts(counts: CountsPool, *, n_bins: int = 5) -> Bins:
    """Oracle bins from per-problem pass@1 = c / n (all cached samples)."""
    return oracle_bins(counts.problem_ids, counts.c / counts.n, n_bins=n_bins)


def bins_for_run(
    data: RunData,
    *,
    kind: str = "oracle",
    n_bins: int = 5,
    edges: Sequence[float] | None = None,
    statistic: str | None = None,
) -> Bins:
    """Bins of one run's problems (bins are per model).

    kind "oracle": pass@1 quantiles; "predicted": mean verifier score quantiles (the run's
    verifier, chosen when loading `data`); "absolute": `edges` on `statistic` ("pass@1", the
    default, or "score").
    """
    if kind == "oracle":
        return oracle_bins_from_counts(run_counts(data), n_bins=n_bins)
    if kind == "predicted":
        if data.pool is None:
            raise StrategyError(
                f"predicted bins need per-sample verifier scores, but run {data.run_id!r} holds "
                f"{data.holds()}; use --bins oracle"
            )
        ids, score = mean_scores(data.pool)
        return predicted_bins(ids, score, n_bins=n_bins, verifier=data.verifier)
    if kind == "absolute":
        if edges is None:
            raise ValueError("absolute bins need `edges` (e.g. 0,0.2,0.4,0.6,0.8,1)")
        stat = statistic or "pass@1"
        if stat == "pass@1":
            counts = run_counts(data)
            return absolute_bins(counts.problem_ids, counts.c / counts.n, edges)
        if stat == "score":
            if data.pool is None:
                raise StrategyError(f"run {data.run_id!r} has no per-sample verifier scores")
            ids, score = mean_scores(data.pool)
            return absolute_bins(ids, score, edges, statistic=f"mean score ({data.verifier})")
        raise ValueError(f"`statistic` must be 'pass@1' or 'score'; got {stat!r}")
    raise ValueError(f"`kind` must be one of 'oracle', 'predicted', 'absolute'; got {kind!r}")

