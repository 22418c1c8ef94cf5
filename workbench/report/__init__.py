"""Reports: Altair chart builders (shared with notebooks), the tidy frames they take, and
self-contained HTML/PNG output. Rendering only: the analysis behind a report (`analyse_run`,
`run_demo`, `Settings`, ...) lives in `workbench.analysis`.

- `run_report(analysis)` / `demo_report(result)` -> `Report`;
- `charts` (builders on tidy frames) and `frames` (results -> those frames) for notebooks.

The analysis names below are still importable from here (re-exported from
`workbench.analysis`) so code written against the old layout keeps working.

>>> from workbench.report import Settings
>>> Settings().n_boot
2000
"""

from importlib import import_module
from typing import Any

# Public names -> the module that defines them. Imported on first use (PEP 562), so that
# `import workbench.report` (e.g. by the CLI) does not load altair and the analysis stack.
_EXPORTS = {
    "charts": "workbench.report.charts", "frames": "workbench.report.frames",
    "Report": "workbench.report.html",
    "demo_report": "workbench.report.render", "run_report": "workbench.report.render",
    # moved to workbench.analysis (re-exported for the transition)
    "DemoResult": "workbench.analysis.demo", "run_demo": "workbench.analysis.demo",
    "ensure_ingested": "workbench.analysis.ingest", "missing_runs": "workbench.analysis.ingest",
    "LawFit": "workbench.analysis.lawfits", "counts_laws": "workbench.analysis.lawfits",
    "curve_law": "workbench.analysis.lawfits",
    "RunAnalysis": "workbench.analysis.pipeline", "analyse_run": "workbench.analysis.pipeline",
    "exchange_pair": "workbench.analysis.pipeline",
    "Settings": "workbench.analysis.settings",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'workbench.report' has no attribute {name!r}")
    module = import_module(_EXPORTS[name])
    return module if module.__name__.endswith(f".{name}") else getattr(module, name)


__all__ = sorted(_EXPORTS)
