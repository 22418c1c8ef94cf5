"""Helpers every importer needs: reading JSON / JSONL and typed field access with clean errors.

Every error raised here is an `InputError(file, line, field, message)`, where `file` is the name
the importer was given (the dataset-relative path, i.e. the key of its `files` mapping), `line`
is the 1-based JSONL line or the 1-based record index of a JSON array (None for a whole-file
problem), and `field` names the offending field (dotted for nested fields, e.g. "infos[3].r").

Typical use inside an importer::

    obj = read_json(files["x.json"], "x.json")
    for line, rec in read_jsonl(files["y.jsonl"], "y.jsonl"):
        n = field(rec, "n", int, "y.jsonl", line)
        text = field(rec, "text", str, "y.jsonl", line, optional=True)

Example (runnable):

>>> import json, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.jsonl"
>>> _ = p.write_text('{"n": 3}\\n{"n": "x"}\\n')
>>> rows = read_jsonl(p, "a.jsonl")
>>> [(line, field(rec, "n", int, "a.jsonl", line)) for line, rec in rows[:1]]
[(1, 3)]
>>> field(rows[1][1], "n", int, "a.jsonl", rows[1][0])
Traceback (most recent call last):
...
workbench.errors.InputError: a.jsonl:2: field `n`: expected int, got str 'x'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

from workbench.errors import InputError
from workbench.sources.registry import get_dataset

T = TypeVar("T")

_MISSING = object()

_TYPE_NAMES: dict[type, str] = {
    int: "int",
    float: "float",
    str: "str",
    bool: "bool",
    list: "list",
    dict: "object",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def require_file(files: Mapping[str, Path], name: str) -> Path:
    """The local path of `name` in an importer's `files` mapping, or an InputError naming it.

    >>> require_file({"a.json": Path("/tmp/a.json")}, "a.json")
    PosixPath('/tmp/a.json')
    >>> require_file({}, "a.json")
    Traceback (most recent call last):
    ...
    workbench.errors.InputError: a.json: file is missing from the importer's input
    """
    path = files.get(name)
    if path is None:
        raise InputError(name, None, None, "file is missing from the importer's input")
    return Path(path)


def source_url(dataset: str, file: str) -> str:
    """`Run.source` for a file: its pinned upstream URL when the registered dataset holds it
    (matched by the dataset-relative path), else the file name as given (a user's own file).

    >>> source_url("reflexion", "simple_humaneval_py_gpt4.jsonl").startswith("https://raw.")
    True
    >>> source_url("reflexion", "/home/me/my_run.jsonl")
    '/home/me/my_run.jsonl'
    """
    ds = get_dataset(dataset)
    if file in ds.checksums:
        return ds.url(file)
    return file


def provenance(dataset: str, file: str) -> dict[str, Any]:
    """The `Run.meta` entries every importer records: licence, citation, attribution (when the
    licence requires it) and the upstream repo, commit and path of `file`.

    >>> sorted(provenance("tot-game24", "LICENSE"))
    ['citation', 'licence', 'upstream']
    >>> "attribution" in provenance("sampling-ceilings", "rhow_counts.json")
    True
    """
    ds = get_dataset(dataset)
    upstream: dict[str, Any] = {"repo": ds.repo, "commit": ds.commit}
    if file in ds.checksums:
        upstream["path"] = ds.upstream_path(file)
    else:
        upstream["local_file"] = file
    out: dict[str, Any] = {"licence": ds.licence, "citation": ds.citation, "upstream": upstream}
    if ds.attribution:
        out["attribution"] = ds.attribution
    return out


def _read_text(path: Path, file: str) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(file, None, None, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(file, line, None, f"not UTF-8 text (byte offset {exc.start})") from exc


def _reject_constant(name: str) -> Any:
    # json accepts NaN / Infinity by default; data with them is not valid JSON and would slip
    # non-finite numbers past the importer.
    raise ValueError(f"non-standard JSON constant {name}")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


_CONSTANT_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*(?:NaN|-?Infinity)\b')


def _constant_where(text: str) -> tuple[int | None, str | None]:
    """(1-based line, key) of the first `"key": NaN/Infinity` in `text`, so the error can
    name the field; (None, None) when the constant is not a field value (e.g. in an array)."""
    m = _CONSTANT_KEY.search(text)
    if m is None:
        return None, None
    return text.count("\n", 0, m.start()) + 1, m.group(1)


def _ends_inside_value(exc: json.JSONDecodeError, text: str) -> bool:
    """Whether decoding failed because the text stops inside a JSON value (a truncation):
    the error is at the end of the input, or a string opened and never closed (it then runs
    to the end of the input, since the decoder refuses raw newlines in strings)."""
    return exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")


def read_json(path: Path, file: str) -> Any:
    """Parse a whole JSON file; errors name the line where parsing failed.

    An empty file, a truncated file (input ends inside a value) and malformed JSON each raise
    an `InputError` saying which.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.json"
    >>> _ = p.write_text('{"a": [1, 2,')
    >>> read_json(p, "t.json")
    Traceback (most recent call last):
    ...
    workbench.errors.InputError: t.json:1: file is truncated (JSON ends inside a value)
    """
    text = _read_text(path, file)
    if not text.strip():
        raise InputError(file, None, None, "file is empty")
    try:
        return _loads(text)
    except json.JSONDecodeError as exc:
        if _ends_inside_value(exc, text):
            raise InputError(
                file, exc.lineno, None, "file is truncated (JSON ends inside a value)"
            ) from exc
        raise InputError(file, exc.lineno, None, f"malformed JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise InputError(file, None, None, "JSON nested too deeply") from exc
    except ValueError as exc:
        line, key = _constant_where(text)
        raise InputError(file, line, key, f"malformed JSON: {exc}") from exc


def read_jsonl(path: Path, file: str) -> list[tuple[int, Any]]:
    """Parse a JSON-lines file into `(line_number, value)` pairs (1-based; blank lines skipped).

    An empty file, a truncated last line and a malformed line each raise an `InputError`
    naming the line.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
    >>> _ = p.write_text('{"a": 1}\\n\\n{"a": 2}\\n')
    >>> read_jsonl(p, "t.jsonl")
    [(1, {'a': 1}), (3, {'a': 2})]
    """
    text = _read_text(path, file)
    if not text.strip():
        raise InputError(file, None, None, "file is empty")
    lines = text.split("\n")
    out: list[tuple[int, Any]] = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append((i, _loads(line)))
        except json.JSONDecodeError as exc:
            is_last = all(not rest.strip() for rest in lines[i:])
            if is_last and _ends_inside_value(exc, line):
                raise InputError(
                    file, i, None, "file is truncated (last line ends inside a JSON value)"
                ) from exc
            msg = f"malformed JSON: {exc.msg} (column {exc.colno})"
            raise InputError(file, i, None, msg) from exc
        except RecursionError as exc:
            raise InputError(file, i, None, "JSON nested too deeply") from exc
        except ValueError as exc:
            raise InputError(file, i, _constant_where(line)[1], f"malformed JSON: {exc}") from exc
    return out


def check_type(value: Any, typ: type[T], file: str, line: int | None, name: str) -> T:
    """Check that `value` has type `typ` (as a JSON value) or raise an `InputError`.

    `int` refuses bools and floats; `float` accepts ints (returned as float) and refuses bools
    and non-finite values; `dict` means a JSON object.

    >>> check_type(2, float, "f.json", 1, "x")
    2.0
    >>> check_type(True, int, "f.json", 1, "x")
    Traceback (most recent call last):
    ...
    workbench.errors.InputError: f.json:1: field `x`: expected int, got bool True
    """
    want = _TYPE_NAMES.get(typ, typ.__name__)
    ok: bool
    if typ is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif typ is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            raise InputError(file, line, name, f"must be finite, got {value!r}")
        if ok:
            return float(value)  # type: ignore[return-value]
    else:
        ok = isinstance(value, typ)
    if not ok:
        shown = f" {value!r:.60}" if isinstance(value, (str, int, float, bool)) else ""
        raise InputError(file, line, name, f"expected {want}, got {_type_name(value)}{shown}")
    return value  # type: ignore[no-any-return]


@overload
def field(
    obj: Any, name: str, typ: type[T], file: str, line: int | None, *, prefix: str = ""
) -> T: ...


@overload
def field(
    obj: Any,
    name: str,
    typ: type[T],
    file: str,
    line: int | None,
    *,
    optional: bool,
    prefix: str = "",
) -> T | None: ...


def field(
    obj: Any,
    name: str,
    typ: type[T],
    file: str,
    line: int | None,
    *,
    optional: bool = False,
    prefix: str = "",
) -> T | None:
    """The field `name` of JSON object `obj`, checked to be of type `typ`.

    Raises `InputError(file, line, prefix + name, ...)` when `obj` is not an object, the field
    is missing, or it has the wrong type. With `optional=True` a missing or null field gives
    None. `prefix` names the enclosing path for nested objects (e.g. "infos[3].").

    >>> field({"n": 3}, "n", int, "f.jsonl", 7)
    3
    >>> field({}, "n", int, "f.jsonl", 7, optional=True) is None
    True
    >>> field({"r": "1"}, "r", int, "f.json", 2, prefix="infos[0].")
    Traceback (most recent call last):
    ...
    workbench.errors.InputError: f.json:2: field `infos[0].r`: expected int, got str '1'
    """
    full = prefix + name
    if not isinstance(obj, dict):
        where = prefix.rstrip(".") or "record"
        raise InputError(file, line, full, f"{where} is not a JSON object (got {_type_name(obj)})")
    value = obj.get(name, _MISSING)
    if value is _MISSING or value is None:
        if optional:
            return None
        raise InputError(file, line, full, "is missing" if value is _MISSING else "is null")
    return check_type(value, typ, file, line, full)


def list_of(
    values: Any, typ: type[T], file: str, line: int | None, name: str
) -> list[T]:
    """Check that `values` is a JSON list whose items all have type `typ`.

    Errors name the item, e.g. field `accs[4]`.

    >>> list_of([1, 2], int, "f.json", 1, "xs")
    [1, 2]
    >>> list_of([1, "2"], int, "f.json", 1, "xs")
    Traceback (most recent call last):
    ...
    workbench.errors.InputError: f.json:1: field `xs[1]`: expected int, got str '2'
    """
    check_type(values, list, file, line, name)
    return [check_type(v, typ, file, line, f"{name}[{i}]") for i, v in enumerate(values)]


__all__ = [
    "check_type", "field", "list_of", "provenance", "read_json", "read_jsonl", "require_file",
    "source_url",
]
