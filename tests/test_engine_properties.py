"""Property tests of the exact estimators (hypothesis): monotonicity, order invariance, and
best-of-N with a perfect verifier equal to pass@k."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.engine import RunData, SamplePool, exact, simulate

pools = st.integers(1, 40).flatmap(
    lambda m: st.tuples(
        st.lists(st.booleans(), min_size=m, max_size=m),
        st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1),
                 min_size=m, max_size=m),
        st.lists(st.integers(-1, 4), min_size=m, max_size=m),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_pass_at_k_is_non_decreasing_in_k_and_ends_at_coverage(nc: tuple[int, int]) -> None:
    n, c = nc
    curve = exact.pass_at_k([n], [c], np.arange(1, n + 1))[0]
    assert np.all(np.diff(curve) >= -1e-15)
    assert 0.0 <= curve[0] <= curve[-1] <= 1.0
    assert curve[-1] == (1.0 if c else 0.0)
    assert abs(curve[0] - c / n) < 1e-14


@settings(max_examples=150, deadline=None)
@given(pools)
def test_exact_results_are_invariant_to_sample_order(pool: tuple) -> None:
    correct, score, answer, rnd = pool
    m = len(correct)
    perm = list(range(m))
    rnd.shuffle(perm)
    ns = list(range(1, m + 1))

    def curves(order: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = SamplePool.from_arrays(
            correct=[[correct[i] for i in order]], score=[[score[i] for i in order]],
            answer=[[answer[i] for i in order]], verifier="v",
        )
        data = RunData.from_pool(p)
        return (simulate(data, "pass_at_k", ns).per_problem,
                simulate(data, "best_of_n", ns).per_problem,
                simulate(data, "majority", [1, m], draws=2).per_problem)  # both closed forms

    for a, b in zip(curves(list(range(m))), curves(perm), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(pools)
def test_best_of_n_with_a_perfect_verifier_equals_pass_at_k(pool: tuple) -> None:
    correct, _, _, _ = pool
    m = len(correct)
    ns = np.arange(1, m + 1)
    perfect = np.array(correct, dtype=float)[None]  # scores 1 on correct samples, 0 otherwise
    bon = exact.best_of_n(perfect, np.array([correct]), np.array([m]), ns)
    np.testing.assert_allclose(bon, exact.pass_at_k([m], [sum(correct)], ns), atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(pools)
def test_best_of_n_with_an_uninformative_verifier_equals_one_sample(pool: tuple) -> None:
    correct, _, _, _ = pool
    m = len(correct)
    flat = np.full((1, m), 0.5)  # every score tied: the pick is a uniform sample, at any N
    bon = exact.best_of_n(flat, np.array([correct]), np.array([m]), np.arange(1, m + 1))
    np.testing.assert_allclose(bon, np.mean(correct), atol=1e-12)
