"""The engine benchmark runs end to end at small sizes (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import re
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
    # the closed-form baseline computes the engine's exact numbers (a fair comparison)
    assert out["exact"]["baseline_max_abs_diff"] < 1e-9
    for row in (out["exact"], out["monte carlo"]["total"], out["bootstrap"]):
        assert row["ratio"] > 0 and row["naive_ratio"] > 0
    assert "closed forms in a per-problem loop" in printed
    assert "per-problem numpy Monte Carlo" in printed
    assert "a plain loop over replicates" in printed
    assert len(re.findall(r"fair +[\d.]+x +naive +\d+x", printed)) == 3  # the summary lines
