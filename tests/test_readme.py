"""The README stands alone in a clone (issue 13, item 8): its canonical-format example ingests
as written, with every table; its dataset sizes are the registered files' sizes; it points at
nothing a clone lacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.store_helpers import mirror_path
from workbench.importers import read_path
from workbench.sources import list_datasets
from workbench.store import RunStore

README = Path(__file__).resolve().parents[1] / "README.md"
TABLES = ("problems", "samples", "step_scores", "outcome_scores", "tree_nodes", "problem_counts")


def _example_files(text: str) -> dict[str, str]:
    """The files of the README's canonical example: `my-run/NAME` header lines, then content."""
    block = text.split("<!-- canonical-example")[1].split("<!-- /canonical-example -->")[0]
    files: dict[str, list[str]] = {}
    current = None
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        assert line.startswith("    "), f"not an indented code line: {line!r}"
        line = line[4:]
        if line.startswith("my-run/"):
            current = line.removeprefix("my-run/")
            files[current] = []
        else:
            assert current is not None
            files[current].append(line)
    return {name: "\n".join(lines) + "\n" for name, lines in files.items()}


def test_readme_example_has_every_table_and_ingests(tmp_path: Path) -> None:
    files = _example_files(README.read_text(encoding="utf-8"))
    assert set(files) == {"run.json", *(f"{t}.jsonl" for t in TABLES)}
    folder = tmp_path / "my-run"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    json.loads(files["run.json"])  # one JSON document, the rest one object per line
    (bundle,) = read_path(folder)
    run_id = "me/llama-8b-math500"
    with RunStore(tmp_path / "s.duckdb") as store:
        assert store.ingest(bundle).created
        info = {r.run_id: r for r in store.runs()}[run_id]
        dataset = info.dataset
        counts = {t: int(store.query(
            "SELECT count(*) AS n FROM problems WHERE dataset = ?" if t == "problems"
            else f"SELECT count(*) AS n FROM {t} WHERE run_id = ?",
            [dataset if t == "problems" else run_id]).to_pandas().n[0]) for t in TABLES}
    assert counts == {
        "problems": 1, "samples": 2, "step_scores": 3, "outcome_scores": 2, "tree_nodes": 5,
        "problem_counts": 1,
    }
    assert info.has_step_scores and info.has_outcome_scores and info.has_tree


def test_readme_points_at_nothing_a_clone_lacks() -> None:
    text = README.read_text(encoding="utf-8")
    assert "../shared" not in text and "shared folder" not in text
    assert "DESIGN.md" not in text  # the design notes are not part of the repository


def test_readme_download_size_is_the_registered_files_size() -> None:
    unit = 1e6  # MB
    root = mirror_path()
    sizes = {d.name: sum((root / d.name / p).stat().st_size for p in d.checksums)
             for d in list_datasets()}
    n_files = sum(len(d.checksums) for d in list_datasets())
    text = README.read_text(encoding="utf-8")
    total = f"{sum(sizes.values()) / unit:.1f} MB"
    assert f"**{total} ({sum(sizes.values()) / 2**20:.1f} MiB) in {n_files:,} files**" in text
    for name, size in sizes.items():
        row = re.search(rf"^\| {re.escape(name)} \| ([\d,]+) \| ([\d.]+) MB \|$", text, re.M)
        assert row is not None, name
        assert float(row.group(2)) == pytest.approx(size / unit, rel=0.05, abs=0.01), name
