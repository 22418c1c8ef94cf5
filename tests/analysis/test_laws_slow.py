"""Slow statistical tests of the laws: confidence-interval coverage over many synthetic data sets.

Synthetic (labelled): per-problem rates drawn from a known Beta, counts drawn binomially, so the
true pass@k = 1 - B(alpha, beta + k) / B(alpha, beta) is known exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import betaln

from workbench.analysis.laws import BetaBinomialLaw

pytestmark = pytest.mark.slow


def _true_pass_at_k(a: float, b: float, k: np.ndarray) -> np.ndarray:
    return np.asarray(-np.expm1(betaln(a, b + k) - betaln(a, b)))


@pytest.mark.parametrize(
    ("a", "b", "problems", "n"),
    [
        (0.4, 1.2, 500, 256),  # shaped like MATH-500 / Llama-3.2-1B (one session)
        (1.0, 0.35, 127, 256),  # shaped like GSM8K / Llama-3-8B: easy, few problems
    ],
)
def test_beta_binomial_delta_interval_covers_far_pass_at_k(
    a: float, b: float, problems: int, n: int
) -> None:
    rng = np.random.default_rng(20240917)
    ks = np.array([5 * n, 10000.0])  # 5x and ~40x past the pool
    truth = _true_pass_at_k(a, b, ks)
    sets = 200
    hits = np.zeros(ks.size)
    for _ in range(sets):
        c = rng.binomial(n, rng.beta(a, b, problems))
        pred = BetaBinomialLaw().fit(n, c).predict_interval(ks)
        hits += (pred.lower <= truth) & (truth <= pred.upper)
    coverage = hits / sets
    # nominal 95%; 200 sets give a binomial sd of ~1.5 points
    assert np.all(coverage >= 0.90) and np.all(coverage <= 0.99), coverage.tolist()
