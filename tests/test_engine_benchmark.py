"""The engine benchmark runs end to end at small sizes (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def test_benchmark_quick_mode_prints_every_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "engine.py"
    spec = importlib.util.spec_from_file_location("engine_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(["--quick"])
    printed = capsys.readouterr().out
    assert set(out) == {"exact", "monte carlo", "bootstrap"}
    assert out["exact"]["ratio"] > 1 and out["bootstrap"]["ratio"] > 1
    assert out["monte carlo"]["total"]["ratio"] > 0
    assert "summary (target):" in printed and printed.count("x (>= 100x)") == 3
