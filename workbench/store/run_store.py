"""RunStore: the one class that owns the DuckDB database of runs.

Every SQL statement goes through `RunStore._execute`, which parameterises values and re-raises
DuckDB failures as `StoreError` carrying the SQL (the Splink pattern).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.errors import InputError, RunNotFoundError, StoreError
from workbench.locations import STORE_FILE, data_home, default_store_path
from workbench.parquet import PARQUET_OPTIONS
from workbench.store import columnar, locking
from workbench.store.columnar import ColumnarRun, parquet_source
from workbench.store.convert import arrow_to_records, records_to_arrow, run_to_dict
from workbench.store.records import TABLE_RECORDS, Run, RunBundle
from workbench.store.schema import CURRENT_VERSION, MIGRATIONS, REHASH_VERSION, VIEWS

DEFAULT_STORE = data_home() / STORE_FILE
"""Where `workbench` keeps its store unless told otherwise (env WORKBENCH_STORE overrides):
`<checkout>/cached_runs/workbench.duckdb`, or the per-user data folder outside a checkout
(see `workbench.locations`)."""

EXPORT_FORMAT = "ttc-workbench-run/1"
PROBLEM_COLUMNS = ("dataset", "problem_id", "question", "gold_answer", "subject", "level", "meta")
PROBLEM_FIELDS = ("gold_answer", "question", "subject", "level", "meta")
"""The fields of a problem that runs of one dataset must agree on (gold first: it grades)."""
AGGREGATIONS = ("last", "min", "prod", "mean")


def _run_hint(run_id: str, known: Sequence[str]) -> str:
    """'did you mean' for a mistyped run id (difflib), then the stored runs, or their number
    when there are many (`workbench runs` lists them).

    >>> _run_hint("tot/gpt4-cot", ["tot/gpt-4-cot", "qwen/math"])
    "; did you mean 'tot/gpt-4-cot'? stored runs: tot/gpt-4-cot, qwen/math"
    """
    if not known:
        return "; the store is empty (run `workbench ingest --defaults`)"
    close = difflib.get_close_matches(run_id, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    listed = (f"stored runs: {', '.join(known)}" if len(known) <= 8
              else f"{len(known)} runs stored (`workbench runs` lists them)")
    return f"{hint} {listed}"


class QueryResult:
    """A query's result as a handle: convert with `.to_frame()` (pandas), `.to_arrow()`,
    `.to_parquet()`."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def to_arrow(self) -> pa.Table:
        return self._table

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame; the columns are the query's (its SELECT list).

        Columns:
            (the query's own columns)
        """
        return self._table.to_pandas()

    def to_pandas(self) -> Any:
        """The same as `to_frame` (the older name, as Splink and DuckDB spell it)."""
        return self.to_frame()

    def to_pylist(self) -> list[dict[str, Any]]:
        return self._table.to_pylist()

    def to_parquet(self, path: str | Path) -> Path:
        pq.write_table(self._table, str(path))
        return Path(path)

    def __len__(self) -> int:
        return self._table.num_rows


@dataclass(frozen=True)
class IngestResult:
    run_id: str
    content_hash: str
    created: bool
    """False when the same content was already in the store (ingest is then a no-op)."""

    def to_frame(self) -> Any:
        """One row.

        Columns:
            run_id: the run.
            content_hash: its content hash.
            created: False when the same content was already in the store.
        """
        from workbench.frames import record_frame

        return record_frame([self])


@dataclass(frozen=True)
class RunInfo:
    """One run as `workbench runs` lists it."""

    run_id: str
    dataset: str
    policy_model: str
    source: str
    problems: int
    samples: int
    correct: int | None
    has_step_scores: bool
    has_outcome_scores: bool
    has_tree: bool
    has_chains: bool
    counts_only: bool
    verifiers: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["verifiers"] = list(self.verifiers)
        return d

    def to_frame(self) -> Any:
        """One row (`pd.concat` the frames of `store.runs()` for a table of runs).

        Columns:
            run_id: the run.
            dataset: its dataset.
            policy_model: the model.
            source: where it came from.
            problems: problems.
            samples: samples.
            correct: correct samples (None: no gold answers).
            has_step_scores: it has PRM step scores.
            has_outcome_scores: it has ORM outcome scores.
            has_tree: it has a cached search tree.
            has_chains: it has revision chains.
            counts_only: it holds per-problem counts only.
            verifiers: its verifiers, comma-separated.
        """
        from workbench.frames import record_frame

        return record_frame([self])


class RunStore:
    """The DuckDB store of runs.

    >>> store = RunStore(":memory:")
    >>> store.run_ids()
    []
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        wait: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """Open (or create) a store; while another process holds it, wait up to `wait` s.

        `wait` defaults to env WORKBENCH_STORE_WAIT, else 60 s; `on_wait` gets one line naming
        the holder when the wait starts (see `workbench.store.locking`).
        """
        self.path = str(default_store_path() if path is None else path)
        self.read_only = read_only
        if self.path != ":memory:":
            if read_only and not Path(self.path).exists():
                raise StoreError(
                    f"no store at {self.path}: run `workbench ingest --defaults` (or give --store)"
                )
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._con = locking.connect(self.path, read_only=read_only, wait=wait, on_wait=on_wait)
        if not read_only:
            self._migrate()
        else:
            self._check_version()

    # -- plumbing ---------------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        try:
            return self._con.execute(sql, params) if params is not None else self._con.execute(sql)
        except duckdb.Error as exc:
            raise StoreError(f"store query failed: {exc}", sql) from exc

    def _fetchone(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        # fetchall, not fetchone: duckdb >= 2.0 refuses further work on a connection whose last
        # result was not read to the end ("unfinished result from execute()").
        rows = self._execute(sql, params).fetchall()
        return rows[0] if rows else None

    @contextmanager
    def _transaction(self, *, record: bool = True) -> Iterator[None]:
        """All or nothing: COMMIT when the block ends, ROLLBACK on any exception (Ctrl-C too).

        A Ctrl-C during COMMIT is held until it is done (`locking.commit`); `record` notes the
        commit so that the CLI can say the change was kept (migrations are not noted).
        """
        self._execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._execute("ROLLBACK")
            raise
        locking.commit(self._execute, self.path if record else None)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        self._execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)"
        )
        done = {r[0] for r in self._execute("SELECT version FROM schema_version").fetchall()}
        for version, description, sql in MIGRATIONS:
            if version in done:
                continue
            with self._transaction(record=False):
                self._execute(sql)
                if version == REHASH_VERSION:
                    self._rehash_runs()
                self._execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)",
                    [version, description, datetime.now(UTC).replace(tzinfo=None)],
                )
        self._execute(VIEWS)

    def _rehash_runs(self) -> None:
        """Recompute every stored run's content hash with the columnar scheme (migration 2)."""
        for (run_id,) in self._execute("SELECT run_id FROM runs").fetchall():
            digest = columnar.rehash_stored(self._con, self.run_record(run_id), run_id)
            self._execute("UPDATE runs SET content_hash = ? WHERE run_id = ?", [digest, run_id])

    def _check_version(self) -> None:
        try:
            (v,) = self._con.execute("SELECT max(version) FROM schema_version").fetchall()[0]
        except duckdb.Error as exc:
            raise StoreError(f"{self.path} is not a workbench store: {exc}") from exc
        if v is None or v < CURRENT_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {v}, this workbench needs "
                f"{CURRENT_VERSION}: open it once read-write to migrate"
            )

    @property
    def schema_version(self) -> int:
        (v,) = self._fetchone("SELECT max(version) FROM schema_version")  # type: ignore[misc]
        return int(v)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> QueryResult:
        """Run read SQL with bound parameters; returns a `QueryResult` handle."""
        try:
            rel = self._con.sql(sql, params=params)
            return QueryResult(rel.to_arrow_table() if rel is not None else pa.table({}))
        except duckdb.Error as exc:
            raise StoreError(f"store query failed: {exc}", sql) from exc

    # -- writing ----------------------------------------------------------------------------
    def ingest(self, bundle: RunBundle | ColumnarRun, *, replace: bool = False) -> IngestResult:
        """Validate and insert a run in one transaction; a no-op if the same content is stored.

        A run id already stored with different content is refused unless `replace=True`.
        On any error nothing is written.
        """
        return self.ingest_many([bundle], replace=replace)[0]

    def ingest_many(
        self,
        bundles: Sequence[RunBundle | ColumnarRun],
        *,
        replace: bool = False,
        progress: Callable[[IngestResult], None] | None = None,
    ) -> list[IngestResult]:
        """Validate and insert several runs in ONE transaction: all of them go in, or none.

        Each run is validated (in columns, once: a `ColumnarRun` already validated is not
        checked again) and checked against the store before anything is written; runs whose
        content is already stored are no-ops (`created=False`). `progress` is called with
        each result as its run is handled (the CLI draws a bar from it).

        >>> from workbench.store.records import Problem, Run, Sample
        >>> b = RunBundle(Run("r", "d", "m", "file.jsonl"), [Problem("d", "p")], [Sample("p", 0)])
        >>> store = RunStore(":memory:")
        >>> [r.created for r in store.ingest_many([b])], [r.created for r in store.ingest_many([b])]
        ([True], [False])
        """
        self._require_writable()
        plan: list[tuple[ColumnarRun, IngestResult, bool]] = []
        batch_ids: set[str] = set()
        for item in bundles:
            crun = as_columnar(item).validate()
            run = crun.run
            if run.run_id in batch_ids:
                raise InputError(
                    crun.where, None, "run_id", f"run {run.run_id!r} appears twice in one ingest"
                )
            batch_ids.add(run.run_id)
            digest = crun.content_hash()
            same = self._fetchone("SELECT run_id FROM runs WHERE content_hash = ?", [digest])
            if same is not None:
                plan.append((crun, IngestResult(same[0], digest, created=False), False))
                continue
            exists = self._fetchone("SELECT 1 FROM runs WHERE run_id = ?", [run.run_id])
            if exists and not replace:
                raise InputError(
                    crun.where, None, "run_id",
                    f"run {run.run_id!r} is already stored with different content "
                    "(delete it first or ingest with replace)",
                )
            plan.append((crun, IngestResult(run.run_id, digest, created=True), bool(exists)))
        with self._ingest_memory(), self._transaction():
            for crun, result, replaces in plan:
                if result.created:
                    self._insert_run_tables(crun, result.content_hash, replaces)
                if progress is not None:
                    progress(result)
        return [result for _, result, _ in plan]

    @contextmanager
    def _ingest_memory(self) -> Iterator[None]:
        """DuckDB's memory limit while a run goes in (it spills beyond), restored after."""
        (old,) = self._fetchone("SELECT current_setting('memory_limit')")  # type: ignore[misc]
        self._execute(f"SET memory_limit = '{columnar.INGEST_MEMORY_LIMIT}'")
        try:
            yield
        finally:
            self._execute(f"SET memory_limit = '{old}'")

    def _insert_run_tables(self, crun: ColumnarRun, digest: str, exists: bool) -> None:
        run = crun.run
        if exists:
            self._delete_rows(run.run_id)
        self._insert_run(run, digest)
        columnar.define_views(self._con, crun)
        try:
            if "problems" in crun.tables:
                self._insert_problems(crun)
            for name in TABLE_RECORDS:
                if name == "problems" or name not in crun.tables:
                    continue
                cols = ", ".join(columnar.column_kinds(name))
                self._execute(
                    f"INSERT INTO {name} (run_id, {cols}) "
                    f"SELECT ?, {columnar.typed_select(name)} FROM _in_{name}", [run.run_id]
                )
        finally:
            columnar.drop_views(self._con, crun)

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"store {self.path} is open read-only")

    def _insert_run(self, run: Run, digest: str) -> None:
        d = run_to_dict(run)
        self._execute(
            "INSERT INTO runs (run_id, dataset, policy_model, policy_params, sampler, prompt, "
            "source, meta, created_at, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                d["run_id"], d["dataset"], d["policy_model"], d["policy_params"],
                None if d["sampler"] is None else json.dumps(d["sampler"], sort_keys=True),
                d["prompt"], d["source"],
                None if d["meta"] is None else json.dumps(d["meta"], sort_keys=True),
                datetime.now(UTC).replace(tzinfo=None), digest,
            ],
        )

    def _insert_problems(self, crun: ColumnarRun) -> None:
        """Problems are shared by the runs of a dataset: a problem already stored must agree
        with this run's copy in every field (a second gold answer is refused, not dropped);
        `run_problems` records which problems belong to the run (with or without samples)."""
        differs = " OR ".join(f"i.{f} IS DISTINCT FROM p.{f}" for f in PROBLEM_FIELDS[:-1])
        differs += " OR i.meta::JSON IS DISTINCT FROM p.meta"
        row = self._fetchone(
            f"""SELECT i._file, i._line, i.problem_id,
                       {", ".join(f"i.{f}, p.{f}" for f in PROBLEM_FIELDS[:-1])},
                       i.meta, p.meta::VARCHAR,
                       (SELECT min(rp.run_id) FROM run_problems rp JOIN runs r USING (run_id)
                        WHERE rp.problem_id = p.problem_id AND r.dataset = p.dataset)
                FROM _in_problems i JOIN problems p
                  ON p.dataset = i.dataset AND p.problem_id = i.problem_id
                WHERE {differs} ORDER BY i._file, i._line LIMIT 1"""
        )
        if row is not None:
            file, line, pid, *pairs, other = row
            for k, name in enumerate(PROBLEM_FIELDS):
                new, old = pairs[2 * k], pairs[2 * k + 1]
                if name == "meta":
                    new, old = (None if v is None else json.loads(v) for v in (new, old))
                if new != old:
                    raise InputError(
                        file, line, name,
                        f"problem {pid!r} of dataset {crun.run.dataset!r} is stored with "
                        f"{name} {old!r:.80} (run {other!r}); this run has {new!r:.80}: runs of "
                        "one dataset share their problems (fix the file, or delete that run)",
                    )
        self._execute(
            "INSERT OR IGNORE INTO problems SELECT " + ", ".join(PROBLEM_COLUMNS)
            + " FROM _in_problems"
        )
        self._execute("INSERT OR IGNORE INTO run_problems SELECT ?, problem_id FROM _in_problems",
                      [crun.run.run_id])

    def _delete_rows(self, run_id: str) -> None:
        dataset = self._fetchone("SELECT dataset FROM runs WHERE run_id = ?", [run_id])
        for name in [*TABLE_RECORDS, "run_problems", "runs"]:
            if name != "problems":
                self._execute(f"DELETE FROM {name} WHERE run_id = ?", [run_id])
        if dataset is not None:
            # problems no remaining run of the dataset lists go too (a replaced run may fix them)
            self._execute(
                """DELETE FROM problems p WHERE p.dataset = ? AND NOT EXISTS (
                       SELECT 1 FROM run_problems rp JOIN runs r USING (run_id)
                       WHERE r.dataset = p.dataset AND rp.problem_id = p.problem_id)""",
                [dataset[0]],
            )

    def delete_run(self, run_id: str) -> None:
        """Remove a run and all its rows (its problems stay while another run lists them)."""
        self._require_writable()
        self._require_run(run_id)
        with self._transaction():
            self._delete_rows(run_id)

    # -- reading ----------------------------------------------------------------------------
    def _require_run(self, run_id: str) -> None:
        if self._fetchone("SELECT 1 FROM runs WHERE run_id = ?", [run_id]) is None:
            hint = _run_hint(run_id, self.run_ids())
            raise RunNotFoundError(f"no run {run_id!r} in {self.path}{hint}")

    def run_ids(self) -> list[str]:
        return [r[0] for r in self._execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]

    def runs(self) -> list[RunInfo]:
        """Every stored run with its sizes and what it holds."""
        rows = self.query("SELECT * FROM run_summary ORDER BY run_id").to_pylist()
        ver = self.query("SELECT run_id, verifier FROM verifiers ORDER BY verifier").to_pylist()
        by_run: dict[str, list[str]] = {}
        for v in ver:
            by_run.setdefault(v["run_id"], []).append(v["verifier"])
        return [
            RunInfo(
                run_id=r["run_id"], dataset=r["dataset"], policy_model=r["policy_model"],
                source=r["source"], problems=int(r["problems"]), samples=int(r["samples"]),
                correct=None if r["correct"] is None else int(r["correct"]),
                has_step_scores=bool(r["has_step_scores"]),
                has_outcome_scores=bool(r["has_outcome_scores"]),
                has_tree=bool(r["has_tree"]), has_chains=bool(r["has_chains"]),
                counts_only=bool(r["counts_only"]),
                verifiers=tuple(dict.fromkeys(by_run.get(r["run_id"], []))),
            )
            for r in rows
        ]

    def describe(self, run_id: str) -> RunInfo:
        self._require_run(run_id)
        return next(r for r in self.runs() if r.run_id == run_id)

    def run_record(self, run_id: str) -> Run:
        """The stored `Run` record (sampler and meta decoded)."""
        self._require_run(run_id)
        tbl = self.query(
            "SELECT run_id, dataset, policy_model, source, policy_params, sampler, prompt, meta "
            "FROM runs WHERE run_id = ?", [run_id],
        ).to_pylist()[0]
        for k in ("sampler", "meta"):
            if tbl[k] is not None:
                tbl[k] = json.loads(tbl[k])
        return Run(**tbl)

    def verifiers(self, run_id: str) -> dict[str, str]:
        """Verifier name -> kind ('step' or 'outcome') for a run."""
        self._require_run(run_id)
        rows = self._execute(
            "SELECT verifier, kind FROM verifiers WHERE run_id = ? ORDER BY verifier", [run_id]
        ).fetchall()
        return {v: k for v, k in rows}

    def table(self, name: str, run_id: str) -> pa.Table:
        """One canonical table's rows for a run, ordered by its key."""
        if name not in TABLE_RECORDS or name == "problems":
            raise ValueError(f"`name` must be one of {sorted(set(TABLE_RECORDS) - {'problems'})}")
        self._require_run(run_id)
        order = {
            "samples": "problem_id, sample_idx",
            "step_scores": "verifier, problem_id, sample_idx, step_idx",
            "outcome_scores": "verifier, problem_id, sample_idx",
            "tree_nodes": "problem_id, node_id",
            "problem_counts": "problem_id",
        }[name]
        sql = f"SELECT * FROM {name} WHERE run_id = ? ORDER BY {order}"
        return self.query(sql, [run_id]).to_arrow()

    def problems(self, run_id: str) -> pa.Table:
        """The problems a run touches (with question, gold answer, subject, level)."""
        self._require_run(run_id)
        return self.query(
            """SELECT p.* FROM problems p JOIN runs r ON r.dataset = p.dataset
               JOIN run_problems rp ON rp.run_id = r.run_id AND rp.problem_id = p.problem_id
               WHERE r.run_id = ? ORDER BY p.problem_id""",
            [run_id],
        ).to_arrow()

    def pool_table(self, run_id: str, verifier: str | None = None, agg: str = "last") -> pa.Table:
        """The per-sample pool of a run under one verifier, ready for the engine.

        Columns: problem_id, sample_idx, answer_key, is_correct, output_tokens, prompt_tokens,
        chain_id, revision_idx, score (the outcome score for an ORM, the `agg` aggregate of step
        scores for a PRM, NULL without a verifier), verifier_tokens.
        """
        if agg not in AGGREGATIONS:
            raise ValueError(f"`agg` must be one of {AGGREGATIONS}, got {agg!r}")
        kinds = self.verifiers(run_id)
        if verifier is not None and verifier not in kinds:
            raise StoreError(
                f"run {run_id!r} has no verifier {verifier!r}; it has: "
                + (", ".join(kinds) or "none")
            )
        columns = ("problem_id, sample_idx, answer_key, is_correct, output_tokens, prompt_tokens, "
                   "chain_id, revision_idx")
        if verifier is None:
            # no scores wanted: read the samples themselves (pool_all holds NULL-verifier rows
            # only for runs that no verifier scored)
            sql = f"""SELECT {columns}, NULL::DOUBLE AS score FROM samples
                      WHERE run_id = ? ORDER BY problem_id, sample_idx"""
            return self.query(sql, [run_id]).to_arrow()
        score = "outcome_score" if kinds[verifier] == "outcome" else f"agg_{agg}"
        sql = f"""SELECT {columns}, {score} AS score
                  FROM pool(?, ?) ORDER BY problem_id, sample_idx"""
        return self.query(sql, [run_id, verifier]).to_arrow()

    # -- export / import --------------------------------------------------------------------
    def load_bundle(self, run_id: str) -> RunBundle:
        """The stored run as a `RunBundle` (what was ingested, in key order)."""
        run = self.run_record(run_id)
        bundle = RunBundle(run=run)
        problems = self.problems(run_id)
        bundle.problems = arrow_to_records(TABLE_RECORDS["problems"], problems)
        for name, cls in TABLE_RECORDS.items():
            if name != "problems":
                setattr(bundle, name, arrow_to_records(cls, self.table(name, run_id)))
        return bundle

    def export_run(self, run_id: str, directory: str | Path) -> Path:
        """Write a run as the canonical Parquet format: `run.json` + one Parquet file per table.

        Streamed from DuckDB in batches (no record objects); `run.json`, written last, carries
        the stored content hash, which the files hash to.
        """
        run = self.run_record(run_id)
        (digest,) = self._fetchone(  # type: ignore[misc]
            "SELECT content_hash FROM runs WHERE run_id = ?", [run_id])
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").unlink(missing_ok=True)
        for name in TABLE_RECORDS:
            kinds = columnar.column_kinds(name)
            cols = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" if k == "dict" else c
                             for c, k in kinds.items())
            if name == "problems":
                sql = (f"SELECT {cols} FROM problems p WHERE p.dataset = ? AND p.problem_id IN "
                       "(SELECT problem_id FROM run_problems WHERE run_id = ?) "
                       "ORDER BY problem_id")
                params = [run.dataset, run_id]
            else:
                order = ", ".join(columnar.KEYS[name])
                sql = f"SELECT {cols} FROM {name} WHERE run_id = ? ORDER BY {order}"
                params = [run_id]
            path = out / f"{name}.parquet"
            path.unlink(missing_ok=True)
            reader = self._con.sql(sql, params=params).to_arrow_reader(1 << 16)
            writer = None
            try:
                for batch in reader:
                    if writer is None:
                        writer = pq.ParquetWriter(str(path), batch.schema, **PARQUET_OPTIONS)
                    writer.write_batch(batch)
            finally:
                if writer is not None:
                    writer.close()
        header = {"format": EXPORT_FORMAT, "run": run_to_dict(run), "content_hash": digest}
        (out / "run.json").write_text(json.dumps(header, indent=2, sort_keys=True) + "\n")
        return out

    def import_run(self, directory: str | Path, *, replace: bool = False) -> IngestResult:
        """Ingest a run exported by `export_run` (or written by hand in the same format)."""
        return self.ingest(read_run_parquet(directory), replace=replace)


def as_columnar(item: RunBundle | ColumnarRun) -> ColumnarRun:
    """A run in the columnar form the store ingests (record bundles are type-checked here)."""
    if isinstance(item, ColumnarRun):
        return item
    item.check_types()
    return item.to_columnar()


def write_bundle_parquet(
    bundle: RunBundle, directory: str | Path, *, content_hash: str | None = None
) -> Path:
    """Write a bundle in the canonical Parquet format (see README, "Bring your own runs")."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    header = {"format": EXPORT_FORMAT, "run": run_to_dict(bundle.run)}
    if content_hash:
        header["content_hash"] = content_hash
    for name, cls in TABLE_RECORDS.items():
        rows = bundle.table(name)
        if rows:
            pq.write_table(records_to_arrow(cls, rows), str(out / f"{name}.parquet"),
                           **PARQUET_OPTIONS)
    (out / "run.json").write_text(json.dumps(header, indent=2, sort_keys=True) + "\n")
    return out


def read_run_parquet(directory: str | Path) -> ColumnarRun:
    """A run in the canonical Parquet format, as a `ColumnarRun` (not yet validated): the
    tables stay in their files; errors name the file and field."""
    src = Path(directory)
    header_path = src / "run.json"
    if not os.path.lexists(header_path):
        raise InputError(str(header_path), None, None, "missing: not a canonical run directory")
    columnar.check_regular_file(header_path)
    try:
        header = json.loads(header_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(str(header_path), exc.lineno, None, f"malformed JSON: {exc.msg}") from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise InputError(str(header_path), None, None, f"unreadable: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise InputError(str(header_path), None, "format", f"expected {EXPORT_FORMAT!r}")
    try:
        run = Run(**header["run"])
    except (KeyError, TypeError) as exc:
        raise InputError(str(header_path), None, "run", f"invalid run header: {exc}") from exc
    tables = {}
    for name in TABLE_RECORDS:
        path = src / f"{name}.parquet"
        if os.path.lexists(path):
            tables[name] = parquet_source(name, path)
    digest = header.get("content_hash")
    return ColumnarRun(run, tables, header_file=str(header_path),
                       claimed_hash=digest if isinstance(digest, str) else None)


def read_bundle_parquet(directory: str | Path) -> RunBundle:
    """Read a run in the canonical Parquet format as records (small runs; see
    `read_run_parquet` for the columnar form the store ingests)."""
    return read_run_parquet(directory).to_bundle()
