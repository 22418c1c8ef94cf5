"""Planner: greedy on concave hulls vs brute force and LP, target mode, units, coverage."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from tests.analysis.synthetic import curve, noisy_rows
from workbench.analysis.planner import allocate, plan, upper_hull
from workbench.analysis.policy import compute_optimal_policy


def _random_problem(rng: np.random.Generator, k: int = 3, n: int = 4):
    """Per-bin options with arbitrary (not necessarily concave or monotone) accuracies."""
    costs = [np.sort(rng.choice(np.arange(1, 20), size=n, replace=False)).astype(float)
             for _ in range(k)]
    accs = [np.sort(rng.uniform(0, 1, size=n)) if rng.uniform() < 0.7 else rng.uniform(0, 1, n)
            for _ in range(k)]
    w = rng.dirichlet(np.ones(k))
    return costs, accs, w


def _lp(costs, accs, w, *, budget=None, target=None) -> float:
    """The mixed-strategy optimum by linear programming over every option of every bin."""
    k = len(costs)
    n = [c.size for c in costs]
    c_all = np.concatenate([w[j] * costs[j] for j in range(k)])
    a_all = np.concatenate([w[j] * accs[j] for j in range(k)])
    a_eq = np.zeros((k, sum(n)))
    start = 0
    for j in range(k):
        a_eq[j, start:start + n[j]] = 1
        start += n[j]
    if budget is not None:
        res = linprog(-a_all, A_ub=c_all[None], b_ub=[budget], A_eq=a_eq, b_eq=np.ones(k))
        return -res.fun if res.success else np.nan
    res = linprog(c_all, A_ub=-a_all[None], b_ub=[-target], A_eq=a_eq, b_eq=np.ones(k))
    return res.fun if res.success else np.nan


def _discrete(costs, accs, w):
    """Every pure allocation (one option per bin): expected cost and accuracy."""
    combos = np.array(list(itertools.product(*[range(c.size) for c in costs])))
    cost = sum(w[j] * costs[j][combos[:, j]] for j in range(len(costs)))
    acc = sum(w[j] * accs[j][combos[:, j]] for j in range(len(costs)))
    return cost, acc


def test_upper_hull_by_hand() -> None:
    c = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 2.0])
    a = np.array([0.2, 0.25, 0.5, 0.55, 0.5, 0.1])
    # (2, .25) lies under the chord (1,.2)-(3,.5); (5, .5) and (2, .1) are dominated
    assert upper_hull(c, a).tolist() == [0, 2, 3]
    assert upper_hull(np.array([1.0, np.nan]), np.array([0.3, 0.9])).tolist() == [0]


def test_greedy_on_hull_equals_the_lp_optimum_over_all_mixed_allocations() -> None:
    rng = np.random.default_rng(0)
    for _ in range(80):
        costs, accs, w = _random_problem(rng)
        lo = sum(w[j] * costs[j].min() for j in range(3))
        hi = sum(w[j] * costs[j].max() for j in range(3))
        for budget in rng.uniform(lo, hi, size=3):
            al = allocate(costs, accs, w, budget=budget)
            assert al.feasible and al.cost <= budget + 1e-9
            assert al.accuracy == pytest.approx(_lp(costs, accs, w, budget=budget), abs=1e-7)
            assert np.sum((al.share > 0) & (al.share < 1)) <= 1  # at most one bin mixes


def test_greedy_equals_brute_force_over_pure_allocations_at_hull_vertices() -> None:
    # when the greedy ends on hull vertices (no mixing), it is the best pure allocation too
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(100):
        costs, accs, w = _random_problem(rng)
        cost, acc = _discrete(costs, accs, w)
        for budget in np.unique(cost):
            al = allocate(costs, accs, w, budget=budget)
            if np.any((al.share > 0) & (al.share < 1)):
                continue
            assert al.accuracy == pytest.approx(acc[cost <= budget + 1e-12].max(), abs=1e-12)
            checked += 1
    assert checked > 300


def test_target_mode_returns_the_minimal_cost() -> None:
    rng = np.random.default_rng(2)
    for _ in range(80):
        costs, accs, w = _random_problem(rng)
        best = sum(w[j] * accs[j].max() for j in range(3))
        start = allocate(costs, accs, w, budget=1e9).accuracy
        for target in rng.uniform(0.05, best, size=3):
            al = allocate(costs, accs, w, target=target)
            assert al.feasible and al.accuracy >= target - 1e-9
            assert al.cost == pytest.approx(_lp(costs, accs, w, target=target), abs=1e-7)
        assert start == pytest.approx(best)
        al = allocate(costs, accs, w, target=min(best + 0.01, 1.0))
        assert not al.feasible or best + 0.01 > 1.0


def test_target_mode_against_brute_force_pure_allocations() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        costs, accs, w = _random_problem(rng)
        cost, acc = _discrete(costs, accs, w)
        for target in np.unique(acc)[-5:]:
            al = allocate(costs, accs, w, target=target)
            pure_min = cost[acc >= target - 1e-12].min()
            assert al.cost <= pure_min + 1e-9  # mixing can only help
            if not np.any((al.share > 0) & (al.share < 1)):
                assert al.cost == pytest.approx(pure_min, abs=1e-12)


def _policy(unit: str, rng_seed: int = 0, n_resamples: int = 200):
    rng = np.random.default_rng(rng_seed)
    n = 90
    bins = np.repeat(["L1", "L2", "L3"], n // 3)
    truth = {"L1": [0.8, 0.9, 0.95, 0.97], "L2": [0.4, 0.55, 0.65, 0.7],
             "L3": [0.05, 0.08, 0.12, 0.15]}
    base = np.concatenate([noisy_rows(truth[b], n // 3, rng, noise=0.05) for b in
                           ("L1", "L2", "L3")])
    other = np.clip(base + rng.normal(0, 0.03, size=base.shape), 0, 1)
    params = 7e9
    cands = [curve("base", base, params=params, tokens_per_generation=300),
             curve("other", other, params=params, tokens_per_generation=300)]
    return compute_optimal_policy(cands, bins, unit=unit, rng=1, n_resamples=n_resamples), params


def test_budget_units_convert_consistently() -> None:
    tokens, params = _policy("tokens")
    flops, _ = _policy("flops")
    gens, _ = _policy("generations")
    np.testing.assert_allclose(flops.grid, 2 * params * tokens.grid)
    np.testing.assert_allclose(tokens.grid, 300 * gens.grid)
    for g in (3.0, 5.5):
        p_gen = plan(gens, budget=g)
        p_tok = plan(tokens, budget=300 * g)
        p_flop = plan(flops, budget=2 * params * 300 * g)
        assert p_tok.accuracy == pytest.approx(p_gen.accuracy, abs=1e-12)
        assert p_flop.accuracy == pytest.approx(p_gen.accuracy, abs=1e-12)
        assert [b.budget * 300 for b in p_gen.bins] == pytest.approx([b.budget for b in p_tok.bins])
        # FLOPs = 2 x params x tokens, in every plan's cost report
        for p in (p_gen, p_tok, p_flop):
            assert p.costs["flops"] == pytest.approx(2 * params * p.costs["tokens"], rel=1e-12)
            assert p.costs["tokens"] == pytest.approx(300 * p.costs["generations"], rel=1e-12)
        assert p_flop.cost == pytest.approx(2 * params * p_tok.cost, rel=1e-12)


def test_plan_spends_the_budget_where_it_buys_the_most() -> None:
    pol, _ = _policy("generations")
    p = plan(pol, budget=2)
    assert p.covered and p.cost == pytest.approx(2.0)
    # the middle bin gains the most per generation; the hard bin the least
    by_bin = {b.bin: b.budget for b in p.bins}
    assert by_bin["L2"] > by_bin["L3"] and by_bin["L2"] >= by_bin["L1"]
    assert p.ci[0] <= p.accuracy <= p.ci[1]
    t = p.table()
    assert set(t["bin"]) == {"L1", "L2", "L3"} and t.groupby("bin")["share"].sum().eq(1).all()


def test_target_mode_on_a_policy() -> None:
    pol, _ = _policy("generations")
    p = plan(pol, target=0.5)
    assert p.covered and p.mode == "target" and p.accuracy == pytest.approx(0.5)
    cheaper = plan(pol, budget=p.cost * 0.99)
    assert cheaper.accuracy < 0.5


def test_coverage_is_reported_not_extrapolated() -> None:
    pol, _ = _policy("generations")
    p = plan(pol, budget=64)
    assert not p.covered and "beyond what the cache covers" in p.message
    assert p.cost <= 8 + 1e-12
    p = plan(pol, budget=0.5)
    assert not p.covered and "below the cheapest" in p.message and p.cost == pytest.approx(1)
    p = plan(pol, target=0.99)
    assert not p.covered and "not reached within the cache" in p.message


def test_mix_weights() -> None:
    pol, _ = _policy("generations")
    only_hard = plan(pol, budget=4, mix=[0, 0, 1])
    hard = next(b for b in only_hard.bins if b.bin == "L3")
    assert hard.budget == pytest.approx(4.0)
    assert only_hard.accuracy == pytest.approx(hard.accuracy)
    assert only_hard.ci == pytest.approx(hard.ci)
    with pytest.raises(ValueError, match="one weight per bin"):
        plan(pol, budget=4, mix=[0.5, 0.5])
    with pytest.raises(ValueError, match="summing to 1"):
        plan(pol, budget=4, mix=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="exactly one of"):
        plan(pol, budget=4, target=0.5)
    d = only_hard.to_dict()
    assert d["bins"][2]["choices"][0]["budget"] == 4.0
