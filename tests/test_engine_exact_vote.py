"""Exact majority@N (generating functions) and exact weighted best-of-N (enumeration) against
brute-force enumeration of every subset, ties split uniformly; the signed-score transform."""

from __future__ import annotations

import numpy as np
import pytest

from tests import engine_brute as brute
from workbench.engine import RunData, SamplePool, exact_vote, simulate
from workbench.errors import SignedScoreWarning, StrategyError

TOL = 1e-12


def random_pools(seed: int, count: int = 40, m_max: int = 9, k_max: int = 4):
    """SYNTHETIC pools: few answers (ties frequent), unanswered samples, scores on a grid
    that includes negatives and exact ties, correctness per answer (some answers never correct,
    some problems with two correct answers)."""
    gen = np.random.default_rng(seed)
    for _ in range(count):
        m = int(gen.integers(1, m_max + 1))
        k = int(gen.integers(1, k_max + 1))
        codes = gen.integers(-1, k, size=m)
        ok = gen.random(k) < 0.5
        answers = [None if a < 0 else int(a) for a in codes]
        correct = [bool(a is not None and ok[a]) for a in answers]
        scores = gen.choice([-0.5, 0.125, 0.5, 0.875, 2.0], size=m).tolist()
        yield answers, correct, scores


def pool_of(answers, correct, scores) -> SamplePool:
    return SamplePool.from_arrays(
        answer=[[-1 if a is None else a for a in answers]], correct=[correct], score=[scores],
        verifier="v")


@pytest.mark.parametrize("seed", range(3))
def test_majority_equals_enumeration_of_every_subset(seed: int) -> None:
    for answers, correct, _ in random_pools(seed):
        pool = pool_of(answers, correct, [0.0] * len(answers))
        ns = list(range(1, len(answers) + 1))
        got = exact_vote.majority(pool.answer, pool.class_correct, pool.sizes, ns)[0]
        want = [brute.vote(answers, correct, n) for n in ns]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


def test_majority_with_replacement_equals_enumeration_of_tuples() -> None:
    for answers, correct, _ in random_pools(11, count=15, m_max=4):
        pool = pool_of(answers, correct, [0.0] * len(answers))
        ns = [1, 2, 3, len(answers) + 1]  # past the pool: allowed with replacement
        got = exact_vote.majority(pool.answer, pool.class_correct, pool.sizes, ns,
                                  replace=True)[0]
        want = [brute.vote(answers, correct, n, replace=True) for n in ns]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", range(3))
def test_weighted_bon_equals_enumeration_signed_scores_and_ties(seed: int) -> None:
    for answers, correct, scores in random_pools(100 + seed):
        pool = pool_of(answers, correct, scores)
        ns = list(range(1, len(answers) + 1))
        got = exact_vote.weighted_bon(pool.answer, pool.class_correct, pool.sizes, ns,
                                      pool.score)[0]
        want = [brute.vote(answers, correct, n, scores) for n in ns]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


def test_ragged_pools_match_enumeration_row_by_row() -> None:
    pools = list(random_pools(21, count=8))
    m = max(len(a) for a, _, _ in pools)
    answer = np.full((len(pools), m), -1)
    correct = np.zeros((len(pools), m), bool)
    score = np.zeros((len(pools), m))
    for i, (a, c, s) in enumerate(pools):
        answer[i, :len(a)] = [-1 if x is None else x for x in a]
        correct[i, :len(a)], score[i, :len(a)] = c, s
    sizes = [len(a) for a, _, _ in pools]
    pool = SamplePool.from_arrays(answer=answer, correct=correct, score=score, sizes=sizes,
                                  verifier="v")
    ns = [1, min(sizes)]
    data = RunData.from_pool(pool)
    with pytest.warns(SignedScoreWarning):
        wb = simulate(data, "weighted_bon", ns)
    maj = simulate(data, "majority", ns)
    for i, (a, c, s) in enumerate(pools):
        np.testing.assert_allclose(maj.per_problem[i], [brute.vote(a, c, n) for n in ns],
                                   atol=TOL, rtol=0)
        np.testing.assert_allclose(wb.per_problem[i], [brute.vote(a, c, n, s) for n in ns],
                                   atol=TOL, rtol=0)
    assert maj.exact and wb.exact and not maj.mc_se.any() and not wb.mc_se.any()


def test_majority_hand_worked() -> None:
    # answers [A, A, B, C], A correct. N=2: {A,A} wins (1 of 6 pairs), A with B or C ties
    # 1-1 (4 pairs, share 1/2), B-C (1 pair) loses: (1 + 2)/6 = 1/2. N=3: {A,A,B}, {A,A,C}
    # win, {A,B,C} twice is a three-way tie worth 1/3 each: (2 + 2/3)/4 = 2/3.
    got = exact_vote.majority(np.array([[0, 0, 1, 2]]), np.array([[1.0, 0.0, 0.0]]),
                              np.array([4]), [2, 3])
    np.testing.assert_allclose(got, [[1 / 2, 2 / 3]], atol=TOL, rtol=0)


def test_exact_majority_matches_a_large_pool_monte_carlo() -> None:
    # a pool too large to enumerate (C(60, 20) subsets): exact vs 20,000 Monte-Carlo draws
    gen = np.random.default_rng(3)
    ans = np.minimum(gen.zipf(1.6, size=(5, 60)) - 1, 7)
    pool = SamplePool.from_arrays(answer=ans, correct=ans == 1)
    data = RunData.from_pool(pool)
    ex = simulate(data, "majority", [5, 20])
    mc = simulate(data, "majority", [5, 20], draws=20_000, rng=0, estimator="montecarlo")
    assert ex.exact and not mc.exact
    assert np.all(np.abs(ex.per_problem - mc.per_problem) <= 4 * mc.mc_se + 3 / 20_000)


def test_weighted_bon_is_exact_where_enumerable_and_monte_carlo_elsewhere() -> None:
    gen = np.random.default_rng(4)
    pool = SamplePool.from_arrays(answer=gen.integers(0, 3, (3, 20)),
                                  correct=gen.random((3, 20)) < 0.5,
                                  score=gen.random((3, 20)), verifier="v")
    curve = simulate(RunData.from_pool(pool), "weighted_bon", [2, 10], rng=0, draws=50,
                     enumeration_limit=1000)  # C(20, 2) = 190 <= 1000 < C(20, 10)
    assert curve.meta["estimators"] == ["exact (enumeration)", "Monte Carlo"]
    assert not curve.exact and curve.meta["draws"] == 50
    assert not curve.mc_se[:, 0].any() and curve.mc_se[:, 1].any()
    with pytest.raises(StrategyError, match=r"no exact form at N = 10"):
        simulate(RunData.from_pool(pool), "weighted_bon", [10], estimator="exact",
                 enumeration_limit=1000)


# --- signed scores: [5, 5, 5, 2] scored [-1, -1, -1, -0.5], answer 5 correct ---------------

SIGNED = SamplePool.from_arrays(answer=[[5, 5, 5, 2]], correct=[[1, 1, 1, 0]],
                                score=[[-1.0, -1.0, -1.0, -0.5]], verifier="rm")


def test_signed_raw_sums_warn_and_pick_the_lone_answer() -> None:
    # raw sums: answer 5 gets -3, answer 2 gets -0.5, so 2 (wrong) wins the whole pool
    with pytest.warns(SignedScoreWarning, match="negative scores on 1 problem"):
        curve = simulate(RunData.from_pool(SIGNED), "weighted_bon", [4])
    assert curve.accuracy.tolist() == [0.0]


@pytest.mark.parametrize("transform", ["sigmoid", "rank"])
def test_signed_scores_transformed_pick_the_agreed_answer(transform: str) -> None:
    # sigmoid: 3 x 0.2689 = 0.807 > 0.3775; rank: 3 x 2/4 = 1.5 > 4/4 = 1 (mid-ranks)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no signed-score warning once a transform is chosen
        curve = simulate(RunData.from_pool(SIGNED), "weighted_bon", [4], transform=transform)
    assert curve.accuracy.tolist() == [1.0]
    assert curve.params["transform"] == transform and transform in curve.label


def test_unknown_transform_is_refused() -> None:
    with pytest.raises(StrategyError, match="`transform` must be one of"):
        simulate(RunData.from_pool(SIGNED), "weighted_bon", [4], transform="softmax")
