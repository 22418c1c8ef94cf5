"""Importers: one module per upstream format, each turning files into canonical `RunBundle`s.

Public datasets (see `workbench.sources`) each have a module with ``read(files)``, where
`files` maps dataset-relative paths to local, checksum-verified files. Runs a user brings are
read by `read_path`, which recognises the accepted formats (`FORMATS`).

Submodules are imported lazily: importing one importer does not load the others (math-verify
and sympy, which grading needs, take a second to import).

>>> sorted(FORMATS)  # doctest: +NORMALIZE_WHITESPACE
['canonical-jsonl', 'canonical-parquet', 'inspect-log', 'lm-eval-samples', 'openai-outputs',
 'search-and-learn']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.store.columnar import ColumnarRun
from workbench.store.records import RunBundle

FORMATS = {
    "canonical-jsonl": "a directory with run.json ({\"format\": \"ttc-workbench-run/1\", "
                       "\"run\": {...}}) and one <table>.jsonl per table",
    "canonical-parquet": "the same directory with <table>.parquet files "
                         "(what `workbench export` writes)",
    "search-and-learn": "a .jsonl or .parquet file (or a directory of such shards) of "
                        "HuggingFace search-and-learn rows: problem, answer, completions, "
                        "scores, completion_tokens",
    "inspect-log": "an inspect_ai evaluation log: a .eval file or a .json log "
                   "(--log-format json), or a directory of them (one run per log)",
    "lm-eval-samples": "lm-evaluation-harness --log_samples output: samples_<task>_<time>.jsonl "
                       "(a file, or the folder lm-eval wrote; one run per task)",
    "openai-outputs": "OpenAI-compatible outputs, one JSON object a line: Batch output lines "
                      "(custom_id, response.body.choices) or chat.completion objects, n >= 1; "
                      "a problems.jsonl beside them gives questions and gold answers",
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


def _row_format(row: Any) -> str | None:
    from workbench.importers import lm_eval_samples, openai_outputs, search_and_learn

    if search_and_learn.looks_like_rows(row):
        return "search-and-learn"
    if lm_eval_samples.looks_like_samples(row):
        return "lm-eval-samples"
    if openai_outputs.looks_like_output(row):
        return "openai-outputs"
    return None


def _is_inspect_json(path: Path) -> bool:
    from workbench.importers._common import read_json
    from workbench.importers.inspect_logs import looks_like_log

    return looks_like_log(read_json(path, str(path)))


def detect_format(path: str | Path) -> str:
    """The name (a key of `FORMATS`) of the format at `path`, or an `InputError` listing them.

    >>> import tempfile
    >>> detect_format(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench.errors.InputError: /...: not a recognised run format (no run.json, no ...
    """
    from workbench.importers import canonical

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
                         "not a recognised run format (no run.json, no .jsonl, .parquet, .eval "
                         f"or inspect_ai .json log). Accepted: {_accepted()}")
    found: dict[str, Path] = {}
    for shard in shards:
        if shard.suffix.lower() in (".eval", ".json"):
            found.setdefault("inspect-log", shard)
            continue
        fmt = _row_format(_first_row(shard))
        if fmt is None:
            raise InputError(
                str(shard), 1, None,
                "not a recognised run format: the first row is neither a search-and-learn row "
                "(problem, answer, completions), an lm-eval --log_samples line (doc_id, resps, "
                "arguments) nor an OpenAI output (custom_id + response, or a chat.completion). "
                f"Accepted: {_accepted()}",
            )
        found.setdefault(fmt, shard)
    if len(found) > 1:
        (a, pa), (b, pb) = list(found.items())[:2]
        raise InputError(str(p), None, None,
                         f"mixes run formats ({pa.name} is {a}, {pb.name} is {b}): give one "
                         "file or a folder of one format")
    return next(iter(found))


def _shards(p: Path) -> list[Path]:
    from workbench.importers.openai_outputs import PROBLEMS_FILE

    if p.is_file():
        if p.suffix.lower() == ".json":
            return [p] if _is_inspect_json(p) else []
        return [p] if p.suffix.lower() in (".jsonl", ".parquet", ".eval") else []
    files = sorted(q for q in p.iterdir() if q.is_file())
    rows = [q for q in files if q.suffix.lower() in (".jsonl", ".parquet", ".eval")
            and q.name != PROBLEMS_FILE]
    if any(q.suffix.lower() != ".eval" for q in rows):
        return rows
    # .json files count only beside inspect logs or alone: lm-eval writes results_*.json beside
    # its samples, which are not runs
    logs = [q for q in files if q.suffix.lower() == ".json" and _is_inspect_json(q)]
    return sorted(rows + logs)


def read_path(
    path: str | Path,
    *,
    verifier: str = "prm",
    run_id: str | None = None,
    dataset: str | None = None,
    policy_model: str | None = None,
    policy_params: float | None = None,
) -> list[RunBundle | ColumnarRun]:
    """Read the runs at `path`, detecting the format (see `FORMATS`).

    A canonical directory gives its one run (the keyword options do not apply: the run says
    everything itself). search-and-learn rows and OpenAI outputs give one run; an inspect_ai
    log one run per log; lm-eval samples one run per task file. The options name the
    verifier (search-and-learn step scores), the run id (default: from the file, folder, task
    or log; only with one run), dataset, policy model and parameter count. Every bundle is
    validated.

    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
    >>> _ = path.write_text(json.dumps({"problem": "?", "answer": "4",
    ...                                 "completions": ["\\\\boxed{4}"]}) + "\\n")
    >>> [b.run.run_id for b in read_path(path, verifier="my-prm")]
    ['rows']
    """
    fmt = detect_format(path)
    p = Path(path)
    if fmt.startswith("canonical"):
        from workbench.importers import canonical

        return [canonical.read_dir(p.parent if p.is_file() else p)]
    from workbench.importers import (  # imported here: inspect_ai alone takes seconds to import
        inspect_logs,
        lm_eval_samples,
        openai_outputs,
        search_and_learn,
    )

    shards = _shards(p)
    if run_id is not None and len(shards) > 1 and fmt in ("inspect-log", "lm-eval-samples"):
        raise ValueError(f"`run_id` names one run, but {p} holds {len(shards)} ({fmt})")
    if fmt == "inspect-log":
        logs = [(s, b) for s in shards for b in inspect_logs.read_log(
            s, run_id=run_id, dataset=dataset, policy_params=policy_params)]
        return _distinct_run_ids(logs)
    if fmt == "lm-eval-samples":
        return [b for s in shards for b in lm_eval_samples.read(
            s, run_id=run_id, dataset=dataset, policy_model=policy_model,
            policy_params=policy_params)]
    if fmt == "openai-outputs":
        return openai_outputs.read(shards, run_id=run_id or (p.stem if p.is_file() else p.name),
                                   dataset=dataset, policy_params=policy_params)
    files = {str(s): s for s in shards}
    return search_and_learn.read(
        files, verifier=verifier, run_id=run_id or p.stem, dataset=dataset,
        policy_model=policy_model or "unknown", policy_params=policy_params,
    )


def _distinct_run_ids(runs: list[tuple[Path, RunBundle]]) -> list[RunBundle]:
    """Runs that would share an id (two logs of one task) get their file's stem appended."""
    import dataclasses

    seen = [b.run.run_id for _, b in runs]
    for path, b in runs:
        if seen.count(b.run.run_id) > 1:
            b.run = dataclasses.replace(b.run, run_id=f"{b.run.run_id}/{path.stem}")
    return [b for _, b in runs]


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
