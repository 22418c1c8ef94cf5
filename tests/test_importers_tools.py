"""Importers of evaluation tools' logs, on files the REAL tools wrote (tests/data/README.md).

inspect_ai logs (.eval and .json), lm-evaluation-harness --log_samples output with repeats, and
OpenAI-compatible outputs (plain chat.completion objects and Batch output lines; n > 1 only from
the project's fake server, since no real tool here returns it). Expected values are read from
the raw files with `json` (or from the tool's own summary in the log), not from the importer.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from workbench.errors import InputError
from workbench.grading import is_equivalent
from workbench.importers import FORMATS, detect_format, read_path
from workbench.importers.inspect_logs import read_log, verdict
from workbench.store import RunStore

from .store_helpers import run_cli, snapshot

DATA = Path(__file__).parent / "data"
INSPECT = DATA / "inspect_ai"
LM_EVAL = DATA / "lm_eval" / "samples_arith_lm.jsonl"
OPENAI = DATA / "openai_compat"


def _jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- inspect_ai ---------------------------------------------------------------------------------
def test_inspect_json_log_maps_the_scorer_verdicts() -> None:
    raw = json.loads((INSPECT / "arith.json").read_text())
    [b] = read_path(INSPECT / "arith.json")
    assert detect_format(INSPECT / "arith.json") == "inspect-log"
    assert b.run.run_id == "inspect/arith" and b.run.dataset == "inspect:arith"
    assert b.run.policy_model == raw["eval"]["model"]
    assert b.run.sampler == {"max_tokens": 64, "temperature": 1.0}
    assert {p.problem_id: p.gold_answer for p in b.problems} == {
        "add-1": "7", "add-2": "17", "mul-1": "12", "sub-1": "6"}
    # one sample per epoch, sample_idx = epoch - 1; is_correct = the scorer's C/I
    want = {(s["id"], s["epoch"] - 1): s["scores"]["match"]["value"] == "C"
            for s in raw["samples"]}
    got = {(s.problem_id, s.sample_idx): s.is_correct for s in b.samples}
    assert got == want and len(got) == 12
    texts = {(s["id"], s["epoch"] - 1): s["output"]["choices"][0]["message"]["content"]
             for s in raw["samples"]}
    assert {(s.problem_id, s.sample_idx): s.text for s in b.samples} == texts
    # inspect's own headline accuracy is the mean of the verdicts
    accuracy = raw["results"]["scores"][0]["metrics"]["accuracy"]["value"]
    assert sum(got.values()) / len(got) == pytest.approx(accuracy)
    assert b.run.meta["grading"]["is_correct_from"] == {"inspect_ai scorer `match`": 12}
    assert all(s.output_tokens is not None and s.prompt_tokens for s in b.samples)


def test_inspect_eval_archive_reads_zstd_members() -> None:
    [b] = read_log(INSPECT / "arith.eval")
    assert (len(b.problems), len(b.samples)) == (4, 12)
    assert Counter(s.problem_id for s in b.samples) == dict.fromkeys(
        ("add-1", "add-2", "mul-1", "sub-1"), 3)
    # the per-problem means inspect stored in reductions.json (epoch reducer "mean") agree
    import zipfile

    from workbench.importers.inspect_logs import _member

    with zipfile.ZipFile(INSPECT / "arith.eval") as z:
        reductions = _member(INSPECT / "arith.eval", "x", z, "reductions.json")
    means = {r["sample_id"]: r["value"] for r in reductions[0]["samples"]}
    for pid, mean in means.items():
        mine = [s.is_correct for s in b.samples if s.problem_id == pid]
        assert sum(mine) / 3 == pytest.approx(mean), pid
    # one sample where the scorer and math-verify disagree: "Answer: 6. Answer: N"
    assert b.run.meta["grading"]["tool_vs_math_verify"] == {"compared": 12, "agreed": 11}
    [odd] = [s for s in b.samples if s.text == "Answer: 6. Answer: N"]
    assert odd.is_correct is True and not is_equivalent(odd.answer, "6")


def test_inspect_directory_gives_one_run_per_log(tmp_path: Path) -> None:
    for name in ("arith.eval", "arith.json"):
        shutil.copy(INSPECT / name, tmp_path / name)
    runs = read_path(tmp_path, dataset="arith")
    assert [len(b.samples) for b in runs] == [12, 12]
    with pytest.raises(ValueError, match="`run_id` names one run"):
        read_path(tmp_path, run_id="x")


def test_inspect_verdict_mapping() -> None:
    assert [verdict(v) for v in ("C", "I", "N", "P", 1, 0, 0.5, False)] == [
        True, False, False, None, True, False, None, False]


# -- lm-evaluation-harness ----------------------------------------------------------------------
def test_lm_eval_samples_with_repeats() -> None:
    raw = _jsonl(LM_EVAL)
    assert detect_format(LM_EVAL) == "lm-eval-samples"
    assert detect_format(LM_EVAL.parent) == "lm-eval-samples"  # results_*.json is not a run
    [b] = read_path(LM_EVAL.parent)
    assert b.run.run_id == "lm-eval/arith_lm"
    assert b.run.policy_model == "qwen2.5-coder-0.5b-instruct"  # from results_arith_lm.json
    assert b.run.sampler is not None and b.run.sampler["repeats"] == 3
    # 4 docs x 2 filters = 8 lines; 4 problems x 3 repeats = 12 samples, texts as logged
    assert len(raw) == 8 and (len(b.problems), len(b.samples)) == (4, 12)
    first = {str(r["doc_id"]): r for r in raw if r["filter"] == "take-first"}
    for s in b.samples:
        assert s.text == first[s.problem_id]["resps"][0][s.sample_idx]
        assert s.is_correct == is_equivalent(s.answer, first[s.problem_id]["target"])
    for p in b.problems:
        assert p.question is not None and p.question.endswith(first[p.problem_id]["doc"]["input"])
        assert p.meta == {"lm_eval": {
            f: {"exact_match": next(r["exact_match"] for r in raw
                                    if str(r["doc_id"]) == p.problem_id and r["filter"] == f)}
            for f in ("take-first", "maj@3")}}
        # lm-eval's take-first metric judges repeat 0: our grading of it agrees
        [s0] = [s for s in b.samples if s.problem_id == p.problem_id and s.sample_idx == 0]
        assert s0.is_correct == bool(p.meta["lm_eval"]["take-first"]["exact_match"])
    assert b.run.meta["grading"]["is_correct_from"] == {"math-verify": 12}


def test_lm_eval_refuses_loglikelihood_output(tmp_path: Path) -> None:
    row = _jsonl(LM_EVAL)[0]
    row["resps"] = [[[-1.5, False]], [[-0.2, True]]]
    bad = tmp_path / "samples_mc_2026-01-01T00-00-00.jsonl"
    bad.write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError, match=r"samples_mc.*:1: field `resps`"):
        read_path(bad)


# -- OpenAI-compatible outputs ------------------------------------------------------------------
@pytest.mark.parametrize("folder", ["llama_cpp_plain", "llama_cpp_batch"])
def test_openai_outputs_from_llama_cpp(folder: str) -> None:
    path = OPENAI / folder
    assert detect_format(path) == "openai-outputs"
    [b] = read_path(path)
    [file] = [p for p in path.iterdir() if p.name != "problems.jsonl"]
    raw = _jsonl(file)
    bodies = [r["response"]["body"] if "custom_id" in r else r for r in raw]
    assert [s.text for s in b.samples] == [x["choices"][0]["message"]["content"] for x in bodies]
    assert [s.output_tokens for s in b.samples] == [x["usage"]["completion_tokens"]
                                                    for x in bodies]
    # problems come from problems.jsonl: 3 requests each, graded with math-verify
    gold = {p["problem_id"]: p["gold_answer"] for p in _jsonl(path / "problems.jsonl")}
    assert {p.problem_id: p.gold_answer for p in b.problems} == gold
    assert Counter(s.problem_id for s in b.samples) == dict.fromkeys(gold, 3)
    assert all(s.is_correct == is_equivalent(s.answer, gold[s.problem_id]) for s in b.samples)
    assert any(s.is_correct for s in b.samples) and not all(s.is_correct for s in b.samples)
    assert b.run.sampler == {"n": 1} and b.run.policy_model == "qwen2.5-coder-0.5b-instruct"


@pytest.mark.parametrize("folder", ["fake_n3_plain", "fake_n3_batch"])
def test_openai_outputs_with_n_choices(folder: str) -> None:
    [b] = read_path(OPENAI / folder)
    [file] = [p for p in (OPENAI / folder).iterdir() if p.name != "problems.jsonl"]
    bodies = [r["response"]["body"] if "custom_id" in r else r for r in _jsonl(file)]
    assert b.run.sampler == {"n": 3} and len(b.problems) == 4
    assert [s.text for s in b.samples] == [c["message"]["content"]
                                           for x in bodies for c in x["choices"]]
    assert [s.sample_idx for s in b.samples] == [0, 1, 2] * 4
    # a reply's token total cannot be split among its choices: kept on the problem
    assert all(s.output_tokens is None for s in b.samples)
    assert sorted(p.meta["completion_tokens"] for p in b.problems) == sorted(  # type: ignore[index]
        x["usage"]["completion_tokens"] for x in bodies)


def test_openai_batch_skips_failed_requests_and_checks_problem_ids(tmp_path: Path) -> None:
    src = OPENAI / "llama_cpp_batch"
    lines = (src / "batch_output.jsonl").read_text().splitlines()
    failed = {"id": "b", "custom_id": "add-1", "response": None,
              "error": {"code": "server_error", "message": "boom"}}
    (tmp_path / "out.jsonl").write_text("\n".join([*lines, json.dumps(failed)]) + "\n")
    shutil.copy(src / "problems.jsonl", tmp_path / "problems.jsonl")
    [b] = read_path(tmp_path)
    assert len(b.samples) == 12 and b.run.meta["skipped_failed_requests"] == 1
    stray = json.loads(lines[0])
    stray["custom_id"] = "nope"
    (tmp_path / "out.jsonl").write_text(json.dumps(stray) + "\n")
    with pytest.raises(InputError, match=r"out.jsonl:1: field `custom_id`: 'nope' is not a "):
        read_path(tmp_path)


def test_openai_outputs_without_problems_file_are_ungraded(tmp_path: Path) -> None:
    shutil.copy(OPENAI / "fake_n3_batch" / "batch_output.jsonl", tmp_path / "b.jsonl")
    [b] = read_path(tmp_path / "b.jsonl")
    assert b.run.run_id == "b" and all(s.is_correct is None for s in b.samples)
    assert b.run.meta["grading"]["is_correct_from"] == {"ungraded (no gold answer)": 12}


# -- bad files: one line naming file, line and field; nothing written ---------------------------
def _spoil_line(src: Path, dst: Path, line: int, edit) -> Path:  # type: ignore[no-untyped-def]
    rows = src.read_text().splitlines()
    obj = json.loads(rows[line - 1])
    edit(obj)
    rows[line - 1] = json.dumps(obj)
    dst.write_text("\n".join(rows) + "\n")
    return dst


def _del_choices(o: dict) -> None:  # type: ignore[type-arg]
    del o["response"]["body"]["choices"]


def _bad_content(o: dict) -> None:  # type: ignore[type-arg]
    o["choices"][0]["message"]["content"] = 7


def _bad_target(o: dict) -> None:  # type: ignore[type-arg]
    o["target"] = {"x": 1}


BAD = [
    ("batch without choices", OPENAI / "llama_cpp_batch" / "batch_output.jsonl", 3,
     _del_choices, "response.body.choices", "is missing"),
    ("content not text", OPENAI / "llama_cpp_plain" / "chat_completions.jsonl", 2,
     _bad_content, "choices[0].message.content", "expected str"),
    ("lm-eval target", LM_EVAL, 2, _bad_target, "target", "expected str or number"),
]


@pytest.mark.parametrize(("case", "src", "line", "edit", "field", "message"), BAD,
                         ids=[c[0] for c in BAD])
def test_cli_refuses_bad_tool_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    case: str, src: Path, line: int, edit, field: str, message: str,  # type: ignore[no-untyped-def]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    if (src.parent / "problems.jsonl").exists():
        shutil.copy(src.parent / "problems.jsonl", folder / "problems.jsonl")
    bad = _spoil_line(src, folder / src.name, line, edit)
    store = tmp_path / "s.duckdb"
    code, out, err = run_cli(["ingest", str(bad), "--store", str(store)], capsys, monkeypatch)
    assert code == 2 and out == "", case
    (one,) = err.strip().splitlines()
    assert one.startswith(f"error: {bad}:{line}: field `{field}`"), one
    assert message in one
    assert not store.exists()


def test_cli_refuses_a_corrupt_eval_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = bytearray((INSPECT / "arith.eval").read_bytes())
    bad = tmp_path / "cut.eval"
    bad.write_bytes(bytes(data[: len(data) // 2]))
    code, out, err = run_cli(["ingest", str(bad), "--store", str(tmp_path / "s.duckdb")],
                             capsys, monkeypatch)
    assert code == 2 and out == ""
    (one,) = err.strip().splitlines()
    assert one.startswith(f"error: {bad}: not an inspect_ai .eval archive"), one


def test_cli_ingests_all_three_tools_into_one_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path / "s.duckdb"
    for source in (INSPECT / "arith.eval", LM_EVAL.parent, OPENAI / "llama_cpp_batch",
                   OPENAI / "fake_n3_plain"):
        code, out, err = run_cli(["ingest", str(source), "--store", str(store)],
                                 capsys, monkeypatch)
        assert code == 0, err
    before = snapshot(store)
    code, out, _ = run_cli(["ingest", str(INSPECT / "arith.eval"), "--store", str(store)],
                           capsys, monkeypatch)
    assert code == 0 and "already present" in out and snapshot(store) == before
    with RunStore(store, read_only=True) as s:
        assert sorted(s.run_ids()) == ["fake_n3_plain", "inspect/arith", "llama_cpp_batch",
                                       "lm-eval/arith_lm"]


def test_formats_list_the_three_tools() -> None:
    assert {"inspect-log", "lm-eval-samples", "openai-outputs"} <= set(FORMATS)
