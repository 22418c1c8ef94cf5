"""The DuckDB run store: canonical schema, migrations, views and the `RunStore` API.

This is the only package that imports duckdb.
"""

import importlib
from typing import Any

from workbench.store.records import (
    OutcomeScore,
    Problem,
    ProblemCount,
    Run,
    RunBundle,
    Sample,
    StepScore,
    TreeNode,
)

# The DuckDB parts load on first use (PEP 562): `workbench.store.records` (and the collect and
# GPU code that builds records) imports where DuckDB is absent, as on the GPU machine.
_LAZY = {
    "AGGREGATIONS": "run_store", "DEFAULT_STORE": "run_store", "IngestResult": "run_store",
    "QueryResult": "run_store", "RunInfo": "run_store", "RunStore": "run_store",
    "default_store_path": "run_store", "read_bundle_parquet": "run_store",
    "write_bundle_parquet": "run_store", "CURRENT_VERSION": "schema", "VIEW_DOCS": "schema",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"workbench.store.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'workbench.store' has no attribute {name!r}")


__all__ = [
    "AGGREGATIONS", "CURRENT_VERSION", "DEFAULT_STORE", "VIEW_DOCS", "IngestResult",
    "OutcomeScore", "Problem", "ProblemCount", "QueryResult", "Run", "RunBundle", "RunInfo",
    "RunStore", "Sample", "StepScore", "TreeNode", "default_store_path", "read_bundle_parquet",
    "write_bundle_parquet",
]
