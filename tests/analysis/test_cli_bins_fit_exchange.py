"""CLI: `workbench bins`, `fit`, `exchange` on a store holding the REAL sampling-ceilings runs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.analysis.ceilings import ceilings_store
from workbench.cli import cli
from workbench.errors import FitError, RunNotFoundError

MATH500 = "sampling-ceilings/math500-llama-3.2-1b"
MONKEYS = "sampling-ceilings/llmonkeys-{}-llama-3-{}"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "store.duckdb"
    ceilings_store(path).close()
    return str(path)


def _run(store_path: str, *args: str) -> tuple[int, str, BaseException | None]:
    res = CliRunner().invoke(cli, [*args, "--store", store_path])
    return res.exit_code, res.output, res.exception


def test_bins_table_and_json(store_path: str) -> None:
    code, out, _ = _run(store_path, "bins", MATH500)
    assert code == 0, out
    assert "oracle bins on pass@1 (500 problems; L1 = easiest)" in out
    assert out.count(" 100 ") >= 5  # 5 bins of 100 problems
    code, out, _ = _run(store_path, "bins", MATH500, "--bins", "absolute", "--edges",
                        "0,0.5,1", "--json")
    data = json.loads(out)
    assert data["kind"] == "absolute" and sum(data["counts"]) == 500
    assert len(data["assignment"]) == 500


def test_bins_errors(store_path: str) -> None:
    code, out, _ = _run(store_path, "bins", MATH500, "--bins", "absolute")
    assert code == 2 and "absolute bins need --edges" in out
    code, out, _ = _run(store_path, "bins", MATH500, "--bins", "absolute", "--edges", "0,x")
    assert code == 2 and "comma-separated numbers" in out
    code, _, exc = _run(store_path, "bins", "no/such-run")
    assert isinstance(exc, RunNotFoundError)


def test_fit_prints_laws_with_cis_aic_and_observed(store_path: str) -> None:
    code, out, _ = _run(store_path, "fit", MATH500, "--extrapolate", "256,1280,10000")
    assert code == 0, out
    for law in ("coverage", "beta-binomial", "zero-inflated-beta-binomial", "saturating"):
        assert f"== {law}" in out
    assert "lower 95%" in out and "AIC" in out and "model choice (AIC, same data)" in out
    code, out, _ = _run(store_path, "fit", f"{MATH500}-s0", "--law", "beta-binomial",
                        "--extrapolate", "1280", "--json")
    data = json.loads(out)
    fit = data["fits"][0]
    assert fit["law"] == "beta-binomial" and set(fit["params"]) == {"alpha", "beta"}
    row = fit["predictions"]["rows"][0]
    assert row["k"] == 1280 and row["lower"] <= 0.938 <= row["upper"]  # observed on all 5


def test_fit_reports_a_law_that_does_not_apply(store_path: str) -> None:
    code, out, _ = _run(store_path, "fit", f"{MATH500}-s0", "--law", "all")
    assert code == 0 and "not fitted: no selection curve" in out  # the others are fitted
    code, _, exc = _run(store_path, "fit", f"{MATH500}-s0", "--law", "saturating")
    assert isinstance(exc, FitError)  # nothing fitted is an error (exit 2), not exit 0
    assert "nothing fitted" in str(exc) and "no selection curve" in str(exc)


def test_exchange_table_names_the_strategy_and_the_bound(store_path: str) -> None:
    code, out, _ = _run(store_path, "exchange", "--small", MONKEYS.format("gsm8k", "8b"),
                        "--large", MONKEYS.format("gsm8k", "70b"),
                        "--ratio", "8.825", "--n-boot", "200")
    assert code == 0, out
    assert "UPPER BOUND" in out and "majority (published curve)" in out
    assert "pairing check: Spearman rho" in out
    code, out, _ = _run(store_path, "exchange", "--small", MONKEYS.format("math", "8b"),
                        "--large", MONKEYS.format("math", "70b"), "--r", "22",
                        "--n-boot", "200", "--json")
    data = json.loads(out)
    rows = data["results"][0]["rows"]
    assert [r["bin"] for r in rows] == ["L1", "L2", "L3", "L4", "L5", "all"]
    assert all(r["winner"] in ("small", "large", "tie") for r in rows)
    assert any("all zeros" in s for s in data["skipped"])
