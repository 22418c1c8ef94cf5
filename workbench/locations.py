"""Where the workbench keeps its files: the store, the download cache, this project's own runs.

None of these depends on the working directory, so the CLI run from anywhere and a notebook run
from `notebooks/` (JupyterLab's default) open the same store:

- inside a source checkout (the README's `pip install -e .`, or the checkout on `PYTHONPATH`),
  the data home is the checkout's `cached_runs/` folder, next to the committed own runs;
- otherwise (a wheel installed into site-packages) it is the per-user data folder that
  platformdirs names (`~/.local/share/ttc-workbench` on Linux, `~/Library/Application
  Support/ttc-workbench` on macOS, `%LOCALAPPDATA%\\ttc-workbench` on Windows).

The store is `--store PATH`, else `$WORKBENCH_STORE`, else `<data home>/workbench.duckdb`.
A leaf module: it imports nothing from the workbench.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "ttc-workbench"
STORE_ENV = "WORKBENCH_STORE"
CACHE_ENV = "WORKBENCH_DATA_CACHE"
STORE_FILE = "workbench.duckdb"


def checkout_root() -> Path | None:
    """The repository root when the workbench is imported from a source checkout, else None.

    A checkout is recognised by the `pyproject.toml` and `cached_runs/` beside the package.
    """
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "cached_runs").is_dir():
        return root
    return None


def data_home() -> Path:
    """The folder of the default store: `<checkout>/cached_runs`, else the per-user data folder.

    >>> data_home().is_absolute()
    True
    """
    root = checkout_root()
    if root is not None:
        return root / "cached_runs"
    import platformdirs  # only wheel installs need it

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def default_store_path() -> Path:
    """The store: `$WORKBENCH_STORE` when set, else `<data home>/workbench.duckdb`.

    The result is absolute (a relative `$WORKBENCH_STORE` is taken from the working directory
    once, here), so every caller in a process sees the same file.

    >>> default_store_path().is_absolute()
    True
    """
    value = os.environ.get(STORE_ENV)
    path = Path(value).expanduser() if value else data_home() / STORE_FILE
    return path.absolute()


def data_cache_dir() -> Path:
    """Where downloaded dataset files go: `$WORKBENCH_DATA_CACHE`, else `<data home>/.cache/data`.

    >>> data_cache_dir().name != ""
    True
    """
    value = os.environ.get(CACHE_ENV)
    return Path(value).expanduser() if value else data_home() / ".cache" / "data"


def own_runs_dir() -> Path | None:
    """This project's own runs (canonical folders made by `workbench collect`): the checkout's
    `cached_runs/`; None outside a checkout (a wheel ships no runs)."""
    root = checkout_root()
    return None if root is None else root / "cached_runs"
