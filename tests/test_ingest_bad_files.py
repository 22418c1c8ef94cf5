"""Bad files found by feeding the columnar ingest hostile input (issue 12, item 5): each gives
one line naming file, line and field, exit 2 on the command line, and the store unchanged.

All runs here are SYNTHETIC (`store_helpers.small_bundle`, values chosen by hand).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.errors import InputError
from workbench.importers import canonical, read_path
from workbench.store import RunStore, write_bundle_parquet

from .store_helpers import run_cli, small_bundle, snapshot


@pytest.fixture()
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    with RunStore(path) as store:
        store.ingest(small_bundle("test/existing"))
    return path


def _jsonl_dir(tmp_path: Path, run_id: str = "user/run") -> Path:
    return canonical.write_jsonl(small_bundle(run_id), tmp_path / "jsonl-run")


def _parquet_dir(tmp_path: Path, run_id: str = "user/run") -> Path:
    return write_bundle_parquet(small_bundle(run_id), tmp_path / "pq-run")


def _drop_hash(d: Path) -> None:
    header = json.loads((d / "run.json").read_text())
    header.pop("content_hash", None)
    (d / "run.json").write_text(json.dumps(header))


def _set_line(d: Path, table: str, line: int, text: str) -> None:
    path = d / f"{table}.jsonl"
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")
    _drop_hash(d)


def _edit_json_line(d: Path, table: str, line: int, **changes: object) -> None:
    path = d / f"{table}.jsonl"
    obj = json.loads(path.read_text().splitlines()[line - 1])
    obj.update(changes)
    _set_line(d, table, line, json.dumps(obj))


def _edit_parquet(d: Path, table: str, column: str, values: pa.Array) -> None:
    path = d / f"{table}.parquet"
    tbl = pq.read_table(str(path))
    idx = tbl.column_names.index(column) if column in tbl.column_names else None
    if idx is None:
        tbl = tbl.append_column(column, values)
    else:
        tbl = tbl.set_column(idx, column, values)
    pq.write_table(tbl, str(path))
    _drop_hash(d)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _loop(d: Path) -> None:
    (d / "samples.jsonl").unlink()
    os.symlink(d / "samples.jsonl", d / "samples.jsonl")


def _dangling(d: Path) -> None:
    (d / "outcome_scores.jsonl").unlink()
    os.symlink(d / "gone.jsonl", d / "outcome_scores.jsonl")


def _folder(d: Path) -> None:
    (d / "samples.parquet").unlink()
    (d / "samples.parquet").mkdir()


def _fifo(d: Path) -> None:
    (d / "samples.jsonl").unlink()
    os.mkfifo(d / "samples.jsonl")  # reading it would block for ever


CASES: list[tuple[str, str, Callable[[Path], Path], Callable[[Path], None], str, int | None,
                  str | None, str]] = [
    # (case, form, make dir, spoil, file, line, field, message)
    ("sample_idx 2^31 (JSONL)", "jsonl", _jsonl_dir,
     lambda d: _edit_json_line(d, "samples", 2, sample_idx=2**31),
     "samples.jsonl", 2, "sample_idx",
     "must be < 2^31 (stored as a 32-bit integer), got 2147483648"),
    ("sample_idx 2^63 (JSONL)", "jsonl", _jsonl_dir,
     lambda d: _edit_json_line(d, "samples", 3, sample_idx=2**63),
     "samples.jsonl", 3, "sample_idx", "must be < 2^31"),
    ("output_tokens 2^31 (Parquet)", "parquet", _parquet_dir,
     lambda d: _edit_parquet(d, "samples", "output_tokens",
                             pa.array([1, 2**31, 3], pa.int64())),
     "samples.parquet", 2, "output_tokens", "must be < 2^31"),
    ("prompt_tokens 2^63 (Parquet uint64)", "parquet", _parquet_dir,
     lambda d: _edit_parquet(d, "samples", "prompt_tokens",
                             pa.array([1, 2, 2**63], pa.uint64())),
     "samples.parquet", 3, "prompt_tokens", "32-bit integer), got 9223372036854775808"),
    ("JSON nested 100,000 deep", "jsonl", _jsonl_dir,
     lambda d: _set_line(d, "samples", 2, '{"problem_id": "p1", "text": ' + _deep(100_000) + "}"),
     "samples.jsonl", 2, None, "JSON nested too deeply"),
    ("lone surrogate", "jsonl", _jsonl_dir,
     lambda d: _edit_json_line(d, "samples", 1, text="a\ud800b"),
     "samples.jsonl", 1, "text", "is not valid Unicode"),
    ("Parquet meta that is not JSON", "parquet", _parquet_dir,
     lambda d: _edit_parquet(d, "problems", "meta", pa.array(["{not json", None])),
     "problems.parquet", 1, "meta", "not valid JSON"),
    ("table path is a folder", "parquet", _parquet_dir, _folder,
     "samples.parquet", None, None, "is a folder, expected a file"),
    ("table path is a FIFO", "jsonl", _jsonl_dir, _fifo,
     "samples.jsonl", None, None, "is not a regular file"),
    ("symlink loop", "jsonl", _jsonl_dir, _loop,
     "samples.jsonl", None, None, "cannot open"),
    ("dangling symlink", "jsonl", _jsonl_dir, _dangling,
     "outcome_scores.jsonl", None, None, "dangling symbolic link"),
    ("empty samples table (Parquet)", "parquet", _parquet_dir,
     lambda d: [pq.write_table(pq.read_table(str(d / f"{t}.parquet")).slice(0, 0),
                               str(d / f"{t}.parquet"))
                for t in ("samples", "step_scores", "outcome_scores", "tree_nodes",
                          "problem_counts")] and _drop_hash(d),
     "run.json", None, None, "holds no samples, tree nodes or counts"),
    ("bad field type in run.json", "jsonl", _jsonl_dir,
     lambda d: (d / "run.json").write_text(json.dumps({
         "format": "ttc-workbench-run/1",
         "run": {**json.loads((d / "run.json").read_text())["run"],
                 "policy_params": "seven billion"}})),
     "run.json", None, "run.policy_params", "expected float, got str"),
    ("empty run_id in run.json", "jsonl", _jsonl_dir,
     lambda d: (d / "run.json").write_text(json.dumps({
         "format": "ttc-workbench-run/1",
         "run": {**json.loads((d / "run.json").read_text())["run"], "run_id": " "}})),
     "run.json", None, "run.run_id", "must not be empty"),
]


@pytest.mark.parametrize(("case", "form", "make", "spoil", "file", "line", "field", "message"),
                         CASES, ids=[c[0] for c in CASES])
def test_cli_refuses_bad_file_and_leaves_the_store(
    store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, case: str, form: str, make: Callable[[Path], Path],
    spoil: Callable[[Path], None], file: str, line: int | None, field: str | None, message: str,
) -> None:
    run_dir = make(tmp_path)
    spoil(run_dir)
    before = snapshot(store_path)
    code, out, err = run_cli(["ingest", str(run_dir), "--store", str(store_path)],
                             capsys, monkeypatch)
    assert code == 2, (case, err)
    assert out == ""
    (line_out,) = err.strip().splitlines()  # one clear line, no traceback
    where = f"{run_dir / file}" + (f":{line}" if line is not None else "") + ":"
    assert line_out.startswith(f"error: {where}"), line_out
    if field is not None:
        assert f"field `{field}`" in line_out, line_out
    assert message in line_out, line_out
    assert snapshot(store_path) == before


def test_run_id_clash_names_the_run_file(store_path: Path, tmp_path: Path) -> None:
    other = small_bundle("test/existing")
    other.samples[0] = type(other.samples[0])(**{
        **{k: getattr(other.samples[0], k) for k in ("problem_id", "sample_idx")},
        "answer": "different"})
    d = canonical.write_jsonl(other, tmp_path / "clash")
    before = snapshot(store_path)
    [run] = read_path(d)
    with RunStore(store_path) as store, pytest.raises(InputError) as info:
        store.ingest(run)
    assert (info.value.file, info.value.field) == (str(d / "run.json"), "run_id")
    assert "already stored with different content" in str(info.value)
    assert snapshot(store_path) == before


def test_a_second_gold_answer_is_refused_with_both_values(
    store_path: Path, tmp_path: Path
) -> None:
    """Two runs of dataset `toy` disagree on p1's gold answer: refused, naming both values
    and the stored run; with --replace of the only run listing the problem, it is fixed."""
    bundle = small_bundle("test/other-gold")
    bundle.problems[1] = type(bundle.problems[1])(
        **{**{f: getattr(bundle.problems[1], f) for f in
              ("dataset", "problem_id", "question", "subject", "level", "meta")},
           "gold_answer": "two"})
    d = canonical.write_jsonl(bundle, tmp_path / "gold")
    before = snapshot(store_path)
    with RunStore(store_path) as store, pytest.raises(InputError) as info:
        store.ingest(read_path(d)[0])
    err = info.value
    assert (err.file, err.line, err.field) == (str(d / "problems.jsonl"), 2, "gold_answer")
    assert "stored with gold_answer '2' (run 'test/existing'); this run has 'two'" in str(err)
    assert snapshot(store_path) == before
    # replacing the one run that lists p1 may change its gold answer
    fixed = small_bundle("test/existing")
    fixed.problems[1] = bundle.problems[1]
    with RunStore(store_path) as store:
        assert store.ingest(fixed, replace=True).created
        gold = store.query("SELECT gold_answer FROM problems WHERE problem_id = 'p1'").to_pylist()
    assert gold == [{"gold_answer": "two"}]


def test_a_problem_without_samples_survives_export(tmp_path: Path) -> None:
    from workbench.store import Problem

    bundle = small_bundle("test/lonely")
    bundle.problems.append(Problem("toy", "p3", question="never sampled", gold_answer="0"))
    digest = bundle.content_hash()
    with RunStore(tmp_path / "a.duckdb") as store:
        assert store.ingest(bundle).content_hash == digest
        store.export_run("test/lonely", tmp_path / "out")
        problems = store.problems("test/lonely").column("problem_id").to_pylist()
    assert problems == ["p1", "p2", "p3"]
    [back] = read_path(tmp_path / "out")  # checks the exported hash against the tables
    assert back.content_hash() == digest
    with RunStore(tmp_path / "b.duckdb") as store:
        assert store.ingest(back).content_hash == digest
        assert store.load_bundle("test/lonely").content_hash() == digest


def test_content_hash_ignores_form_order_and_batching(tmp_path: Path) -> None:
    """The same content as records (shuffled), JSONL and Parquet hashes the same; one changed
    value changes it."""
    import dataclasses

    from workbench.store import columnar

    bundle = small_bundle("test/h")
    digest = bundle.content_hash()
    shuffled = small_bundle("test/h")
    shuffled.samples.reverse()
    shuffled.step_scores.reverse()
    assert shuffled.content_hash() == digest
    assert read_path(canonical.write_jsonl(bundle, tmp_path / "j"))[0].content_hash() == digest
    assert read_path(write_bundle_parquet(bundle, tmp_path / "p"))[0].content_hash() == digest
    old = columnar.HASH_BATCH
    try:
        columnar.HASH_BATCH = 1  # one row per batch: duplicates and hashes across batches
        assert small_bundle("test/h").content_hash() == digest
    finally:
        columnar.HASH_BATCH = old
    changed = small_bundle("test/h")
    changed.outcome_scores[0] = dataclasses.replace(changed.outcome_scores[0], score=0.2500001)
    assert changed.content_hash() != digest


def test_migration_2_rehashes_a_version_1_store(tmp_path: Path) -> None:
    """A store written by schema version 1 opens, gains run_problems, and its runs' hashes
    become the columnar ones (so re-ingesting the same content stays a no-op)."""
    import duckdb

    from workbench.store.schema import MIGRATIONS, VIEWS

    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                "description VARCHAR, applied_at TIMESTAMP)")
    con.execute(MIGRATIONS[0][2])
    con.execute("INSERT INTO schema_version VALUES (1, 'v1', now())")
    con.execute(VIEWS)
    bundle = small_bundle("test/old")
    con.execute("INSERT INTO runs VALUES ('test/old', 'toy', 'toy-model', 1e9, "
                "'{\"n\": 2, \"temperature\": 0.7}', 'Solve.', 'synthetic.jsonl', "
                "'{\"synthetic\": true, \"verifier_params\": {\"prm\": 7000000000.0}}', now(), "
                "'an-old-style-hash')")
    for name in ("problems", "samples", "step_scores", "outcome_scores", "tree_nodes",
                 "problem_counts"):
        from workbench.store.convert import records_to_arrow
        from workbench.store.records import TABLE_RECORDS

        tbl = records_to_arrow(TABLE_RECORDS[name], bundle.table(name))
        if name != "problems":
            tbl = tbl.add_column(0, "run_id", pa.array(["test/old"] * tbl.num_rows))
        con.register("t", tbl)
        con.execute(f"INSERT INTO {name} SELECT * FROM t")
        con.unregister("t")
    con.close()
    with RunStore(path) as store:
        assert store.schema_version >= 2
        stored = store.query("SELECT content_hash FROM runs").to_pylist()[0]["content_hash"]
        assert stored == bundle.content_hash()
        assert not store.ingest(bundle).created
