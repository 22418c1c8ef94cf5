"""The canonical run format a user brings: a directory with `run.json` plus one file per table.

Layout (JSONL form)::

    my-run/
      run.json            {"format": "ttc-workbench-run/1", "run": {"run_id": ..., ...}}
      problems.jsonl      one JSON object per line, the fields of `store.records.Problem`
      samples.jsonl       ... of `Sample`
      step_scores.jsonl   optional; likewise outcome_scores, tree_nodes, problem_counts

The Parquet form is the same with `<table>.parquet` files (what `RunStore.export_run` writes and
`store.read_bundle_parquet` reads). `run.json` may also carry the `content_hash` of the run
(export writes it); when present, the tables must hash to it.

Each record holds its table's fields by name (`workbench.store.records`; optional fields may be
left out). Unknown fields, missing required fields, wrong types and dangling references raise
`InputError` naming the file, the line (JSONL) or row, and the field.

>>> import tempfile
>>> from workbench.store import Problem, Run, RunBundle, Sample
>>> bundle = RunBundle(
...     run=Run(run_id="demo", dataset="toy", policy_model="my-model", source="me"),
...     problems=[Problem(dataset="toy", problem_id="p1", gold_answer="2")],
...     samples=[Sample(problem_id="p1", sample_idx=0, answer="2", answer_key="2",
...                     is_correct=True)])
>>> out = write_jsonl(bundle, tempfile.mkdtemp() + "/demo")
>>> sorted(p.name for p in out.iterdir())
['problems.jsonl', 'run.json', 'samples.jsonl']
>>> read_dir(out).content_hash() == bundle.content_hash()
True

`read_dir` gives a validated `store.columnar.ColumnarRun`: Parquet tables stay in their files
and are read by DuckDB; JSONL tables are parsed by Arrow's JSON reader (a line that reader
refuses is re-read by the Python reader, which names the line and field). Either way no Python
object is made per sample (except on that error path and for `problems.jsonl`, whose `meta`
objects are kept as canonical JSON text).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench.errors import InputError
from workbench.importers._common import read_json, read_jsonl
from workbench.store import RunBundle
from workbench.store.columnar import (
    ColumnarRun,
    TableSource,
    check_regular_file,
    column_kinds,
    parquet_source,
)
from workbench.store.convert import records_to_arrow, run_to_dict
from workbench.store.records import TABLE_RECORDS, Run, _check_types, check_run, record_columns
from workbench.store.run_store import EXPORT_FORMAT

HEADER = "run.json"
HEADER_KEYS = ("format", "run", "content_hash")
SUFFIXES = (".jsonl", ".parquet")


def is_canonical_dir(path: str | Path) -> bool:
    """Whether `path` is a directory holding a `run.json`."""
    return Path(path).is_dir() and (Path(path) / HEADER).is_file()


def _required(cls: type) -> set[str]:
    return {
        f.name for f in fields(cls)
        if f.name != "origin" and f.default is MISSING and f.default_factory is MISSING
    }


def _check_keys(obj: Any, cls: type, file: str, line: int | None, prefix: str = "") -> None:
    """Unknown and missing fields of one JSON object destined for record type `cls`."""
    if not isinstance(obj, dict):
        raise InputError(file, line, prefix.rstrip(".") or None,
                         f"expected a JSON object, got {type(obj).__name__}")
    allowed = record_columns(cls)
    for key in obj:
        if key not in allowed:
            raise InputError(file, line, prefix + key,
                             f"unknown field of {cls.__name__}; fields: {', '.join(allowed)}")
    for key in sorted(_required(cls)):
        if key not in obj:
            raise InputError(file, line, prefix + key, "is missing")


def read_header(path: str | Path) -> tuple[Run, str | None]:
    """The `Run` and the optional content hash from a `run.json`, with precise errors."""
    file = str(path)
    check_regular_file(Path(path))
    header = read_json(Path(path), file)
    if not isinstance(header, dict):
        raise InputError(file, None, None, "expected a JSON object")
    for key in header:
        if key not in HEADER_KEYS:
            raise InputError(file, None, key, f"unknown field; fields: {', '.join(HEADER_KEYS)}")
    if header.get("format") != EXPORT_FORMAT:
        raise InputError(file, None, "format",
                         f"expected {EXPORT_FORMAT!r}, got {header.get('format')!r}")
    if "run" not in header:
        raise InputError(file, None, "run", "is missing")
    _check_keys(header["run"], Run, file, None, prefix="run.")
    digest = header.get("content_hash")
    if digest is not None and not isinstance(digest, str):
        raise InputError(file, None, "content_hash", "expected a string")
    run = Run(**header["run"])
    check_run(run, file)
    return run, digest


def _table_files(directory: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name in TABLE_RECORDS:
        candidates = [directory / f"{name}{suffix}" for suffix in SUFFIXES]
        # lexists: a dangling link or a link loop is an error below, never silently skipped
        present = [p for p in candidates if os.path.lexists(p)]
        if len(present) > 1:
            raise InputError(str(directory), None, None,
                             f"both {name}.jsonl and {name}.parquet: keep one form per run")
        if present:
            found[name] = present[0]
    return found


def read_dir(directory: str | Path) -> ColumnarRun:
    """Read and validate a canonical run directory (JSONL or Parquet tables).

    All tables of a run must be in one form. Returns the validated run (`ColumnarRun`; its
    `to_bundle()` gives records for small runs); see the module docstring for the layout and
    an example.
    """
    src = Path(directory)
    header = src / HEADER
    run, digest = read_header(header)
    tables = _table_files(src)
    forms = {p.suffix for p in tables.values()}
    if len(forms) > 1:
        raise InputError(str(src), None, None,
                         "tables mix .jsonl and .parquet files: keep one form per run")
    sources: dict[str, TableSource] = {}
    for name, path in tables.items():
        if path.suffix == ".parquet":
            sources[name] = parquet_source(name, path)
        else:
            check_regular_file(path)
            source = _jsonl_source(name, path)
            if source is not None:
                sources[name] = source
    return ColumnarRun(run, sources, header_file=str(header), claimed_hash=digest).validate()


_BLANK_LINE = re.compile(rb"(^|\n)[ \t\r]*\n")


def _jsonl_source(name: str, path: Path) -> TableSource | None:
    """One JSONL table as Arrow columns with `_file` and `_line`; None for an empty file."""
    file = str(path)
    raw = path.read_bytes()
    if not raw.strip():
        return None  # an empty table is allowed: the run has no such records
    if name != "problems" and not _BLANK_LINE.search(raw.rstrip(b"\n")):
        tbl = _arrow_jsonl(name, raw)
        if tbl is not None:
            lines = pa.array(range(1, tbl.num_rows + 1), pa.int64())
            return TableSource(file, arrow=tbl.append_column("_line", lines))
    # the Python reader: problems (meta objects), blank lines, or a file Arrow refused, whose
    # error this reader names precisely
    recs = _read_table_jsonl(name, path)
    for rec in recs:
        _check_types(rec)
    tbl = records_to_arrow(TABLE_RECORDS[name], recs)
    tbl = tbl.append_column("_line", pa.array([r.origin[1] for r in recs], pa.int64()))
    return TableSource(file, arrow=tbl)


_ARROW_JSON = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}


def _arrow_jsonl(name: str, raw: bytes) -> pa.Table | None:
    """Arrow's JSON reader with the table's schema; None when it refuses the text (a type
    mismatch, an unknown field, NaN, an integer beyond 64 bits...)."""
    import pyarrow.compute as pc
    import pyarrow.json as pj

    schema = pa.schema([(c, _ARROW_JSON[k]) for c, k in column_kinds(name).items()])
    try:
        tbl = pj.read_json(
            pa.BufferReader(raw),
            parse_options=pj.ParseOptions(explicit_schema=schema,
                                          unexpected_field_behavior="error"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if tbl.num_rows != raw.rstrip(b"\n").count(b"\n") + 1:
        return None  # a value spanning lines: let the line reader say where
    for column in tbl.columns:
        # Arrow reads NaN and Infinity, which are not JSON: the line reader names them
        if pa.types.is_floating(column.type) and not pc.all(
                pc.is_finite(column).fill_null(True)).as_py():
            return None
    return tbl


def _read_table_jsonl(name: str, path: Path) -> list[Any]:
    file = str(path)
    cls = TABLE_RECORDS[name]
    out = []
    for line, obj in read_jsonl(path, file):
        _check_keys(obj, cls, file, line)
        out.append(cls(**obj, origin=(file, line)))
    return out


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(bundle: RunBundle, directory: str | Path) -> Path:
    """Write a bundle as a canonical JSONL run directory; returns the directory.

    The bundle is validated first. Each file is written whole or not at all, and `run.json`
    last, so an interrupted write never leaves something that reads as a complete run.
    Tables with no records are not written. See the module docstring for an example.
    """
    bundle.validate()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    stale = out / HEADER
    if stale.exists():
        stale.unlink()  # the old header must not vouch for half-replaced tables
    for name, cls in TABLE_RECORDS.items():
        rows = bundle.table(name)
        for suffix in SUFFIXES:
            (out / f"{name}{suffix}").unlink(missing_ok=True)
        if not rows:
            continue
        columns = record_columns(cls)
        lines = (
            json.dumps({c: getattr(r, c) for c in columns}, ensure_ascii=False,
                       allow_nan=False) + "\n"
            for r in rows
        )
        _write_atomic(out / f"{name}.jsonl", "".join(lines))
    header = {"format": EXPORT_FORMAT, "run": run_to_dict(bundle.run),
              "content_hash": bundle.content_hash()}
    _write_atomic(out / HEADER, json.dumps(header, indent=2, sort_keys=True,
                                           ensure_ascii=False) + "\n")
    return out


__all__ = ["HEADER", "is_canonical_dir", "read_dir", "read_header", "write_jsonl"]
