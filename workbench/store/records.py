"""Canonical records: what every importer produces and what the store holds.

One dataclass per table of the data model in DESIGN.md. Each record may carry an `origin`
(file, line) so that validation errors can name where the bad value came from; the origin is not
part of the record's content (it is excluded from equality and from the content hash).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from workbench.errors import InputError

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
        """SHA-256 of the bundle's content (origins excluded), stable across runs of Python.

        Independent of record order and of int-vs-float spelling of float fields, so a run
        read back from the store (rows in key order, numbers as stored) hashes the same as
        the bundle that was ingested.
        """
        h = hashlib.sha256()
        h.update(_canonical_json(_record_values(self.run)))
        for name in TABLE_RECORDS:
            rows = sorted(_canonical_json(_record_values(rec)) for rec in self.table(name))
            h.update(f"\n#{name}:{len(rows)}\n".encode())
            for row in rows:
                h.update(row)
        return h.hexdigest()


_FLOAT_FIELDS: dict[type, frozenset[str]] = {}


def _float_fields(cls: type) -> frozenset[str]:
    found = _FLOAT_FIELDS.get(cls)
    if found is None:
        found = frozenset(
            f.name for f in fields(cls) if str(f.type).split("|")[0].strip() == "float"
        )
        _FLOAT_FIELDS[cls] = found
    return found


def _record_values(rec: Any) -> list[Any]:
    floats = _float_fields(type(rec))
    return [
        float(v) if f.name in floats and isinstance(v, int) and not isinstance(v, bool) else v
        for f in fields(rec)
        if f.name != "origin"
        for v in (getattr(rec, f.name),)
    ]


def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode() + b"\n"


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


def _unique(rows: Iterable[Any], key_fields: Sequence[str], what: str) -> set[tuple[Any, ...]]:
    seen: set[tuple[Any, ...]] = set()
    for rec in rows:
        key = tuple(getattr(rec, k) for k in key_fields)
        if key in seen:
            raise _fail(rec, key_fields[-1], f"duplicate {what} {key!r}")
        seen.add(key)
    return seen


def validate_bundle(bundle: RunBundle) -> None:
    """Validate types, finiteness, uniqueness and references of a bundle."""
    run = bundle.run
    _check_types(run)
    if not run.run_id.strip():
        raise InputError(None, None, "run_id", "must not be empty")
    if not (bundle.samples or bundle.tree_nodes or bundle.problem_counts):
        raise InputError(
            run.source, None, None, "the run holds no samples, tree nodes or counts (empty input?)"
        )
    for name in TABLE_RECORDS:
        for rec in bundle.table(name):
            _check_types(rec)
    problem_ids = {p for (_, p) in _unique(bundle.problems, ("dataset", "problem_id"), "problem")}
    for p in bundle.problems:
        if p.dataset != run.dataset:
            raise _fail(
                p, "dataset", f"{p.dataset!r} differs from the run's dataset {run.dataset!r}"
            )

    def known_problem(rec: Any) -> None:
        if rec.problem_id not in problem_ids:
            raise _fail(rec, "problem_id", f"names unknown problem {rec.problem_id!r}")

    for s in bundle.samples:
        known_problem(s)
        if s.sample_idx < 0:
            raise _fail(s, "sample_idx", f"must be >= 0, got {s.sample_idx}")
        for name in ("output_tokens", "prompt_tokens", "n_steps"):
            v = getattr(s, name)
            if v is not None and v < 0:
                raise _fail(s, name, f"must be >= 0, got {v}")
        if (s.chain_id is None) != (s.revision_idx is None):
            raise _fail(s, "revision_idx", "chain_id and revision_idx go together")
    sample_keys = _unique(bundle.samples, ("problem_id", "sample_idx"), "sample id")
    _unique(bundle.step_scores, ("verifier", "problem_id", "sample_idx", "step_idx"), "step score")
    _unique(bundle.outcome_scores, ("verifier", "problem_id", "sample_idx"), "outcome score")
    scores: list[StepScore | OutcomeScore] = [*bundle.step_scores, *bundle.outcome_scores]
    for sc in scores:
        known_problem(sc)
        if (sc.problem_id, sc.sample_idx) not in sample_keys:
            raise _fail(
                sc, "sample_idx", f"names unknown sample ({sc.problem_id!r}, {sc.sample_idx})"
            )
    node_keys = _unique(bundle.tree_nodes, ("problem_id", "node_id"), "tree node")
    for node in bundle.tree_nodes:
        known_problem(node)
        if node.parent_id is not None and (node.problem_id, node.parent_id) not in node_keys:
            raise _fail(node, "parent_id", f"names unknown node {node.parent_id!r}")
    _unique(bundle.problem_counts, ("problem_id",), "problem count")
    for pc in bundle.problem_counts:
        known_problem(pc)
        if pc.n <= 0 or not 0 <= pc.c <= pc.n:
            raise _fail(pc, "c", f"need 0 <= c <= n and n > 0, got n={pc.n}, c={pc.c}")
