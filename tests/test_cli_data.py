"""`workbench datasets`, `workbench ingest` and `workbench runs` through the real entry point."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
from pathlib import Path

import pytest

from workbench.cli import data as data_cli
from workbench.sources import get_dataset, list_datasets
from workbench.store import RunStore

from .store_helpers import mirror_path, run_cli, small_bundle, snapshot


@pytest.fixture()
def mirror(monkeypatch: pytest.MonkeyPatch) -> Path:
    path = mirror_path()
    monkeypatch.setenv("WORKBENCH_DATA_MIRROR", str(path))
    return path


Cli = tuple[pytest.CaptureFixture[str], pytest.MonkeyPatch]


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return capsys, monkeypatch


def _run(cli: Cli, *args: str) -> tuple[int, str, str]:
    return run_cli(list(args), *cli)


# -- datasets ---------------------------------------------------------------------------------
def test_datasets_list_table_and_json(mirror: Path, cli: Cli) -> None:
    code, out, _ = _run(cli, "datasets", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["dataset", "licence", "files", "upstream", "importer"]
    body = {line.split()[0]: line for line in lines[2:7]}
    assert list(body) == [d.name for d in list_datasets()]
    assert "CC BY 4.0" in body["sampling-ceilings"] and "1,604" in body["compute-optimal-tts"]
    code, out, _ = _run(cli, "datasets", "list", "--json")
    items = json.loads(out)
    assert [(i["name"], i["licence"], i["files"]) for i in items] == [
        (d.name, d.licence, len(d.checksums)) for d in list_datasets()]


def test_datasets_info_shows_licence_citation_and_urls(mirror: Path, cli: Cli) -> None:
    code, out, _ = _run(cli, "datasets", "info", "sampling-ceilings")
    assert code == 0
    assert "licence:   CC BY 4.0" in out and "attribution (required)" in out
    assert "@article{brown2024large" in out
    assert get_dataset("sampling-ceilings").url("rhow_counts.json") in out
    code, out, _ = _run(cli, "datasets", "info", "compute-optimal-tts", "--json")
    info = json.loads(out)
    assert len(info["files"]) == 1604
    assert all(f["url"].startswith("https://raw.githubusercontent.com/") for f in info["files"])
    code, _, err = _run(cli, "datasets", "info", "nope")
    assert code == 2 and err.strip().startswith("error: no registered dataset 'nope'")
    assert len(err.strip().splitlines()) == 1


def test_datasets_verify_all_and_tampered(
    mirror: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = _run(cli, "datasets", "verify", "--json")
    reports = json.loads(out)
    assert code == 0 and [r["ok"] for r in reports] == [True] * 5
    assert sum(r["files"] for r in reports) == 1617
    bad = tmp_path / "mirror"
    import shutil

    shutil.copytree(mirror / "reflexion", bad / "reflexion")
    (bad / "reflexion" / "LICENSE").write_text("changed")
    monkeypatch.setenv("WORKBENCH_DATA_MIRROR", str(bad))
    code, out, err = _run(cli, "datasets", "verify", "reflexion")
    assert code == 2
    assert "FAILED" in out
    assert f"{bad / 'reflexion' / 'LICENSE'}: SHA-256 mismatch" in err
    assert err.strip().splitlines()[-1] == (
        "error: 1 file(s) failed verification in reflexion")


# -- ingest / runs ----------------------------------------------------------------------------
def test_ingest_needs_exactly_one_source(cli: Cli, tmp_path: Path) -> None:
    code, _, err = _run(cli, "ingest", "--store", str(tmp_path / "s.duckdb"))
    assert code == 2 and "give either SOURCE_OR_PATH or --defaults" in err
    code, _, err = _run(cli, "ingest", "no-such-thing", "--store", str(tmp_path / "s.duckdb"))
    assert code == 2
    assert "'no-such-thing' is neither a registered dataset" in err
    assert not (tmp_path / "s.duckdb").exists()


def test_runs_on_a_missing_store_is_one_clear_line(cli: Cli, tmp_path: Path) -> None:
    code, out, err = _run(cli, "runs", "--store", str(tmp_path / "none.duckdb"))
    assert code == 2 and out == ""
    assert err.strip() == (
        f"error: no store at {tmp_path / 'none.duckdb'}: run `workbench ingest --defaults` "
        "(or give --store)")


def _fake_dataset(monkeypatch: pytest.MonkeyPatch, importer: str, bundles: list) -> object:
    """The reflexion files under a fake importer module returning `bundles` (synthetic)."""
    module = types.ModuleType(f"workbench.importers.{importer}")
    module.read = lambda files: [b for b in bundles]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return dataclasses.replace(get_dataset("reflexion"), importer=importer)


def test_ingest_defaults_one_bad_run_changes_nothing(
    mirror: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "s.duckdb"
    with RunStore(store) as s:
        s.ingest(small_bundle("synthetic/existing"))
    before = snapshot(store)
    bad = small_bundle("synthetic/bad")
    bad.samples.append(dataclasses.replace(bad.samples[0], origin=("bad.jsonl", 7)))
    good = _fake_dataset(monkeypatch, "fake_good", [small_bundle("synthetic/good")])
    broken = _fake_dataset(monkeypatch, "fake_bad", [bad])
    monkeypatch.setattr(data_cli, "list_datasets", lambda: [good, broken])
    code, out, err = _run(cli, "ingest", "--defaults", "--store", str(store))
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "error: bad.jsonl:7: field `sample_idx`: duplicate sample id ('p1', 1)")
    assert snapshot(store) == before
    # the same two good runs go in together, and a second call is a no-op
    monkeypatch.setattr(data_cli, "list_datasets", lambda: [good])
    code, out, _ = _run(cli, "ingest", "--defaults", "--store", str(store))
    assert code == 0 and out.splitlines()[0].startswith("created          synthetic/good")
    after = snapshot(store)
    code, out, _ = _run(cli, "ingest", "--defaults", "--store", str(store))
    assert code == 0 and out.splitlines()[0].startswith("already present  synthetic/good")
    assert snapshot(store) == after


def test_ingest_defaults_missing_importer_is_named(
    mirror: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ghost = dataclasses.replace(get_dataset("reflexion"), importer="no_such_importer")
    monkeypatch.setattr(data_cli, "list_datasets", lambda: [ghost])
    code, _, err = _run(cli, "ingest", "--defaults", "--store", str(tmp_path / "s.duckdb"))
    assert code == 2 and "importer workbench.importers.no_such_importer is not installed" in err
    assert not (tmp_path / "s.duckdb").exists()


EXPECTED_RUNS = {
    # run id: (problems, samples, correct or None when not pinned here)
    "tot-game24/gpt-4-cot": (100, 10_000, 403),
    "tot-game24/gpt-4-direct": (100, 10_000, None),
    "tot-game24/gpt-4-bfs": (100, None, None),
    "qwen25-math-rm/math-cot-100": (100, 800, 728),
    "sampling-ceilings/math500-llama-3.2-1b": (500, 500 * 1280, None),
    **{f"sampling-ceilings/math500-llama-3.2-1b-s{i}": (500, 500 * 256, None) for i in range(5)},
    "sampling-ceilings/llmonkeys-gsm8k-llama-3-8b": (None, None, None),
    "sampling-ceilings/llmonkeys-gsm8k-llama-3-70b": (None, None, None),
    "sampling-ceilings/llmonkeys-math-llama-3-8b": (None, None, None),
    "sampling-ceilings/llmonkeys-math-llama-3-70b": (None, None, None),
    "compute-optimal-tts/math500-qwen2.5-1.5b-bon": (None, None, None),
    "compute-optimal-tts/math500-qwen2.5-1.5b-beam": (None, None, None),
    "reflexion/humaneval-gpt-4-reflexion": (164, None, None),
    "reflexion/humaneval-gpt-4-simple": (164, 164, None),
}
"""The run ids and sizes fixed in RUN_IDS.md (and SOURCES.md)."""


def test_ingest_defaults_takes_own_runs_under_cached_runs(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.importers import own_runs
    from workbench.store import write_bundle_parquet

    own = tmp_path / "cached_runs"
    monkeypatch.setattr(own_runs, "OWN_RUNS_DIR", own)
    write_bundle_parquet(small_bundle("synthetic/own"), own / "own" / "a")
    write_bundle_parquet(small_bundle("synthetic/hidden"), own / ".cache" / "b")
    monkeypatch.setattr(data_cli, "list_datasets", lambda: [])
    code, out, err = _run(cli, "ingest", "--defaults", "--store", str(tmp_path / "s.duckdb"))
    assert code == 0, err
    assert out.splitlines()[0].startswith("created          synthetic/own")
    assert "synthetic/hidden" not in out  # hidden folders (caches, journals) are skipped


def test_ingest_defaults_real_mirror(
    mirror: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.importers import own_runs

    monkeypatch.setattr(own_runs, "OWN_RUNS_DIR", None)  # exactly the registered datasets
    store = tmp_path / "real.duckdb"
    code, out, err = _run(cli, "ingest", "--defaults", "--store", str(store))
    assert code == 0, err
    assert out.count("created") == len(EXPECTED_RUNS) + 1  # one line per run + the summary
    code, out, _ = _run(cli, "runs", "--store", str(store), "--json")
    runs = {r["run_id"]: r for r in json.loads(out)}
    assert set(runs) == set(EXPECTED_RUNS)
    for run_id, (problems, samples, correct) in EXPECTED_RUNS.items():
        r = runs[run_id]
        got = (r["problems"] if problems is not None else None,
               r["samples"] if samples is not None else None,
               r["correct"] if correct is not None else None)
        assert got == (problems, samples, correct), run_id
    pooled = runs["sampling-ceilings/math500-llama-3.2-1b"]
    sessions = [runs[f"sampling-ceilings/math500-llama-3.2-1b-s{i}"] for i in range(5)]
    assert pooled["counts_only"] and all(s["counts_only"] for s in sessions)
    assert pooled["correct"] == sum(s["correct"] for s in sessions)
    for name in ("gsm8k-llama-3-8b", "gsm8k-llama-3-70b", "math-llama-3-8b", "math-llama-3-70b"):
        r = runs[f"sampling-ceilings/llmonkeys-{name}"]
        assert r["counts_only"] and r["samples"] == r["problems"] * 10_000
    assert runs["tot-game24/gpt-4-bfs"]["has_tree"]
    assert runs["qwen25-math-rm/math-cot-100"]["verifiers"] == ["qwen2.5-math-rm-72b"]
    assert runs["qwen25-math-rm/math-cot-100"]["has_outcome_scores"]
    for kind in ("bon", "beam"):
        r = runs[f"compute-optimal-tts/math500-qwen2.5-1.5b-{kind}"]
        assert r["verifiers"] == ["math-shepherd-mistral-7b-prm"] and r["has_step_scores"]
    assert runs["reflexion/humaneval-gpt-4-reflexion"]["has_chains"]
    # the table form lists the same runs
    code, out, _ = _run(cli, "runs", "--store", str(store))
    assert code == 0 and all(run_id in out for run_id in EXPECTED_RUNS)
    # ingesting a dataset again changes nothing (one small dataset: reading all takes long)
    before = snapshot(store)
    code, out, _ = _run(cli, "ingest", "reflexion", "--store", str(store))
    assert code == 0 and out.count("already present") == 2 + 1
    assert snapshot(store) == before


# -- export -----------------------------------------------------------------------------------
def test_export_then_ingest_round_trips_exactly(cli: Cli, tmp_path: Path) -> None:
    """`workbench export RUN DIR` writes what `workbench ingest DIR` reads back unchanged
    (synthetic run)."""
    from workbench.importers import read_path

    from .store_helpers import round_trip_bundle

    bundle = round_trip_bundle()
    src = tmp_path / "a.duckdb"
    with RunStore(src) as store:
        store.ingest(bundle)
        digest = store.query("SELECT content_hash FROM runs").to_pylist()[0]["content_hash"]
    out_dir = tmp_path / "exported"
    code, out, err = _run(cli, "export", bundle.run.run_id, str(out_dir), "--store", str(src),
                          "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["content_hash"] == digest == bundle.content_hash()
    assert "run.json" in report["files"] and "samples.parquet" in report["files"]
    [back] = read_path(out_dir)
    assert back.run == bundle.run and back.content_hash() == digest
    # into a fresh store: the same content hash and the same rows
    dst = tmp_path / "b.duckdb"
    code, out, err = _run(cli, "ingest", str(out_dir), "--store", str(dst))
    assert code == 0 and out.startswith(f"created          {bundle.run.run_id}"), err
    assert snapshot(dst)["samples"] == snapshot(src)["samples"]
    with RunStore(dst, read_only=True) as store:
        assert store.load_bundle(bundle.run.run_id).content_hash() == digest
    # a non-empty target and an unknown run: one line, exit 2, nothing written
    code, out, err = _run(cli, "export", bundle.run.run_id, str(out_dir), "--store", str(src))
    assert code == 2 and err.startswith(f"error: {out_dir}: exists and is not an empty")
    code, out, err = _run(cli, "export", "nope", str(tmp_path / "x"), "--store", str(src))
    assert code == 2 and "no run 'nope'" in err and not (tmp_path / "x").exists()
