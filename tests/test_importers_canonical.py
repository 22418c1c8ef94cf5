"""Runs a user brings: canonical JSONL/Parquet directories, search-and-learn rows, `read_path`.

All data here is SYNTHETIC, written by the tests with known truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.errors import InputError
from workbench.importers import FORMATS, canonical, detect_format, read_path, search_and_learn
from workbench.store import RunBundle, RunStore, write_bundle_parquet

from .store_helpers import assert_same, round_trip_bundle

# --- canonical JSONL / Parquet -------------------------------------------------------------------


def test_jsonl_round_trip(tmp_path: Path) -> None:
    bundle = round_trip_bundle()
    out = canonical.write_jsonl(bundle, tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == [
        "outcome_scores.jsonl", "problem_counts.jsonl", "problems.jsonl", "run.json",
        "samples.jsonl", "step_scores.jsonl", "tree_nodes.jsonl"]
    back = canonical.read_dir(out).to_bundle()
    assert_same(bundle, back)
    assert back.samples[4].origin == (str(out / "samples.jsonl"), 5)
    assert detect_format(out) == "canonical-jsonl"
    [via_path] = read_path(out / "run.json")  # the header file itself is accepted too
    assert_same(bundle, via_path.to_bundle())


def test_parquet_directory_reads_through_the_store_reader(tmp_path: Path) -> None:
    bundle = round_trip_bundle()
    write_bundle_parquet(bundle, tmp_path / "pq", content_hash=bundle.content_hash())
    assert detect_format(tmp_path / "pq") == "canonical-parquet"
    [back] = read_path(tmp_path / "pq")
    assert_same(bundle, back.to_bundle())


def test_store_export_and_read_path_agree(tmp_path: Path) -> None:
    bundle = round_trip_bundle()
    with RunStore(tmp_path / "s.duckdb") as store:
        store.ingest(bundle)
        store.export_run(bundle.run.run_id, tmp_path / "exported")
    [back] = read_path(tmp_path / "exported")
    assert back.content_hash() == bundle.content_hash()
    # and the JSONL form of the same run ingests as the same content (a no-op re-ingest)
    canonical.write_jsonl(back.to_bundle(), tmp_path / "as-jsonl")
    [again] = read_path(tmp_path / "as-jsonl")
    with RunStore(tmp_path / "s.duckdb") as store:
        assert store.ingest(again).content_hash == bundle.content_hash()
        assert store.run_ids() == [bundle.run.run_id]


def _edit_line(path: Path, line: int, edit) -> None:  # type: ignore[no-untyped-def]
    lines = path.read_text().splitlines()
    obj = json.loads(lines[line - 1])
    edit(obj)
    lines[line - 1] = json.dumps(obj)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("table", "line", "edit", "field", "message"),
    [
        ("samples", 2, lambda o: o.update(sampel_idx=1), "sampel_idx", "unknown field of Sample"),
        ("samples", 3, lambda o: o.pop("sample_idx"), "sample_idx", "is missing"),
        ("samples", 4, lambda o: o.update(output_tokens="12"), "output_tokens", "expected int"),
        ("step_scores", 5, lambda o: o.update(score=None), "score", "is missing"),
        ("step_scores", 1, lambda o: o.update(problem_id="zzz"), "problem_id", "unknown problem"),
        ("tree_nodes", 2, lambda o: o.update(parent_id="nope"), "parent_id", "unknown node"),
        ("problems", 2, lambda o: o.update(problem_id="a"), "problem_id", "duplicate problem"),
    ],
)
def test_jsonl_errors_name_file_line_field(  # type: ignore[no-untyped-def]
    tmp_path: Path, table, line, edit, field, message
) -> None:
    out = canonical.write_jsonl(round_trip_bundle(), tmp_path / "run")
    _edit_line(out / f"{table}.jsonl", line, edit)
    header = json.loads((out / "run.json").read_text())
    header.pop("content_hash")  # accept hand edits
    (out / "run.json").write_text(json.dumps(header))
    with pytest.raises(InputError, match=message) as info:
        canonical.read_dir(out)
    assert info.value.file == str(out / f"{table}.jsonl")
    assert (info.value.line, info.value.field) == (line, field)


def test_edited_tables_fail_the_content_hash(tmp_path: Path) -> None:
    out = canonical.write_jsonl(round_trip_bundle(), tmp_path / "run")
    _edit_line(out / "samples.jsonl", 1, lambda o: o.update(is_correct=True))
    with pytest.raises(InputError, match="do not hash to it") as info:
        canonical.read_dir(out)
    assert info.value.field == "content_hash"


def test_malformed_jsonl_line(tmp_path: Path) -> None:
    out = canonical.write_jsonl(round_trip_bundle(), tmp_path / "run")
    path = out / "outcome_scores.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:-3] + "x}"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="malformed JSON") as info:
        canonical.read_dir(out)
    assert (info.value.file, info.value.line) == (str(path), 3)


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda h: h.update(format="other/2"), "format", "expected 'ttc-workbench-run/1'"),
        (lambda h: h.update(extra=1), "extra", "unknown field"),
        (lambda h: h["run"].update(policy="x"), "run.policy", "unknown field of Run"),
        (lambda h: h["run"].pop("dataset"), "run.dataset", "is missing"),
        (lambda h: h.pop("run"), "run", "is missing"),
    ],
)
def test_header_errors(tmp_path: Path, edit, field, message) -> None:  # type: ignore[no-untyped-def]
    out = canonical.write_jsonl(round_trip_bundle(), tmp_path / "run")
    header = json.loads((out / "run.json").read_text())
    edit(header)
    (out / "run.json").write_text(json.dumps(header))
    with pytest.raises(InputError, match=message) as info:
        canonical.read_dir(out)
    assert (info.value.file, info.value.field) == (str(out / "run.json"), field)


def test_parquet_unknown_column_and_mixed_forms(tmp_path: Path) -> None:
    bundle = round_trip_bundle()
    out = write_bundle_parquet(bundle, tmp_path / "pq")
    table = pq.read_table(str(out / "samples.parquet"))
    pq.write_table(table.append_column("score", pa.array([0.0] * table.num_rows)),
                   str(out / "samples.parquet"))
    with pytest.raises(InputError, match="unknown column of Sample") as info:
        read_path(out)
    assert (info.value.file, info.value.field) == (str(out / "samples.parquet"), "score")
    (out / "samples.parquet").unlink()
    (out / "samples.jsonl").write_text("")
    with pytest.raises(InputError, match="mix .jsonl and .parquet"):
        read_path(out)


def test_writer_leaves_no_stale_tables(tmp_path: Path) -> None:
    bundle = round_trip_bundle()
    out = canonical.write_jsonl(bundle, tmp_path / "run")
    smaller = RunBundle(run=bundle.run, problems=bundle.problems, samples=bundle.samples)
    canonical.write_jsonl(smaller, out)
    assert sorted(p.name for p in out.iterdir()) == ["problems.jsonl", "run.json",
                                                     "samples.jsonl"]
    assert_same(smaller, canonical.read_dir(out).to_bundle())


# --- search-and-learn rows (synthetic, known truth) ---------------------------------------------

ROWS = [
    {"problem": "What is 1/2 + 0?", "answer": "\\frac{1}{2}", "unique_id": "test/algebra/1.json",
     "level": 2, "subject": "Algebra",
     "completions": ["So it is $\\boxed{0.5}$.", "We get \\boxed{\\dfrac12}", "\\boxed{2}",
                     "no final answer"],
     "scores": [[0.9, 0.8], [0.7, 0.6, 0.95], [0.2], [0.1, 0.1]],
     "completion_tokens": [20, 31, 5, 40], "pred": "ignored", "agg_scores": [0.8, 0.95, 0.2, 0.1]},
    {"problem": "Solve x+1=4.", "answer": "3", "unique_id": "test/prealgebra/22.json",
     "level": "Level 1", "subject": "Prealgebra",
     "completions": ["x = \\boxed{3}", "The final answer is $4$. I hope it is correct."],
     "scores": [[0.99], [0.3, 0.2]], "completion_tokens": 77},
]
TRUTH = {  # (problem, sample) -> (answer, answer_key, is_correct, output_tokens, n_steps)
    ("test/algebra/1.json", 0): ("0.5", "0.5", True, 20, 2),
    ("test/algebra/1.json", 1): ("\\dfrac12", "0.5", True, 31, 3),
    ("test/algebra/1.json", 2): ("2", "2", False, 5, 1),
    ("test/algebra/1.json", 3): (None, None, False, 40, 2),
    ("test/prealgebra/22.json", 0): ("3", "3", True, None, 1),
    ("test/prealgebra/22.json", 1): ("4", "4", False, None, 2),
}


def _write_rows(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".parquet":
        # completion_tokens and level mix types across rows; Parquet needs one type per column
        flat = [{k: str(v) if k == "level" else v for k, v in r.items()
                 if k != "completion_tokens"} for r in rows]
        pq.write_table(pa.Table.from_pylist(flat), str(path))
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_search_and_learn_rows_known_truth(tmp_path: Path) -> None:
    path = _write_rows(tmp_path / "bon_n4.jsonl", ROWS)
    [bundle] = read_path(path, verifier="toy-prm", policy_model="toy-1b", policy_params=1e9)
    assert bundle.run.run_id == "bon_n4" and bundle.run.dataset == "math500"
    got = {(s.problem_id, s.sample_idx): (s.answer, s.answer_key, s.is_correct, s.output_tokens,
                                          s.n_steps) for s in bundle.samples}
    assert got == TRUTH
    assert [(p.level, p.subject) for p in bundle.problems] == [("2", "Algebra"),
                                                              ("1", "Prealgebra")]
    assert len(bundle.step_scores) == 11 and {x.verifier for x in bundle.step_scores} == {
        "toy-prm"}
    second = [x.score for x in bundle.step_scores
              if (x.problem_id, x.sample_idx) == ("test/algebra/1.json", 1)]
    assert second == [0.7, 0.6, 0.95]
    assert bundle.run.meta is not None
    assert bundle.run.meta["row_completion_tokens"] == {"test/prealgebra/22.json": 77}


def test_search_and_learn_parquet_matches_jsonl(tmp_path: Path) -> None:
    [from_jsonl] = read_path(_write_rows(tmp_path / "a.jsonl", ROWS))
    [from_pq] = read_path(_write_rows(tmp_path / "a.parquet", ROWS))
    assert from_pq.problems == from_jsonl.problems
    assert from_pq.step_scores == from_jsonl.step_scores
    assert [(s.answer_key, s.is_correct) for s in from_pq.samples] == [
        (s.answer_key, s.is_correct) for s in from_jsonl.samples]
    assert all(s.output_tokens is None for s in from_pq.samples)  # column left out


def test_search_and_learn_shards_and_foreign_ids(tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "unique_id"} for r in ROWS]
    shards = tmp_path / "shards"
    shards.mkdir()
    _write_rows(shards / "train-00000.jsonl", rows[:1])
    _write_rows(shards / "train-00001.jsonl", rows[1:])
    [bundle] = read_path(shards)
    # no MATH-500 uids: row indices as ids, the run's own dataset name so ids cannot collide
    assert bundle.run.run_id == "shards" and bundle.run.dataset == "shards"
    assert [p.problem_id for p in bundle.problems] == ["0", "1"]
    assert sum(s.is_correct for s in bundle.samples) == 3


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda r: r["scores"].pop(), "scores", "has 3 entries but `completions` has 4"),
        (lambda r: r["completion_tokens"].append(1), "completion_tokens", "has 5 entries"),
        (lambda r: r["scores"][1].append("x"), "scores[1][3]", "expected float"),
        (lambda r: r.update(level=True), "level", "expected str or int"),
    ],
)
def test_search_and_learn_errors(tmp_path: Path, edit, field, message) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(json.dumps(ROWS))
    edit(rows[0])
    path = _write_rows(tmp_path / "bad.jsonl", [rows[1], rows[0]])
    with pytest.raises(InputError, match=message) as info:
        search_and_learn.read({"bad.jsonl": path})
    assert (info.value.file, info.value.line, info.value.field) == ("bad.jsonl", 2, field)


def test_search_and_learn_duplicate_problem(tmp_path: Path) -> None:
    path = _write_rows(tmp_path / "dup.jsonl", [ROWS[0], ROWS[0]])
    with pytest.raises(InputError, match="duplicate problem") as info:
        read_path(path)
    assert info.value.line == 2


# --- format detection --------------------------------------------------------------------------


def test_unrecognised_inputs_list_the_accepted_formats(tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"question": "?", "responses": []}) + "\n")
    with pytest.raises(InputError, match="is neither a search-and-learn row") as info:
        read_path(other)
    assert info.value.file == str(other) and "canonical-jsonl" in str(info.value)
    csv = tmp_path / "runs.csv"
    csv.write_text("a,b\n")
    with pytest.raises(InputError, match="Accepted: canonical-jsonl"):
        read_path(csv)
    with pytest.raises(InputError, match="no such file"):
        read_path(tmp_path / "missing")
    assert set(FORMATS) == {"canonical-jsonl", "canonical-parquet", "search-and-learn",
                            "inspect-log", "lm-eval-samples", "openai-outputs"}
