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

from .store_helpers import run_cli, small_bundle, snapshot

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


# -- the command line on a canonical JSONL run directory --------------------------------------
def _canonical_dir(tmp_path: Path) -> Path:
    from workbench.importers.canonical import write_jsonl

    return write_jsonl(small_bundle("user/run"), tmp_path / "user-run")


def _edit_line(path: Path, line: int, edit: Callable[[str], str]) -> None:
    lines = path.read_text().split("\n")
    lines[line - 1] = edit(lines[line - 1])
    path.write_text("\n".join(lines))


def _sub(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, (old, text)
        return text.replace(old, new, 1)

    return edit


CLI_CASES: list[tuple[str, str, int | None, str | None, str, Callable[[Path], None]]] = [
    # (case, file, line, field, message, spoil the directory)
    ("malformed JSON line", "samples.jsonl", 2, None, "malformed JSON",
     lambda d: _edit_line(d / "samples.jsonl", 2, _sub('"sample_idx": 0,', '"sample_idx": 0,,'))),
    ("missing field", "samples.jsonl", 2, "sample_idx", "is missing",
     lambda d: _edit_line(d / "samples.jsonl", 2, _sub('"sample_idx": 0, ', ""))),
    ("wrongly typed field", "samples.jsonl", 2, "sample_idx", "expected int, got str",
     lambda d: _edit_line(d / "samples.jsonl", 2, _sub('"sample_idx": 0', '"sample_idx": "0"'))),
    ("NaN score", "step_scores.jsonl", 2, "score", "NaN",
     lambda d: _edit_line(d / "step_scores.jsonl", 2, _sub('"score": 0.9', '"score": NaN'))),
    ("infinite score", "outcome_scores.jsonl", 2, "score", "Infinity",
     lambda d: _edit_line(d / "outcome_scores.jsonl", 2,
                          _sub('"score": 0.75', '"score": -Infinity'))),
    ("duplicate sample id", "samples.jsonl", 2, "sample_idx", "duplicate sample id ('p1', 1)",
     lambda d: _edit_line(d / "samples.jsonl", 2, _sub('"sample_idx": 0', '"sample_idx": 1'))),
    ("sample naming an unknown problem", "samples.jsonl", 3, "problem_id",
     "unknown problem 'p404'",
     lambda d: _edit_line(d / "samples.jsonl", 3,
                          _sub('"problem_id": "p2"', '"problem_id": "p404"'))),
    ("empty file", "run.json", None, None, "file is empty",
     lambda d: (d / "run.json").write_text("")),
    ("truncated file", "tree_nodes.jsonl", 3, None, "truncated",
     lambda d: (d / "tree_nodes.jsonl").write_text(
         (d / "tree_nodes.jsonl").read_text().rstrip("\n")[:-25])),
]


@pytest.mark.parametrize(("case", "file", "line", "field", "message", "spoil"), CLI_CASES,
                         ids=[c[0] for c in CLI_CASES])
def test_cli_ingest_refuses_bad_user_file(
    store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, case: str, file: str, line: int | None,
    field: str | None, message: str, spoil: Callable[[Path], None],
) -> None:
    run_dir = _canonical_dir(tmp_path)
    # the untouched directory is a valid run (so the error below is the spoiled part)
    from workbench.importers import read_path

    assert [b.run.run_id for b in read_path(run_dir)] == ["user/run"]
    spoil(run_dir)
    before = snapshot(store_path)
    code, out, err = run_cli(["ingest", str(run_dir), "--store", str(store_path)],
                             capsys, monkeypatch)
    assert code == 2, case
    assert out == ""
    (line_out,) = err.strip().splitlines()  # one clear line
    where = f"{run_dir / file}" + (f":{line}" if line is not None else "") + ":"
    assert line_out.startswith(f"error: {where}"), line_out
    if field is not None:
        assert f"field `{field}`" in line_out, line_out
    assert message in line_out, line_out
    assert snapshot(store_path) == before
    # and a new store is not even created
    fresh = tmp_path / "fresh.duckdb"
    code, _, _ = run_cli(["ingest", str(run_dir), "--store", str(fresh)], capsys, monkeypatch)
    assert code == 2 and not fresh.exists()


def test_cli_ingest_of_an_empty_table_file_names_the_run(
    store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_dir = _canonical_dir(tmp_path)
    for name in ("samples", "step_scores", "outcome_scores", "tree_nodes", "problem_counts"):
        (run_dir / f"{name}.jsonl").write_text("")
    before = snapshot(store_path)
    code, _, err = run_cli(["ingest", str(run_dir), "--store", str(store_path)],
                           capsys, monkeypatch)
    assert code == 2 and "holds no samples, tree nodes or counts (empty input?)" in err
    assert snapshot(store_path) == before


def test_cli_ingest_of_a_good_user_dir_then_again(
    store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_dir = _canonical_dir(tmp_path)
    code, out, _ = run_cli(["ingest", str(run_dir), "--store", str(store_path)],
                           capsys, monkeypatch)
    assert code == 0 and out.startswith("created          user/run")
    after = snapshot(store_path)
    code, out, _ = run_cli(["ingest", str(run_dir), "--store", str(store_path)],
                           capsys, monkeypatch)
    assert code == 0 and out.startswith("already present  user/run")
    assert snapshot(store_path) == after
