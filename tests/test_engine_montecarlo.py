"""Monte-Carlo majority and weighted best-of-N (estimator="montecarlo"; exact is the default
where it exists, see test_engine_exact_vote): within 4 standard errors of exact enumeration,
closed-form budgets exact, standard errors calibrated, results independent of n_jobs."""

from __future__ import annotations

import numpy as np
import pytest

from tests import engine_brute as brute
from workbench.engine import RunData, SamplePool, simulate, vote_curve
from workbench.engine.synthetic import synthetic_pool
from workbench.errors import SignedScoreWarning

MC = "montecarlo"
"""The Monte-Carlo estimator, asked for explicitly (the default is exact where it exists)."""


def vote_pools(seed: int, count: int = 4) -> list[tuple[list, list, list]]:
    """Small pools with few answers (so ties are frequent), some samples without an answer,
    and scores on a 1/8 grid (so weighted sums tie exactly too)."""
    gen = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        m = int(gen.integers(4, 9))
        answers = [None if u < 0.15 else int(a)
                   for u, a in zip(gen.random(m), gen.integers(0, 3, m), strict=True)]
        correct = [a == 0 for a in answers]
        scores = (gen.integers(1, 8, m) / 8).tolist()
        out.append((answers, correct, scores))
    return out


def as_pool(pools: list[tuple[list, list, list]]) -> SamplePool:
    m = max(len(a) for a, _, _ in pools)
    p = len(pools)
    answer = np.full((p, m), -1)
    correct = np.zeros((p, m), dtype=bool)
    score = np.zeros((p, m))
    for i, (a, c, s) in enumerate(pools):
        answer[i, :len(a)] = [-1 if x is None else x for x in a]
        correct[i, :len(c)] = c
        score[i, :len(s)] = s
    return SamplePool.from_arrays(answer=answer, correct=correct, score=score,
                                  sizes=[len(a) for a, _, _ in pools], verifier="v")


def check_within_4_se(curve, want: np.ndarray) -> None:
    # + 3/draws: an outcome rarer than that is likely never drawn (the "rule of three"), and
    # then the draws show no spread at all (SE 0) although the mean misses it
    rare = 3 / curve.meta["draws"]
    err = np.abs(curve.per_problem - want)
    assert np.all(err <= 4 * curve.mc_se + rare), (curve.per_problem, want, curve.mc_se)
    acc_err = np.abs(curve.accuracy - want.mean(axis=0))
    assert np.all(acc_err <= 4 * curve.accuracy_se + 1e-12)


@pytest.mark.parametrize("strategy", ["majority", "weighted_bon"])
@pytest.mark.parametrize("seed", [0, 1])
def test_monte_carlo_within_4_se_of_enumeration(strategy: str, seed: int) -> None:
    pools = vote_pools(seed)
    pool = as_pool(pools)
    ns = list(range(1, int(pool.sizes.min()) + 1))
    curve = simulate(RunData.from_pool(pool), strategy, ns, rng=seed, draws=4000, estimator=MC)
    weighted = strategy == "weighted_bon"
    want = np.array([[brute.vote(a, c, n, s if weighted else None) for n in ns]
                     for a, c, s in pools])
    check_within_4_se(curve, want)
    assert not curve.exact and curve.meta["draws"] == 4000


def test_weighted_bon_with_zero_and_negative_scores_within_4_se() -> None:
    # scores on a grid around 0 (ORM logits can be negative): absent answers (sum 0) must not
    # win against present answers with a negative sum, nor be confused with a zero sum
    pools = [(a, c, [x - 0.5 for x in s]) for a, c, s in vote_pools(5)]
    pool = as_pool(pools)
    ns = list(range(1, int(pool.sizes.min()) + 1))
    with pytest.warns(SignedScoreWarning, match="negative scores on 4 problem"):
        curve = simulate(RunData.from_pool(pool), "weighted_bon", ns, rng=1, draws=4000,
                         estimator=MC)
    want = np.array([[brute.vote(a, c, n, s) for n in ns] for a, c, s in pools])
    check_within_4_se(curve, want)


@pytest.mark.parametrize("strategy", ["majority", "weighted_bon"])
def test_monte_carlo_with_replacement_within_4_se(strategy: str) -> None:
    pools = [(a[:4], c[:4], s[:4]) for a, c, s in vote_pools(3)]  # m^n tuples stay few
    pool = as_pool(pools)
    ns = [2, 3, 6]
    with pytest.warns(Warning, match="WITH replacement"):
        curve = simulate(RunData.from_pool(pool), strategy, ns, rng=2, draws=4000, replace=True,
                         estimator=MC)
    weighted = strategy == "weighted_bon"
    want = np.array([[brute.vote(a, c, n, s if weighted else None, replace=True) for n in ns]
                     for a, c, s in pools])
    check_within_4_se(curve, want)
    assert curve.biased


def test_single_sample_and_whole_pool_budgets_are_exact() -> None:
    pools = [(a[:5], c[:5], s[:5]) for a, c, s in vote_pools(4)]
    pool = as_pool(pools)
    for strategy, weighted in (("majority", False), ("weighted_bon", True)):
        curve = simulate(RunData.from_pool(pool), strategy, [1, 5], rng=0, draws=10,
                         estimator=MC)
        want = np.array([[brute.vote(a, c, n, s if weighted else None) for n in (1, 5)]
                         for a, c, s in pools])
        np.testing.assert_allclose(curve.per_problem, want, rtol=0, atol=1e-12)
        assert curve.exact and not curve.mc_se.any()


def test_ties_are_shared_not_sampled() -> None:
    # answers 0, 1, 0, 1 (0 correct), N = 2: 4 of the 6 pairs are 1-1 ties. Sharing ties
    # makes each draw worth 1, 0 or 1/2 (variance 1/12); sampling the tie-break would make it
    # 1 or 0 (variance 1/4). Both have mean 1/2.
    draws = 4000
    est = vote_curve(np.array([[0, 1, 0, 1]]), np.array([[1.0, 0.0]]), np.array([4]), [2],
                     draws=draws, rng=0)
    per_draw_var = est.se[0, 0] ** 2 * draws
    assert per_draw_var == pytest.approx(1 / 12, rel=0.1)
    assert abs(est.mean[0, 0] - 0.5) < 4 * est.se[0, 0]


def test_accuracy_standard_error_is_calibrated() -> None:
    pool = synthetic_pool(40, 64, rng=1)
    data = RunData.from_pool(pool)
    ns = [2, 8, 32]
    curves = [simulate(data, "majority", ns, rng=seed, draws=50, estimator=MC)
              for seed in range(60)]
    acc = np.array([c.accuracy for c in curves])
    reported = np.mean([c.accuracy_se for c in curves], axis=0)
    ratio = acc.std(axis=0, ddof=1) / reported
    # the spread of 60 estimates matches the reported SE (chi-square 95% band for 59 d.o.f.)
    assert np.all((ratio > 0.78) & (ratio < 1.22)), ratio


def test_results_depend_on_the_seed_not_on_n_jobs() -> None:
    pool = synthetic_pool(30, 48, rng=2)
    data = RunData.from_pool(pool)
    one = simulate(data, "weighted_bon", [3, 12], rng=7, draws=300, estimator=MC)
    two = simulate(data, "weighted_bon", [3, 12], rng=7, draws=300, n_jobs=2, estimator=MC)
    np.testing.assert_array_equal(one.per_problem, two.per_problem)
    other = simulate(data, "weighted_bon", [3, 12], rng=8, draws=300, estimator=MC)
    assert not np.array_equal(one.per_problem, other.per_problem)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"draws": 1}, "`draws` must be an integer >= 2"),
    ({"draws": 2.5}, "`draws` must be an integer >= 2"),
    ({"n_jobs": 0}, "`n_jobs` must be a non-zero integer"),
])
def test_invalid_monte_carlo_options(kwargs: dict, match: str) -> None:
    args = dict(answer=np.array([[0, 1]]), class_correct=np.array([[1.0, 0.0]]),
                sizes=np.array([2]), budgets=[1])
    with pytest.raises(ValueError, match=match):
        vote_curve(**args, **kwargs)
