"""Columnar ingest: a run's tables as Parquet files or Arrow tables, checked and hashed in columns.

A `ColumnarRun` is what the store ingests. Its tables are read by DuckDB (Parquet files are
never loaded whole, Arrow tables are scanned in place); every check is one column expression
over a table, and the content hash is computed from key-sorted Arrow batches. No Python object
is made per sample, so memory is bounded by a batch and by DuckDB's `memory_limit`, not by the
size of the run. Record bundles (`RunBundle`, what the importers build) take the same path
through `RunBundle.to_columnar()`.

Errors name the file, the line (JSONL line, or 1-based Parquet row) and the field: every table
view carries `_file` and `_line` columns for that.

Content hash (scheme 2, columnar): SHA-256 over the run record's canonical JSON and, for each
table in `TABLE_RECORDS` order, the row count and one SHA-256 per column of the rows sorted by
the table's key (integers as int64, floats as float64 with -0.0 read as 0.0, booleans as bytes,
strings as their UTF-8 bytes plus lengths, NULLs marked apart). It depends only on the content,
not on row order, file format or batch size. It replaced the per-record JSON hash of schema
version 1; `schema.py` migration 2 recomputes the hashes of runs already stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import InputError
from workbench.store.records import (
    INT_MAX,
    TABLE_RECORDS,
    Run,
    check_run,
    record_columns,
)

if TYPE_CHECKING:
    from workbench.store.records import RunBundle

KEYS: dict[str, tuple[str, ...]] = {
    "problems": ("dataset", "problem_id"),
    "samples": ("problem_id", "sample_idx"),
    "step_scores": ("verifier", "problem_id", "sample_idx", "step_idx"),
    "outcome_scores": ("verifier", "problem_id", "sample_idx"),
    "tree_nodes": ("problem_id", "node_id"),
    "problem_counts": ("problem_id",),
}
"""The key of each table within one run (problems: within the run's dataset)."""

_KEY_WHAT = {"problems": "problem", "samples": "sample id", "step_scores": "step score",
             "outcome_scores": "outcome score", "tree_nodes": "tree node",
             "problem_counts": "problem count"}

NON_NEGATIVE = {
    "samples": ("sample_idx", "output_tokens", "prompt_tokens", "n_steps"),
}
"""Integer columns that must be >= 0 (every integer column must also fit the store's INTEGER)."""

HASH_BATCH = 1 << 16
"""Rows per Arrow batch while hashing: memory per batch, not per run."""

INGEST_MEMORY_LIMIT = os.environ.get("WORKBENCH_INGEST_MEMORY", "1GB")
"""DuckDB's memory limit while checking and inserting a run; DuckDB spills to disk beyond it."""


def _base(annotation: Any) -> str:
    return str(annotation).split("|")[0].strip().split("[")[0]


def column_kinds(name: str) -> dict[str, str]:
    """Column -> kind ('str', 'int', 'float', 'bool', 'dict') of a canonical table."""
    cls = TABLE_RECORDS[name]
    return {f.name: _base(f.type) for f in fields(cls) if f.name != "origin"}


def column_defaults(name: str) -> dict[str, Any]:
    """Columns whose record field has a non-None default (e.g. `is_terminal`, `expanded`):
    a value missing from the file takes it, as the record would."""
    cls = TABLE_RECORDS[name]
    return {f.name: f.default for f in fields(cls)
            if f.name != "origin" and f.default is not MISSING and f.default is not None}


def required_columns(name: str) -> list[str]:
    cls = TABLE_RECORDS[name]
    defaults = column_defaults(name)
    return [f.name for f in fields(cls) if f.name != "origin" and "None" not in str(f.type)
            and f.name not in defaults]


_SQL_TYPES = {"str": "VARCHAR", "int": "HUGEINT", "float": "DOUBLE", "bool": "BOOLEAN",
              "dict": "VARCHAR"}
_ARROW_OK = {
    "str": (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view,
            pa.types.is_null),
    "dict": (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view,
             pa.types.is_null),
    "int": (pa.types.is_integer, pa.types.is_null),
    "float": (pa.types.is_integer, pa.types.is_floating, pa.types.is_null),
    "bool": (pa.types.is_boolean, pa.types.is_null),
}


def check_regular_file(path: Path, file: str | None = None) -> None:
    """Refuse a path that is not a regular file: a folder, a FIFO (reading it would hang), a
    device, a symbolic link loop or a dangling link; one `InputError` naming the file."""
    where = file or str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        if os.path.islink(path):
            raise InputError(where, None, None,
                             "is a dangling symbolic link (its target does not exist)") from exc
        raise InputError(where, None, None, "no such file") from exc
    except OSError as exc:  # ELOOP and friends
        raise InputError(where, None, None, f"cannot open: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise InputError(where, None, None, "is a folder, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(where, None, None,
                         "is not a regular file (a FIFO, socket or device?); copy it to a file")


@dataclass(frozen=True)
class TableSource:
    """One table of a run: a Parquet file or an Arrow table (with `_file`, `_line` columns)."""

    file: str
    parquet: Path | None = None
    arrow: pa.Table | None = None

    def num_rows(self) -> int:
        if self.arrow is not None:
            return self.arrow.num_rows
        import pyarrow.parquet as pq

        assert self.parquet is not None
        return int(pq.ParquetFile(str(self.parquet)).metadata.num_rows)


def parquet_source(name: str, path: Path, file: str | None = None) -> TableSource:
    """A Parquet table file, its columns checked against the canonical table's by name and type
    (from the file's schema only: no row is read here)."""
    import pyarrow.parquet as pq

    where = file or str(path)
    check_regular_file(path, where)
    try:
        schema = pq.read_schema(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(where, None, None, f"unreadable Parquet: {exc}") from exc
    kinds = column_kinds(name)
    cls = TABLE_RECORDS[name].__name__
    for column in schema.names:
        if column not in kinds:
            raise InputError(where, None, column,
                             f"unknown column of {cls}; columns: {', '.join(kinds)}")
    for column in required_columns(name):
        if column not in schema.names:
            raise InputError(where, None, column, f"column missing from {cls} table")
    for fld in schema:
        kind = kinds[fld.name]
        if not any(test(fld.type) for test in _ARROW_OK[kind]):
            want = "str (JSON text)" if kind == "dict" else kind
            raise InputError(where, None, fld.name, f"expected {want} column, got {fld.type}")
    return TableSource(where, parquet=path)


class ColumnarRun:
    """A run to ingest: its `Run` record and one `TableSource` per table present.

    `header_file` (the run.json) is what errors about the run itself name; `claimed_hash` is
    the content hash the header vouches for (checked by `validate`).
    """

    def __init__(self, run: Run, tables: dict[str, TableSource], *,
                 header_file: str | None = None, claimed_hash: str | None = None) -> None:
        unknown = set(tables) - set(TABLE_RECORDS)
        if unknown:
            raise ValueError(f"`tables` has unknown names {sorted(unknown)}")
        self.run = run
        self.tables = dict(tables)
        self.header_file = header_file
        self.claimed_hash = claimed_hash
        self._digest: str | None = None

    @property
    def where(self) -> str:
        """The file that errors about the whole run name."""
        return self.header_file or self.run.source

    def validate(self) -> ColumnarRun:
        """Check every table in columns; raise `InputError` naming file, line and field.

        Also computes the content hash (kept: the store does not check or hash again).
        Returns self.
        """
        if self._digest is None:
            with _connection() as con:
                self._digest = _validate_and_hash(con, self)
        return self

    def content_hash(self) -> str:
        """The columnar content hash (scheme 2, see the module docstring); validates first."""
        self.validate()
        assert self._digest is not None
        return self._digest

    def to_bundle(self) -> RunBundle:
        """The records (`RunBundle`) of this run, origins set: for small runs and tests only."""
        from workbench.store.convert import arrow_to_records
        from workbench.store.records import RunBundle

        bundle = RunBundle(run=self.run)
        with _connection() as con:
            for name in TABLE_RECORDS:
                if name not in self.tables:
                    continue
                _define_view(con, name, self.tables[name])
                cols = record_columns(TABLE_RECORDS[name])
                tbl = con.sql(
                    f"SELECT {_typed_select(name)}, _file, _line FROM _in_{name} ORDER BY _line"
                ).to_arrow_table()
                recs = arrow_to_records(TABLE_RECORDS[name], tbl.select(cols))
                files = tbl.column("_file").to_pylist()
                lines = tbl.column("_line").to_pylist()
                if recs and hasattr(recs[0], "origin"):
                    import dataclasses

                    recs = [dataclasses.replace(r, origin=(f, ln) if f is not None else None)
                            for r, f, ln in zip(recs, files, lines, strict=True)]
                setattr(bundle, name, recs)
        return bundle


# -- DuckDB plumbing ---------------------------------------------------------------------------
class _Conn:
    def __init__(self) -> None:
        self.con = duckdb.connect(":memory:")
        self.con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}'")
        spill = Path(tempfile.gettempdir()) / "workbench-duckdb-spill"
        self.con.execute(f"SET temp_directory = '{_quote(str(spill))}'")

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()


def _connection() -> _Conn:
    return _Conn()


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _typed_select(name: str) -> str:
    """The canonical columns of a table view, cast to their store types (ints to INTEGER)."""
    out = []
    for col, kind in column_kinds(name).items():
        typ = "INTEGER" if kind == "int" else _SQL_TYPES[kind]
        out.append(f"CAST({col} AS {typ}) AS {col}")
    return ", ".join(out)


def _define_view(con: duckdb.DuckDBPyConnection, name: str, source: TableSource) -> None:
    """`_in_<name>`: the table with every canonical column (absent optional ones as NULL),
    integers widened to HUGEINT so ranges are checked before any narrowing, plus `_file` and
    `_line` (1-based Parquet row, or the JSONL line / record origin)."""
    kinds = column_kinds(name)
    if source.arrow is not None:
        tbl = source.arrow
        con.register(f"_arrow_{name}", tbl)
        present = set(tbl.column_names)
        frm = f"_arrow_{name}"
        line = "_line" if "_line" in present else "NULL::BIGINT"
        file = "_file" if "_file" in present else f"'{_quote(source.file)}'"
    else:
        import pyarrow.parquet as pq

        assert source.parquet is not None
        present = set(pq.read_schema(str(source.parquet)).names)
        frm = f"read_parquet('{_quote(str(source.parquet))}', file_row_number = true)"
        line = "file_row_number + 1"
        file = f"'{_quote(source.file)}'"
    cols = []
    defaults = column_defaults(name)
    for col, kind in kinds.items():
        typ = _SQL_TYPES[kind]
        value = f"CAST({col} AS {typ})" if col in present else f"NULL::{typ}"
        if col in defaults:
            value = f"COALESCE({value}, {_sql_literal(defaults[col])}::{typ})"
        cols.append(f"{value} AS {col}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW _in_{name} AS SELECT {', '.join(cols)}, "
                f"CAST({file} AS VARCHAR) AS _file, CAST({line} AS BIGINT) AS _line FROM {frm}")


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + _quote(str(value)) + "'"


def _first(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None


def _raise_at(row: tuple[Any, ...] | None, field: str, message: str) -> None:
    """Raise for a check's first offending row `(_file, _line, ...)`, if there is one."""
    if row is not None:
        raise InputError(row[0], row[1], field, message.format(*row[2:]))


# -- checks ------------------------------------------------------------------------------------
def _check_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Nulls, integer ranges, finiteness and pairings of one table: one scan."""
    kinds = column_kinds(name)
    checks: list[tuple[str, str, str]] = []  # (condition, field, message with {} for value)
    for col in required_columns(name):
        checks.append((f"{col} IS NULL", col, "is missing (null)"))
    for col, kind in kinds.items():
        if kind == "int":
            low = 0 if col in NON_NEGATIVE.get(name, ()) else -INT_MAX - 1
            checks.append((f"{col} < {low}", col, f"must be >= {low}, got {{}}" if low == 0
                           else "must be >= -2^31 (stored as a 32-bit integer), got {}"))
            checks.append((f"{col} > {INT_MAX}", col,
                           "must be < 2^31 (stored as a 32-bit integer), got {}"))
        elif kind == "float":
            checks.append((f"NOT isfinite({col})", col, "must be finite, got {}"))
    if name == "samples":
        checks.append(("(chain_id IS NULL) <> (revision_idx IS NULL)", "revision_idx",
                       "chain_id and revision_idx go together{}"))
    if name == "problem_counts":
        checks.append(("n <= 0 OR c < 0 OR c > n", "c",
                       "need 0 <= c <= n and n > 0, got {}"))
    if not checks:
        return
    case = " ".join(f"WHEN {cond} THEN {i}" for i, (cond, _, _) in enumerate(checks))

    def shown(fld: str, msg: str) -> str:
        if "{}" not in msg or "go together" in msg:
            return "''"
        if name == "problem_counts" and fld == "c":
            return "'n=' || n || ', c=' || c"
        return f"CAST({fld} AS VARCHAR)"

    values = " ".join(f"WHEN {i} THEN {shown(f, m)}" for i, (_, f, m) in enumerate(checks))
    where = " OR ".join(f"({c})" for c, _, _ in checks)
    row = _first(con, f"""
        SELECT _file, _line, which, CASE which {values} END AS shown
        FROM (SELECT *, CASE {case} END AS which FROM _in_{name} WHERE {where})
        ORDER BY _file, _line LIMIT 1""")
    if row is None:
        return
    file, line, which, value = row
    _, fld, msg = checks[which]
    if msg.startswith("must be finite") and value is not None:
        value = repr(float(value))
    raise InputError(file, line, fld, msg.format("" if value is None else value))


def _check_references(con: duckdb.DuckDBPyConnection, run: ColumnarRun) -> None:
    present = set(run.tables)
    if "problems" in present:
        _raise_at(_first(con, f"""SELECT _file, _line, dataset FROM _in_problems
                                  WHERE dataset <> '{_quote(run.run.dataset)}'
                                  ORDER BY _file, _line LIMIT 1"""),
                  "dataset", "{!r} differs from the run's dataset " + repr(run.run.dataset))
    for name in ("samples", "step_scores", "outcome_scores", "tree_nodes", "problem_counts"):
        if name not in present:
            continue
        if "problems" in present:
            sql = f"""SELECT t._file, t._line, t.problem_id FROM _in_{name} t
                      ANTI JOIN _in_problems p ON p.problem_id = t.problem_id
                      ORDER BY t._file, t._line LIMIT 1"""
        else:
            sql = f"SELECT _file, _line, problem_id FROM _in_{name} ORDER BY _file, _line LIMIT 1"
        _raise_at(_first(con, sql), "problem_id", "names unknown problem {!r}")
    for name in ("step_scores", "outcome_scores"):
        if name not in present:
            continue
        if "samples" in present:
            sql = f"""SELECT t._file, t._line, t.problem_id, t.sample_idx FROM _in_{name} t
                      ANTI JOIN _in_samples s
                        ON s.problem_id = t.problem_id AND s.sample_idx = t.sample_idx
                      ORDER BY t._file, t._line LIMIT 1"""
        else:
            sql = f"""SELECT _file, _line, problem_id, sample_idx FROM _in_{name}
                      ORDER BY _file, _line LIMIT 1"""
        _raise_at(_first(con, sql), "sample_idx", "names unknown sample ({!r}, {})")
    if "tree_nodes" in present:
        _raise_at(_first(con, """SELECT t._file, t._line, t.parent_id FROM _in_tree_nodes t
                                 WHERE t.parent_id IS NOT NULL AND NOT EXISTS (
                                     SELECT 1 FROM _in_tree_nodes p WHERE p.problem_id =
                                     t.problem_id AND p.node_id = t.parent_id)
                                 ORDER BY t._file, t._line LIMIT 1"""),
                  "parent_id", "names unknown node {!r}")


# -- hashing (and duplicate keys, found on the same key-sorted stream) -------------------------
class _ColumnHasher:
    """SHA-256 streams of one column's values, independent of how the rows are batched."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.values = hashlib.sha256()
        self.extra = hashlib.sha256()  # validity (numbers) or lengths (strings)

    def update(self, arr: pa.Array) -> None:
        if self.kind in ("str", "dict"):
            arr = arr.cast(pa.large_string())
            lengths = pc.binary_length(arr).fill_null(-1)
            self.extra.update(np.asarray(lengths.to_numpy(zero_copy_only=False),
                                         dtype="<i8").tobytes())
            valid = arr.drop_null()
            if len(valid):
                _, offsets, data = valid.buffers()
                offs = np.frombuffer(offsets, dtype="<i8", count=len(valid) + 1,
                                     offset=valid.offset * 8)
                self.values.update(memoryview(data)[int(offs[0]):int(offs[-1])])
            return
        mask = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=np.uint8)
        self.extra.update(mask.tobytes())
        if self.kind == "float":
            vals = np.asarray(arr.fill_null(0.0).to_numpy(zero_copy_only=False),
                              dtype="<f8") + 0.0  # -0.0 + 0.0 is 0.0
        elif self.kind == "bool":
            vals = np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False),
                              dtype=np.uint8)
        else:
            vals = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False), dtype="<i8")
        self.values.update(vals.tobytes())

    def digest(self) -> bytes:
        return self.values.digest() + self.extra.digest()


def _hash_table(con: duckdb.DuckDBPyConnection, name: str, h: Any) -> int:
    """Feed one table's key-sorted columns into `h`; refuse a duplicate key on the way.

    Files are usually written in key order (exports are): the rows are first streamed as
    they lie, and only when a row is found out of order is the table sorted by DuckDB and
    streamed again. Returns the row count.
    """
    kinds = column_kinds(name)
    keys = KEYS[name]
    cols = ", ".join(
        f"CAST({c} AS BIGINT) AS {c}" if k == "int" else c for c, k in kinds.items()
    )
    select = f"SELECT {cols}, _file, _line FROM _in_{name}"
    # rows without an origin first: of two equal keys the one reported (the later) is then the
    # one that can name its file and line
    order = ", ".join([*keys, "_file NULLS FIRST", "_line NULLS FIRST"])
    hashers = _stream_hash(con, name, select, kinds, check_order=True)
    if hashers is None:
        hashers = _stream_hash(con, name, f"{select} ORDER BY {order}", kinds, check_order=False)
    assert hashers is not None
    n, column_hashers = hashers
    h.update(f"\n#{name}:{n}\n".encode())
    if n == 0:
        return 0  # an empty table hashes like an absent one
    for c, hasher in column_hashers.items():
        h.update(c.encode() + b"=" + hasher.digest())
    return n


def _stream_hash(con: duckdb.DuckDBPyConnection, name: str, sql: str, kinds: dict[str, str],
                 *, check_order: bool) -> tuple[int, dict[str, _ColumnHasher]] | None:
    """Hash the rows `sql` yields, refusing adjacent equal keys; with `check_order`, give up
    (None) at the first row that is not strictly after the one before it."""
    reader = con.sql(sql).to_arrow_reader(HASH_BATCH)
    hashers = {c: _ColumnHasher(k) for c, k in kinds.items()}
    n = 0
    last: pa.Table | None = None  # the previous batch's last row, to compare across batches
    for batch in _batches(reader):
        if not _check_adjacent(name, batch, last) and check_order:
            return None
        last = pa.Table.from_batches([batch.slice(batch.num_rows - 1, 1)])
        for c, hasher in hashers.items():
            hasher.update(batch.column(c))
        n += batch.num_rows
    return n, hashers


def _batches(reader: Any) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        if batch.num_rows:
            yield batch


def _check_adjacent(name: str, batch: pa.RecordBatch, last: pa.Table | None) -> bool:
    """Refuse two adjacent rows with equal keys; return whether every row's key is strictly
    greater than the one before (byte order for strings, as DuckDB sorts them)."""
    keys = KEYS[name]
    tbl = pa.Table.from_batches([batch])
    if last is not None:
        tbl = pa.concat_tables([last.select(tbl.column_names), tbl])
    m = tbl.num_rows - 1
    if m < 1:
        return True
    after: Any = None  # key of row i+1 > key of row i, lexicographically (built from the last key)
    same: Any = None
    for k in reversed(keys):
        col = tbl.column(k)
        nxt, prev = col.slice(1), col.slice(0, m)
        gt, eq = pc.greater(nxt, prev), pc.equal(nxt, prev)
        after = gt if after is None else pc.or_(gt, pc.and_(eq, after))
        same = eq if same is None else pc.and_(same, eq)
    hit = pc.index(same.fill_null(False), True).as_py()
    if hit >= 0:
        row = tbl.slice(hit + 1, 1).to_pylist()[0]
        key = tuple(row[k] for k in keys)
        raise InputError(row["_file"], row["_line"], keys[-1],
                         f"duplicate {_KEY_WHAT[name]} {key!r}")
    return bool(pc.all(after.fill_null(False)).as_py())


def _run_json(run: Run) -> bytes:
    values = [getattr(run, c) for c in record_columns(Run)]
    if isinstance(values[4], int) and not isinstance(values[4], bool):
        values[4] = float(values[4])  # policy_params: 1e9 and 1000000000 are one content
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str).encode()


def _normalise_problems(con: duckdb.DuckDBPyConnection, source: TableSource) -> TableSource:
    """Problems with `meta` checked to be a JSON object and rewritten canonically (sorted
    keys), so that the same meta hashes the same whatever its spelling. One Python object per
    problem, not per sample."""
    from workbench.store.records import loads_json

    _define_view(con, "problems", source)
    tbl = con.sql(f"SELECT {', '.join(column_kinds('problems'))}, _file, _line "
                  "FROM _in_problems").to_arrow_table()
    metas = tbl.column("meta").to_pylist()
    if not any(m is not None for m in metas):
        return TableSource(source.file, arrow=tbl)
    files = tbl.column("_file").to_pylist()
    lines = tbl.column("_line").to_pylist()
    out = []
    for m, f, ln in zip(metas, files, lines, strict=True):
        if m is None:
            out.append(None)
            continue
        value = loads_json(m, f, ln, "meta")
        if not isinstance(value, dict):
            raise InputError(f, ln, "meta", f"expected a JSON object, got {type(value).__name__}")
        out.append(json.dumps(value, sort_keys=True))
    idx = tbl.column_names.index("meta")
    return TableSource(source.file, arrow=tbl.set_column(idx, "meta", pa.array(out, pa.string())))


def _validate_and_hash(con: duckdb.DuckDBPyConnection, crun: ColumnarRun) -> str:
    check_run(crun.run, crun.where)
    if "problems" in crun.tables:
        crun.tables["problems"] = _normalise_problems(con, crun.tables["problems"])
    for name, source in crun.tables.items():
        _define_view(con, name, source)
        _check_table(con, name)
    h = hashlib.sha256()
    h.update(b"ttc-workbench content hash 2\n" + _run_json(crun.run))
    rows = {}
    for name in TABLE_RECORDS:  # duplicate keys are refused while hashing, before references
        if name in crun.tables:
            rows[name] = _hash_table(con, name, h)
        else:
            h.update(f"\n#{name}:0\n".encode())
    _check_references(con, crun)
    if not (rows.get("samples") or rows.get("tree_nodes") or rows.get("problem_counts")):
        raise InputError(crun.where, None, None,
                         "the run holds no samples, tree nodes or counts (empty input?)")
    digest = h.hexdigest()
    if crun.claimed_hash is not None and crun.claimed_hash != digest:
        raise InputError(crun.where, None, "content_hash",
                         "the tables do not hash to it (edited after export?); "
                         "remove `content_hash` to accept the edited tables")
    return digest


def define_views(con: duckdb.DuckDBPyConnection, crun: ColumnarRun) -> None:
    """Create the `_in_<table>` views of a validated run on a store connection (for INSERT)."""
    for name, source in crun.tables.items():
        _define_view(con, name, source)


def drop_views(con: duckdb.DuckDBPyConnection, crun: ColumnarRun) -> None:
    for name, source in crun.tables.items():
        con.execute(f"DROP VIEW IF EXISTS _in_{name}")
        if source.arrow is not None:
            con.unregister(f"_arrow_{name}")


def typed_select(name: str) -> str:
    """SELECT list of the canonical columns of `_in_<name>` in store types."""
    return _typed_select(name)


def rehash_stored(con: duckdb.DuckDBPyConnection, run: Run, run_id: str) -> str:
    """The scheme-2 content hash of a run already in the store (migration 2)."""
    rid = _quote(run_id)
    for name in TABLE_RECORDS:
        cols = ", ".join(column_kinds(name))
        if name == "problems":
            src = (f"SELECT p.* EXCLUDE (meta), CAST(p.meta AS VARCHAR) AS meta FROM problems p "
                   f"JOIN run_problems rp ON rp.problem_id = p.problem_id "
                   f"WHERE rp.run_id = '{rid}' AND p.dataset = '{_quote(run.dataset)}'")
        else:
            src = f"SELECT * FROM {name} WHERE run_id = '{rid}'"
        con.execute(f"CREATE OR REPLACE TEMP VIEW _in_{name} AS SELECT {cols}, "
                    f"NULL::VARCHAR AS _file, NULL::BIGINT AS _line FROM ({src})")
    h = hashlib.sha256()
    h.update(b"ttc-workbench content hash 2\n" + _run_json(run))
    for name in TABLE_RECORDS:
        _hash_table(con, name, h)
    for name in TABLE_RECORDS:
        con.execute(f"DROP VIEW IF EXISTS _in_{name}")
    return h.hexdigest()


__all__ = ["KEYS", "ColumnarRun", "TableSource", "check_regular_file", "parquet_source"]
