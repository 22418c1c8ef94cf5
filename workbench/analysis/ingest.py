"""Bring the store up to date: the registered datasets and this project's own runs.

The demo and the notebooks call `ensure_ingested` before they analyse; it reads only what the
store lacks (`missing_runs`) and ingests it in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.analysis.settings import Progress, step
from workbench.importers.own_runs import OWN_RUNS_DIR, own_run_dirs
from workbench.sources import DATASETS

if TYPE_CHECKING:
    from workbench.store import RunStore

def missing_runs(
    store: RunStore,
    *,
    datasets: Sequence[str] | None = None,
    own_runs: Path | None = OWN_RUNS_DIR,
) -> tuple[list[str], list[Path]]:
    """(registered datasets, own run folders) that the store does not hold yet.

    A dataset counts as present when the store holds a run whose id starts with its name; an
    own run folder when its run id is stored.
    """
    from workbench.importers import read_path

    have = {r.run_id for r in store.runs()}
    names = [n for n in (datasets if datasets is not None else list(DATASETS))
             if not any(r.startswith(f"{n}/") for r in have)]
    folders = [f for f in (own_run_dirs(own_runs) if own_runs is not None else [])
               if any(b.run.run_id not in have for b in read_path(f))]
    return names, folders


def ensure_ingested(
    store: RunStore,
    *,
    datasets: Sequence[str] | None = None,
    own_runs: Path | None = OWN_RUNS_DIR,
    progress: Progress | None = None,
) -> list[str]:
    """Ingest the registered datasets (default: all) and this project's own runs that the store
    does not hold yet (`missing_runs`), in one transaction. Returns the run ids created."""
    from workbench.importers import read_dataset, read_path

    names, folders = missing_runs(store, datasets=datasets, own_runs=own_runs)
    if not names and not folders:
        return []
    have = {r.run_id for r in store.runs()}
    bundles = []
    for name in names:
        step(progress, f"read {name}")
        bundles.extend(read_dataset(name))
    for folder in folders:
        bundles.extend(b for b in read_path(folder) if b.run.run_id not in have)
    step(progress, f"ingest {len(bundles)} runs")
    for bundle in bundles:
        bundle.validate()
    results = store.ingest_many(bundles)
    return [r.run_id for r in results if r.created]
