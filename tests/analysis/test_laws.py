"""Scaling laws: parameter recovery on synthetic data with known truth (labelled synthetic),
reference values from outside implementations (statsmodels WLS/OLS, scipy curve_fit,
scipy.stats.betabinom, numerical quadrature), model choice by AIC, errors."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import integrate, optimize, stats

from tests.analysis.synthetic import curve
from workbench.analysis.laws import (
    LAWS,
    BetaBinomialLaw,
    CoverageLaw,
    SaturatingLaw,
    ZeroInflatedBetaBinomialLaw,
    compare_laws,
)
from workbench.errors import FitError


def _synthetic_counts(a: float, b: float, p: int, n: int, seed: int, pi0: float = 0.0):
    rng = np.random.default_rng(seed)
    rates = rng.beta(a, b, p)
    rates = np.where(rng.random(p) < pi0, 0.0, rates)
    return np.full(p, n), rng.binomial(n, rates)


# -- beta-binomial ------------------------------------------------------------------------------
def test_beta_binomial_recovers_known_parameters() -> None:
    n, c = _synthetic_counts(0.4, 1.2, 3000, 256, seed=0)  # synthetic truth alpha=.4, beta=1.2
    law = BetaBinomialLaw().fit(n, c)
    for name, truth in (("alpha", 0.4), ("beta", 1.2)):
        assert abs(law.params_[name] - truth) < 3 * law.standard_errors_[name], name
        lo, hi = law.confidence_intervals_.loc[name]
        assert lo < law.params_[name] < hi
    truth = 1 - np.exp(
        __import__("scipy.special", fromlist=["betaln"]).betaln(0.4, 1.2 + 10000)
        - __import__("scipy.special", fromlist=["betaln"]).betaln(0.4, 1.2)
    )
    pred = law.predict_interval([10000])
    assert pred.lower[0] < truth < pred.upper[0]


def test_beta_binomial_log_likelihood_matches_scipy_betabinom() -> None:
    n, c = _synthetic_counts(0.7, 2.0, 400, 50, seed=1)
    law = BetaBinomialLaw().fit(n, c)
    a, b = law.params_["alpha"], law.params_["beta"]
    ref = stats.betabinom.logpmf(c, n, a, b).sum()
    assert law.log_likelihood_ == pytest.approx(ref, rel=1e-12)
    assert law.AIC_ == pytest.approx(4 - 2 * ref, rel=1e-12)
    # and the optimum is the optimum of scipy's likelihood (Nelder-Mead from elsewhere)
    ref_opt = optimize.minimize(
        lambda w: -stats.betabinom.logpmf(c, n, *np.exp(w)).sum(), [0.0, 0.0],
        method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 10000},
    )
    np.testing.assert_allclose(np.exp(ref_opt.x), [a, b], rtol=1e-4)


def test_pass_at_k_formula_matches_numerical_integration() -> None:
    n, c = _synthetic_counts(0.5, 1.5, 500, 64, seed=2)
    law = BetaBinomialLaw().fit(n, c)
    a, b = law.params_["alpha"], law.params_["beta"]
    for k in (1, 7, 300):
        ref, _ = integrate.quad(lambda p, k=k: (1 - (1 - p) ** k) * stats.beta.pdf(p, a, b), 0, 1,
                                limit=200)
        assert law.predict(k)[0] == pytest.approx(ref, rel=1e-6)
    assert law.predict(1)[0] == pytest.approx(a / (a + b), rel=1e-12)  # pass@1 = Beta mean


def test_per_problem_posterior_prediction_is_the_beta_posterior() -> None:
    n, c = _synthetic_counts(0.5, 1.5, 300, 20, seed=3)
    law = BetaBinomialLaw().fit(n, c)
    a, b = law.params_["alpha"], law.params_["beta"]
    pp = law.predict_per_problem([1, 5])
    np.testing.assert_allclose(pp[:, 0], (a + c) / (a + b + n), rtol=1e-12)  # posterior mean
    # pass@5 of the posterior by quadrature, for one problem
    i = int(np.argmax(c > 3))
    ref, _ = integrate.quad(
        lambda p: (1 - (1 - p) ** 5) * stats.beta.pdf(p, a + c[i], b + n[i] - c[i]), 0, 1
    )
    assert pp[i, 1] == pytest.approx(ref, rel=1e-8)


def test_profile_and_wald_intervals_agree_when_the_likelihood_is_quadratic() -> None:
    n, c = _synthetic_counts(0.6, 1.4, 1500, 100, seed=4)
    wald = BetaBinomialLaw().fit(n, c).confidence_intervals_.to_numpy()
    prof_law = BetaBinomialLaw(ci_method="profile").fit(n, c)
    prof = prof_law.confidence_intervals_.to_numpy()
    np.testing.assert_allclose(prof, wald, rtol=0.01)
    # the profile bound is where the likelihood-ratio statistic hits chi2_1(0.95)
    lo_alpha = prof[0, 0]
    inner = optimize.minimize_scalar(
        lambda lb: prof_law._neg_log_likelihood(np.array([lo_alpha, np.exp(lb)])),
        bounds=(-3, 3), method="bounded", options={"xatol": 1e-10},
    )
    lr = 2 * (inner.fun + prof_law.log_likelihood_)
    assert lr == pytest.approx(stats.chi2.ppf(0.95, 1), abs=1e-3)


def test_problem_bootstrap_interval_is_close_to_the_delta_interval() -> None:
    n, c = _synthetic_counts(0.4, 1.2, 500, 256, seed=5)
    law = BetaBinomialLaw().fit(n, c).bootstrap(150, rng=0)
    assert law.bootstrap_kind_ == "problems" and law.bootstrap_params_.shape == (150, 2)
    delta = law.predict_interval([1280])
    boot = law.predict_interval([1280], method="bootstrap")
    width_d = delta.upper[0] - delta.lower[0]
    width_b = boot.upper[0] - boot.lower[0]
    assert 0.6 < width_b / width_d < 1.6
    assert boot.lower[0] < law.predict(1280)[0] < boot.upper[0]


def test_zero_inflated_recovers_never_solved_share_and_wins_by_aic() -> None:
    # synthetic truth: 25% of problems never solved, the rest Beta(1.0, 1.5)
    n, c = _synthetic_counts(1.0, 1.5, 2000, 128, seed=6, pi0=0.25)
    zi = ZeroInflatedBetaBinomialLaw().fit(n, c)
    plain = BetaBinomialLaw().fit(n, c)
    assert abs(zi.params_["pi0"] - 0.25) < 3 * zi.standard_errors_["pi0"]
    assert abs(zi.params_["alpha"] - 1.0) < 3 * zi.standard_errors_["alpha"]
    table = compare_laws([plain, zi])
    assert table["law"].iloc[0] == "zero-inflated-beta-binomial"
    assert table["delta_AIC"].iloc[1] > 10
    assert zi.predict(1e7)[0] == pytest.approx(1 - zi.params_["pi0"], abs=1e-3)  # the plateau


def test_zero_inflation_without_support_is_a_boundary_fit_error() -> None:
    n, c = _synthetic_counts(1.0, 1.0, 800, 64, seed=7)  # no never-solved problems
    with pytest.raises(FitError, match="`pi0` ran to the boundary.*What to try"):
        ZeroInflatedBetaBinomialLaw().fit(n, c)


@pytest.mark.parametrize(
    ("n", "c", "match"),
    [
        ([10, 10], [3, 11], "0 <= c <= n; problem 1 has c=11"),
        ([10, 0], [3, 0], "`n` must be >= 1"),
        ([10], [3], "at least 2 problems"),
        ([10, 10], [3.5, 2], "whole numbers"),
        ([10, 10, 10], [3, 2], "equal length"),
    ],
)
def test_counts_input_errors_name_the_parameter(n, c, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        BetaBinomialLaw().fit(n, c)


# -- coverage law ----------------------------------------------------------------------------
def _coverage_points(seed: int, se: float = 0.004):
    rng = np.random.default_rng(seed)
    k = 2.0 ** np.arange(0, 11)
    acc = np.exp(-1.3 * k ** -0.35) + se * rng.standard_normal(k.size)  # synthetic a=1.3 b=.35
    return k, acc, np.full(k.size, se)


def test_coverage_law_equals_statsmodels_wls_in_log_space() -> None:
    k, acc, se = _coverage_points(0)
    law = CoverageLaw().fit(k, acc, se)
    y = np.log(-np.log(acc))
    s = se / (acc * np.abs(np.log(acc)))
    x = sm.add_constant(np.log(k))
    ref = sm.WLS(y, x, weights=1 / s**2).fit(cov_type="fixed scale")
    assert np.log(law.params_["a"]) == pytest.approx(ref.params[0], rel=1e-6)
    assert law.params_["b"] == pytest.approx(-ref.params[1], rel=1e-6)
    assert law.standard_errors_["b"] == pytest.approx(ref.bse[1], rel=1e-4)
    # se of log a from the reference; ours is for a = exp(log a): delta method
    assert law.standard_errors_["a"] == pytest.approx(law.params_["a"] * ref.bse[0], rel=1e-4)


def test_coverage_law_without_se_is_ols_with_ml_sigma() -> None:
    k, acc, _ = _coverage_points(1)
    law = CoverageLaw().fit(k, acc)
    assert "sigma" in law.params_.index
    y = np.log(-np.log(acc))
    ref = sm.OLS(y, sm.add_constant(np.log(k))).fit()
    assert law.params_["b"] == pytest.approx(-ref.params[1], rel=1e-6)
    m, p = k.size, 2  # ML sigma^2 = RSS / m, OLS uses RSS / (m - p)
    assert law.standard_errors_["b"] == pytest.approx(ref.bse[1] * np.sqrt((m - p) / m), rel=1e-3)
    assert law.params_["sigma"] == pytest.approx(np.sqrt(ref.ssr / m), rel=1e-4)


def test_coverage_law_drops_points_at_zero_or_one_and_says_so() -> None:
    k, acc, se = _coverage_points(2)
    acc = acc.copy()
    acc[-1] = 1.0
    law = CoverageLaw().fit(k, acc, se)
    assert law.dropped_budgets_.tolist() == [1024.0]
    assert law.n_obs_ == k.size - 1


def test_coverage_law_raw_space_recovers_truth() -> None:
    k, acc, se = _coverage_points(3)
    law = CoverageLaw(space="raw").fit(k, acc, se)
    assert abs(law.params_["a"] - 1.3) < 3 * law.standard_errors_["a"]
    assert abs(law.params_["b"] - 0.35) < 3 * law.standard_errors_["b"]


# -- saturating law --------------------------------------------------------------------------
def test_saturating_law_equals_scipy_curve_fit() -> None:
    rng = np.random.default_rng(4)
    n = 2.0 ** np.arange(0, 11)
    se = np.full(n.size, 0.003)
    acc = 0.87 - 0.11 * n**-0.6 + se * rng.standard_normal(n.size)  # synthetic truth
    law = SaturatingLaw().fit(n, acc, se)
    popt, pcov = optimize.curve_fit(
        lambda x, a, c, d: a - c * x**-d, n, acc, p0=[0.8, 0.1, 0.5], sigma=se,
        absolute_sigma=True,
    )
    np.testing.assert_allclose(law.params_.to_numpy(), popt, rtol=1e-4)
    np.testing.assert_allclose(law.standard_errors_.to_numpy(), np.sqrt(np.diag(pcov)), rtol=0.05)
    for name, truth in (("a_inf", 0.87), ("c", 0.11), ("d", 0.6)):
        assert abs(law.params_[name] - truth) < 3 * law.standard_errors_[name], name


def test_fit_curve_uses_problem_rows_and_bootstraps_over_problems() -> None:
    # synthetic per-problem majority-like curves around a saturating truth
    rng = np.random.default_rng(5)
    budgets = 2.0 ** np.arange(0, 9)
    truth = 0.8 - 0.3 * budgets**-0.7
    pp = np.clip(truth + rng.normal(0, 0.25, (400, 1)) + rng.normal(0, 0.05, (400, 9)), 0, 1)
    c = curve("majority", pp, budgets=budgets)
    law = SaturatingLaw().fit_curve(c)
    assert law.n_obs_ == 9
    law.bootstrap(60, rng=0)
    assert law.bootstrap_kind_ == "problems"
    pred = law.predict_interval([1000], method="bootstrap")
    assert pred.lower[0] < law.predict(1000)[0] < pred.upper[0]


def test_flat_curve_is_not_identified() -> None:
    n = 2.0 ** np.arange(0, 8)
    with pytest.raises(FitError, match="What to try"):
        SaturatingLaw().fit(n, np.full(n.size, 0.5), np.full(n.size, 0.01))


def test_curve_input_errors() -> None:
    with pytest.raises(ValueError, match="`se` must be positive"):
        SaturatingLaw().fit([1, 2, 4, 8], [0.1, 0.2, 0.3, 0.4], [0.1, 0, 0.1, 0.1])
    with pytest.raises(ValueError, match="`budgets` must be finite and > 0"):
        SaturatingLaw().fit([0, 2, 4, 8], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="needs at least 4 usable points"):
        SaturatingLaw().fit([1, 2, 4], [0.1, 0.2, 0.3], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="`space` must be one of"):
        SaturatingLaw(space="log")


# -- base class behaviour ----------------------------------------------------------------------
def test_unfitted_law_and_missing_bootstrap_raise_fit_error() -> None:
    with pytest.raises(FitError, match="call `fit"):
        BetaBinomialLaw().predict(3)
    n, c = _synthetic_counts(0.5, 1.0, 100, 20, seed=8)
    law = BetaBinomialLaw().fit(n, c)
    with pytest.raises(FitError, match="call `bootstrap"):
        law.predict_interval([5], method="bootstrap")
    with pytest.raises(ValueError, match="`method` must be 'delta' or 'bootstrap'"):
        law.predict_interval([5], method="wald")
    with pytest.raises(ValueError, match="`alpha` must be in"):
        BetaBinomialLaw(alpha=1.5)


def test_summary_is_a_dataframe_with_aic_and_fit_returns_self() -> None:
    n, c = _synthetic_counts(0.5, 1.0, 100, 20, seed=9)
    law = BetaBinomialLaw()
    assert law.fit(n, c) is law
    df = law.summary
    assert df.index.tolist() == ["alpha", "beta"]
    assert df.columns.tolist() == ["coef", "se", "lower 95%", "upper 95%"]
    assert df.attrs["AIC"] == law.AIC_
    assert "AIC" in law.print_summary()


def test_compare_laws_refuses_different_data() -> None:
    n, c = _synthetic_counts(0.5, 1.0, 100, 20, seed=10)
    n2, c2 = _synthetic_counts(0.5, 1.0, 100, 20, seed=11)
    with pytest.raises(ValueError, match="not fitted to the same data"):
        compare_laws([BetaBinomialLaw().fit(n, c), BetaBinomialLaw().fit(n2, c2)])


def test_registry_names() -> None:
    assert sorted(LAWS) == [
        "beta-binomial", "coverage", "saturating", "zero-inflated-beta-binomial"
    ]
