"""Scaling laws on REAL data: sampling-ceilings MATH-500, Llama-3.2-1B-Instruct (mirror files).

The run math500-llama-3.2-1b-s<i> holds one session (256 samples per problem); the combined run
holds all five (n = 1280). With n = k the unbiased pass@1280 is the share of problems with any
correct sample, so the combined run OBSERVES pass@1280. A law fitted on one session must predict
it within its own confidence interval. (The session's samples are part of the combined pool, so
this is an extrapolation check from 256 to 1280 samples, not a fully independent hold-out.)
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.analysis.ceilings import ceilings_store
from workbench.analysis.inputs import counts_curve
from workbench.analysis.laws import BetaBinomialLaw, CoverageLaw, ZeroInflatedBetaBinomialLaw
from workbench.engine import CountsPool, load_run_data
from workbench.errors import FitError
from workbench.importers import sampling_ceilings as sc
from workbench.store import RunStore


@pytest.fixture(scope="module")
def store() -> RunStore:
    return ceilings_store()


def _counts(store: RunStore, run_id: str) -> CountsPool:
    counts = load_run_data(store, run_id).counts
    assert counts is not None
    return counts


@pytest.fixture(scope="module")
def observed_pass_at_1280(store: RunStore) -> float:
    combined = _counts(store, sc.MATH500_RUN)
    assert np.all(combined.n == 1280)
    value = float(counts_curve(combined, [1280]).accuracy[0])
    assert value == pytest.approx(np.mean(combined.c > 0), abs=1e-12)  # n = k: any correct
    return value


@pytest.mark.parametrize("session", range(5))
def test_beta_binomial_on_one_session_predicts_pass_at_1280_of_all_five(
    store: RunStore, observed_pass_at_1280: float, session: int
) -> None:
    counts = _counts(store, f"{sc.MATH500_RUN}-s{session}")
    assert np.all(counts.n == 256)
    law = BetaBinomialLaw().fit(counts.n, counts.c)
    pred = law.predict_interval([1280])
    assert pred.lower[0] <= observed_pass_at_1280 <= pred.upper[0], pred.to_frame()
    # and in-sample: the Beta mean is the session's pass@1 within the interval
    p1 = law.predict_interval([1])
    assert p1.lower[0] <= np.mean(counts.c / counts.n) <= p1.upper[0]


def test_session_0_bootstrap_interval_also_covers(
    store: RunStore, observed_pass_at_1280: float
) -> None:
    counts = _counts(store, f"{sc.MATH500_RUN}-s0")
    law = BetaBinomialLaw().fit(counts.n, counts.c).bootstrap(200, kind="problems", rng=7)
    pred = law.predict_interval([1280], method="bootstrap")
    assert pred.lower[0] <= observed_pass_at_1280 <= pred.upper[0], pred.to_frame()


def test_real_session_shows_no_excess_of_never_solved_problems(store: RunStore) -> None:
    # finding on this data: the Beta's own mass near p = 0 already explains the 48 problems with
    # no correct sample in 256; the zero-inflated law's share pi0 runs to its boundary 0
    counts = _counts(store, f"{sc.MATH500_RUN}-s0")
    with pytest.raises(FitError, match="`pi0` ran to the boundary"):
        ZeroInflatedBetaBinomialLaw().fit(counts.n, counts.c)


def test_coverage_law_with_problem_bootstrap_predicts_pass_at_1280(
    store: RunStore, observed_pass_at_1280: float
) -> None:
    counts = _counts(store, f"{sc.MATH500_RUN}-s0")
    curve = counts_curve(counts, [1, 2, 4, 8, 16, 32, 64, 128, 256])
    law = CoverageLaw().fit_curve(curve).bootstrap(200, kind="problems", rng=3)
    pred = law.predict_interval([1280], method="bootstrap")
    assert pred.lower[0] <= observed_pass_at_1280 <= pred.upper[0], pred.to_frame()
