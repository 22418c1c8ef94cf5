"""The store's location does not depend on the working directory (issue 13, item 2): the CLI
and a notebook started in notebooks/ open the same file; `--store` > $WORKBENCH_STORE > the
default (the checkout's cached_runs/, or the per-user data folder outside a checkout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store_helpers import run_cli, small_bundle
from workbench import locations
from workbench.importers.own_runs import own_run_dirs
from workbench.store import RunStore

ROOT = Path(__file__).resolve().parents[1]

PRINT_PATHS = (
    "import json; from workbench.store import RunStore, default_store_path; "
    "from workbench.sources import cache_root; "
    "from workbench.importers.own_runs import own_run_dirs; "
    "print(json.dumps([str(default_store_path()), str(cache_root()), "
    "[str(p) for p in own_run_dirs()]]))"
)


def _paths_from(cwd: Path, **env: str) -> list[object]:
    """The default store, download cache and own runs as a fresh process in `cwd` sees them."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("WORKBENCH_STORE", "WORKBENCH_DATA_CACHE")}
    full["PYTHONPATH"] = str(ROOT)
    full.update(env)
    out = subprocess.run([sys.executable, "-c", PRINT_PATHS], cwd=cwd, env=full, text=True,
                         capture_output=True, check=True).stdout
    return json.loads(out)


def test_default_locations_are_the_same_from_root_notebooks_and_elsewhere(tmp_path: Path) -> None:
    at_root = _paths_from(ROOT)
    assert at_root == _paths_from(ROOT / "notebooks") == _paths_from(tmp_path)
    store, cache, own = at_root
    assert store == str(ROOT / "cached_runs" / "workbench.duckdb")
    assert cache == str(ROOT / "cached_runs" / ".cache" / "data")
    assert own and all(p.startswith(str(ROOT / "cached_runs")) for p in own)  # committed runs


def test_relative_workbench_store_is_made_absolute_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    store, _, _ = _paths_from(tmp_path / "a", WORKBENCH_STORE="s.duckdb")
    assert store == str(tmp_path / "a" / "s.duckdb")


def test_cli_finds_the_same_store_from_two_working_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "env.duckdb"
    with RunStore(store) as s:
        s.ingest(small_bundle("synthetic/env-store"))
    monkeypatch.setenv("WORKBENCH_STORE", str(store))
    seen = []
    for cwd in (tmp_path, ROOT / "notebooks"):
        monkeypatch.chdir(cwd)
        code, out, err = run_cli(["runs", "--json"], capsys, monkeypatch)
        assert code == 0, err
        seen.append([r["run_id"] for r in json.loads(out)])
    assert seen == [["synthetic/env-store"]] * 2


def test_store_option_wins_over_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("env", "flag"):
        with RunStore(tmp_path / f"{name}.duckdb") as s:
            s.ingest(small_bundle(f"synthetic/{name}"))
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "env.duckdb"))
    code, out, err = run_cli(["runs", "--json", "--store", str(tmp_path / "flag.duckdb")],
                             capsys, monkeypatch)
    assert code == 0, err
    assert [r["run_id"] for r in json.loads(out)] == ["synthetic/flag"]


def test_outside_a_checkout_the_store_is_in_the_per_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    monkeypatch.setattr(locations, "checkout_root", lambda: None)
    monkeypatch.delenv("WORKBENCH_STORE", raising=False)
    monkeypatch.delenv("WORKBENCH_DATA_CACHE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # read on Linux only
    home = platformdirs.user_data_path("ttc-workbench", appauthor=False)
    if sys.platform == "linux":
        assert home == tmp_path / "xdg" / "ttc-workbench"
    assert locations.default_store_path() == home / "workbench.duckdb"
    assert locations.data_cache_dir() == home / ".cache" / "data"
    assert locations.own_runs_dir() is None


def test_own_run_dirs_without_own_runs_is_empty(tmp_path: Path) -> None:
    assert own_run_dirs(tmp_path) == []
