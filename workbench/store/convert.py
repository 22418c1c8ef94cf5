"""Records <-> Arrow tables: the columnar form used for ingest, export and import."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pyarrow as pa

from workbench.store.records import TABLE_RECORDS, Run, record_columns

_ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "dict": pa.string(),  # JSON text
}


def _arrow_type(annotation: Any) -> pa.DataType:
    base = str(annotation).split("|")[0].strip().split("[")[0]
    return _ARROW_TYPES[base]


def _is_json(annotation: Any) -> bool:
    return str(annotation).split("|")[0].strip().startswith("dict")


def arrow_schema(cls: type) -> pa.Schema:
    """The Arrow schema of a record type (JSON fields as strings)."""
    return pa.schema(
        [pa.field(f.name, _arrow_type(f.type)) for f in fields(cls) if f.name != "origin"]
    )


def records_to_arrow(cls: type, records: list[Any]) -> pa.Table:
    """Columnar Arrow table of records of one type; dict fields become JSON text."""
    schema = arrow_schema(cls)
    json_cols = {f.name for f in fields(cls) if _is_json(f.type)}
    columns: dict[str, list[Any]] = {}
    for name in record_columns(cls):
        values = [getattr(r, name) for r in records]
        if name in json_cols:
            values = [None if v is None else json.dumps(v, sort_keys=True) for v in values]
        columns[name] = values
    return pa.table(columns, schema=schema)


def arrow_to_records(cls: type, table: pa.Table, origin_file: str | None = None) -> list[Any]:
    """Records from an Arrow table with the record type's columns (extra columns refused)."""
    from workbench.errors import InputError

    wanted = record_columns(cls)
    missing = [c for c in wanted if c not in table.column_names]
    if missing:
        raise InputError(origin_file, None, missing[0], f"column missing from {cls.__name__} table")
    json_cols = {f.name for f in fields(cls) if _is_json(f.type)}
    out = []
    has_origin = "origin" in {f.name for f in fields(cls)}
    for i, row in enumerate(table.select(wanted).to_pylist(), start=1):
        for c in json_cols:
            if isinstance(row[c], str):
                row[c] = json.loads(row[c])
        if has_origin:
            row["origin"] = (origin_file or "<arrow>", i)
        out.append(cls(**row))
    return out


def run_to_dict(run: Run) -> dict[str, Any]:
    return {name: getattr(run, name) for name in record_columns(Run)}


__all__ = ["TABLE_RECORDS", "arrow_schema", "arrow_to_records", "records_to_arrow", "run_to_dict"]
