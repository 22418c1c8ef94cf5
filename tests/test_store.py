"""The DuckDB run store: schema and migrations, views, idempotent ingest, read-only, round trip.

All data here is synthetic (tests.store_helpers.small_bundle) with hand-computed expectations.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from workbench.errors import InputError, RunNotFoundError, StoreError
from workbench.store import CURRENT_VERSION, RunBundle, RunStore, Sample
from workbench.store import run_store as run_store_module
from workbench.store.schema import MIGRATIONS

from .store_helpers import STORE_TABLES, small_bundle, snapshot


@pytest.fixture()
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    with RunStore(path) as store:
        store.ingest(small_bundle())
    return path


# -- schema and migrations --------------------------------------------------------------------
def test_new_store_records_every_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    for _ in range(2):  # reopening must not re-apply anything
        with RunStore(path) as store:
            rows = store.query(
                "SELECT version, description FROM schema_version ORDER BY version"
            ).to_pylist()
            assert [(r["version"], r["description"]) for r in rows] == [
                (v, d) for v, d, _ in MIGRATIONS
            ]
            assert store.schema_version == CURRENT_VERSION == MIGRATIONS[-1][0]


def test_forward_migration_applies_once_and_read_only_refuses_old_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.duckdb"
    with RunStore(path) as store:
        store.ingest(small_bundle())
    v2 = CURRENT_VERSION + 1
    add_note = "ALTER TABLE runs ADD COLUMN note VARCHAR"
    migrations = [*MIGRATIONS, (v2, "add a note column", add_note)]
    monkeypatch.setattr(run_store_module, "MIGRATIONS", migrations)
    monkeypatch.setattr(run_store_module, "CURRENT_VERSION", v2)
    with pytest.raises(StoreError, match=rf"schema version {CURRENT_VERSION}.*needs {v2}"):
        RunStore(path, read_only=True)
    for _ in range(2):
        with RunStore(path) as store:
            assert store.schema_version == v2
            versions = store.query("SELECT version FROM schema_version ORDER BY 1").to_pylist()
            assert [r["version"] for r in versions] == [v for v, _, _ in migrations]
            cols = store.query("SELECT * FROM runs").to_arrow().column_names
            assert "note" in cols
            assert store.run_ids() == ["test/run"]  # data kept through the migration
    with RunStore(path, read_only=True) as store:
        assert store.schema_version == v2


# -- views ------------------------------------------------------------------------------------
def test_step_agg_matches_hand_computed_aggregates(store_path: Path) -> None:
    with RunStore(store_path, read_only=True) as store:
        rows = store.query(
            "SELECT * FROM step_agg WHERE run_id = ? ORDER BY sample_idx", ["test/run"]
        ).to_pylist()
    # sample 0: steps (in step order) 0.9, 0.5, 0.8 (given out of order); sample 1: 0.6, 0.0
    s0, s1 = rows
    assert s0["n_scored_steps"] == 3 and s0["step_tokens"] == 30
    assert s0["agg_last"] == 0.8  # the score of the LAST step, not the last row given
    assert s0["agg_min"] == 0.5
    assert math.isclose(s0["agg_prod"], 0.9 * 0.5 * 0.8, rel_tol=1e-12)
    assert math.isclose(s0["agg_mean"], (0.9 + 0.5 + 0.8) / 3, rel_tol=1e-12)
    assert s1["agg_last"] == 0.0 and s1["agg_min"] == 0.0
    assert s1["agg_prod"] == 0.0  # a zero step score: product 0 (no log(0) error)
    assert math.isclose(s1["agg_mean"], 0.3, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("agg", "expected"),
    [("last", [0.8, 0.0]), ("min", [0.5, 0.0]), ("prod", [0.36, 0.0]), ("mean", [2.2 / 3, 0.3])],
)
def test_pool_table_step_aggregation(store_path: Path, agg: str, expected: list[float]) -> None:
    with RunStore(store_path, read_only=True) as store:
        pool = store.pool_table("test/run", "prm", agg=agg).to_pylist()
    scored = {(r["problem_id"], r["sample_idx"]): r["score"] for r in pool}
    assert len(pool) == 3  # every sample; p2's has no PRM score
    assert scored[("p2", 0)] is None
    assert [scored[("p1", 0)], scored[("p1", 1)]] == pytest.approx(expected, rel=1e-12)


def test_pool_macro_per_verifier(store_path: Path) -> None:
    with RunStore(store_path, read_only=True) as store:
        orm = store.query(
            "SELECT problem_id, sample_idx, is_correct, outcome_score, agg_last "
            "FROM pool(?, ?) ORDER BY problem_id, sample_idx", ["test/run", "orm"],
        ).to_pylist()
        prm = store.query(
            "SELECT problem_id, sample_idx, agg_min FROM pool(?, ?) ORDER BY ALL",
            ["test/run", "prm"],
        ).to_pylist()
        none = store.query("SELECT * FROM pool(?, NULL)", ["test/run"]).to_pylist()
        kinds = store.verifiers("test/run")
    assert [(r["problem_id"], r["sample_idx"], r["is_correct"], r["outcome_score"], r["agg_last"])
            for r in orm] == [("p1", 0, True, 0.25, None), ("p1", 1, False, 0.75, None),
                              ("p2", 0, True, None, None)]
    assert [(r["problem_id"], r["sample_idx"], r["agg_min"]) for r in prm] == [
        ("p1", 0, 0.5), ("p1", 1, 0.0), ("p2", 0, None)]
    assert none == []  # a run with verifiers has no verifier-less rows
    assert kinds == {"orm": "outcome", "prm": "step"}


def test_pool_without_verifier_and_unknown_verifier(tmp_path: Path) -> None:
    bundle = small_bundle()
    bundle.step_scores, bundle.outcome_scores = [], []
    with RunStore(tmp_path / "s.duckdb") as store:
        store.ingest(bundle)
        rows = store.query("SELECT sample_idx, verifier FROM pool(?, NULL) ORDER BY ALL",
                           ["test/run"]).to_pylist()
        assert len(rows) == 3 and all(r["verifier"] is None for r in rows)
        assert store.pool_table("test/run").column("score").null_count == 3
        with pytest.raises(StoreError, match="no verifier 'prm'; it has: none"):
            store.pool_table("test/run", "prm")
        with pytest.raises(ValueError, match="`agg` must be one of"):
            store.pool_table("test/run", None, agg="max")


def test_run_summary_and_runs(store_path: Path) -> None:
    with RunStore(store_path, read_only=True) as store:
        (info,) = store.runs()
    assert (info.run_id, info.dataset, info.policy_model) == ("test/run", "toy", "toy-model")
    # samples and correct come from the sample rows when there are any
    assert (info.problems, info.samples, info.correct, info.counts_only) == (2, 3, 2, False)
    assert (info.has_step_scores, info.has_outcome_scores, info.has_tree, info.has_chains) == (
        True, True, True, True)
    assert info.verifiers == ("orm", "prm")


def test_run_summary_of_a_counts_only_run(tmp_path: Path) -> None:
    bundle = small_bundle()
    bundle.samples, bundle.step_scores, bundle.outcome_scores, bundle.tree_nodes = [], [], [], []
    with RunStore(tmp_path / "s.duckdb") as store:
        store.ingest(bundle)
        (info,) = store.runs()
    # p1: n=10, c=3; p2: n=10, c=7
    assert (info.problems, info.samples, info.correct, info.counts_only) == (2, 20, 10, True)
    assert not (info.has_step_scores or info.has_outcome_scores or info.has_tree
                or info.has_chains)
    assert info.verifiers == ()


# -- ingest -----------------------------------------------------------------------------------
def test_reingest_same_content_is_a_noop_even_reordered(store_path: Path) -> None:
    before = snapshot(store_path)
    again = small_bundle()
    again.samples.reverse()
    again.step_scores.reverse()
    # int and float spellings of a float field are the same content
    again.run = dataclasses.replace(again.run, policy_params=1e9)
    with RunStore(store_path) as store:
        result = store.ingest(again)
    assert result.created is False and result.run_id == "test/run"
    assert result.content_hash == small_bundle().content_hash()
    assert snapshot(store_path) == before


def test_run_id_clash_refused_then_replaced(store_path: Path) -> None:
    changed = small_bundle()
    changed.samples[0] = dataclasses.replace(changed.samples[0], is_correct=True)
    before = snapshot(store_path)
    with RunStore(store_path) as store:
        with pytest.raises(InputError, match="'test/run' is already stored with different"):
            store.ingest(changed)
    assert snapshot(store_path) == before
    with RunStore(store_path) as store:
        result = store.ingest(changed, replace=True)
        assert result.created
        (info,) = store.runs()
        correct = store.query("SELECT count_if(is_correct) c FROM samples").to_pylist()[0]["c"]
    assert correct == 3 and info.run_id == "test/run"
    assert snapshot(store_path)["samples"] != before["samples"]


def test_ingest_many_is_all_or_nothing(store_path: Path) -> None:
    before = snapshot(store_path)
    good = small_bundle("test/other")
    clash = small_bundle()
    clash.samples = clash.samples[:2]  # same run id, different content
    with RunStore(store_path) as store:
        with pytest.raises(InputError, match="already stored"):
            store.ingest_many([good, clash])
        with pytest.raises(InputError, match="appears twice"):
            store.ingest_many([good, small_bundle("test/other")])
    assert snapshot(store_path) == before
    with RunStore(store_path) as store:
        seen = []
        results = store.ingest_many([good, small_bundle()], progress=seen.append)
    assert [(r.run_id, r.created) for r in results] == [("test/other", True), ("test/run", False)]
    assert seen == results
    assert snapshot(store_path)["runs"] != before["runs"]


def test_invalid_bundle_writes_nothing(store_path: Path) -> None:
    before = snapshot(store_path)
    bad = small_bundle("test/bad")
    bad.samples.append(Sample("p9", 0, origin=("bad.jsonl", 4)))
    with RunStore(store_path) as store, pytest.raises(InputError) as info:
        store.ingest(bad)
    assert (info.value.file, info.value.line, info.value.field) == ("bad.jsonl", 4, "problem_id")
    assert snapshot(store_path) == before


# -- read-only --------------------------------------------------------------------------------
def test_read_only_refuses_writes(store_path: Path) -> None:
    before = snapshot(store_path)
    with RunStore(store_path, read_only=True) as store:
        with pytest.raises(StoreError, match="open read-only"):
            store.ingest(small_bundle("test/new"))
        with pytest.raises(StoreError, match="open read-only"):
            store.delete_run("test/run")
        with pytest.raises(StoreError, match="store query failed"):
            store.query("DELETE FROM samples")
    assert snapshot(store_path) == before


def test_missing_store_read_only_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "missing.duckdb"
    with pytest.raises(StoreError, match=r"no store at .*missing\.duckdb: run `workbench ingest"):
        RunStore(path, read_only=True)
    assert not path.exists() and not path.parent.exists()


def test_read_only_refuses_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    with RunStore(path) as store:
        store.query("DROP TABLE schema_version")
    with pytest.raises(StoreError, match="is not a workbench store"):
        RunStore(path, read_only=True)


# -- export / import --------------------------------------------------------------------------
def _without_created_at(snap: dict[str, list[tuple]], path: Path) -> dict[str, list[tuple]]:
    with RunStore(path, read_only=True) as store:
        runs = store.query("SELECT * EXCLUDE (created_at) FROM runs ORDER BY ALL").to_pylist()
    out = {k: v for k, v in snap.items() if k not in ("runs", "schema_version")}
    out["runs"] = [tuple(r.values()) for r in runs]
    return out


def test_export_import_round_trip_is_identical(store_path: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    with RunStore(store_path, read_only=True) as store:
        store.export_run("test/run", export)
        (stored_hash,) = store.query("SELECT content_hash FROM runs").to_pylist()[0].values()
    assert sorted(p.name for p in export.iterdir()) == [
        "outcome_scores.parquet", "problem_counts.parquet", "problems.parquet", "run.json",
        "samples.parquet", "step_scores.parquet", "tree_nodes.parquet",
    ]
    fresh = tmp_path / "fresh.duckdb"
    with RunStore(fresh) as store:
        result = store.import_run(export)
    assert result.created and result.content_hash == stored_hash == small_bundle().content_hash()
    assert _without_created_at(snapshot(fresh), fresh) == _without_created_at(
        snapshot(store_path), store_path
    )
    with RunStore(fresh, read_only=True) as a, RunStore(store_path, read_only=True) as b:
        assert a.load_bundle("test/run").content_hash() == b.load_bundle("test/run").content_hash()
    # importing the export back into the original store is a no-op
    before = snapshot(store_path)
    with RunStore(store_path) as store:
        assert store.import_run(export).created is False
    assert snapshot(store_path) == before


def test_import_of_a_broken_export_names_the_file(store_path: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    with RunStore(store_path, read_only=True) as store:
        store.export_run("test/run", export)
    (export / "samples.parquet").write_bytes(b"not parquet")
    with RunStore(tmp_path / "fresh.duckdb") as store, pytest.raises(InputError) as info:
        store.import_run(export)
    assert info.value.file == str(export / "samples.parquet")
    assert "unreadable Parquet" in str(info.value)


# -- delete -----------------------------------------------------------------------------------
def test_delete_run_removes_only_that_run(store_path: Path) -> None:
    with RunStore(store_path) as store:
        store.ingest(small_bundle("test/keep"))
    keep_rows = {t: n for t, n in _counts(store_path, "test/keep").items()}
    with RunStore(store_path) as store:
        store.delete_run("test/run")
        assert store.run_ids() == ["test/keep"]
        with pytest.raises(RunNotFoundError, match="no run 'test/run'.*stored runs: test/keep"):
            store.delete_run("test/run")
    assert _counts(store_path, "test/run") == {t: 0 for t in keep_rows}
    assert _counts(store_path, "test/keep") == keep_rows
    # problems are shared by the runs of a dataset and stay
    assert len(snapshot(store_path)["problems"]) == 2


def _counts(path: Path, run_id: str) -> dict[str, int]:
    with RunStore(path, read_only=True) as store:
        sql = "SELECT count(*) n FROM {} WHERE run_id = ?"
        return {
            t: store.query(sql.format(t), [run_id]).to_pylist()[0]["n"]
            for t in STORE_TABLES if t not in ("schema_version", "problems")
        }


def test_unknown_run_is_a_clear_error(store_path: Path) -> None:
    with RunStore(store_path, read_only=True) as store:
        for call in (store.describe, store.run_record, store.verifiers, store.problems):
            with pytest.raises(RunNotFoundError, match="no run 'nope'"):
                call("nope")


def test_empty_bundle_refused(tmp_path: Path) -> None:
    bundle = RunBundle(run=small_bundle().run, problems=small_bundle().problems)
    with RunStore(tmp_path / "s.duckdb") as store, pytest.raises(InputError, match="holds no"):
        store.ingest(bundle)
