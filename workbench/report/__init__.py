"""Reports: the analysis behind them, Altair chart builders (shared with notebooks) and
self-contained HTML/PNG output.

- `analyse_run(store, run_id)` -> `RunAnalysis`; `run_report(analysis)` -> `Report`;
- `run_demo(store)` -> `DemoResult`; `demo_report(result)` -> `Report`;
- `ensure_ingested(store)` loads the registered datasets (and this project's own runs);
- `charts` (builders on tidy frames) and `frames` (results -> those frames) for notebooks.

>>> from workbench.report import Settings
>>> Settings().n_boot
2000
"""

from workbench.report import charts, frames
from workbench.report.demo import DemoResult, run_demo
from workbench.report.html import Report
from workbench.report.ingest import ensure_ingested, missing_runs
from workbench.report.lawfits import LawFit, counts_laws, curve_law
from workbench.report.pipeline import RunAnalysis, analyse_run, exchange_pair
from workbench.report.render import demo_report, run_report
from workbench.report.settings import Settings

__all__ = [
    "DemoResult", "LawFit", "Report", "RunAnalysis", "Settings", "analyse_run", "charts",
    "counts_laws", "curve_law", "demo_report", "ensure_ingested", "exchange_pair", "frames",
    "missing_runs", "run_demo", "run_report",
]
