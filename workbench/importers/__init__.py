"""Importers: one module per upstream format, each turning files into canonical `RunBundle`s.

Public datasets (see `workbench.sources`) each have a module with ``read(files)``, where
`files` maps dataset-relative paths to local, checksum-verified files. Runs a user brings are
read by `read_path`, which recognises the accepted formats (`FORMATS`).

Submodules are imported lazily: importing one importer does not load the others (math-verify
and sympy, which grading needs, take a second to import).

>>> sorted(FORMATS)
['canonical-jsonl', 'canonical-parquet', 'search-and-learn']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.store.records import RunBundle

FORMATS = {
    "canonical-jsonl": "a directory with run.json ({\"format\": \"ttc-workbench-run/1\", "
                       "\"run\": {...}}) and one <table>.jsonl per table",
    "canonical-parquet": "the same directory with <table>.parquet files "
                         "(what `workbench export` writes)",
    "search-and-learn": "a .jsonl or .parquet file (or a directory of such shards) of "
                        "HuggingFace search-and-learn rows: problem, answer, completions, "
                        "scores, completion_tokens",
}
"""The formats `read_path` accepts, with a one-line description each."""


def _accepted() -> str:
    return "; ".join(f"{name}: {text}" for name, text in FORMATS.items())


def _first_row(path: Path) -> Any:
    from workbench.importers import search_and_learn

    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            rows = pq.ParquetFile(str(path)).iter_batches(batch_size=1)
            batch = next(rows, None)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(str(path), None, None, f"unreadable Parquet: {exc}") from exc
        return batch.to_pylist()[0] if batch is not None and batch.num_rows else None
    rows = search_and_learn.read_rows(path, str(path))
    return rows[0][1] if rows else None


def detect_format(path: str | Path) -> str:
    """The name (a key of `FORMATS`) of the format at `path`, or an `InputError` listing them.

    >>> import tempfile
    >>> detect_format(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench.errors.InputError: /...: not a recognised run format (no run.json, no ...
    """
    from workbench.importers import canonical, search_and_learn

    p = Path(path)
    if p.name == canonical.HEADER and p.is_file():
        p = p.parent
    if canonical.is_canonical_dir(p):
        tables = [q for q in p.iterdir() if q.suffix == ".parquet"]
        return "canonical-parquet" if tables else "canonical-jsonl"
    if not p.exists():
        raise InputError(str(p), None, None, "no such file or directory")
    shards = _shards(p)
    if not shards:
        raise InputError(str(p), None, None,
                         "not a recognised run format (no run.json, no .jsonl or .parquet "
                         f"rows). Accepted: {_accepted()}")
    for shard in shards:
        if not search_and_learn.looks_like_rows(_first_row(shard)):
            raise InputError(
                str(shard), 1, None,
                "not a recognised run format: the first row lacks the search-and-learn "
                f"columns {', '.join(search_and_learn.REQUIRED_COLUMNS)}. "
                f"Accepted: {_accepted()}",
            )
    return "search-and-learn"


def _shards(p: Path) -> list[Path]:
    if p.is_file():
        return [p] if p.suffix.lower() in (".jsonl", ".parquet") else []
    return sorted(q for q in p.iterdir()
                  if q.is_file() and q.suffix.lower() in (".jsonl", ".parquet"))


def read_path(
    path: str | Path,
    *,
    verifier: str = "prm",
    run_id: str | None = None,
    dataset: str | None = None,
    policy_model: str = "unknown",
    policy_params: float | None = None,
) -> list[RunBundle]:
    """Read the runs at `path`, detecting the format (see `FORMATS`).

    A canonical directory gives its one run (the keyword options do not apply: the run says
    everything itself). search-and-learn rows give one run; the options name its verifier
    (for the step scores), run id (default: the file's or directory's stem), dataset, policy
    model and parameter count. Every bundle is validated.

    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
    >>> _ = path.write_text(json.dumps({"problem": "?", "answer": "4",
    ...                                 "completions": ["\\\\boxed{4}"]}) + "\\n")
    >>> [b.run.run_id for b in read_path(path, verifier="my-prm")]
    ['rows']
    """
    from workbench.importers import canonical, search_and_learn

    fmt = detect_format(path)
    p = Path(path)
    if fmt.startswith("canonical"):
        return [canonical.read_dir(p.parent if p.is_file() else p)]
    shards = _shards(p)
    files = {str(s): s for s in shards}
    return search_and_learn.read(
        files, verifier=verifier, run_id=run_id or p.stem, dataset=dataset,
        policy_model=policy_model, policy_params=policy_params,
    )


def read_dataset(dataset: Any, *, progress: Any = None) -> list[RunBundle]:
    """Verify a registered dataset's files and convert them with its importer.

    `dataset` is a `workbench.sources.Dataset` or its name; `progress(relpath)` is called per
    file read (the CLI's progress bar). Raises `DataSourceError` if its importer is missing.

    >>> [b.run.run_id for b in read_dataset("qwen25-math-rm")]  # doctest: +SKIP
    ['qwen25-math-rm/math-cot-100']
    """
    import importlib

    from workbench.errors import DataSourceError
    from workbench.sources import get_dataset

    ds = get_dataset(dataset) if isinstance(dataset, str) else dataset
    module_name = f"workbench.importers.{ds.importer}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise DataSourceError(
            f"dataset {ds.name!r}: its importer {module_name} is not installed"
        ) from None
    bundles: list[RunBundle] = module.read(ds.files(progress=progress))
    return bundles


__all__ = ["FORMATS", "detect_format", "read_dataset", "read_path"]
