"""Importers of the real MATH runs: Qwen2.5-Math RM example and compute-optimal-tts outputs.

Both read the public files from the data mirror (`WORKBENCH_DATA_MIRROR`) through the source
registry, which checks every file's SHA-256. Error tests write damaged copies to a temp folder.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import pytest

from workbench.errors import InputError
from workbench.grading import answer_key
from workbench.importers import compute_optimal_tts, qwen25_math
from workbench.sources import get_dataset
from workbench.store import RunBundle, RunStore

QWEN_FILE = "math_cot_100.jsonl"
BON = "compute-optimal-tts/math500-qwen2.5-1.5b-bon"
BEAM = "compute-optimal-tts/math500-qwen2.5-1.5b-beam"


@pytest.fixture(scope="module")
def qwen() -> RunBundle:
    [bundle] = qwen25_math.read(get_dataset("qwen25-math-rm").files())
    return bundle


@pytest.fixture(scope="module")
def cot_files() -> dict[str, Path]:
    return get_dataset("compute-optimal-tts").files()


@pytest.fixture(scope="module")
def cot_runs(cot_files: dict[str, Path]) -> dict[str, RunBundle]:
    return {b.run.run_id: b for b in compute_optimal_tts.read(cot_files)}


# --- Qwen2.5-Math -----------------------------------------------------------------------------


def test_qwen_sizes_and_upstream_correct_count(qwen: RunBundle) -> None:
    assert qwen.run.run_id == "qwen25-math-rm/math-cot-100"
    assert qwen.run.dataset == "math" and qwen.run.policy_params == 7.6e9
    assert len(qwen.problems) == 100
    assert len(qwen.samples) == 800
    assert sum(s.is_correct for s in qwen.samples) == 728
    assert Counter(s.problem_id for s in qwen.samples) == {str(i): 8 for i in range(100)}


def test_qwen_outcome_scores_and_fields(qwen: RunBundle) -> None:
    assert len(qwen.outcome_scores) == 800
    assert {o.verifier for o in qwen.outcome_scores} == {"qwen2.5-math-rm-72b"}
    assert qwen.run.meta is not None
    assert qwen.run.meta["verifier_params"] == {"qwen2.5-math-rm-72b": 72.7e9}
    first = json.loads(get_dataset("qwen25-math-rm").path(QWEN_FILE).open().readline())
    s0 = next(s for s in qwen.samples if (s.problem_id, s.sample_idx) == ("0", 3))
    o0 = next(o for o in qwen.outcome_scores if (o.problem_id, o.sample_idx) == ("0", 3))
    assert s0.text == first["response"][3] and s0.answer == first["pred"][3]
    assert s0.answer_key == answer_key(first["pred"][3]) == "420"
    assert o0.score == first["pred_score"][3][0]
    p0 = qwen.problems[0]
    assert (p0.problem_id, p0.gold_answer, p0.level) == ("0", "420", "3")
    assert Counter(p.level for p in qwen.problems) == {"5": 25, "3": 24, "4": 24, "2": 16, "1": 11}


def test_qwen_ingests_as_outcome_verifier(qwen: RunBundle, tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.duckdb") as store:
        store.ingest(qwen)
        assert store.verifiers(qwen.run.run_id) == {"qwen2.5-math-rm-72b": "outcome"}
        pool = store.pool_table(qwen.run.run_id, "qwen2.5-math-rm-72b")
        assert pool.num_rows == 800
        assert sum(pool.column("is_correct").to_pylist()) == 728


def _damaged_qwen(tmp_path: Path, edit) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    lines = get_dataset("qwen25-math-rm").path(QWEN_FILE).read_text().splitlines()
    row = json.loads(lines[6])
    edit(row)
    lines[6] = json.dumps(row)
    out = tmp_path / QWEN_FILE
    out.write_text("\n".join(lines) + "\n")
    return {QWEN_FILE: out}


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda r: r["pred"].pop(), "pred", "has 7 entries but `response` has 8"),
        (lambda r: r["pred_score"][2].append(1.0), "pred_score[2]", "expected one reward score"),
        (lambda r: r["score"].__setitem__(5, 1), "score[5]", "expected bool"),
        (lambda r: r.pop("gt"), "gt", "is missing"),
    ],
)
def test_qwen_bad_input_names_file_line_field(tmp_path: Path, edit, field, message) -> None:  # type: ignore[no-untyped-def]
    files = _damaged_qwen(tmp_path, edit)
    with pytest.raises(InputError, match=message) as info:
        qwen25_math.read(files)
    assert (info.value.file, info.value.line, info.value.field) == (QWEN_FILE, 7, field)


# --- compute-optimal-tts ------------------------------------------------------------------------


def test_cot_sizes(cot_runs: dict[str, RunBundle]) -> None:
    assert list(cot_runs) == [BON, BEAM]
    bon, beam = cot_runs[BON], cot_runs[BEAM]
    assert (len(bon.problems), len(bon.samples)) == (500, 1000)
    assert (len(beam.problems), len(beam.samples)) == (500, 600)
    assert Counter(s.sample_idx for s in bon.samples) == {0: 500, 1: 500}
    # beam search was repeated (record_1) for the first 100 questions only
    assert {s.problem_id for s in beam.samples if s.sample_idx == 1} == {str(i) for i in range(100)}
    for b in (bon, beam):
        assert b.run.policy_params == 1.54e9 and b.run.dataset == "math500"
        assert b.run.meta is not None
        assert b.run.meta["verifier_params"] == {"math-shepherd-mistral-7b-prm": 7.24e9}


def test_cot_step_scores_match_steps(cot_runs: dict[str, RunBundle]) -> None:
    for run_id, bundle in cot_runs.items():
        per_sample = Counter((s.problem_id, s.sample_idx) for s in bundle.step_scores)
        for s in bundle.samples:
            assert s.n_steps == s.text.count(compute_optimal_tts.STEP_TAG)  # type: ignore[union-attr]
            assert per_sample[(s.problem_id, s.sample_idx)] == s.n_steps, run_id
        assert {x.verifier for x in bundle.step_scores} == {"math-shepherd-mistral-7b-prm"}
    # beam search logs one generation per step, so every step's tokens are known ...
    assert all(x.step_tokens is not None for x in cot_runs[BEAM].step_scores)
    # ... best of N generates in one call: step tokens only for one-step solutions (33 of them)
    known = [x for x in cot_runs[BON].step_scores if x.step_tokens is not None]
    one_step = {(s.problem_id, s.sample_idx): s for s in cot_runs[BON].samples if s.n_steps == 1}
    assert len(known) == len(one_step) == 33
    assert all(x.step_tokens == one_step[(x.problem_id, x.sample_idx)].output_tokens
               for x in known)


def test_cot_beam_mean_correctness_matches_avg_result(cot_runs: dict[str, RunBundle]) -> None:
    beam = cot_runs[BEAM]
    assert beam.run.meta is not None
    [avg] = beam.run.meta["upstream"]["avg_result"]
    assert beam.run.meta["upstream"]["config"]["method"] == "beam_search"
    first = [s for s in beam.samples if s.sample_idx == 0]
    assert len(first) == 500
    # avg_result.json is the mean over record_0 of every question, to the last digit
    assert statistics.mean(s.is_correct for s in first) == pytest.approx(avg["majority_vote"])
    assert avg["majority_vote"] == 0.584
    assert statistics.mean(s.output_tokens for s in first) == pytest.approx(  # type: ignore[misc]
        avg["total_completion_tokens"])
    # all 600 records together (the 100 repeats included) give 0.595
    assert statistics.mean(s.is_correct for s in beam.samples) == pytest.approx(0.595)


def test_cot_fields_of_one_record(cot_runs: dict[str, RunBundle], cot_files) -> None:  # type: ignore[no-untyped-def]
    key = ("MATH_beam_search/Qwen2.5-1.5B-Instruct/math-shepherd-mistral-7b-prm/40_4_1/"
           "question_0/record_0.jsonl")
    rec = json.loads(cot_files[key].read_text())
    out = rec["output"][0]
    beam = cot_runs[BEAM]
    s = next(s for s in beam.samples if (s.problem_id, s.sample_idx) == ("0", 0))
    steps = sorted((x for x in beam.step_scores if (x.problem_id, x.sample_idx) == ("0", 0)),
                   key=lambda x: x.step_idx)
    assert s.answer == out["extracted_answer"] == "(3,\\frac{\\pi}{2})"
    assert s.is_correct is True and s.output_tokens == out["completion_tokens"] == 1308
    assert [x.score for x in steps] == out["value"]
    assert [x.step_tokens for x in steps] == out["token_history"]
    p = next(p for p in beam.problems if p.problem_id == "0")
    assert p.gold_answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert answer_key(p.gold_answer) == s.answer_key


def test_cot_bad_record_names_file_line_field(tmp_path: Path, cot_files) -> None:  # type: ignore[no-untyped-def]
    key = ("MATH_best_of_n/Qwen2.5-1.5B-Instruct/math-shepherd-mistral-7b-prm/1_1_1/"
           "question_3/record_1.jsonl")
    rec = json.loads(cot_files[key].read_text())
    rec["output"][0]["value"].append(0.5)
    bad = tmp_path / "record_1.jsonl"
    bad.write_text(json.dumps(rec) + "\n")
    with pytest.raises(InputError, match="scores but the text has") as info:
        compute_optimal_tts.read({key: bad})
    assert (info.value.file, info.value.line, info.value.field) == (key, 1, "output[0].value")


def test_cot_without_records_is_refused() -> None:
    with pytest.raises(InputError, match="no compute-optimal-tts record files"):
        compute_optimal_tts.read({"LICENSE": Path("/dev/null")})
