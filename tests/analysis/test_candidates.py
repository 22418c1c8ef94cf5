"""Which configurations the policy compares for a run (synthetic pools, labelled as such)."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_signed_verifier_votes_through_a_sigmoid_and_is_the_baseline() -> None:
    pool = _pool(score=[[-1.0, 0.5, 0.2, 0.3]], verifier="rm")
    labels = [c.label for c in candidates_for(RunData.from_pool(pool), signed=frozenset({"rm"}))]
    assert labels[0] == "weighted_bon(verifier=rm, transform=sigmoid)"
    assert "weighted_bon(verifier=rm)" not in labels


def _tree_and_chains_data() -> RunData:
    """SYNTHETIC: a 4-wide tree of depth 2 on problem "0", and 2 chains x 8 attempts."""
    from workbench.engine.chains import ChainData
    from workbench.engine.tree import TreeData
    from workbench.store import Sample, TreeNode

    nodes = [TreeNode("0", "r", None, 0, expanded=True)]
    for i in range(4):
        nodes.append(TreeNode("0", f"a{i}", "r", 1, score=0.1 * i, expanded=True))
        nodes += [TreeNode("0", f"a{i}{j}", f"a{i}", 2, score=0.5, is_terminal=True,
                           answer_key=str(j), is_correct=j == 0) for j in range(4)]
    chains = ChainData.from_records("c", [
        Sample("0", 8 * c + i, answer_key=str(i % 3), is_correct=i % 3 == 0, chain_id=c,
               revision_idx=i) for c in range(2) for i in range(8)],
        scores={("0", k): 0.5 for k in range(16)})
    base = RunData.from_pool(_pool(score=[[0.9, 0.1, 0.5, 0.3]], verifier="orm"))
    return RunData(run=base.run, pool=base.pool, counts=base.counts,
                   tree=TreeData.from_records("t", nodes), chains=chains,
                   verifiers={"orm": "outcome"})


def test_snell_search_space_tree_and_revision_candidates() -> None:
    labels = [c.label for c in candidates_for(_tree_and_chains_data())]
    for want in ("beam(width=4)", "beam(width=sqrt)", "lookahead(width=4, depth=1)",
                 "lookahead(width=4, depth=3)", "dvts(width=4)"):
        assert want in labels
    revs = [c for c in candidates_for(_tree_and_chains_data()) if c.strategy == "revisions"]
    # ratios 2^0..2^7 cut at the longest chain (8 attempts): 1, 2, 4, 8
    assert sorted({c.params["ratio"] for c in revs}) == [1, 2, 4, 8]
    by_ratio = {r: sorted(c.params["select"] for c in revs if c.params["ratio"] == r)
                for r in (1, 8)}
    assert by_ratio == {1: ["majority", "verifier"],
                        8: ["hierarchical", "majority", "verifier"]}


def test_beam_sqrt_width_runs_at_perfect_squares_only() -> None:
    from workbench.engine.simulate import simulate
    from workbench.errors import StrategyError

    data = _tree_and_chains_data()
    sq = simulate(data, "beam", [4], width="sqrt", draws=200, rng=0)
    two = simulate(data, "beam", [4], width=2, draws=200, rng=0)
    np.testing.assert_array_equal(sq.per_problem, two.per_problem)  # sqrt(4) = 2, same draws
    assert sq.label == "beam(width=sqrt)"
    with pytest.raises(StrategyError, match="perfect square"):
        simulate(data, "beam", [8], width="sqrt")


def test_coverage_of_counts_the_problems_a_curve_holds() -> None:
    from workbench.analysis.candidates import coverage_of
    from workbench.engine.simulate import simulate

    curve = simulate(_tree_and_chains_data(), "beam", [4], width=4, draws=50, rng=0)
    assert coverage_of(curve, ["0", "1", "2", "3"]) == 0.25


def test_tree_candidate_cut_to_the_budgets_its_tree_serves_warns_nothing() -> None:
    """A 4-wide tree serves beam(4) at N = 4 only: the candidate's curve keeps N = 4, and the
    trial on the whole grid (which covers no problem at every budget) does not reach the user
    as a "covers 0 of 1 problems" warning."""
    import warnings

    from workbench.analysis.candidates import Candidate, _curve
    from workbench.errors import CoverageWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", CoverageWarning)
        curve = _curve(Candidate("beam", {"width": 4}), _tree_and_chains_data(), [4, 8, 16],
                       50, np.random.default_rng(0))
    assert curve.budgets.tolist() == [4]
    assert curve.problem_ids.tolist() == ["0"]
