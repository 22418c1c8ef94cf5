"""Bootstrap over problems: agrees with scipy.stats.bootstrap and with a plain loop, pairs
problems by id, validates its input, degrades to NaN on degenerate data, and covers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import betaln

from workbench.engine import (
    Cost,
    Curve,
    RunData,
    SamplePool,
    bootstrap_curve,
    bootstrap_matrix,
    paired_difference,
    simulate,
)
from workbench.errors import CoverageWarning, DegenerateDataWarning


def curve_of(ids: list[str], per_problem: np.ndarray, name: str = "s") -> Curve:
    b = per_problem.shape[1]
    z = np.zeros(b)
    return Curve(name, {}, "r", np.array(ids), np.arange(1, b + 1), per_problem,
                 np.zeros_like(per_problem), Cost(z, z, z, z), True)


@pytest.mark.parametrize("method", ["percentile", "basic", "BCa"])
def test_interval_equals_scipy_bootstrap_on_the_same_resamples(method: str) -> None:
    x = np.random.default_rng(0).beta(0.5, 0.8, size=37)
    ours = bootstrap_matrix(x[:, None], n_resamples=999, method=method, rng=42)
    ref = stats.bootstrap((x,), np.mean, n_resamples=999, method=method,
                          rng=np.random.default_rng(42), vectorized=True)
    np.testing.assert_allclose(ours.bootstrap_distribution[:, 0], ref.bootstrap_distribution,
                               rtol=1e-12)
    np.testing.assert_allclose(
        [ours.confidence_interval.low[0], ours.confidence_interval.high[0]],
        [ref.confidence_interval.low, ref.confidence_interval.high], rtol=1e-10)
    assert ours.standard_error[0] == pytest.approx(ref.standard_error, rel=1e-10)


def test_matrix_resampling_equals_a_loop_over_replicates() -> None:
    gen = np.random.default_rng(1)
    x = gen.random((50, 4))
    res = bootstrap_matrix(x, n_resamples=300, method="percentile", rng=5, batch=64)
    # the same draws, one replicate at a time (each chunk of 64 has its own spawned stream)
    streams = np.random.default_rng(5).spawn(5)
    loop = np.concatenate([
        x[draw.integers(0, 50, size=(n, 50))].mean(axis=1)
        for n, draw in zip([64, 64, 64, 64, 44], streams, strict=True)
    ])
    np.testing.assert_allclose(res.bootstrap_distribution, loop, rtol=1e-12)


def test_curve_bootstrap_keeps_distribution_budgets_and_label() -> None:
    pool = SamplePool.from_arrays(correct=np.random.default_rng(2).random((30, 8)) < 0.3)
    curve = simulate(RunData.from_pool(pool), "pass_at_k", [1, 4, 8])
    calls: list[tuple[int, int]] = []
    res = bootstrap_curve(curve, n_resamples=500, rng=0, batch=200,
                          progress=lambda d, t: calls.append((d, t)))
    assert res.bootstrap_distribution.shape == (500, 3)
    assert res.budgets.tolist() == [1, 4, 8] and res.label == "pass_at_k"
    np.testing.assert_allclose(res.estimate, curve.accuracy)
    assert np.all(res.confidence_interval.low <= res.estimate)
    assert np.all(res.estimate <= res.confidence_interval.high)
    assert calls == [(200, 500), (400, 500), (500, 500)]


def test_paired_difference_matches_problems_by_id() -> None:
    a = curve_of(["p1", "p2", "p3", "p4"], np.array([[1.0], [0.0], [1.0], [0.5]]), "a")
    b = curve_of(["p4", "p3", "p2", "p1"], np.array([[0.5], [0.0], [0.0], [1.0]]), "b")
    res = paired_difference(a, b, n_resamples=400, rng=0, method="percentile")
    assert res.estimate.tolist() == [0.25]  # per problem: 0, 0, 1, 0
    assert res.label == "a - b"
    # every replicate is a mean of {0, 0, 1, 0} resampled: multiples of 1/4 in [0, 1]
    assert set(np.unique(res.bootstrap_distribution * 4)) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_paired_difference_is_tighter_than_unpaired_on_correlated_curves() -> None:
    gen = np.random.default_rng(3)
    base = gen.random((200, 1))
    a = curve_of([str(i) for i in range(200)], base + 0.02, "a")
    b = curve_of([str(i) for i in range(200)], base + 0.01 * gen.random((200, 1)), "b")
    paired = paired_difference(a, b, n_resamples=1000, rng=0)
    single = bootstrap_curve(a, n_resamples=1000, rng=0)
    assert paired.standard_error[0] < single.standard_error[0] / 10
    assert paired.confidence_interval.low[0] > 0  # a beats b on every problem


def test_paired_difference_drops_unmatched_problems_with_a_warning() -> None:
    a = curve_of(["p1", "p2", "p3"], np.array([[1.0], [0.0], [1.0]]))
    b = curve_of(["p2", "p3", "p9"], np.array([[0.0], [0.0], [1.0]]))
    with pytest.warns(CoverageWarning, match="uses the 2 problems both curves cover"):
        res = paired_difference(a, b, n_resamples=50, rng=0, method="percentile")
    assert res.n_problems == 2 and res.estimate.tolist() == [0.5]


def test_paired_difference_needs_equal_budgets() -> None:
    a = curve_of(["p1", "p2"], np.array([[1.0, 1.0], [0.0, 1.0]]))
    b = curve_of(["p1", "p2"], np.array([[1.0], [0.0]]))
    with pytest.raises(ValueError, match="`curve_b` has budgets"):
        paired_difference(a, b)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_resamples": 0}, "`n_resamples` must be a positive integer"),
    ({"n_resamples": 10.5}, "`n_resamples` must be a positive integer"),
    ({"confidence_level": 1.0}, r"`confidence_level` must be in \(0, 1\)"),
    ({"confidence_level": "high"}, r"`confidence_level` must be in \(0, 1\)"),
    ({"method": "studentized"}, "`method` must be one of percentile, basic, BCa"),
    ({"batch": 0}, "`batch` must be a positive integer or None"),
])
def test_invalid_parameters_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bootstrap_matrix(np.ones((3, 1)), **kwargs)


@pytest.mark.parametrize(("x", "match"), [
    (np.ones(3), "`per_problem` must be a non-empty 2-D"),
    (np.array([[0.5], [np.nan]]), "`per_problem` must be finite"),
])
def test_invalid_data_is_named(x: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bootstrap_matrix(x)


def test_one_problem_gives_nan_and_a_warning() -> None:
    with pytest.warns(DegenerateDataWarning, match="at least 2 problems"):
        res = bootstrap_matrix(np.array([[0.3, 0.4]]), n_resamples=20, rng=0)
    assert np.isnan(res.confidence_interval.low).all()
    assert np.isnan(res.confidence_interval.high).all()


def test_bca_without_spread_is_nan_but_percentile_is_the_point() -> None:
    x = np.column_stack([np.full(10, 0.4), np.linspace(0, 1, 10)])
    with pytest.warns(DegenerateDataWarning, match="at 1 of 2 budgets"):
        bca = bootstrap_matrix(x, n_resamples=200, rng=0, method="BCa")
    assert np.isnan(bca.confidence_interval.low[0]) and np.isfinite(bca.confidence_interval.low[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pct = bootstrap_matrix(x, n_resamples=200, rng=0, method="percentile")
    assert pct.confidence_interval.low[0] == pytest.approx(0.4)
    assert pct.confidence_interval.high[0] == pytest.approx(0.4)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_95_percent_intervals_cover_the_truth_93_to_97_percent(method: str) -> None:
    """1,000 SYNTHETIC data sets with known truth: 120 problems, success rates ~ Beta(0.6,
    0.9), 16 samples each; pass@k of the data set estimates the population's pass@k, which is
    1 - B(a, b + k)/B(a, b) exactly."""
    a, b, n, p = 0.6, 0.9, 16, 120
    ks = np.array([1, 4, 16])
    truth = 1 - np.exp(betaln(a, b + ks) - betaln(a, b))
    gen = np.random.default_rng(2024)
    hits = np.zeros(len(ks))
    for _ in range(1000):
        theta = gen.beta(a, b, size=p)
        correct = gen.random((p, n)) < theta[:, None]
        curve = simulate(RunData.from_pool(SamplePool.from_arrays(correct=correct)),
                         "pass_at_k", ks)
        ci = bootstrap_curve(curve, n_resamples=2000, rng=gen, method=method).confidence_interval
        hits += (ci.low <= truth) & (truth <= ci.high)
    coverage = hits / 1000
    assert np.all((coverage >= 0.93) & (coverage <= 0.97)), coverage
