"""Writing a twin-drawn pool to Parquet, labelled model-based in the file's metadata.

>>> import tempfile, pathlib, pyarrow.parquet as pq
>>> from workbench.engine.pool import CountsPool
>>> pool = CountsPool("twin:r", np.array(["a"]), np.array([4]), np.array([1]))
>>> path = pathlib.Path(tempfile.mkdtemp()) / "p.parquet"
>>> write_pool(pool, path, label="model-based (twin) calibrated on r")
>>> pq.read_schema(path).metadata[b"workbench.model_based"]
b'true'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.engine.pool import CountsPool, SamplePool


def write_pool(pool: SamplePool | CountsPool, path: Path, *, label: str) -> None:
    """One row per sample (problem_id, sample_idx, answer code, is_correct, score, tokens), or
    per problem (problem_id, n, c) for counts; `label` goes into the schema metadata."""
    if isinstance(pool, CountsPool):
        table = pa.table({"problem_id": pool.problem_ids.astype(str), "n": pool.n, "c": pool.c})
    else:
        mask = pool.mask
        rows = np.broadcast_to(np.arange(pool.n_problems)[:, None], mask.shape)[mask]
        cols: dict[str, object] = {
            "problem_id": pool.problem_ids.astype(str)[rows],
            "sample_idx": np.broadcast_to(np.arange(pool.width)[None], mask.shape)[mask],
        }
        for name in ("answer", "correct", "score", "output_tokens", "prompt_tokens"):
            value = getattr(pool, name)
            if value is not None:
                key = {"answer": "answer_code", "correct": "is_correct"}.get(name, name)
                cols[key] = value[mask]
        table = pa.table(cols)
    meta = {"workbench.model_based": "true", "workbench.label": label,
            "workbench.run_id": pool.run_id}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)  # nothing half-written
