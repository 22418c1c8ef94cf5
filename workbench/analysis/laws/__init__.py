"""Scaling laws with maximum-likelihood fits, standard errors, CIs, AIC and prediction intervals.

Each law is a short class on the `Law` base (the lifelines pattern):

- `CoverageLaw`: -log pass@k = a k^(-b) (Large Language Monkeys), fitted to a coverage curve.
- `BetaBinomialLaw`: per-problem pass rates ~ Beta, fitted to counts; extrapolates pass@k.
- `ZeroInflatedBetaBinomialLaw`: the same plus a share of never-solved problems.
- `SaturatingLaw`: acc(N) = a_inf - c N^(-d), for selection curves (majority, best-of-N).

`compare_laws` ranks laws fitted to the same data by AIC.

>>> import numpy as np
>>> from workbench.analysis.laws import BetaBinomialLaw
>>> rng = np.random.default_rng(0)  # synthetic counts, truth Beta(0.4, 1.2)
>>> n = np.full(500, 256); c = rng.binomial(n, rng.beta(0.4, 1.2, 500))
>>> law = BetaBinomialLaw().fit(n, c)
>>> law.summary.columns.tolist()
['coef', 'se', 'lower 95%', 'upper 95%']
"""

from workbench.analysis.laws._base import Law, Prediction, compare_laws
from workbench.analysis.laws._counts import (
    BetaBinomialLaw,
    CountsData,
    ZeroInflatedBetaBinomialLaw,
    counts_data,
)
from workbench.analysis.laws._curves import CoverageLaw, CurveData, CurveLaw, SaturatingLaw

LAWS: dict[str, type[Law]] = {
    law.name: law
    for law in (CoverageLaw, BetaBinomialLaw, ZeroInflatedBetaBinomialLaw, SaturatingLaw)
}
"""Every law by its `name` (the CLI's `--law` choices)."""

COUNT_LAWS = (BetaBinomialLaw, ZeroInflatedBetaBinomialLaw)
CURVE_LAWS = (CoverageLaw, SaturatingLaw)

__all__ = [
    "COUNT_LAWS",
    "CURVE_LAWS",
    "LAWS",
    "BetaBinomialLaw",
    "CountsData",
    "CoverageLaw",
    "CurveData",
    "CurveLaw",
    "Law",
    "Prediction",
    "SaturatingLaw",
    "ZeroInflatedBetaBinomialLaw",
    "compare_laws",
    "counts_data",
]
