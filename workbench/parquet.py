"""How this project writes Parquet: one setting for canonical runs and GPU job shards.

Kept out of `workbench.store` so that the GPU job, which must not import DuckDB, shares it.
"""

from __future__ import annotations

from typing import Any

PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 6}
"""Why zstd 6 and not pyarrow's snappy default: runs are committed and shipped (to GPU
machines, in 64 MiB trees), and on model text zstd 6 writes half of snappy's bytes (32,000
MATH-500 completions: 6.6 MB against 12.6 MB) in 0.4 s."""
