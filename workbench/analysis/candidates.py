"""Which strategy configurations a run supports, and their curves: the policy's candidates.

What a run holds decides the candidates (DESIGN.md, Strategies; Snell et al. 2024):

- samples + answers: majority;
- + a verifier: best_of_n and weighted_bon per verifier, with every PRM aggregation
  (last, min, prod, mean) for a step verifier, the score itself for an outcome verifier;
- a cached tree: beam(N, M) with M = 4 (budgets that are multiples of 4);
- revision chains: revisions at ratios 1 (parallel), 2 and 4 (when that strategy is installed);
- counts only: pass@k, the only thing counts support. pass@k picks with the gold answer
  (oracle coverage): it is a candidate only when asked (`include_oracle`) or when nothing else
  exists, and every result that uses it says it is an upper bound.

The baseline is Snell's: best-of-N weighted (weighted_bon) with the run's verifier (agg "last"
for a PRM); without a verifier, majority; with counts only, pass@k.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.engine.simulate import simulate
from workbench.engine.strategy import STRATEGIES
from workbench.errors import BudgetError, StrategyError
from workbench.store import AGGREGATIONS

if TYPE_CHECKING:
    import pandas as pd

    from workbench.engine.data import RunData
    from workbench.engine.results import Curve
    from workbench.store.run_store import RunStore

TREE_WIDTHS = (4,)
REVISION_RATIOS = (1, 2, 4)
Progress = Callable[[str], None]
"""`progress(label)`: called before each candidate's curve is computed (the CLI's status)."""


@dataclass(frozen=True)
class Candidate:
    """One strategy configuration on one run's data (verifier, aggregation, hyper-parameters)."""

    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    verifier: str | None = None
    agg: str | None = None

    @property
    def label(self) -> str:
        inner = {**({"verifier": self.verifier} if self.verifier else {}),
                 **({"agg": self.agg} if self.agg else {}), **self.params}
        args = ", ".join(f"{k}={v}" for k, v in inner.items())
        return f"{self.strategy}({args})" if args else self.strategy


@dataclass(frozen=True)
class CandidateCurves:
    """Curves of every candidate that could run, the baseline first.

    `skipped` lists (label, reason) for configurations the run could not serve.
    """

    curves: tuple[Curve, ...]
    baseline: Curve
    skipped: tuple[tuple[str, str], ...]
    oracle_only: bool

    def to_frame(self) -> pd.DataFrame:
        """Every candidate's curve stacked (`Curve.to_frame` columns), plus `is_baseline`.

        Columns:
            run_id: the run the pool came from.
            strategy: the strategy's name.
            label: strategy and hyper-parameters.
            budget: budget in generations per question.
            accuracy: mean expected accuracy over problems.
            accuracy_se: Monte-Carlo standard error of `accuracy`.
            generations: mean generations per question.
            tokens: mean generated tokens per question.
            flops: mean FLOPs per question.
            money: mean money per question.
            problems: problems the accuracy averages over.
            exact: every entry is a closed form.
            biased: samples drawn with replacement.
            coverage: share of problems the strategy could evaluate.
            twin: the pool came from the twin.
            is_baseline: the curve is the baseline's.
        """
        import pandas as pd

        frames = []
        for c in self.curves:
            f = c.to_frame()
            f["is_baseline"] = c is self.baseline
            frames.append(f)
        return pd.concat(frames, ignore_index=True)


def load_strategies() -> None:
    """Import every strategy module so that the registry is complete (the engine package
    registers the sampling strategies; tree and chain strategies register on import)."""
    import workbench.engine.strategies as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")


def candidates_for(data: RunData, *, include_oracle: bool = False) -> list[Candidate]:
    """The candidate configurations a run supports, the baseline first.

    >>> from workbench.engine.data import RunData
    >>> from workbench.engine.pool import SamplePool
    >>> pool = SamplePool.from_arrays(correct=[[1, 0]], answer=[[1, 2]])
    >>> [c.label for c in candidates_for(RunData.from_pool(pool))]
    ['majority']
    """
    load_strategies()
    out: list[Candidate] = []
    pool = data.pool
    if pool is not None and pool.answer is not None and pool.correct is not None:
        for v, kind in sorted(data.verifiers.items()):
            aggs: Sequence[str | None] = AGGREGATIONS if kind == "step" else (None,)
            for agg in aggs:
                out.append(Candidate("weighted_bon", verifier=v, agg=agg))
                out.append(Candidate("best_of_n", verifier=v, agg=agg))
        out.append(Candidate("majority"))
    if data.tree is not None and "beam" in STRATEGIES:
        out += [Candidate("beam", {"width": m}) for m in TREE_WIDTHS]
    if data.chains is not None and "revisions" in STRATEGIES:
        out += [Candidate("revisions", {"ratio": r}) for r in REVISION_RATIOS]
    if data.counts is not None and (include_oracle or not out):
        out.append(Candidate("pass_at_k"))
    if not out:
        raise StrategyError(
            f"run {data.run_id!r} supports no strategy the policy can compare; it holds "
            f"{data.holds()}"
        )
    return sorted(out, key=lambda c: c != _baseline(out))


def _baseline(cands: Sequence[Candidate]) -> Candidate:
    for want in ("weighted_bon", "majority", "pass_at_k"):
        hits = [c for c in cands if c.strategy == want and c.agg in (None, "last")]
        if hits:
            return hits[0]
    return cands[0]


def default_budgets(data: RunData, cap: int = 1024) -> list[int]:
    """Powers of two up to the smallest per-problem pool (and at most `cap`).

    >>> from workbench.engine.data import RunData
    >>> from workbench.engine.pool import SamplePool
    >>> default_budgets(RunData.from_pool(SamplePool.from_arrays(correct=[[1] * 10])))
    [1, 2, 4, 8]
    """
    if data.pool is not None:
        smallest = int(np.min(data.pool.sizes))
    elif data.counts is not None:
        smallest = int(np.min(data.counts.n))
    else:
        smallest = cap
    top = min(smallest, cap)
    return [2**i for i in range(int(np.log2(top)) + 1)]


def candidate_curves(
    store: RunStore,
    run_ids: Sequence[str],
    *,
    budgets: Sequence[int] | None = None,
    include_oracle: bool = False,
    draws: int = 1000,
    rng: np.random.Generator | int | None = None,
    progress: Progress | None = None,
) -> CandidateCurves:
    """Compute the curve of every candidate of every run (the first run's baseline first).

    Budgets default to powers of two up to the first run's smallest pool; tree strategies use
    the budgets that are multiples of their width. A configuration a run cannot serve is
    skipped with its reason (e.g. a tree the cache does not cover).
    """
    from workbench.engine.data import load_run_data

    gen = np.random.default_rng(rng)
    curves: list[Curve] = []
    skipped: list[tuple[str, str]] = []
    baseline: Curve | None = None
    oracle_only = True
    for r, run_id in enumerate(run_ids):
        cache: dict[tuple[str | None, str], RunData] = {}

        def data_for(verifier: str | None, agg: str | None, run_id: str = run_id,
                     cache: dict[tuple[str | None, str], RunData] = cache) -> RunData:
            key = (verifier, agg or "last")
            if key not in cache:
                cache[key] = load_run_data(store, run_id, verifier=verifier, agg=key[1])
            return cache[key]

        first = data_for(None, None)
        if budgets is None:  # one grid for all runs: the first run's pool sets it
            budgets = default_budgets(first)
        b = list(budgets)
        for cand in candidates_for(first, include_oracle=include_oracle):
            label = cand.label if len(run_ids) == 1 else f"{run_id}:{cand.label}"
            if progress is not None:
                progress(label)
            try:
                curve = _curve(cand, data_for(cand.verifier, cand.agg), b, draws, gen)
            except StrategyError as exc:
                skipped.append((label, str(exc)))
                continue
            if curve.coverage < 1 and np.isnan(curve.per_problem).all():
                skipped.append((label, "the cache covers no problem at these budgets"))
                continue
            oracle_only &= cand.strategy == "pass_at_k"
            curves.append(curve)
            if r == 0 and baseline is None:
                baseline = curve
    if baseline is None:
        raise StrategyError(
            f"no candidate of run {run_ids[0]!r} could run: "
            + "; ".join(f"{lab}: {why}" for lab, why in skipped)
        )
    return CandidateCurves(tuple(curves), baseline, tuple(skipped), oracle_only)


def _curve(
    cand: Candidate, data: RunData, budgets: Sequence[int], draws: int, gen: np.random.Generator
) -> Curve:
    params = dict(cand.params)
    cls = STRATEGIES[cand.strategy]
    if "draws" in inspect.signature(cls).parameters:
        params["draws"] = draws
    # beam(N, M) needs N a multiple of its width M; revisions(N, ratio) a multiple of ratio
    step = cand.params.get("width", cand.params.get("ratio", 1))
    b = [n for n in budgets if n % step == 0]
    while b:
        try:
            return simulate(data, cand.strategy, b, rng=gen, **params)
        except BudgetError:
            # this configuration's pool (e.g. chains per problem) serves fewer budgets than the
            # run's grid: keep it at the budgets it can serve, never resample past the pool
            b = b[:-1]
    raise StrategyError(f"{cand.label}: no budget of the grid fits (multiples of {step} the "
                        "cache can serve)")
