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

from importlib import import_module
from typing import Any

# Public names -> the module that defines them. Imported on first use (PEP 562), so that
# `import workbench.report.ingest` (e.g. by the CLI) does not load altair and the analysis stack.
_EXPORTS = {
    "charts": "", "frames": "",
    "DemoResult": "demo", "run_demo": "demo",
    "Report": "html",
    "ensure_ingested": "ingest", "missing_runs": "ingest",
    "LawFit": "lawfits", "counts_laws": "lawfits", "curve_law": "lawfits",
    "RunAnalysis": "pipeline", "analyse_run": "pipeline", "exchange_pair": "pipeline",
    "demo_report": "render", "run_report": "render",
    "Settings": "settings",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'workbench.report' has no attribute {name!r}")
    module = _EXPORTS[name]
    if not module:
        return import_module(f"workbench.report.{name}")
    return getattr(import_module(f"workbench.report.{module}"), name)


__all__ = sorted(_EXPORTS)
