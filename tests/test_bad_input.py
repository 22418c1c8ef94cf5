"""Bad input: a clear error naming file, line and field, and the store exactly as it was.

Two levels: the store's own validation (RunBundle.validate / RunStore.ingest, whatever
importer built the records) and the command line on a user file in the canonical JSONL format
(`workbench ingest PATH --store ...`). All data is synthetic.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from workbench.errors import InputError
from workbench.store import OutcomeScore, RunBundle, RunStore, Sample, StepScore

from .store_helpers import small_bundle, snapshot

SRC = "bad.jsonl"


@pytest.fixture()
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    with RunStore(path) as store:
        store.ingest(small_bundle("test/existing"))
    return path


def _missing_field(b: RunBundle) -> None:
    b.samples[1] = dataclasses.replace(b.samples[1], problem_id=None, origin=(SRC, 2))


def _wrong_type(b: RunBundle) -> None:
    b.samples[1] = dataclasses.replace(b.samples[1], sample_idx="0", origin=(SRC, 2))


def _nan_score(b: RunBundle) -> None:
    b.step_scores[1] = dataclasses.replace(b.step_scores[1], score=math.nan, origin=(SRC, 2))


def _inf_score(b: RunBundle) -> None:
    b.outcome_scores[1] = OutcomeScore("orm", "p1", 1, -math.inf, origin=(SRC, 2))


def _duplicate_sample(b: RunBundle) -> None:
    b.samples.append(Sample("p1", 0, answer="9", origin=(SRC, 2)))


def _unknown_problem(b: RunBundle) -> None:
    b.samples.append(Sample("p404", 0, origin=(SRC, 2)))


def _unknown_sample_score(b: RunBundle) -> None:
    b.step_scores.append(StepScore("prm", "p2", 7, 0, 0.5, origin=(SRC, 2)))


STORE_CASES: list[tuple[str, Callable[[RunBundle], None], str, str]] = [
    ("missing field", _missing_field, "problem_id", "is missing"),
    ("wrongly typed field", _wrong_type, "sample_idx", "expected int, got str"),
    ("NaN score", _nan_score, "score", "must be finite, got nan"),
    ("infinite score", _inf_score, "score", "must be finite, got -inf"),
    ("duplicate sample id", _duplicate_sample, "sample_idx", "duplicate sample id"),
    ("sample naming an unknown problem", _unknown_problem, "problem_id", "unknown problem 'p404'"),
    ("score naming an unknown sample", _unknown_sample_score, "sample_idx", "unknown sample"),
]


@pytest.mark.parametrize(("case", "spoil", "field", "message"), STORE_CASES,
                         ids=[c[0] for c in STORE_CASES])
def test_store_refuses_bad_records(
    store_path: Path, case: str, spoil: Callable[[RunBundle], None], field: str, message: str
) -> None:
    before = snapshot(store_path)
    bundle = small_bundle("test/new")
    spoil(bundle)
    with RunStore(store_path) as store, pytest.raises(InputError) as info:
        store.ingest_many([small_bundle("test/fine"), bundle])
    err = info.value
    assert (err.file, err.line, err.field) == (SRC, 2, field), case
    assert message in str(err)
    assert str(err).startswith(f"{SRC}:2: field `{field}`:")
    assert snapshot(store_path) == before


def test_store_refuses_an_empty_run(store_path: Path) -> None:
    before = snapshot(store_path)
    empty = RunBundle(run=dataclasses.replace(small_bundle().run, run_id="x", source=SRC))
    with RunStore(store_path) as store, pytest.raises(InputError) as info:
        store.ingest(empty)
    assert info.value.file == SRC and "holds no samples, tree nodes or counts" in str(info.value)
    assert snapshot(store_path) == before
