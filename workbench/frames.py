"""`.to_frame()`: how every result type of the workbench turns into a tidy pandas DataFrame.

Every public result type (a curve, a bootstrap, bins, a policy, a plan, a law fit, an exchange
table, a verdict, a store query...) has a `.to_frame()` that returns a DataFrame with fixed,
documented columns: one row per observation (per budget, per bin, per (bin, budget), ...), one
column per variable, confidence intervals as `<name>_low` / `<name>_high` pairs. The columns are
listed in the method's docstring under ``Columns:``, one ``name: meaning`` line each, and a test
(tests/test_frames.py) checks every type's frame against its list. Older names stay as
aliases: `QueryResult.to_pandas`, `PolicyResult.table`, `Plan.table`. `to_dict()` remains the
JSON form (the CLI's --json).

This module is a leaf: it imports nothing from the workbench, and pandas only when called.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Row:
...     bin: str
...     ci: tuple[float, float]
>>> record_frame([Row("L1", (0.1, 0.3))]).columns.tolist()
['bin', 'ci_low', 'ci_high']
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_COLUMN = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_@]*)(?: \([^)]*\))?:(?:\s|$)")


def documented_columns(method: Callable[..., Any]) -> list[str]:
    """The column names a `to_frame` docstring lists under ``Columns:`` (in order).

    >>> def to_frame():
    ...     '''One row per budget.
    ...
    ...     Columns:
    ...         budget: the budget.
    ...         accuracy: mean accuracy, a long
    ...             explanation on a second line.
    ...     '''
    >>> documented_columns(to_frame)
    ['budget', 'accuracy']
    """
    doc = method.__doc__ or ""
    lines = doc.expandtabs().splitlines()
    out: list[str] = []
    indent: int | None = None
    inside = False
    for line in lines:
        stripped = line.strip()
        if not inside:
            inside = stripped == "Columns:"
            continue
        if not stripped:
            if out:
                break
            continue
        here = len(line) - len(line.lstrip())
        if indent is None:
            indent = here
        if here < indent:
            break
        if here == indent:
            m = _COLUMN.match(stripped)
            if m is None:
                break
            out.append(m.group("name"))
    return out


def _flatten(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, tuple) and len(value) == 2 and all(
            isinstance(v, int | float) for v in value):
        return {f"{name}_low": value[0], f"{name}_high": value[1]}
    if isinstance(value, tuple | list):
        return {name: ", ".join(map(str, value))}
    return {name: value}


def record_frame(
    records: Iterable[Any], *, drop: Iterable[str] = (), extra: dict[str, Any] | None = None
) -> pd.DataFrame:
    """One row per dataclass record; its fields as columns, minus `drop`, plus `extra`.

    A (low, high) pair of numbers (a CI) becomes two columns `<field>_low`, `<field>_high`;
    another tuple or list becomes one comma-separated string; dicts stay objects.
    """
    import pandas as pd

    skip = set(drop)
    rows = []
    for r in records:
        row: dict[str, Any] = {}
        for f in dataclasses.fields(r):
            if f.name not in skip:
                row.update(_flatten(f.name, getattr(r, f.name)))
        row.update(extra or {})
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["documented_columns", "record_frame"]
