"""The REAL sampling-ceilings runs (read from the data mirror), ingested into a store for tests."""

from __future__ import annotations

from pathlib import Path

from tests.store_helpers import mirror_path
from workbench.importers import sampling_ceilings as sc
from workbench.store import RunStore


def ceilings_store(path: str | Path = ":memory:") -> RunStore:
    """A store holding every sampling-ceilings run (MATH-500 sessions, Large Language Monkeys)."""
    folder = mirror_path() / "sampling-ceilings"
    store = RunStore(path)
    store.ingest_many(sc.read({p.name: p for p in folder.iterdir()}))
    return store
