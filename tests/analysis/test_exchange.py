"""Exchange of pretraining for test-time compute: the FLOPs identity, interpolation, the paired
bootstrap on synthetic curves with known truth (labelled), and the REAL 8B-vs-70B comparison
(Large Language Monkeys counts in sampling-ceilings, mirror files) against published numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.analysis.ceilings import ceilings_store
from tests.analysis.synthetic import curve
from tests.store_helpers import mirror_path
from workbench.analysis.bins import oracle_bins
from workbench.analysis.exchange import (
    ORACLE_NOTE,
    SNELL_R,
    at_budget,
    exchange,
    exchange_generations,
    exchange_published,
    exchange_runs,
)
from workbench.analysis.inputs import counts_curve
from workbench.engine import load_run_data
from workbench.errors import BudgetError
from workbench.store import RunStore


# -- the FLOPs identity -----------------------------------------------------------------------
@pytest.mark.parametrize(("m", "r"), [(8.825, 0.16), (2.0, 0.79), (70.0, 22.0), (1.5, 3.0)])
def test_exchange_generations_equalises_total_flops(m: float, r: float) -> None:
    p, d_pre = 1e9, 1e12
    d_inf = r * d_pre
    x = exchange_generations(m, r)
    large = 6 * m * p * d_pre + 2 * m * p * d_inf
    small = 6 * p * d_pre + 2 * p * x * d_inf
    assert small == pytest.approx(large, rel=1e-12)


def test_exchange_generations_snell_values_and_errors() -> None:
    m = 70.6 / 8.0
    assert [round(exchange_generations(m, r), 3) for r in SNELL_R] == [155.544, 38.54, 9.892]
    with pytest.raises(ValueError, match="`m`"):
        exchange_generations(0.5, 1.0)
    with pytest.raises(ValueError, match="`r`"):
        exchange_generations(2.0, 0.0)


# -- interpolation ----------------------------------------------------------------------------
def test_at_budget_exact_interpolated_and_refused() -> None:
    c = curve("s", [[0.1, 0.3, 0.9], [0.0, 0.5, 1.0]], budgets=(1, 4, 16))
    col, how = at_budget(c, 4)
    assert how == "exact" and col.tolist() == [0.3, 0.5]
    col, how = at_budget(c, 8)  # halfway in log-budget between 4 and 16
    assert how == "interpolated in log-budget"
    np.testing.assert_allclose(col, [0.6, 0.75])
    with pytest.raises(BudgetError, match="exceeds the curve's largest budget 16"):
        at_budget(c, 20)
    with pytest.raises(BudgetError, match="below the curve's smallest budget"):
        at_budget(c, 0.5)
    col, how = at_budget(c, 20, extrapolate=lambda b: np.array([0.95, 1.0]), extrapolate_label="x")
    assert how == "x" and col.tolist() == [0.95, 1.0]


# -- the comparison on synthetic curves (known truth) ----------------------------------------
def _pair(diff: np.ndarray, base: np.ndarray, budgets=(1, 9, 10)):  # type: ignore[no-untyped-def]
    """Small curve constant over budgets = base + diff; large pass@1 = base (synthetic)."""
    small = curve("small", np.repeat((base + diff)[:, None], len(budgets), 1), budgets=budgets,
                  run_id="small")
    large = curve("large", base[:, None], budgets=(1,), run_id="large")
    return small, large


def test_constant_difference_gives_a_degenerate_interval_and_a_winner() -> None:
    base = np.linspace(0.1, 0.6, 40)
    small, large = _pair(np.full(40, 0.2), base)
    res = exchange(small, large, ratio=2.0, r_values=[1.0], n_boot=200, rng=0)  # X = 5
    assert res.paired
    row = res.rows[-1]
    assert row.bin == "all" and row.budget == 5.0
    assert row.difference == pytest.approx(0.2) and row.lower == pytest.approx(0.2)
    assert row.upper == pytest.approx(0.2) and row.winner == "small"
    small, large = _pair(np.full(40, -0.1), base)
    assert exchange(small, large, ratio=2.0, r_values=[1.0], n_boot=200, rng=0).rows[-1].winner \
        == "large"


def test_differences_centred_on_zero_are_a_tie() -> None:
    base = np.full(60, 0.5)
    small, large = _pair(np.tile([0.3, -0.3], 30), base)
    row = exchange(small, large, ratio=2.0, r_values=[1.0], n_boot=500, rng=1).rows[-1]
    assert row.difference == pytest.approx(0.0, abs=1e-12) and row.winner == "tie"
    assert row.lower < 0 < row.upper


def test_rows_per_bin_and_alignment_by_problem_id() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0, 0.8, 50)
    diff = np.where(base > 0.4, 0.0, 0.15)  # only the hard half gains (synthetic truth)
    small, large = _pair(diff, base)
    ids = small.problem_ids
    bins = oracle_bins(ids, base, n_bins=2)  # L1 = base > median
    perm = rng.permutation(50)
    large_perm = large.subset(perm)  # same problems, other row order
    a = exchange(small, large, ratio=2.0, r_values=[1.0, 4.0], bins=bins, n_boot=300, rng=3)
    b = exchange(small, large_perm, ratio=2.0, r_values=[1.0, 4.0], bins=bins, n_boot=300,
                 rng=3)
    assert [r.bin for r in a.rows] == ["L1", "L1", "L2", "L2", "all", "all"]
    assert [r.difference for r in a.rows] == pytest.approx([r.difference for r in b.rows])
    l1, l2 = a.rows[0], a.rows[2]
    assert l1.difference == pytest.approx(diff[bins.mask("L1")].mean())
    assert l2.difference == pytest.approx(diff[bins.mask("L2")].mean())
    assert a.rows[-1].difference == pytest.approx(diff.mean())
    assert a.bootstrap_distribution is not None and a.bootstrap_distribution.shape == (6, 300)


def test_unpaired_when_problems_differ() -> None:
    rng = np.random.default_rng(4)
    small = curve("small", rng.uniform(size=(30, 2)), budgets=(1, 16), run_id="small")
    large = curve("large", rng.uniform(size=(25, 1)), budgets=(1,), run_id="large",
                  problem_ids=[f"x{i}" for i in range(25)])
    res = exchange(small, large, ratio=4.0, r_values=[1.0], n_boot=200, rng=0)
    assert not res.paired and res.pairing_check is None and "unpaired" in res.ci_method
    assert [r.bin for r in res.rows] == ["all"]


def test_exchange_input_errors() -> None:
    small, large = _pair(np.zeros(5), np.full(5, 0.5))
    with pytest.raises(ValueError, match="`n_boot` must be >= 100"):
        exchange(small, large, ratio=2.0, n_boot=10)
    with pytest.raises(ValueError, match="`r_values` must hold"):
        exchange(small, large, ratio=2.0, r_values=[])
    with pytest.raises(BudgetError, match="exceeds the curve's largest budget"):
        exchange(small, large, ratio=2.0, r_values=[0.1])  # X = 32 > 10


def test_published_curve_comparison_by_hand() -> None:
    large = curve("large", np.tile([1.0, 0.0], 50)[:, None], budgets=(1,), run_id="large")
    res = exchange_published([1, 4, 16], [0.2, 0.4, 0.6], large, ratio=2.0,
                             n_small_problems=100, small_run="s", strategy="majority",
                             r_values=[1.0])  # X = 5
    row = res.rows[0]
    want = 0.4 + 0.2 * np.log(5 / 4) / np.log(4)
    assert row.small_accuracy == pytest.approx(want)
    se = np.hypot(np.sqrt(want * (1 - want) / 100), np.std([1.0, 0.0] * 50, ddof=1) / 10)
    assert row.upper - row.lower == pytest.approx(2 * 1.959964 * se, rel=1e-5)
    with pytest.raises(ValueError, match="all zeros"):
        exchange_published([1, 4], [0.0, 0.0], large, ratio=2.0, n_small_problems=100,
                           small_run="s", strategy="majority")
    with pytest.raises(BudgetError, match="outside the published grid"):
        exchange_published([1, 4], [0.2, 0.4], large, ratio=2.0, n_small_problems=100,
                           small_run="s", strategy="majority", r_values=[0.5])


# -- REAL: Llama-3-8B vs Llama-3-70B (Large Language Monkeys counts) -------------------------
@pytest.fixture(scope="module")
def store() -> RunStore:
    return ceilings_store()


@pytest.fixture(scope="module")
def published() -> dict[str, dict]:  # type: ignore[type-arg]
    rows = json.loads((mirror_path() / "sampling-ceilings" / "empirical_results.json").read_text())
    return {r["config"]: r for r in rows}


@pytest.mark.parametrize("bench", ["gsm8k", "math"])
def test_real_8b_vs_70b_exchange(store: RunStore, published: dict, bench: str) -> None:  # type: ignore[type-arg]
    small = load_run_data(store, f"sampling-ceilings/llmonkeys-{bench}-llama-3-8b")
    large = load_run_data(store, f"sampling-ceilings/llmonkeys-{bench}-llama-3-70b")
    report = exchange_runs(small, large, n_boot=1000, rng=0)  # M from parameter counts
    res = report.results[0]
    assert res.ratio == pytest.approx(70.6 / 8.0)
    assert res.paired and res.pairing_check is not None and res.pairing_check > 0.7
    assert res.note == ORACLE_NOTE and res.strategy == "pass_at_k"
    assert [r.bin for r in res.rows] == [b for b in ("L1", "L2", "L3", "L4", "L5", "all")
                                         for _ in SNELL_R]
    key = "GSM8K" if bench == "gsm8k" else "MATH"
    pub_small = published[f"{key}_Llama-3-8B-Instruct"]
    pub_large = published[f"{key}_Llama-3-70B-Instruct"]
    counts = small.counts
    assert counts is not None
    for row in res.rows[-3:]:  # the "all" rows
        assert row.large_accuracy == pytest.approx(pub_large["pass_at_1"], abs=1e-9)
        # small pass@X: the log-budget interpolation between the engine's pass@floor/ceil(X)
        lo_k, hi_k = int(np.floor(row.budget)), int(np.ceil(row.budget))
        lo_v, hi_v = counts_curve(counts, [lo_k, hi_k]).accuracy
        w = np.log(row.budget / lo_k) / np.log(hi_k / lo_k)
        assert row.small_accuracy == pytest.approx((1 - w) * lo_v + w * hi_v, abs=1e-12)
        # ... and it sits on the published coverage curve between its grid neighbours
        grid, cov = np.array(pub_small["cov_grid"]), np.array(pub_small["coverage"])
        j = int(np.searchsorted(grid, row.budget))
        assert cov[j - 1] - 1e-9 <= row.small_accuracy <= cov[j] + 1e-9
        assert row.lower <= row.difference <= row.upper
    if bench == "gsm8k":  # the published majority curve is usable on GSM8K
        maj = report.results[1]
        assert maj.strategy == "majority (published curve)" and not maj.paired
        assert [r.bin for r in maj.rows] == ["all"] * 3
    else:  # on MATH the published selection curve is all zeros upstream: refused, and said so
        assert len(report.results) == 1
        assert any("all zeros" in note for note in report.skipped)
