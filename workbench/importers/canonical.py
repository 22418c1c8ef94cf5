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
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.importers._common import read_json, read_jsonl
from workbench.store import RunBundle, read_bundle_parquet
from workbench.store.convert import run_to_dict
from workbench.store.records import TABLE_RECORDS, Run, record_columns
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
    return Run(**header["run"]), digest


def _table_files(directory: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name in TABLE_RECORDS:
        candidates = [directory / f"{name}{suffix}" for suffix in SUFFIXES]
        present = [p for p in candidates if p.exists()]
        if len(present) > 1:
            raise InputError(str(directory), None, None,
                             f"both {name}.jsonl and {name}.parquet: keep one form per run")
        if present:
            found[name] = present[0]
    return found


def read_dir(directory: str | Path) -> RunBundle:
    """Read and validate a canonical run directory (JSONL or Parquet tables).

    All tables of a run must be in one form. Returns the validated bundle; see the module
    docstring for the layout and an example.
    """
    src = Path(directory)
    run, digest = read_header(src / HEADER)
    tables = _table_files(src)
    forms = {p.suffix for p in tables.values()}
    if len(forms) > 1:
        raise InputError(str(src), None, None,
                         "tables mix .jsonl and .parquet files: keep one form per run")
    if forms == {".parquet"}:
        bundle = _read_parquet(src, tables)
    else:
        bundle = RunBundle(run=run)
        for name, path in tables.items():
            setattr(bundle, name, _read_table_jsonl(name, path))
    bundle.validate()
    if digest is not None and bundle.content_hash() != digest:
        raise InputError(str(src / HEADER), None, "content_hash",
                         "the tables do not hash to it (edited after export?); "
                         "remove `content_hash` to accept the edited tables")
    return bundle


def _read_parquet(src: Path, tables: dict[str, Path]) -> RunBundle:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name, path in tables.items():
        cls = TABLE_RECORDS[name]
        try:
            names = pq.read_schema(str(path)).names
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(str(path), None, None, f"unreadable Parquet: {exc}") from exc
        allowed = record_columns(cls)
        for column in names:
            if column not in allowed:
                raise InputError(str(path), None, column,
                                 f"unknown column of {cls.__name__}; columns: {', '.join(allowed)}")
    # The store's reader owns the Arrow <-> record conversion (JSON columns, types).
    return read_bundle_parquet(src)


def _read_table_jsonl(name: str, path: Path) -> list[Any]:
    file = str(path)
    if not path.read_bytes().strip():
        return []  # an empty table is allowed: the run has no such records
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
