"""Reflexion HumanEval importer against the real logs in the mirror.

Expected numbers are computed here from the raw JSONL with `json`, independently of the
importer: 141 of 164 solved by single attempts, 150 of 164 by Reflexion chains.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.store_helpers import mirror_path
from workbench.errors import InputError
from workbench.importers import reflexion
from workbench.store import RunBundle, RunStore, Sample

REFLEXION_RUN = "reflexion/humaneval-gpt-4-reflexion"
SIMPLE_RUN = "reflexion/humaneval-gpt-4-simple"


@pytest.fixture(scope="module")
def folder() -> Path:
    return mirror_path() / "reflexion"


@pytest.fixture(scope="module")
def raw(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [json.loads(line) for line in (folder / name).read_text().splitlines()
               if line.strip()]
        for name in (reflexion.REFLEXION_FILE, reflexion.SIMPLE_FILE)
    }


@pytest.fixture(scope="module")
def bundles(folder: Path) -> dict[str, RunBundle]:
    return {b.run.run_id: b for b in reflexion.read({p.name: p for p in folder.iterdir()})}


def _chains(b: RunBundle) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = defaultdict(list)
    for s in b.samples:
        out[s.problem_id].append(s)
    return {pid: sorted(ss, key=lambda s: s.revision_idx or 0) for pid, ss in out.items()}


def test_both_runs_cover_humaneval(bundles: dict[str, RunBundle]) -> None:
    assert list(bundles) == [REFLEXION_RUN, SIMPLE_RUN]
    ids = [f"HumanEval/{i}" for i in range(164)]
    for b in bundles.values():
        assert [p.problem_id for p in b.problems] == ids
        assert b.run.dataset == "humaneval"
    # Both files describe the same problems, so the shared `problems` rows agree.
    assert bundles[REFLEXION_RUN].problems == bundles[SIMPLE_RUN].problems


def test_simple_pass_at_1_equals_raw_is_solved(
    bundles: dict[str, RunBundle], raw: dict[str, list[dict[str, Any]]]
) -> None:
    b = bundles[SIMPLE_RUN]
    solved = sum(r["is_solved"] for r in raw[reflexion.SIMPLE_FILE])
    assert solved == 141
    assert len(b.samples) == 164 and {s.sample_idx for s in b.samples} == {0}
    assert all(s.chain_id is None for s in b.samples)
    assert sum(s.is_correct for s in b.samples) / 164 == solved / 164


def test_reflexion_final_solve_rate_equals_raw_is_solved(
    bundles: dict[str, RunBundle], raw: dict[str, list[dict[str, Any]]]
) -> None:
    chains = _chains(bundles[REFLEXION_RUN])
    solved = sum(r["is_solved"] for r in raw[reflexion.REFLEXION_FILE])
    assert solved == 150
    assert sum(chain[-1].is_correct is True for chain in chains.values()) == solved


def test_chains_reconstruct_the_attempts(
    bundles: dict[str, RunBundle], raw: dict[str, list[dict[str, Any]]]
) -> None:
    chains = _chains(bundles[REFLEXION_RUN])
    assert len(chains) == 164
    for chain_id, rec in enumerate(raw[reflexion.REFLEXION_FILE]):
        chain = chains[rec["task_id"]]
        k = len(rec["reflections"])
        assert len(chain) == k + 1
        assert [s.revision_idx for s in chain] == [s.sample_idx for s in chain] == list(
            range(k + 1))
        assert {s.chain_id for s in chain} == {chain_id}
        last = chain[-1]
        assert last.is_correct is rec["is_solved"]
        assert last.text == (rec["solution"] or None)
        if k:
            assert chain[0].is_correct is False  # failed the real tests, hence the reflection
            assert all(s.is_correct is None for s in chain[1:-1])  # never run on real tests
            assert all(s.text is None for s in chain[:-1])
    assert bundles[REFLEXION_RUN].run.meta["reflections"] == {
        r["task_id"]: r["reflections"] for r in raw[reflexion.REFLEXION_FILE] if r["reflections"]}


def test_chains_never_continue_after_a_success(bundles: dict[str, RunBundle]) -> None:
    for chain in _chains(bundles[REFLEXION_RUN]).values():
        successes = [s.revision_idx for s in chain if s.is_correct]
        assert successes in ([], [chain[-1].revision_idx])


def test_attempt_counts(bundles: dict[str, RunBundle]) -> None:
    lengths = sorted(len(c) for c in _chains(bundles[REFLEXION_RUN]).values())
    assert len(bundles[REFLEXION_RUN].samples) == sum(lengths) == 358
    assert lengths[-1] == reflexion.INFERRED_MAX_ITERS  # 20 chains reach the last iteration
    assert lengths.count(reflexion.INFERRED_MAX_ITERS) == 20


def test_runs_ingest(bundles: dict[str, RunBundle], tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.duckdb") as store:
        for b in bundles.values():
            store.ingest(b)
        info = {r.run_id: r for r in store.runs()}
    assert info[REFLEXION_RUN].has_chains and info[REFLEXION_RUN].correct == 150
    assert info[SIMPLE_RUN].correct == 141 and not info[SIMPLE_RUN].has_chains


# ---------------------------------------------------------------- bad input

def _lines(folder: Path, name: str, n: int = 3) -> list[str]:
    return (folder / name).read_text().splitlines()[:n]


def _write(tmp_path: Path, name: str, lines: list[str], end: str = "\n") -> dict[str, Path]:
    path = tmp_path / name
    path.write_text("\n".join(lines) + end)
    return {name: path}


def test_wrong_type_names_line_and_field(tmp_path: Path, folder: Path) -> None:
    lines = _lines(folder, reflexion.REFLEXION_FILE)
    rec = json.loads(lines[1])
    rec["is_solved"] = "yes"
    lines[1] = json.dumps(rec)
    with pytest.raises(InputError, match="expected bool, got str") as err:
        reflexion.read(_write(tmp_path, reflexion.REFLEXION_FILE, lines))
    assert (err.value.file, err.value.line, err.value.field) == (
        reflexion.REFLEXION_FILE, 2, "is_solved")


def test_reflection_must_be_text(tmp_path: Path, folder: Path) -> None:
    lines = _lines(folder, reflexion.REFLEXION_FILE)
    rec = json.loads(lines[2])
    rec["reflections"] = ["fine", 3]
    lines[2] = json.dumps(rec)
    with pytest.raises(InputError) as err:
        reflexion.read(_write(tmp_path, reflexion.REFLEXION_FILE, lines))
    assert (err.value.line, err.value.field) == (3, "reflections[1]")


def test_truncated_last_line(tmp_path: Path, folder: Path) -> None:
    lines = _lines(folder, reflexion.SIMPLE_FILE)
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    with pytest.raises(InputError, match="truncated") as err:
        reflexion.read(_write(tmp_path, reflexion.SIMPLE_FILE, lines, end=""))
    assert err.value.line == 3


def test_malformed_middle_line(tmp_path: Path, folder: Path) -> None:
    lines = _lines(folder, reflexion.SIMPLE_FILE)
    lines[1] = lines[1][:40]
    with pytest.raises(InputError, match="malformed JSON") as err:
        reflexion.read(_write(tmp_path, reflexion.SIMPLE_FILE, lines))
    assert err.value.line == 2


def test_duplicate_problem(tmp_path: Path, folder: Path) -> None:
    lines = _lines(folder, reflexion.SIMPLE_FILE, 2)
    with pytest.raises(InputError, match="duplicate problem") as err:
        reflexion.read(_write(tmp_path, reflexion.SIMPLE_FILE, [lines[0], lines[1], lines[0]]))
    assert (err.value.line, err.value.field) == (3, "task_id")


def test_later_log_format_is_refused(tmp_path: Path, folder: Path) -> None:
    lines = _lines(folder, reflexion.REFLEXION_FILE, 1)
    rec = json.loads(lines[0])
    rec["implementations"] = [rec["solution"]]
    with pytest.raises(InputError, match="later Reflexion log format"):
        reflexion.read(_write(tmp_path, reflexion.REFLEXION_FILE, [json.dumps(rec)]))


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        reflexion.read(_write(tmp_path, reflexion.SIMPLE_FILE, [], end=""))


# ---------------------------------------------------------------- the shared readers (_common)

def test_common_readers_name_line_and_field(tmp_path: Path) -> None:
    from workbench.importers._common import check_type, field, read_json, read_jsonl

    path = tmp_path / "x.jsonl"
    path.write_text('{"n": 1}\n\n[1, 2]\n')
    rows = read_jsonl(path, "x.jsonl")
    assert [line for line, _ in rows] == [1, 3]  # blank lines keep the numbering
    with pytest.raises(InputError, match="record is not a JSON object") as err:
        field(rows[1][1], "n", int, "x.jsonl", rows[1][0])
    assert (err.value.line, err.value.field) == (3, "n")
    with pytest.raises(InputError, match="is missing"):
        field({}, "n", int, "x.jsonl", 1)
    assert field({"n": None}, "n", int, "x.jsonl", 1, optional=True) is None
    with pytest.raises(InputError, match="expected int, got bool"):
        check_type(True, int, "x.jsonl", 1, "n")
    assert check_type(3, float, "x.jsonl", 1, "v") == 3.0
    path.write_text('{"v": NaN}\n')
    with pytest.raises(InputError, match="non-standard JSON constant NaN"):
        read_jsonl(path, "x.jsonl")
    path.write_bytes(b'{"v": 1}\n{"v": "\xff"}\n')
    with pytest.raises(InputError, match="not UTF-8") as err:
        read_jsonl(path, "x.jsonl")
    assert err.value.line == 2
    json_path = tmp_path / "x.json"
    json_path.write_text('[{"a": 1},\n {"a": 2} {"a": 3}]')
    with pytest.raises(InputError, match="malformed JSON") as err:
        read_json(json_path, "x.json")
    assert err.value.line == 2
    json_path.write_text('[{"a": "unterminated')
    with pytest.raises(InputError, match="truncated"):
        read_json(json_path, "x.json")
