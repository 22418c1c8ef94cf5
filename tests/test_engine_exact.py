"""Exact estimators (pass@k, best-of-N) against brute-force enumeration of every subset."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pytest

from tests import engine_brute as brute
from workbench.engine import RunData, SamplePool, exact, simulate
from workbench.errors import BiasedEstimateWarning, BudgetError

TOL = 1e-12


def small_pools(seed: int, count: int = 6) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random small pools (scores from a 3-value set so ties are common, correctness 0/1)."""
    gen = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        m = int(gen.integers(1, 9))
        out.append((gen.choice([0.1, 0.5, 0.9], size=m), gen.random(m) < 0.4))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_pass_at_k_equals_enumeration(seed: int) -> None:
    for _, correct in small_pools(seed):
        m = len(correct)
        ks = list(range(1, m + 1))
        got = exact.pass_at_k([m], [int(correct.sum())], ks)[0]
        want = [brute.pass_at_k(correct.tolist(), k) for k in ks]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", range(4))
def test_pass_at_k_with_replacement_equals_enumeration_of_tuples(seed: int) -> None:
    for _, correct in small_pools(seed):
        correct = correct[:4]  # keep the m^k tuples few
        m = len(correct)
        ks = [1, 2, m + 2]  # beyond the pool: allowed with replacement
        got = exact.pass_at_k([m], [int(correct.sum())], ks, replace=True)[0]
        want = [brute.pass_at_k(correct.tolist(), k, replace=True) for k in ks]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", range(4))
def test_best_of_n_equals_enumeration_ties_included(seed: int) -> None:
    for score, correct in small_pools(seed):
        m = len(score)
        ns = list(range(1, m + 1))
        got = exact.best_of_n(score[None], correct[None], np.array([m]), ns)[0]
        want = [brute.best_of_n(score.tolist(), correct.tolist(), n) for n in ns]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


def test_best_of_n_with_replacement_equals_enumeration_of_tuples() -> None:
    for score, correct in small_pools(7):
        score, correct = score[:4], correct[:4]  # keep the m^n tuples few
        m = len(score)
        ns = [1, 2, m + 1]
        got = exact.best_of_n(score[None], correct[None], np.array([m]), ns, replace=True)[0]
        want = [brute.best_of_n(score.tolist(), correct.tolist(), n, replace=True) for n in ns]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


def test_best_of_n_fractional_values_and_continuous_scores() -> None:
    gen = np.random.default_rng(3)
    score, value = gen.random(7), gen.random(7)
    got = exact.best_of_n(score[None], value[None], np.array([7]), range(1, 8))[0]
    want = [brute.best_of_n(score.tolist(), value.tolist(), n) for n in range(1, 8)]
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


def test_ragged_pool_rows_match_their_own_enumeration() -> None:
    pools = small_pools(11, count=5)
    m = max(len(s) for s, _ in pools)
    k = min(len(s) for s, _ in pools)
    score = np.full((5, m), np.nan)
    correct = np.zeros((5, m), dtype=bool)
    for i, (s, c) in enumerate(pools):
        score[i, :len(s)], correct[i, :len(c)] = s, c
    pool = SamplePool.from_arrays(score=np.nan_to_num(score), correct=correct,
                                  sizes=[len(s) for s, _ in pools], verifier="v")
    curve = simulate(RunData.from_pool(pool), "best_of_n", range(1, k + 1))
    for i, (s, c) in enumerate(pools):
        want = [brute.best_of_n(s.tolist(), c.tolist(), n) for n in range(1, k + 1)]
        np.testing.assert_allclose(curve.per_problem[i], want, rtol=0, atol=TOL)


def test_rank_weights_are_distributions() -> None:
    for m in (1, 5, 64):
        for replace in (False, True):
            w = exact.rank_weights(m, np.arange(1, m + 1), replace=replace)
            np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)
            assert (w >= 0).all()


def test_rank_tail_cut_is_exact_to_machine_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = np.random.default_rng(5)
    m = 600
    score = np.round(gen.random((20, m)), 2)  # many ties
    correct = gen.random((20, m)) < 0.3
    ns = np.arange(1, m + 1)
    cut = exact.best_of_n(score, correct, np.full(20, m), ns)
    monkeypatch.setattr(exact, "_TAIL_LOG", 10**9)  # no cut: every rank weighted
    full = exact.best_of_n(score, correct, np.full(20, m), ns)
    # equal up to the rounding of a 600-term dot product (the cut mass is below 2^-60)
    np.testing.assert_allclose(cut, full, rtol=0, atol=1e-13)


def test_pass_at_k_large_pool_tiny_rate_keeps_relative_precision() -> None:
    n, c = np.array([10_000, 10_000]), np.array([1, 37])
    ks = np.array([1, 10, 500, 9_990])
    got = exact.pass_at_k(n, c, ks)
    # exact rational reference: 1 - C(n-c, k)/C(n, k) with Python's big integers
    want = [[float(1 - Fraction(comb(int(nn - cc), int(k)), comb(int(nn), int(k))))
             for k in ks] for nn, cc in zip(n, c, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    assert got[1, 3] == 1.0  # fewer wrong samples than k: success is certain


def test_budget_beyond_pool_is_refused_with_a_clear_error() -> None:
    pool = SamplePool.from_arrays(correct=[[1, 0, 0], [0, 0, 0]], sizes=[3, 2])
    with pytest.raises(BudgetError, match=r"budget N=3 exceeds the cached pool of 1 problem "
                                          r"\(smallest pool: 2 samples"):
        simulate(RunData.from_pool(pool), "pass_at_k", [1, 3])


def test_with_replacement_is_allowed_and_flagged_biased() -> None:
    pool = SamplePool.from_arrays(correct=[[1, 0, 0]])
    with pytest.warns(BiasedEstimateWarning, match="WITH replacement"):
        curve = simulate(RunData.from_pool(pool), "pass_at_k", [1, 6], replace=True)
    assert curve.biased and not simulate(RunData.from_pool(pool), "pass_at_k", [1]).biased
    np.testing.assert_allclose(curve.accuracy, [1 / 3, 1 - (2 / 3) ** 6], atol=TOL)


@pytest.mark.parametrize("bad", [[0], [1.5], [], [[1, 2]], ["a"]])
def test_budgets_must_be_positive_integers(bad: list) -> None:
    pool = SamplePool.from_arrays(correct=[[1, 0, 0]])
    with pytest.raises(ValueError, match="`budgets`"):
        simulate(RunData.from_pool(pool), "pass_at_k", bad)
