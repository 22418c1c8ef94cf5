"""A store of every registered dataset (from the REAL data mirror), built once per test session.

The report and notebook tests both need it; ingesting the five datasets takes a few seconds,
so the first caller builds it in a temporary folder and later callers reuse the file.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

from tests.store_helpers import mirror_path
from workbench.report import ensure_ingested
from workbench.store import RunStore


@lru_cache(maxsize=1)
def real_store_path() -> Path:
    """Path of a DuckDB store holding every registered dataset's runs (closed, reusable)."""
    mirror_path()  # fails clearly when there is no mirror
    folder = Path(tempfile.mkdtemp(prefix="wb-report-store-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "workbench.duckdb"
    with RunStore(path) as store:
        ensure_ingested(store, own_runs=None)
    return path


def copy_store(dest: Path) -> Path:
    """A private copy of the real store (for tests that write to it)."""
    target = dest / "workbench.duckdb"
    shutil.copy(real_store_path(), target)
    return target


def third_party_texts() -> dict[str, str]:
    """Generation (and question) text from the registered datasets, read straight from the
    mirror: a committed-style report must contain none of it."""
    root = mirror_path()
    cot = json.loads((root / "tot-game24" /
                      "gpt-4_0.7_naive_cot_sample_100_start900_end1000.json").read_text())
    with (root / "qwen25-math-rm" / "math_cot_100.jsonl").open() as fh:
        qwen = json.loads(fh.readline())
    out = {
        "tot-cot generation": max(max(cot[0]["ys"], key=len).splitlines(), key=len),
        "qwen generation": qwen["code"][0][:80],
        "qwen question": qwen["question"][:60],
    }
    for name, text in out.items():
        if len(text) < 15:
            pytest.fail(f"{name}: sample text too short to be a meaningful probe: {text!r}")
    return out
