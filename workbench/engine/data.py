"""Everything a strategy may read about one run, loaded from the store once.

`RunData` bundles the run record, its sample pool (under one verifier and aggregation), its
per-problem counts, its cached search trees and revision chains, and the cost model. Each
strategy declares what it `needs`; `RunData.require` checks that before any work and says
clearly what the run lacks and what to do instead.

>>> pool = SamplePool.from_arrays(correct=[[1, 0], [0, 0]])
>>> data = RunData.from_pool(pool)
>>> data.require({"answers"}, "majority")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
workbench.errors.StrategyError: majority needs answer keys (answers), but run 'synthetic' ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.engine.cost import CostModel
from workbench.engine.pool import CountsPool, SamplePool
from workbench.errors import StrategyError
from workbench.store.pool_codes import pool_codes
from workbench.store.records import Run

if TYPE_CHECKING:
    from workbench.store.run_store import RunStore

NEEDS = ("samples", "correct", "answers", "scores", "tree", "chains", "counts")
"""What a strategy may need from a run (see `Strategy.needs`)."""


@dataclass(frozen=True)
class RunData:
    """One run's data as the engine's strategies consume it.

    Attributes:
        run: the stored `Run` record.
        pool: the per-sample pool, or None (counts-only or tree-only runs).
        counts: per-problem (n, c) counts (from the pool, or the run's `problem_counts`).
        tree: cached search trees (`workbench.engine.tree.TreeData`), or None.
        chains: revision chains (`workbench.engine.chains.ChainData`), or None.
        cost_model: parameter counts and prices for the cost of each result.
        verifiers: every verifier of the run, name -> 'step' | 'outcome'.
    """

    run: Run
    pool: SamplePool | None
    counts: CountsPool | None
    tree: Any = None
    chains: Any = None
    cost_model: CostModel = field(default_factory=CostModel)
    verifiers: dict[str, str] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def verifier(self) -> str | None:
        return None if self.pool is None else self.pool.verifier

    @property
    def agg(self) -> str | None:
        return None if self.pool is None else self.pool.agg

    def score_params(self) -> dict[str, Any]:
        """{"verifier": .., "agg": ..} identifying the scores a verifier strategy used."""
        out: dict[str, Any] = {"verifier": self.verifier}
        if self.agg is not None:
            out["agg"] = self.agg
        return out

    @classmethod
    def from_pool(
        cls,
        pool: SamplePool | CountsPool,
        *,
        run: Run | None = None,
        cost_model: CostModel | None = None,
    ) -> RunData:
        """RunData around an in-memory pool (synthetic data, tests, the twin)."""
        run = run or Run(run_id=pool.run_id, dataset="synthetic", policy_model="synthetic",
                         source="synthetic")
        if isinstance(pool, CountsPool):
            return cls(run=run, pool=None, counts=pool, cost_model=cost_model or CostModel())
        counts = pool.to_counts() if pool.correct is not None else None
        kind = pool.verifier_kind or "outcome"
        verifiers = {} if pool.verifier is None else {pool.verifier: kind}
        return cls(run=run, pool=pool, counts=counts, cost_model=cost_model or CostModel(),
                   verifiers=verifiers)

    def holds(self) -> str:
        """A short description of what the run holds, for error messages."""
        parts = []
        if self.pool is not None:
            parts.append(f"{self.pool.n_problems} problems x up to {self.pool.width} samples")
        elif self.counts is not None:
            parts.append(f"per-problem counts only ({self.counts.n_problems} problems)")
        if self.tree is not None:
            parts.append("a search tree")
        if self.chains is not None:
            parts.append("revision chains")
        return ", ".join(parts) or "nothing the engine can use"

    def require(self, needs: Iterable[str], strategy: str) -> None:
        """Raise `StrategyError` saying what is missing if the run lacks any of `needs`,
        and which strategies the run does support."""
        for need in needs:
            problem = self._missing(need, strategy)
            if problem is not None:
                fits = [s for s in self.supported() if s != strategy]
                raise StrategyError(
                    problem + (f"; strategies this run supports: {', '.join(fits)}" if fits
                               else "")
                )

    def supported(self) -> list[str]:
        """Registered strategies whose needs this run meets."""
        from workbench.engine.strategy import STRATEGIES

        return sorted(name for name, cls in STRATEGIES.items()
                      if all(self._missing(n, name) is None for n in cls.needs))

    def _missing(self, need: str, strategy: str) -> str | None:
        """Why the run cannot meet `need` (None when it can)."""
        run = self.run_id
        if need not in NEEDS:
            raise ValueError(f"unknown need {need!r}; known: {', '.join(NEEDS)}")
        if need == "counts" and self.counts is None:
            why = (self.pool.missing.get("correct", "") if self.pool is not None
                   else "no samples or counts")
            return (f"{strategy} needs graded samples or per-problem counts, but run {run!r} "
                    f"has none ({why}); it holds {self.holds()}")
        if need in ("samples", "correct", "answers", "scores") and self.pool is None:
            return f"{strategy} needs individual samples, but run {run!r} holds {self.holds()}"
        pool = self.pool
        if need == "correct" and pool is not None and pool.correct is None:
            return (f"{strategy} needs graded samples, but in run {run!r} "
                    f"{pool.missing.get('correct', 'samples are ungraded')}")
        if need == "answers" and pool is not None and pool.answer is None:
            return (f"{strategy} needs answer keys (answers), but run {run!r} has none: "
                    f"{pool.missing.get('answer', 'no answers given')}")
        if need == "scores" and pool is not None and pool.score is None:
            return self._scores_message(strategy)
        if need == "tree" and self.tree is None:
            return (f"{strategy} replays a cached search tree, but run {run!r} has none; "
                    f"it holds {self.holds()}")
        if need == "chains" and self.chains is None:
            return (f"{strategy} needs revision chains, but run {run!r} has none; "
                    f"it holds {self.holds()}")
        return None

    def _scores_message(self, strategy: str) -> str:
        run = self.run_id
        if not self.verifiers:
            return f"{strategy} needs verifier scores, but run {run!r} has no verifier"
        assert self.pool is not None
        if self.pool.verifier is None:
            names = ", ".join(sorted(self.verifiers))
            return (f"{strategy} needs verifier scores: choose a verifier of run {run!r} "
                    f"(verifier=... / --verifier): {names}")
        return f"{strategy}: {self.pool.missing.get('score', 'scores missing')} in run {run!r}"


def load_run_data(
    store: RunStore,
    run_id: str,
    *,
    verifier: str | None = None,
    agg: str = "last",
    policy_params: float | None = None,
    verifier_params: float | None = None,
    prices: Mapping[str, Any] | float | None = None,
    tree: Any = None,
) -> RunData:
    """Load one run for the engine.

    `verifier=None` picks the run's only verifier when it has exactly one (else no scores:
    verifier strategies then ask for one). `agg` aggregates PRM step scores: 'last' (Snell et
    al. 2024), 'min', 'prod' or 'mean'. Parameter counts and prices override the run's own.
    `tree`: the run's `TreeData` when the caller loaded it already (it does not depend on the
    verifier or the aggregation, and a large bank takes seconds to build).

    >>> from workbench.store import Problem, Run, RunBundle, RunStore, Sample
    >>> store = RunStore(":memory:")
    >>> _ = store.ingest(RunBundle(Run("r", "toy", "m", "synthetic"),
    ...     problems=[Problem("toy", "p")],
    ...     samples=[Sample("p", i, answer_key="1", is_correct=i == 0) for i in range(3)]))
    >>> load_run_data(store, "r").counts.c.tolist()
    [1]
    """
    run = store.run_record(run_id)
    kinds = store.verifiers(run_id)
    if verifier is None and len(kinds) == 1:
        verifier = next(iter(kinds))
    info = store.describe(run_id)
    pool = counts = None
    if info.samples and not info.counts_only:
        # integer-coded in DuckDB: no Python string per sample (bounded memory at 10M samples)
        coded = pool_codes(store, run_id, verifier, agg)
        if len(coded.sizes):
            pool = SamplePool.from_codes(
                coded, run_id=run_id, verifier=verifier,
                verifier_kind=None if verifier is None else kinds[verifier], agg=agg,
            )
            counts = pool.to_counts() if pool.correct is not None else None
    if counts is None and info.counts_only:
        counts = CountsPool.from_table(store.table("problem_counts", run_id), run_id=run_id)
    # tree and chain loaders live with their strategies; imported here, when a run has them
    chains = None
    if not info.has_tree:
        tree = None
    elif tree is None:
        from workbench.engine.tree import load_tree

        tree = load_tree(store, run_id)
    if info.has_chains:
        from workbench.engine.chains import load_chains

        chains = load_chains(store, run_id, verifier=verifier, agg=agg)
    model = CostModel.for_run(run, verifier, policy_params=policy_params,
                              verifier_params=verifier_params, prices=prices)
    return RunData(run=run, pool=pool, counts=counts, tree=tree, chains=chains,
                   cost_model=model, verifiers=dict(kinds))

