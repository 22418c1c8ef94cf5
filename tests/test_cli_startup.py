"""CLI start-up: the option lists the CLI spells out match the library, and `--help` or
`workbench runs` do not load the analysis stack (scipy, statsmodels, altair, pandas)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import _choices
from workbench.store import RunStore

from .store_helpers import small_bundle

HEAVY = ("scipy", "statsmodels", "altair", "pandas", "workbench.analysis", "workbench.engine")
"""Modules only a running analysis / engine / report command needs."""

# The report and collect command modules are replaced by empty stand-ins: they belong to other
# areas and are checked there; this test pins the start-up cost of data, engine and analysis.
_PROBE = """
import json, sys
from workbench.cli import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def test_literal_choices_equal_the_library_lists() -> None:
    from workbench.analysis import LAWS, SNELL_R
    from workbench.analysis.budget_axis import UNITS
    from workbench.engine import STRATEGIES
    from workbench.store import AGGREGATIONS

    assert _choices.STRATEGY_NAMES == tuple(sorted(STRATEGIES))
    assert _choices.LAW_NAMES == tuple(LAWS)
    assert _choices.UNITS == tuple(UNITS)
    assert _choices.AGGREGATIONS == tuple(AGGREGATIONS)
    assert _choices.SNELL_R == tuple(SNELL_R)
    assert set(_choices.STRATEGY_PARAMS) == set(STRATEGIES)
    for name, cls in STRATEGIES.items():  # what `simulate --params` may set, with defaults
        signature = inspect.signature(cls).parameters.values()
        expected = tuple((p.name, p.default) for p in signature
                         if p.name not in ("n_jobs", "progress", "estimator"))
        assert _choices.STRATEGY_PARAMS[name] == expected, name


def _loaded_modules(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True,
                          text=True, check=True, timeout=120)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [
    ("--help",), ("simulate", "--help"), ("optimize", "--help"), ("datasets", "list"),
    ("demo", "--help"), ("report", "--help"), ("collect", "--help"),
])
def test_help_and_listing_load_no_heavy_module(args: tuple[str, ...]) -> None:
    loaded = _loaded_modules(*args)
    assert not loaded & {*HEAVY, "numpy", "duckdb", "tqdm", "pooch"}, sorted(loaded & {*HEAVY})


def test_runs_opens_the_store_without_the_analysis_stack(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with RunStore(path) as store:
        store.ingest(small_bundle())
    loaded = _loaded_modules("runs", "--store", str(path))
    assert "duckdb" in loaded  # the probe did read the store
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_job_stages_import_without_the_packages_the_gpu_machine_lacks():
    """The GPU machine has torch, transformers, pyarrow and httpx but no DuckDB, Altair, pooch
    or platformdirs: every stage module of the job must import there (the tree stage once
    reached DuckDB through workbench.store's package exports)."""
    code = (
        "import sys\n"
        "for m in ('duckdb', 'altair', 'pooch', 'vl_convert', 'platformdirs'):\n"
        "    sys.modules[m] = None\n"
        "import workbench.gpu.job, workbench.gpu.tree, workbench.gpu.revise\n"
        "import workbench.gpu.probe, workbench.gpu.grade, workbench.gpu.scoring\n"
        "from workbench.gpu.job import STAGES\n"
        "print(','.join(STAGES))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr.strip().splitlines()[-1]
    assert set(out.stdout.strip().split(",")) >= {"gen", "grade", "probe", "judge", "revise",
                                                   "tree"}
