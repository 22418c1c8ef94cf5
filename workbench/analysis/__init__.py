"""Analysis on top of the engine's curves: difficulty bins, scaling laws, compute-optimal
policies, the pretraining / test-time exchange and the planner (DESIGN.md, "Analysis").

Modules: `bins` (difficulty bins), `laws` (scaling laws with CIs and AIC), `fits` (laws fitted
to a stored run), `exchange` (Snell et al. 2024, section 7), `inputs` (adapters from run data),
`policy`, `efficiency`, `planner`, `candidates`, `budget_axis` (compute-optimal policies);
the pipeline that reports and notebooks share: `pipeline` (`analyse_run`: one run -> typed
results), `demo` (`run_demo`), `lawfits` (laws as a report checks them), `ingest`
(`ensure_ingested`), `settings` (`Settings`, `Notes`), `labelled` (`LabelledCurve`).

>>> from workbench.analysis import oracle_bins
>>> oracle_bins(["a", "b"], [0.9, 0.1], n_bins=2).as_mapping()
{'a': 'L1', 'b': 'L2'}
"""

from importlib import import_module
from typing import Any

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

# The pipeline's names are imported on first use (PEP 562): they pull in the engine and the
# store, which `import workbench.analysis` alone should not.
_LAZY = {
    "DemoResult": "demo", "run_demo": "demo",
    "ensure_ingested": "ingest", "missing_runs": "ingest",
    "LabelledCurve": "labelled",
    "RunAnalysis": "pipeline", "analyse_run": "pipeline", "exchange_pair": "pipeline",
    "Notes": "settings", "Settings": "settings",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'workbench.analysis' has no attribute {name!r}")
    return getattr(import_module(f"workbench.analysis.{_LAZY[name]}"), name)


__all__ = [*sorted(_LAZY),
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
