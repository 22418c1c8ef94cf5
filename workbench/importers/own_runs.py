"""This project's own runs: canonical run folders (written by `workbench collect`) under
`cached_runs/`, which `workbench ingest --defaults` and the demo load beside the registered
public datasets."""

from __future__ import annotations

from pathlib import Path

OWN_RUNS_DIR = Path("cached_runs")
"""Where this project's own runs live as canonical folders (relative to the working directory)."""


def own_run_dirs(root: Path = OWN_RUNS_DIR) -> list[Path]:
    """Canonical run folders (with a run.json) anywhere under `root`, sorted; hidden folders
    (the download cache, collection journals) are skipped.

    >>> own_run_dirs(Path("/nonexistent"))
    []
    """
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.rglob("run.json")
                  if not any(part.startswith(".") for part in p.relative_to(root).parts))
