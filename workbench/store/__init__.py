"""The DuckDB run store: canonical schema, migrations, views and the `RunStore` API.

This is the only package that imports duckdb.
"""

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
from workbench.store.run_store import (
    AGGREGATIONS,
    DEFAULT_STORE,
    IngestResult,
    QueryResult,
    RunInfo,
    RunStore,
    default_store_path,
    read_bundle_parquet,
    write_bundle_parquet,
)
from workbench.store.schema import CURRENT_VERSION, VIEW_DOCS

__all__ = [
    "AGGREGATIONS", "CURRENT_VERSION", "DEFAULT_STORE", "VIEW_DOCS", "IngestResult",
    "OutcomeScore", "Problem", "ProblemCount", "QueryResult", "Run", "RunBundle", "RunInfo",
    "RunStore", "Sample", "StepScore", "TreeNode", "default_store_path", "read_bundle_parquet",
    "write_bundle_parquet",
]
