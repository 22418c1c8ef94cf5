"""A run's sample pool as integer columns, coded inside DuckDB: no Python string per sample.

`RunStore.pool_table` returns problem ids and answer keys as strings, one per sample; turning
10M of those into Python objects (pandas) cost about 3 GB. Here DuckDB numbers the problems
(in `problem_id` order) and, within each problem, the answer keys in order of first appearance
(by `sample_idx`), the coding `workbench.engine.pool.SamplePool` uses, and only numbers cross
into Python. The problem ids come back once per problem.

>>> from workbench.store import Problem, Run, RunBundle, RunStore, Sample
>>> store = RunStore(":memory:")
>>> _ = store.ingest(RunBundle(Run("r", "toy", "m", "synthetic"),
...     problems=[Problem("toy", "a"), Problem("toy", "b")],
...     samples=[Sample("b", 0, answer_key="7"), Sample("a", 1, answer_key="4"),
...              Sample("a", 0, answer_key="5"), Sample("a", 2, answer_key="4"),
...              Sample("b", 1)]))
>>> coded = pool_codes(store, "r")
>>> coded.problem_ids, coded.sizes.tolist()
(['a', 'b'], [3, 2])
>>> batch = next(coded.batches()).sort_by([("problem", "ascending"), ("col", "ascending")])
>>> batch.column("answer_code").to_pylist()  # a: 5, 4, 4 by sample_idx; b: 7, none
[0, 1, 1, 0, -1]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from workbench.errors import StoreError

if TYPE_CHECKING:
    from workbench.store.run_store import RunStore

AGGREGATIONS = ("last", "min", "prod", "mean")


@dataclass(frozen=True)
class CodedPool:
    """A run's pool, integer-coded, read in batches of whole problems.

    `problem_ids` (in `problem_id` order) and `sizes` (samples per problem) are known up front;
    `batches()` yields Arrow tables of about `rows_per_batch` samples with int32 columns
    problem (index into `problem_ids`), col (the sample's position in its problem, by
    sample_idx), answer_code (per problem, first appearance first; -1 = no answer) and
    is_correct, output_tokens, prompt_tokens, score (NULL without a verifier).
    """

    store: RunStore
    source: str
    params: dict[str, object]
    problem_ids: list[str]
    sizes: np.ndarray
    rows_per_batch: int

    def batches(self) -> Iterator[pa.Table]:
        bounds = _batch_bounds(self.sizes, self.rows_per_batch)
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            sql = f"""
                WITH src AS MATERIALIZED (
                    SELECT * FROM ({self.source})
                    WHERE problem_id BETWEEN $lo_id AND $hi_id),
                probs AS (
                    SELECT problem_id,
                           ($lo + row_number() OVER (ORDER BY problem_id) - 1)::INTEGER
                               AS problem
                    FROM (SELECT DISTINCT problem_id FROM src)),
                firsts AS (
                    SELECT problem_id, answer_key, min(sample_idx) AS first_idx
                    FROM src WHERE answer_key IS NOT NULL GROUP BY problem_id, answer_key),
                codes AS (
                    SELECT problem_id, answer_key,
                           (row_number() OVER (PARTITION BY problem_id ORDER BY first_idx) - 1)
                               ::INTEGER AS answer_code
                    FROM firsts)
                SELECT probs.problem,
                       (row_number() OVER (PARTITION BY src.problem_id
                                           ORDER BY src.sample_idx) - 1)::INTEGER AS col,
                       coalesce(codes.answer_code, -1)::INTEGER AS answer_code,
                       src.is_correct, src.output_tokens, src.prompt_tokens, src.score
                FROM src
                JOIN probs USING (problem_id)
                LEFT JOIN codes USING (problem_id, answer_key)
            """
            params = {**self.params, "lo": int(lo), "lo_id": self.problem_ids[lo],
                      "hi_id": self.problem_ids[hi - 1]}
            yield self.store.query(sql, params).to_arrow()


def _batch_bounds(sizes: np.ndarray, rows: int) -> list[int]:
    """Problem indices cutting `sizes` into runs of about `rows` samples (whole problems)."""
    ends = np.cumsum(sizes)
    cuts = np.searchsorted(ends, np.arange(rows, int(ends[-1]), rows), side="left") + 1
    return sorted({0, *(int(c) for c in cuts if 0 < c < len(sizes)), len(sizes)})


def pool_codes(
    store: RunStore,
    run_id: str,
    verifier: str | None = None,
    agg: str = "last",
    *,
    rows_per_batch: int = 1_000_000,
) -> CodedPool:
    """The pool of `run_id` under `verifier` (PRM steps aggregated by `agg`), integer-coded.

    Memory is bounded by a batch: DuckDB codes `rows_per_batch` samples at a time.
    """
    if agg not in AGGREGATIONS:
        raise ValueError(f"`agg` must be one of {AGGREGATIONS}, got {agg!r}")
    kinds = store.verifiers(run_id)  # also checks that the run exists
    if verifier is not None and verifier not in kinds:
        raise StoreError(f"run {run_id!r} has no verifier {verifier!r}; it has: "
                         + (", ".join(kinds) or "none"))
    columns = "problem_id, sample_idx, answer_key, is_correct, output_tokens, prompt_tokens"
    params: dict[str, object] = {"run": run_id}
    if verifier is None:
        source = f"SELECT {columns}, NULL::DOUBLE AS score FROM samples WHERE run_id = $run"
    else:
        score = "outcome_score" if kinds[verifier] == "outcome" else f"agg_{agg}"
        source = f"SELECT {columns}, {score} AS score FROM pool($run, $verifier)"
        params["verifier"] = verifier
    counts = store.query(
        "SELECT problem_id, count(*)::BIGINT AS n FROM samples WHERE run_id = $run "
        "GROUP BY problem_id ORDER BY problem_id", {"run": run_id},
    ).to_arrow()
    return CodedPool(store, source, params, counts.column("problem_id").to_pylist(),
                     counts.column("n").to_numpy(), max(1, int(rows_per_batch)))
