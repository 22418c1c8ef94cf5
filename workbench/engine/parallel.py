"""Running independent chunks of work: one process, joblib workers, or a Dask cluster.

The bootstrap and the policy search split their replicates into chunks of a fixed size (it
depends on the data's shape only), and every chunk draws from its own random stream spawned
from the caller's generator. Which worker runs a chunk therefore changes no random draw: for
the same seed, `n_jobs=1`, joblib's local processes and a Dask cluster (through
`joblib.parallel_config(backend="dask")`) compute the same replicates. They are bitwise equal
where the BLAS runs with the same number of threads; joblib's process workers run it on one
thread, which changes the summation order of matrix products (differences ~1e-15):

    from dask.distributed import Client
    import joblib
    client = Client("tcp://scheduler:8786")          # or LocalCluster()
    with joblib.parallel_config(backend="dask"):
        result = compute_optimal_policy(curves, bins, rng=0, n_jobs=-1)

Starting workers and shipping data costs time, so below `MIN_PARALLEL_WORK` (about a second of
work on one core, see benchmarks/parallel.py) a request for several jobs runs in this process
and says so with a `SerialFallbackWarning`.

>>> run_chunks(lambda k: k * k, [{"k": 2}, {"k": 3}], work=10, n_jobs=1)
[4, 9]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from workbench.errors import SerialFallbackWarning

MIN_PARALLEL_WORK = 50_000_000
"""Cells of work (e.g. replicates x problems x budgets) below which chunks run in one process:
worker start-up and data transfer (about 0.5-1 s with joblib's processes) outweigh the gain."""

Progress = Callable[[int, int], None]


def chunk_streams(gen: np.random.Generator, n_chunks: int) -> list[np.random.Generator]:
    """One independent generator per chunk, spawned from `gen`; a single chunk uses `gen`
    itself (so a small job draws exactly what a serial implementation given `gen` draws)."""
    return [gen] if n_chunks == 1 else list(gen.spawn(n_chunks))


def _jobs_requested(n_jobs: int | None) -> bool:
    """Whether the caller asked for parallel work (n_jobs != 1, or a joblib context does)."""
    if n_jobs is not None:
        return n_jobs != 1
    from joblib.parallel import get_active_backend

    backend, jobs = get_active_backend()
    if jobs is not None:  # parallel_config(n_jobs=...)
        return bool(jobs != 1)
    # joblib's default (loky) runs n_jobs=None as one job; a configured backend such as dask
    # takes None to mean "all its workers"
    return type(backend).__name__ not in ("LokyBackend", "SequentialBackend")


def run_chunks(
    fn: Callable[..., Any],
    chunks: Sequence[dict[str, Any]],
    *,
    work: float,
    n_jobs: int | None = None,
    progress: Progress | None = None,
    done_of: Callable[[int], int] | None = None,
    total: int | None = None,
) -> list[Any]:
    """`[fn(**c) for c in chunks]`, in parallel through joblib when asked and worth it.

    `n_jobs` follows joblib: None = whatever `joblib.parallel_config` says (1 outside one),
    -1 = every worker. `work` is the job's size in cells, compared with `MIN_PARALLEL_WORK`.
    `progress(done_of(i), total)` is called as chunk i finishes (in order).
    """
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer)
                               or n_jobs == 0):
        raise ValueError(f"`n_jobs` must be a non-zero integer or None; got {n_jobs!r}")
    parallel = _jobs_requested(n_jobs) and len(chunks) > 1
    if parallel and work < MIN_PARALLEL_WORK:
        warnings.warn(
            f"n_jobs={n_jobs}: ran in one process, the work ({work:.3g} cells) is below "
            f"{MIN_PARALLEL_WORK:.3g}, where starting workers costs more than it saves",
            SerialFallbackWarning, stacklevel=3,
        )
        parallel = False

    def report(i: int) -> None:
        if progress is not None:
            progress(done_of(i) if done_of else i + 1, total if total is not None else len(chunks))

    out: list[Any] = []
    if not parallel:
        for i, c in enumerate(chunks):
            out.append(fn(**c))
            report(i)
        return out
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(fn)(**c) for c in chunks)
    for i, res in enumerate(results):
        out.append(res)
        report(i)
    return out
