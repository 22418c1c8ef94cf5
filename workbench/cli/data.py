"""Data commands: `workbench datasets`, `workbench ingest`, `workbench export`, `workbench runs`.

Errors are left to propagate: `workbench.cli.main` turns a `WorkbenchError` into one line on
stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workbench.cli._common import (
    done_at_commit,
    echo_json,
    json_option,
    open_store,
    progress_bar,
    store_option,
    text_table,
)
from workbench.errors import DataSourceError, InputError
from workbench.sources import DATASETS, Dataset, get_dataset, list_datasets, verify
from workbench.sources.fetch import cache_root, mirror_root

if TYPE_CHECKING:
    from workbench.store import IngestResult, RunBundle
    from workbench.store.columnar import ColumnarRun

PROGRESS_MIN_FILES = 20
"""Datasets with at least this many files get a progress bar while they are read or verified.
Every bar is drawn on stderr, and only when stderr is a terminal (tqdm `disable=None`)."""


@contextmanager
def _file_bar(dataset: Dataset, desc: str) -> Iterator[Callable[[str], None] | None]:
    """A progress bar ticking once per file, for datasets with many files."""
    if len(dataset.checksums) < PROGRESS_MIN_FILES:
        yield None
        return
    with progress_bar(total=len(dataset.checksums), desc=desc, unit="file") as bar:
        yield lambda _relpath: bar.update()


def _where() -> str:
    mirror = mirror_root()
    if mirror is not None:
        return f"mirror {mirror} (WORKBENCH_DATA_MIRROR)"
    return f"download cache {cache_root()} (WORKBENCH_DATA_CACHE)"


def _dataset_dict(ds: Dataset) -> dict[str, Any]:
    return {
        "name": ds.name,
        "title": ds.title,
        "description": ds.description,
        "repo": ds.repo,
        "commit": ds.commit,
        "repo_url": ds.repo_url,
        "upstream_prefix": ds.upstream_prefix,
        "licence": ds.licence,
        "attribution": ds.attribution,
        "citation": ds.citation,
        "importer": f"workbench.importers.{ds.importer}",
        "files": len(ds.checksums),
    }


# -- workbench datasets -----------------------------------------------------------------------
@click.group("datasets")
def datasets() -> None:
    """The registered public datasets: source, licence, citation, checksums."""


@datasets.command("list")
@json_option(help="Print JSON instead of a table.")
def datasets_list(as_json: bool) -> None:
    """List the registered datasets with their licence and upstream repository.

    \b
    Example:
      workbench datasets list
    """
    items = list_datasets()
    if as_json:
        echo_json([_dataset_dict(d) for d in items])
        return
    rows = [[d.name, d.licence, len(d.checksums), f"{d.repo}@{d.commit[:7]}", d.importer]
            for d in items]
    click.echo(text_table(["dataset", "licence", "files", "upstream", "importer"], rows))
    click.echo(f"\nfiles are read from the {_where()}")
    click.echo("`workbench datasets info NAME` shows the citation; licences require it.")


@datasets.command("info")
@click.argument("name")
@json_option(help="Print JSON (with every file's URL).")
def datasets_info(name: str, as_json: bool) -> None:
    """Show one dataset: description, licence, citation, files and their upstream URLs.

    \b
    Example:
      workbench datasets info tot-game24
    """
    ds = get_dataset(name)
    if as_json:
        d = _dataset_dict(ds)
        d["files"] = [
            {"path": p, "sha256": h, "url": ds.url(p)} for p, h in ds.checksums.items()
        ]
        echo_json(d)
        return
    click.echo(f"{ds.name}: {ds.title}")
    click.echo(f"  {ds.description}")
    click.echo(f"  upstream:  {ds.repo_url}")
    click.echo(f"  licence:   {ds.licence}")
    if ds.attribution:
        click.echo(f"  attribution (required): {ds.attribution}")
    click.echo(f"  importer:  workbench.importers.{ds.importer}")
    shown = list(ds.checksums)[:10]
    click.echo(f"  files:     {len(ds.checksums)} (URL, SHA-256)")
    for p in shown:
        click.echo(f"    {p}\n      {ds.url(p)}\n      sha256 {ds.checksums[p]}")
    if len(ds.checksums) > len(shown):
        click.echo(f"    ... {len(ds.checksums) - len(shown)} more (--json lists all)")
    click.echo("  cite:")
    for line in ds.citation.splitlines():
        click.echo(f"    {line}")


@datasets.command("verify")
@click.argument("name", required=False)
@json_option(help="Print JSON reports.")
def datasets_verify(name: str | None, as_json: bool) -> None:
    """Check every file of one dataset (default: all) against its registered SHA-256.

    Files come from WORKBENCH_DATA_MIRROR when set, else they are downloaded into the cache.
    Exits non-zero when any file is missing or differs.

    \b
    Example:
      WORKBENCH_DATA_MIRROR=/path/to/mirror workbench datasets verify
    """
    names = [get_dataset(name).name] if name else list(DATASETS)
    reports = []
    for n in names:
        with _file_bar(get_dataset(n), f"verify {n}") as hook:
            reports.append(verify(n, progress=hook))
    if as_json:
        echo_json([
            {"dataset": r.dataset, "ok": r.ok, "location": r.location, "root": str(r.root),
             "files": r.files, "bytes": r.bytes, "seconds": round(r.seconds, 3),
             "failures": [f.__dict__ for f in r.failures]}
            for r in reports
        ])
    else:
        rows = [[r.dataset, "ok" if r.ok else "FAILED", r.files, f"{r.bytes / 1e6:.1f} MB",
                 f"{r.seconds:.2f} s", str(r.root)] for r in reports]
        click.echo(text_table(["dataset", "status", "files", "size", "time", "from"], rows))
        for r in reports:
            for f in r.failures:
                click.echo(f"  {r.dataset}/{f.relpath}: {f.message}", err=True)
    bad = [r for r in reports if not r.ok]
    if bad:
        n_files = sum(len(r.failures) for r in bad)
        raise DataSourceError(
            f"{n_files} file(s) failed verification in {', '.join(r.dataset for r in bad)}"
        )


# -- workbench ingest -------------------------------------------------------------------------
def read_dataset(ds: Dataset) -> list[RunBundle]:
    """Verify a registered dataset's files and convert them with its importer."""
    from workbench.importers import read_dataset as read_registered

    with _file_bar(ds, f"read {ds.name}") as hook:
        return read_registered(ds, progress=hook)


def _read_user_path(path: Path) -> list[RunBundle | ColumnarRun]:
    # imported lazily: the importers package is only needed when a user file is ingested
    from workbench.importers import read_path

    bundles: list[RunBundle | ColumnarRun] = read_path(path)
    return bundles


def _resolve(source: str) -> list[RunBundle | ColumnarRun]:
    # A registered name wins over a folder of the same name in the working directory;
    # write ./NAME to ingest such a folder.
    if source in DATASETS and os.sep not in source:
        return read_dataset(DATASETS[source])
    path = Path(source)
    if path.exists():
        return _read_user_path(path)
    raise DataSourceError(
        f"{source!r} is neither a registered dataset ({', '.join(DATASETS)}) nor an existing "
        "file or directory"
    )


def _report_ingest(results: Sequence[IngestResult]) -> None:
    for r in results:
        status = "created" if r.created else "already present"
        click.echo(f"{status:<16} {r.run_id}  (content {r.content_hash[:12]})")


@click.command("ingest")
@click.argument("source", required=False, metavar="SOURCE_OR_PATH")
@click.option("--defaults", is_flag=True,
              help="Ingest every registered dataset and this project's own runs (cached_runs/).")
@store_option
@click.option("--replace", is_flag=True, help="Replace stored runs whose content differs.")
@json_option(help="Print JSON (each run: id, created, content hash; the store) instead of text.")
def ingest(source: str | None, defaults: bool, store_path: Path | None, replace: bool,
           as_json: bool) -> None:
    """Load runs into the store: a registered dataset, a user file/folder, or all defaults.

    A user file or folder may be a canonical run (what `workbench export` writes),
    search-and-learn rows, an inspect_ai log (.eval or .json), lm-evaluation-harness
    --log_samples output (samples_<task>_<time>.jsonl, repeats included), or OpenAI-compatible
    outputs with any n (Batch output lines or chat.completion objects, with a problems.jsonl
    beside them for questions and gold answers). The format is detected.

    --defaults = every registered public dataset plus this project's own runs (canonical run
    folders under cached_runs/, made by `workbench collect`).

    Every run of one call goes in in ONE transaction: on any error (bad file, checksum,
    run id clash) the store is left exactly as it was. Re-ingesting the same content is a
    no-op ("already present").

    \b
    Examples:
      workbench ingest --defaults
      workbench ingest qwen25-math-rm
      workbench ingest my_runs/ --store my.duckdb
      workbench ingest logs/2026-01-01T00-00-00_gsm8k_abc.eval
      workbench ingest lm_eval_out/my-model/
    """
    if defaults == (source is not None):
        raise click.UsageError("give either SOURCE_OR_PATH or --defaults (not both)")
    if defaults:
        bundles: list[RunBundle | ColumnarRun] = []
        with progress_bar(list_datasets(), desc="datasets", unit="dataset") as bar:
            for ds in bar:
                bar.set_postfix_str(ds.name)
                bundles.extend(read_dataset(ds))
        from workbench.importers.own_runs import own_run_dirs

        for folder in own_run_dirs():
            bundles.extend(_read_user_path(folder))
    else:
        assert source is not None
        bundles = _resolve(source)
    if not bundles:
        raise DataSourceError(f"{source or 'the registered datasets'}: no runs found")
    from workbench.store.run_store import as_columnar

    # validated (in columns, once) before the store is opened, so bad input never creates a
    # store file; the store reuses the checks and the content hash
    runs = [as_columnar(bundle).validate() for bundle in bundles]
    done_at_commit()  # from the commit on, a Ctrl-C only cuts the summary short
    with open_store(store_path, read_only=False) as store:
        with progress_bar(total=len(runs), desc="ingest", unit="run") as bar:
            results = store.ingest_many(runs, replace=replace, progress=lambda _: bar.update())
        where = store.path
    if as_json:
        echo_json({"store": str(where), "runs": [
            {"run_id": r.run_id, "created": r.created, "content_hash": r.content_hash}
            for r in results]})
        return
    _report_ingest(results)
    created = sum(r.created for r in results)
    click.echo(f"{created} run(s) created, {len(results) - created} already present in {where}")


# -- workbench export -------------------------------------------------------------------------
@click.command("export")
@click.argument("run_id", metavar="RUN")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR")
@store_option
@json_option(help="Print JSON: run, directory, files, content hash.")
def export(run_id: str, directory: Path, store_path: Path | None, as_json: bool) -> None:
    """Write a stored run to DIR in the canonical Parquet format (run.json + one file per table).

    DIR must not exist or be empty: an export never mixes with older files. `workbench ingest
    DIR` reads it back as the same content (same content hash), into this or another store.

    \b
    Example:
      workbench export smollm2-arith/samples exported/ --store my.duckdb
    """
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InputError(str(directory), None, None,
                         "exists and is not an empty directory: export into a new one")
    with open_store(store_path) as store:
        out = store.export_run(run_id, directory)
    header = json.loads((out / "run.json").read_text(encoding="utf-8"))
    files = sorted(p.name for p in out.iterdir())
    if as_json:
        echo_json({"run_id": run_id, "directory": str(out), "files": files,
                   "content_hash": header.get("content_hash")})
        return
    click.echo(f"exported {run_id} to {out} ({', '.join(files)}; "
               f"content {str(header.get('content_hash'))[:12]})")


# -- workbench runs ---------------------------------------------------------------------------
@click.command("runs")
@store_option
@json_option(help="Print JSON instead of a table.")
def runs(store_path: Path | None, as_json: bool) -> None:
    """List the runs in the store: sizes and what each holds (scores, tree, chains).

    \b
    Example:
      workbench runs --json
    """
    with open_store(store_path) as store:
        infos = store.runs()
    if as_json:
        echo_json([r.to_dict() for r in infos])
        return
    rows = [
        [r.run_id, r.dataset, r.policy_model, r.problems, r.samples, r.correct,
         "counts" if r.counts_only else _holds(r), list(r.verifiers)]
        for r in infos
    ]
    click.echo(text_table(
        ["run", "dataset", "model", "problems", "samples", "correct", "holds", "verifiers"], rows
    ))
    if not infos:
        click.echo("(empty: run `workbench ingest --defaults`)")


def _holds(info: Any) -> str:
    parts = [name for name, flag in (
        ("step scores", info.has_step_scores), ("outcome scores", info.has_outcome_scores),
        ("tree", info.has_tree), ("chains", info.has_chains),
    ) if flag]
    return ", ".join(parts) or "samples"


COMMANDS: list[click.Command] = [datasets, ingest, export, runs]
