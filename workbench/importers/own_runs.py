"""This project's own runs: canonical run folders (written by `workbench collect`) under
`cached_runs/`, which `workbench ingest --defaults` and the demo load beside the registered
public datasets."""

from __future__ import annotations

from pathlib import Path

from workbench.locations import own_runs_dir

OWN_RUNS_DIR: Path | None = own_runs_dir()
"""Where this project's own runs live as canonical folders: the checkout's `cached_runs/`
(whatever the working directory); None outside a source checkout."""


def own_run_dirs(root: Path | None = None) -> list[Path]:
    """Canonical run folders (with a run.json) anywhere under `root` (default `OWN_RUNS_DIR`),
    sorted; hidden folders (the download cache, collection journals) are skipped.

    >>> own_run_dirs(Path("/nonexistent"))
    []
    """
    root = OWN_RUNS_DIR if root is None else root
    if root is None or not root.is_dir():
        return []
    return sorted(p.parent for p in root.rglob("run.json")
                  if not any(part.startswith(".") for part in p.relative_to(root).parts))
