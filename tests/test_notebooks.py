"""The notebooks run top to bottom on the default real data (CI fails if a cell errors).

Each notebook is executed with nbclient in a kernel of this interpreter (the .venv), from the
repository root, with $WORKBENCH_DATA_MIRROR from the environment and a temporary
$WORKBENCH_STORE (a copy of a store of the registered datasets, so no notebook writes to the
user's store). The committed notebooks carry no outputs: they must equal what
`notebooks/build_notebooks.py` writes. Their executed copies (notebooks/executed/, written by
`build_notebooks.py --execute`, outputs kept, charts as PNG) must hold the same cells, every one
run without error, so a reader on GitHub sees current results.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.report_helpers import copy_store

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-4]_*.ipynb"))


def test_the_four_notebooks_exist() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01_quickstart", "02_compute_optimal", "03_budget_planning", "04_scaling_laws"]


def test_committed_notebooks_are_clean_and_match_their_builder() -> None:
    build_notebooks = _builder()
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), path.name
        built = build_notebooks.build(path.stem, build_notebooks.NOTEBOOKS[path.stem])
        assert [c.source for c in nb.cells] == [c.source for c in built.cells], (
            f"{path.name} differs from build_notebooks.py: run python notebooks/build_notebooks.py"
        )


def _builder():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "notebooks"))
    try:
        import build_notebooks
    finally:
        sys.path.pop(0)
    return build_notebooks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_executed_copy_is_current_and_shows_results(path: Path) -> None:
    builder = _builder()
    done = nbformat.read(ROOT / "notebooks" / "executed" / path.name, as_version=4)
    nbformat.validate(done)
    built = builder.build(path.stem, builder.NOTEBOOKS[path.stem])
    assert [c.source for c in done.cells] == [c.source for c in built.cells], (
        f"executed/{path.name} is stale: run python notebooks/build_notebooks.py --execute")
    code = [c for c in done.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the first code cell only names the run; the store cell prints what it opened
    assert "RUN = " in code[0].source and code[1].outputs
    # tables (and, in the notebooks that draw them on the default run, charts as PNG) kept
    assert any("text/html" in o.get("data", {}) for o in outputs), "no table was kept"
    if path.stem != "03_budget_planning":  # its only chart needs a larger model's run
        assert any("image/png" in o.get("data", {}) for o in outputs), "no chart was kept"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_STORE", str(copy_store(tmp_path)))
    assert os.environ.get("WORKBENCH_DATA_MIRROR"), "set WORKBENCH_DATA_MIRROR (CI does)"
    nb = nbformat.read(path, as_version=4)
    # kernel "python3" runs this interpreter (jupyter_client maps "python" to sys.executable)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
    # every code cell ran, in order
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
