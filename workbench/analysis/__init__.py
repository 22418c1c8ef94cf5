"""Analysis on top of the engine's curves: difficulty bins, scaling laws, compute-optimal
policies, the pretraining / test-time exchange and the planner (DESIGN.md, "Analysis").

Modules: `bins` (difficulty bins), `laws` (scaling laws with CIs and AIC), `fits` (laws fitted
to a stored run), `exchange` (Snell et al. 2024, section 7), `inputs` (adapters from run data),
`policy`, `efficiency`, `planner`, `candidates`, `budget_axis` (compute-optimal policies).

>>> from workbench.analysis import oracle_bins
>>> oracle_bins(["a", "b"], [0.9, 0.1], n_bins=2).as_mapping()
{'a': 'L1', 'b': 'L2'}
"""

from workbench.analysis.bins import Bins, absolute_bins, oracle_bins, predicted_bins, quantile_bins
from workbench.analysis.exchange import (
    SNELL_R,
    ExchangeReport,
    ExchangeResult,
    ExchangeRow,
    exchange,
    exchange_generations,
    exchange_runs,
)
from workbench.analysis.fits import LawFit, fit_run
from workbench.analysis.laws import (
    LAWS,
    BetaBinomialLaw,
    CoverageLaw,
    Law,
    SaturatingLaw,
    ZeroInflatedBetaBinomialLaw,
    compare_laws,
)

__all__ = [
    "LAWS",
    "SNELL_R",
    "BetaBinomialLaw",
    "Bins",
    "CoverageLaw",
    "ExchangeReport",
    "ExchangeResult",
    "ExchangeRow",
    "Law",
    "LawFit",
    "SaturatingLaw",
    "ZeroInflatedBetaBinomialLaw",
    "absolute_bins",
    "compare_laws",
    "exchange",
    "exchange_generations",
    "exchange_runs",
    "fit_run",
    "oracle_bins",
    "predicted_bins",
    "quantile_bins",
]
