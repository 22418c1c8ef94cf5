"""Exchange with the small model's per-bin compute-optimal policy (synthetic, known truth)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.analysis.synthetic import curve
from workbench.analysis.bins import Bins
from workbench.analysis.exchange_policy import exchange_policy
from workbench.errors import BudgetError

B = np.array([1.0, 2.0, 4.0, 8.0])
W = np.log(3 / 2) / np.log(2)  # where X = 3 lies between budgets 2 and 4 in log-budget


def _bins(labels: list[str]) -> Bins:
    names = sorted(set(labels))
    idx = np.array([names.index(x) for x in labels])
    return Bins(np.array([f"p{i:03d}" for i in range(len(labels))]), idx,
                np.zeros(len(names) + 1), "oracle", tuple(names), np.zeros(len(labels)))


def _setup(t_small: float = 100.0, t_large: float = 100.0) -> tuple[list, object, Bins]:
    # four problems; majority is 0.2 / 0.3 / 0.1 / 0.2 at budget 1 and rises 0.2 per doubling;
    # best-of-N is 0.1 worse than majority in bin "a" (p0, p1) and 0.1 better in bin "b"
    maj = np.array([0.2, 0.3, 0.1, 0.2])[:, None] + np.array([0.0, 0.2, 0.4, 0.6])[None, :]
    bon = maj + np.array([-0.1, -0.1, 0.1, 0.1])[:, None]
    cands = [curve("majority", maj, budgets=B, tokens_per_generation=t_small),
             curve("best_of_n", bon, budgets=B, tokens_per_generation=t_small)]
    big = curve("pass_at_k", [[0.6], [0.4], [0.5], [0.5]], budgets=[1.0], run_id="large",
                tokens_per_generation=t_large)
    return cands, big, _bins(["a", "a", "b", "b"])


def test_policy_exchange_by_hand() -> None:
    cands, big, bins = _setup()
    res = exchange_policy(cands, big, bins, ratio=2.0, r_values=[3.0], rng=0, n_boot=200)
    rows = {r.bin: r for r in res.rows}
    assert rows["a"].budget == pytest.approx(3.0)  # X = M + 3 (M - 1) / R = 2 + 1
    # bin a: majority, (0.4 + 0.5) / 2 at budget 2 plus 0.2 W on the way to 4, vs 0.5
    assert rows["a"].small_accuracy == pytest.approx(0.45 + 0.2 * W, abs=1e-12)
    assert rows["a"].difference == pytest.approx(0.45 + 0.2 * W - 0.5, abs=1e-12)
    # bin b: best-of-N, 0.1 above majority's 0.35 + 0.2 W
    assert rows["b"].small_accuracy == pytest.approx(0.45 + 0.2 * W, abs=1e-12)
    assert rows["b"].small_method == "policy: best_of_n" and rows["a"].small_method == \
        "policy: majority"
    assert rows["all"].difference == pytest.approx(0.45 + 0.2 * W - 0.5, abs=1e-12)
    for r in res.rows:
        assert r.lower <= r.difference <= r.upper
    assert res.paired and res.strategy.startswith("per-bin compute-optimal policy")
    assert "equal tokens per generation" in res.note


def test_policy_exchange_is_flops_matched_on_tokens() -> None:
    # the large model writes twice as many tokens per generation: X doubles to 6
    cands, big, bins = _setup(t_small=100.0, t_large=200.0)
    res = exchange_policy(cands, big, bins, ratio=2.0, r_values=[3.0], rng=0, n_boot=200)
    row = next(r for r in res.rows if r.bin == "all")
    assert row.budget == pytest.approx(6.0)
    assert row.small_accuracy == pytest.approx(0.65 + 0.2 * W, abs=1e-12)  # 6 is W of 4 -> 8
    assert "large / small = 2" in res.note
    # without token matching: back to 3
    res = exchange_policy(cands, big, bins, ratio=2.0, r_values=[3.0], rng=0, n_boot=200,
                          match_tokens=False)
    assert res.rows[0].budget == pytest.approx(3.0)


def test_policy_exchange_refuses_budgets_past_every_pool_and_unpaired_runs() -> None:
    cands, big, bins = _setup()
    with pytest.raises(BudgetError, match="no candidate of the small model reaches"):
        exchange_policy(cands, big, bins, ratio=2.0, r_values=[0.1], n_boot=100)  # X = 32
    other = curve("pass_at_k", np.full((4, 1), 0.5), budgets=[1.0], run_id="x",
                  problem_ids=["q0", "q1", "q2", "q3"])
    with pytest.raises(ValueError, match="same problems"):
        exchange_policy(cands, other, bins, ratio=2.0, n_boot=100)


def test_report_exchange_says_why_the_policy_is_not_compared_on_counts_only_runs() -> None:
    # REAL data: Llama-3 8B vs 70B on MATH (Large Language Monkeys) hold per-problem counts
    # only, so the small model has no deployable strategy to choose from
    from tests.report_helpers import real_store_path
    from workbench.analysis.pipeline import exchange_pair
    from workbench.analysis.settings import Settings
    from workbench.store import RunStore

    with RunStore(real_store_path(), read_only=True) as store:
        out, notes = exchange_pair(store, "sampling-ceilings/llmonkeys-math-llama-3-8b",
                                   "sampling-ceilings/llmonkeys-math-llama-3-70b",
                                   Settings.quick())
    assert not any("per-bin compute-optimal policy" in panel for panel, _ in out)
    assert any("needs samples with answers (the small run holds counts only)" in n
               for n in notes)


def test_exchange_pair_reuses_the_small_runs_curves_with_the_same_result() -> None:
    # SYNTHETIC runs (labelled as such): a small model (64 samples per problem) and a 3x larger
    # one (1 sample) on 12 problems; the per-bin policy row from the curves the report already
    # computed equals the row computed from scratch
    from workbench.analysis.pipeline import Notes, exchange_pair, sample_curves
    from workbench.analysis.settings import Settings
    from workbench.store import Problem, Run, RunBundle, RunStore, Sample

    rng = np.random.default_rng(3)
    store = RunStore(":memory:")
    problems = [Problem("toy", f"p{i:02d}") for i in range(12)]
    for run_id, n, params, p_ok in (("toy/small", 64, 1e9, 0.3), ("toy/large", 1, 3e9, 0.6)):
        samples = []
        for i in range(12):
            for j in range(n):
                ok = bool(rng.random() < p_ok * (i + 1) / 12)
                key = "1" if ok else str(rng.integers(2, 5))
                samples.append(Sample(f"p{i:02d}", j, answer_key=key, is_correct=ok,
                                      output_tokens=100))
        store.ingest(RunBundle(Run(run_id, "toy", run_id, "synthetic", policy_params=params),
                               problems=problems, samples=samples))
    settings = Settings(n_boot=100, policy_boot=100, draws=50, n_bins=2, splits=4,
                        boot_splits=2)
    cands = sample_curves(store, "toy/small", settings, Notes())
    fresh, _ = exchange_pair(store, "toy/small", "toy/large", settings)
    reused, _ = exchange_pair(store, "toy/small", "toy/large", settings, small_curves=cands)
    policy = [(panel, res) for panel, res in fresh if "per-bin compute-optimal policy" in panel]
    assert len(policy) == 1
    assert [p for p, _ in reused] == [p for p, _ in fresh]
    for (_, a), (_, b) in zip(fresh, reused, strict=True):
        assert a.to_frame().equals(b.to_frame())
