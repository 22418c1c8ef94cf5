"""Which configurations the policy compares for a run (synthetic pools, labelled as such)."""

from __future__ import annotations

import numpy as np

from workbench.analysis.candidates import candidates_for, default_budgets
from workbench.engine.data import RunData
from workbench.engine.pool import CountsPool, SamplePool


def _pool(**kw: object) -> SamplePool:
    return SamplePool.from_arrays(correct=[[1, 0, 1, 0]], answer=[[1, 2, 1, 3]], **kw)


def test_outcome_verifier_baseline_is_weighted_bon() -> None:
    pool = _pool(score=[[0.9, 0.1, 0.5, 0.3]], verifier="orm")
    labels = [c.label for c in candidates_for(RunData.from_pool(pool))]
    assert labels == ["weighted_bon(verifier=orm)", "best_of_n(verifier=orm)", "majority"]


def test_step_verifier_gets_every_aggregation_and_snell_baseline() -> None:
    pool = _pool(score=[[0.9, 0.1, 0.5, 0.3]], verifier="prm")
    data = RunData(run=RunData.from_pool(pool).run, pool=pool, counts=pool.to_counts(),
                   verifiers={"prm": "step"})
    cands = candidates_for(data)
    assert cands[0].label == "weighted_bon(verifier=prm, agg=last)"
    assert len(cands) == 4 * 2 + 1
    assert {c.agg for c in cands if c.strategy == "best_of_n"} == {"last", "min", "prod", "mean"}


def test_no_verifier_is_majority_and_oracle_only_on_request() -> None:
    data = RunData.from_pool(_pool())
    assert [c.label for c in candidates_for(data)] == ["majority"]
    assert [c.label for c in candidates_for(data, include_oracle=True)] == [
        "majority", "pass_at_k"]


def test_counts_only_run_has_only_pass_at_k() -> None:
    counts = CountsPool("toy", np.array(["a", "b"]), np.array([100, 100]), np.array([3, 50]))
    data = RunData.from_pool(counts)
    assert [c.label for c in candidates_for(data)] == ["pass_at_k"]
    assert default_budgets(data) == [1, 2, 4, 8, 16, 32, 64]
    assert default_budgets(data, cap=8) == [1, 2, 4, 8]
