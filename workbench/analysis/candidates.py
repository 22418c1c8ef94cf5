"""Which strategy configurations a run supports, and their curves: the policy's candidates.

What a run holds decides the candidates (DESIGN.md, Strategies; Snell et al. 2024's search
space):

- samples + answers: majority;
- + a verifier: best_of_n and weighted_bon per verifier, with every PRM aggregation
  (last, min, prod, mean) for a step verifier, the score itself for an outcome verifier. A
  verifier with negative scores (a reward model's logits) votes through a sigmoid
  (weighted_bon(transform=sigmoid)): raw signed sums penalise agreement (see
  `workbench.engine.strategies.weighted_bon`);
- a cached tree: beam search with widths M = 4 and M = sqrt(N), lookahead(M = 4, k) for
  k in `LOOKAHEAD_DEPTHS` (at N(k+1) generations; a verifier-guided proxy, see its module) and
  DVTS(M = 4);
- revision chains: revisions at ratios 1, 2, 4, ... up to the longest cached chain (Snell:
  2^0..2^7), selected by majority, and, when the chains carry verifier scores, by the verifier
  (weighted best-of-N over all attempts) and hierarchically;
- counts only: pass@k, the only thing counts support. pass@k picks with the gold answer
  (oracle coverage): it is a candidate only when asked (`include_oracle`) or when nothing else
  exists, and every result that uses it says it is an upper bound.

A tree or chain candidate may cover only some problems (a tree bank smaller than the run, nodes
the cache never expanded): it is KEPT, its curve holds the problems it covers and
`CandidateCurves.coverage` says what share of the first run's problems that is (the policy
scores it on what it covers and shows that share). Each configuration runs at the budgets of
the grid it fits (`fits`: multiples of its width or ratio, perfect squares for M = sqrt(N)).

The baseline is Snell's: best-of-N weighted (weighted_bon) with the run's verifier (agg "last"
for a PRM); without a verifier, majority; with counts only, pass@k.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.engine.simulate import simulate
from workbench.engine.strategy import STRATEGIES, get_strategy
from workbench.errors import BudgetError, StrategyError
from workbench.store import AGGREGATIONS

if TYPE_CHECKING:
    import pandas as pd

    from workbench.engine.data import RunData
    from workbench.engine.results import Curve
    from workbench.store.run_store import RunStore

TREE_WIDTHS: tuple[int | str, ...] = (4, "sqrt")
"""Beam widths M (Snell et al. 2024, sec. 5: M = 4 and M = sqrt(N))."""
LOOKAHEAD_DEPTHS = (1, 3)
"""Lookahead rollout steps k, at width M = 4."""
DVTS_WIDTHS = (4,)
REVISION_RATIOS = tuple(2**i for i in range(8))
"""Sequential/parallel ratios 2^0..2^7 (Snell et al. 2024, sec. 6), cut at the longest chain."""
REVISION_SELECTIONS = ("majority", "verifier", "hierarchical")
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

    `skipped` lists (label, reason) for configurations the run could not serve; `coverage`
    (one per curve) the share of the first run's problems each curve covers (1.0 for a pool
    strategy; less for a tree bank or chains over fewer problems, or cache gaps).
    """

    curves: tuple[Curve, ...]
    baseline: Curve
    skipped: tuple[tuple[str, str], ...]
    oracle_only: bool
    coverage: tuple[float, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate curve, then one per skipped configuration.

        Columns:
            label: strategy and hyper-parameters (run-prefixed when several runs).
            run_id: the run the curve came from (None for a skipped configuration).
            strategy: the strategy's name (None for a skipped configuration).
            budgets: the budgets the curve was computed at (generations per question).
            exact: True when every budget is a closed form.
            coverage: share of the first run's problems the curve covers.
            baseline: True for the baseline curve.
            skipped: why the configuration could not run (None when it ran).
        """
        import pandas as pd

        cov = self.coverage or tuple(1.0 for _ in self.curves)
        rows = [{"label": c.label, "run_id": c.run_id, "strategy": c.strategy,
                 "budgets": c.budgets.tolist(), "exact": c.exact, "coverage": cv,
                 "baseline": c is self.baseline, "skipped": None}
                for c, cv in zip(self.curves, cov, strict=True)]
        rows += [{"label": lab, "run_id": None, "strategy": None, "budgets": [],
                  "exact": False, "coverage": 0.0, "baseline": False, "skipped": why}
                 for lab, why in self.skipped]
        return pd.DataFrame(rows, columns=["label", "run_id", "strategy", "budgets", "exact",
                                           "coverage", "baseline", "skipped"])

    def curves_frame(self) -> pd.DataFrame:
        """Every candidate's curve stacked (`Curve.to_frame` columns), plus `is_baseline`
        (`to_frame` is the one-row-per-candidate summary).

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


def coverage_of(curve: Curve, problem_ids: Sequence[str] | np.ndarray) -> float:
    """Share of `problem_ids` that `curve` covers (has a row for).

    >>> from workbench.engine.data import RunData
    >>> from workbench.engine.pool import SamplePool
    >>> from workbench.engine.simulate import simulate
    >>> c = simulate(RunData.from_pool(SamplePool.from_arrays(correct=[[1, 0]])), "pass_at_k", [1])
    >>> coverage_of(c, ["0", "1", "2", "3"])
    0.25
    """
    ids = np.asarray(problem_ids).astype(str)
    if ids.size == 0:
        return 0.0
    return float(np.isin(ids, np.asarray(curve.problem_ids).astype(str)).mean())


def signed_verifiers(data_for: Callable[[str, str | None], RunData],
                     verifiers: dict[str, str]) -> frozenset[str]:
    """The verifiers some of whose scores are negative (step verifiers: any step score, read
    through the `min` aggregation)."""
    out = set()
    for v, kind in verifiers.items():
        pool = data_for(v, "min" if kind == "step" else None).pool
        if pool is not None and pool.score is not None and np.nanmin(pool.score) < 0:
            out.add(v)
    return frozenset(out)


def load_strategies() -> None:
    """Import every strategy module so that the registry is complete (the engine package
    registers the sampling strategies; tree and chain strategies register on import)."""
    import workbench.engine.strategies as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")


def candidates_for(data: RunData, *, include_oracle: bool = False,
                   signed: frozenset[str] = frozenset()) -> list[Candidate]:
    """The candidate configurations a run supports, the baseline first.

    `signed` names the verifiers whose scores can be negative (`signed_verifiers`): their
    weighted votes go through a sigmoid.

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
            vote = {"transform": "sigmoid"} if v in signed else {}
            for agg in aggs:
                out.append(Candidate("weighted_bon", vote, verifier=v, agg=agg))
                out.append(Candidate("best_of_n", verifier=v, agg=agg))
        out.append(Candidate("majority"))
    if data.tree is not None and "beam" in STRATEGIES:
        out += [Candidate("beam", {"width": m}) for m in TREE_WIDTHS]
        out += [Candidate("lookahead", {"width": 4, "depth": k}) for k in LOOKAHEAD_DEPTHS]
        out += [Candidate("dvts", {"width": m}) for m in DVTS_WIDTHS]
    if data.chains is not None and "revisions" in STRATEGIES:
        longest = int(data.chains.max_len)
        scored = sorted(data.verifiers)
        for r in (r for r in REVISION_RATIOS if r <= longest):
            out.append(Candidate("revisions", {"ratio": r, "select": "majority"}))
            for v in scored:  # within one attempt per chain, hierarchical = verifier
                for sel in REVISION_SELECTIONS[1:] if r > 1 else ("verifier",):
                    out.append(Candidate("revisions", {"ratio": r, "select": sel}, verifier=v))
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
                # the tree bank is the same for every verifier key: built once per run
                known = next(iter(cache.values()), None)
                cache[key] = load_run_data(store, run_id, verifier=verifier, agg=key[1],
                                           tree=None if known is None else known.tree)
            return cache[key]

        first = data_for(None, None)
        if budgets is None:  # one grid for all runs: the first run's pool sets it
            budgets = default_budgets(first)
        b = list(budgets)
        signed = signed_verifiers(data_for, first.verifiers) if first.pool is not None \
            else frozenset()
        for cand in candidates_for(first, include_oracle=include_oracle, signed=signed):
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
    ids = baseline.problem_ids
    return CandidateCurves(tuple(curves), baseline, tuple(skipped), oracle_only,
                           coverage=tuple(coverage_of(c, ids) for c in curves))


def _curve(
    cand: Candidate, data: RunData, budgets: Sequence[int], draws: int, gen: np.random.Generator
) -> Curve:
    params = dict(cand.params)
    if "draws" in inspect.signature(STRATEGIES[cand.strategy]).parameters:
        params["draws"] = draws
    strategy = get_strategy(cand.strategy, **params)
    # tree searches run at multiples of their width (perfect squares for M = sqrt(N), times
    # k + 1 for lookahead); revisions at multiples of their ratio
    fits = getattr(strategy, "fits", None)
    b = [n for n in budgets if fits is None or fits(n)]
    last: list[warnings.WarningMessage] = []
    while b:
        # a trial on budgets the cache cannot serve warns about coverage; only the warnings of
        # the curve kept reach the user (the trials' would say "covers 0 problems" of a grid
        # that is then cut down), or of the last trial when none is kept (they say why)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                curve = simulate(data, strategy, b, rng=gen)
            except BudgetError:
                last = list(caught or [])
                # this configuration's pool (e.g. chains per problem) serves fewer budgets than
                # the run's grid: keep it at the budgets it can serve, never resample past it
                b = b[:-1]
                continue
        # a tree replay keeps the problems covered at EVERY budget: a budget the cache covers
        # for no problem (a tree bank grown 4 wide cannot serve N = 8) would empty the curve
        by_budget = curve.meta.get("coverage_by_budget")
        if by_budget is not None and len(curve.problem_ids) == 0:
            served = [n for n, share in zip(b, by_budget, strict=True) if share > 0]
            b = served if len(served) < len(b) else b[:-1]
            last = list(caught or [])
            continue
        _reissue(caught or [])
        return curve
    _reissue(last)
    raise StrategyError(f"{cand.label}: no budget of the grid fits it (or the cache can "
                        "serve none)")


def _reissue(caught: Sequence[warnings.WarningMessage]) -> None:
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
