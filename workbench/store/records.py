"""Canonical records: what every importer produces and what the store holds.

One dataclass per table of the data model in DESIGN.md. Each record may carry an `origin`
(file, line) so that validation errors can name where the bad value came from; the origin is not
part of the record's content (it is excluded from equality and from the content hash).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from workbench.errors import InputError

if TYPE_CHECKING:
    from workbench.store.columnar import ColumnarRun

INT_MAX = 2**31 - 1
"""The store keeps integers as 32-bit INTEGER: larger values are refused at ingest."""

Origin = tuple[str, int | None]
"""Where a record came from: (file, 1-based line or record index)."""


def _origin() -> Any:
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Problem:
    dataset: str
    problem_id: str
    question: str | None = None
    gold_answer: str | None = None
    subject: str | None = None
    level: str | None = None
    meta: dict[str, Any] | None = None
    origin: Origin | None = _origin()


@dataclass(frozen=True, slots=True)
class Run:
    """A run: one policy model sampled on one dataset with one sampler configuration.

    `policy_params` is the parameter count (used for FLOPs); `meta` holds anything else worth
    keeping (verifier parameter counts under `verifier_params`, prices, the upstream config).
    """

    run_id: str
    dataset: str
    policy_model: str
    source: str
    policy_params: float | None = None
    sampler: dict[str, Any] | None = None
    prompt: str | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    problem_id: str
    sample_idx: int
    answer: str | None = None
    answer_key: str | None = None
    is_correct: bool | None = None
    output_tokens: int | None = None
    prompt_tokens: int | None = None
    n_steps: int | None = None
    text: str | None = None
    chain_id: int | None = None
    revision_idx: int | None = None
    origin: Origin | None = _origin()


@dataclass(frozen=True, slots=True)
class StepScore:
    verifier: str
    problem_id: str
    sample_idx: int
    step_idx: int
    score: float
    step_tokens: int | None = None
    origin: Origin | None = _origin()


@dataclass(frozen=True, slots=True)
class OutcomeScore:
    verifier: str
    problem_id: str
    sample_idx: int
    score: float
    origin: Origin | None = _origin()


@dataclass(frozen=True, slots=True)
class TreeNode:
    """A node of a cached search tree. `expanded` is true only when ALL children were cached."""

    problem_id: str
    node_id: str
    parent_id: str | None
    depth: int
    text: str | None = None
    score: float | None = None
    tokens: int | None = None
    is_terminal: bool = False
    answer_key: str | None = None
    is_correct: bool | None = None
    expanded: bool = False
    origin: Origin | None = _origin()


@dataclass(frozen=True, slots=True)
class ProblemCount:
    """Per-problem counts for sources that publish only n samples and c correct."""

    problem_id: str
    n: int
    c: int
    origin: Origin | None = _origin()


TABLE_RECORDS: dict[str, type] = {
    "problems": Problem,
    "samples": Sample,
    "step_scores": StepScore,
    "outcome_scores": OutcomeScore,
    "tree_nodes": TreeNode,
    "problem_counts": ProblemCount,
}


def record_columns(cls: type) -> list[str]:
    """The stored columns of a record type (its fields less `origin`)."""
    return [f.name for f in fields(cls) if f.name != "origin"]


@dataclass(slots=True)
class RunBundle:
    """Everything one run contributes to the store, validated as a whole before ingest."""

    run: Run
    problems: list[Problem] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    step_scores: list[StepScore] = field(default_factory=list)
    outcome_scores: list[OutcomeScore] = field(default_factory=list)
    tree_nodes: list[TreeNode] = field(default_factory=list)
    problem_counts: list[ProblemCount] = field(default_factory=list)

    def table(self, name: str) -> list[Any]:
        return getattr(self, name)  # type: ignore[no-any-return]

    def validate(self) -> RunBundle:
        """Check the whole bundle; raise `InputError` naming file, line and field. Returns self."""
        validate_bundle(self)
        return self

    def content_hash(self) -> str:
        """The run's content hash, computed in columns (`store.columnar`): independent of
        record order, of int-vs-float spelling of float fields and of the file format, so a
        run read back from the store hashes the same as the bundle that was ingested."""
        self.check_types()
        return self.to_columnar().content_hash()

    def check_types(self) -> None:
        """Type-check every record against its annotations (importers build from JSON)."""
        check_run(self.run, self.run.source)
        for name in TABLE_RECORDS:
            for rec in self.table(name):
                _check_types(rec)

    def to_columnar(self) -> ColumnarRun:
        """The same run as Arrow tables (origins as `_file`/`_line` columns), for the store's
        columnar checks, hash and insert. Records must be type-checked first."""
        from workbench.store.columnar import ColumnarRun, TableSource
        from workbench.store.convert import records_to_arrow

        tables = {}
        for name, cls in TABLE_RECORDS.items():
            rows = self.table(name)
            if not rows:
                continue
            tbl = records_to_arrow(cls, rows)
            origins = [getattr(r, "origin", None) or (None, None) for r in rows]
            tbl = tbl.append_column("_file", pa_array([o[0] for o in origins], "string"))
            tbl = tbl.append_column("_line", pa_array([o[1] for o in origins], "int64"))
            tables[name] = TableSource(self.run.source, arrow=tbl)
        return ColumnarRun(self.run, tables)


def pa_array(values: list[Any], typ: str) -> Any:
    import pyarrow as pa

    return pa.array(values, type=getattr(pa, typ)())


def _fail(rec: Any, field_name: str, message: str) -> InputError:
    origin = getattr(rec, "origin", None)
    file, line = origin if origin else (None, None)
    return InputError(file, line, field_name, message)


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict": (dict,),
}


def _check_types(rec: Any) -> None:
    """Type-check a record's fields against their annotations (importers build from JSON)."""
    for f in fields(rec):
        if f.name == "origin":
            continue
        value = getattr(rec, f.name)
        ann = str(f.type)
        optional = "None" in ann
        if value is None:
            if not optional:
                raise _fail(rec, f.name, "is missing (null)")
            continue
        base = ann.split("|")[0].strip().split("[")[0]
        allowed = _TYPES.get(base)
        if allowed is None:
            continue
        if base in ("int", "float") and isinstance(value, bool):
            raise _fail(rec, f.name, f"expected {base}, got bool {value!r}")
        if not isinstance(value, allowed):
            raise _fail(rec, f.name, f"expected {base}, got {type(value).__name__} {value!r:.60}")
        if base == "float" and not math.isfinite(value):  # type: ignore[arg-type]
            raise _fail(rec, f.name, f"must be finite, got {value!r}")
        if base == "int" and not -INT_MAX - 1 <= value <= INT_MAX:  # type: ignore[operator]
            raise _fail(rec, f.name, f"must be < 2^31 (stored as a 32-bit integer), got {value}")
        if base == "str" and not value.isascii():  # type: ignore[union-attr]
            _check_unicode(rec, f.name, value)  # type: ignore[arg-type]


def _check_unicode(rec: Any, name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _fail(rec, name, f"is not valid Unicode: {exc.reason} at character {exc.start} "
                    f"({value[exc.start]!r})") from exc


def check_run(run: Run, where: str | None) -> None:
    """Type-check the run record; errors name `where` (its run.json) and `run.<field>`."""
    try:
        _check_types(run)
    except InputError as exc:
        raise InputError(where, None, f"run.{exc.field}", exc.message) from exc
    if not run.run_id.strip():
        raise InputError(where, None, "run.run_id", "must not be empty")


def loads_json(text: str, file: str | None, line: int | None, name: str) -> Any:
    """Parse a JSON text held in a field (e.g. a Parquet `meta` column); errors name the field.

    >>> loads_json("{not json", "problems.parquet", 3, "meta")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench.errors.InputError: problems.parquet:3: field `meta`: not valid JSON: Expecting ...
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(file, line, name,
                         f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:
        raise InputError(file, line, name, "JSON nested too deeply") from exc


def validate_bundle(bundle: RunBundle) -> None:
    """Validate types (per record), then finiteness, ranges, uniqueness and references (in
    columns, `store.columnar`) of a bundle."""
    bundle.check_types()
    bundle.to_columnar().validate()
