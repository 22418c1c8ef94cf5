"""Difficulty bins: rank assignment, tie handling, absolute thresholds, splitting a Curve.

All data here is synthetic (labelled), built so the right answer is known by construction.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.analysis.synthetic import curve
from workbench.analysis.bins import absolute_bins, oracle_bins, predicted_bins, quantile_bins


def _ids(n: int) -> list[str]:
    return [f"q{i:04d}" for i in range(n)]


def test_quantile_bins_have_near_equal_sizes_even_with_heavy_ties() -> None:
    # synthetic: 60 of 103 problems tied at pass@1 = 0 (common on hard benchmarks)
    rng = np.random.default_rng(0)
    values = np.concatenate([np.zeros(60), rng.uniform(0.01, 1, 43)])
    b = oracle_bins(_ids(103), values, n_bins=5)
    assert sorted(b.counts.tolist()) == [20, 20, 21, 21, 21]
    assert b.counts.sum() == 103


def test_levels_are_ordered_easiest_first_and_monotone() -> None:
    rng = np.random.default_rng(1)
    values = rng.uniform(size=250).round(2)  # synthetic, with ties
    b = oracle_bins(_ids(250), values, n_bins=5)
    assert b.labels == ("L1", "L2", "L3", "L4", "L5")
    for j in range(4):  # every value of an easier bin >= every value of the next one
        assert b.values[b.mask(j)].min() >= b.values[b.mask(j + 1)].max()
    assert b.values[b.mask("L1")].mean() > b.values[b.mask("L5")].mean()


def test_assignment_is_deterministic_under_input_order() -> None:
    rng = np.random.default_rng(2)
    ids = np.array(_ids(97))
    values = rng.integers(0, 4, 97) / 4  # synthetic, many ties
    b1 = oracle_bins(ids, values, n_bins=4)
    perm = rng.permutation(97)
    b2 = oracle_bins(ids[perm], values[perm], n_bins=4)
    assert b1.as_mapping() == b2.as_mapping()


def test_ties_straddling_a_boundary_are_broken_by_problem_id() -> None:
    b = quantile_bins(["b", "a", "c", "d"], [0.0, 0.0, 0.0, 1.0], n_bins=2)
    # ranks: d (1.0), then a, b, c by id -> d, a in L1; b, c in L2
    assert b.as_mapping() == {"a": "L1", "b": "L2", "c": "L2", "d": "L1"}


def test_predicted_bins_use_scores_and_name_the_verifier() -> None:
    b = predicted_bins(["x", "y", "z"], [0.9, 0.1, 0.5], n_bins=3, verifier="prm")
    assert b.kind == "predicted" and b.statistic == "mean score (prm)"
    assert b.as_mapping() == {"x": "L1", "z": "L2", "y": "L3"}


def test_absolute_bins_edges_are_left_closed_and_top_closed() -> None:
    b = absolute_bins(["a", "b", "c", "d", "e"], [0.0, 0.2, 0.5, 0.8, 1.0], [0, 0.2, 0.8, 1.0])
    # intervals ascending: [0, .2) [.2, .8) [.8, 1]; L1 = top interval
    assert b.as_mapping() == {"a": "L3", "b": "L2", "c": "L2", "d": "L1", "e": "L1"}
    assert b.counts.tolist() == [2, 2, 1]


def test_absolute_bins_may_be_empty() -> None:
    b = absolute_bins(["a", "b"], [0.1, 0.15], [0, 0.5, 1])
    assert b.counts.tolist() == [0, 2]


@pytest.mark.parametrize(
    ("ids", "values", "kwargs", "match"),
    [
        (["a", "a"], [0.1, 0.2], {}, "unique; 'a'"),
        (["a", "b"], [0.1, np.nan], {}, "finite; problem 'b'"),
        (["a", "b"], [0.1, 0.2], {"n_bins": 3}, "exceeds the number of problems"),
        (["a", "b"], [0.1, 0.2, 0.3], {}, "equal length"),
        ([], [], {}, "empty"),
        (["a", "b"], [0.1, 0.2], {"n_bins": 0}, "positive integer"),
    ],
)
def test_quantile_bins_reject_bad_input(ids, values, kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        oracle_bins(ids, values, **kwargs)


def test_absolute_bins_reject_bad_edges_and_values_outside() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        absolute_bins(["a"], [0.5], [0, 0.5, 0.5, 1])
    with pytest.raises(ValueError, match="within the edges .* problem 'a' has 1.5"):
        absolute_bins(["a"], [1.5], [0, 1])


def test_split_aligns_curve_rows_by_problem_id() -> None:
    # synthetic curve whose row order differs from the bins' order
    ids = _ids(40)
    values = np.linspace(1, 0, 40)  # q0000 easiest
    b = oracle_bins(ids, values, n_bins=4)
    order = np.random.default_rng(3).permutation(40)
    pp = np.column_stack([values, values**2])[order]
    c = curve("s", pp, budgets=(1, 2), problem_ids=[ids[i] for i in order])
    parts = b.split(c)
    assert list(parts) == ["L1", "L2", "L3", "L4"]
    for j, (label, part) in enumerate(parts.items()):
        expect = set(ids[10 * j: 10 * (j + 1)])
        assert set(part.problem_ids.tolist()) == expect, label
        # rows moved with their problem: per_problem[:, 0] is the problem's own value
        want = np.array([values[ids.index(p)] for p in part.problem_ids])
        np.testing.assert_array_equal(part.per_problem[:, 0], want)
    total = sum(p.per_problem.shape[0] for p in parts.values())
    assert total == 40


def test_split_refuses_a_curve_with_unbinned_problems() -> None:
    b = oracle_bins(["a", "b"], [0.1, 0.2], n_bins=2)
    c = curve("s", [[0.5], [0.5]], budgets=(1,), problem_ids=["a", "zzz"])
    with pytest.raises(KeyError, match="1 problem\\(s\\) have no bin, e.g. 'zzz'"):
        b.split(c)


def test_index_for_does_not_truncate_longer_ids() -> None:
    # regression: casting query ids to the bins' fixed-width string dtype truncated them
    b = oracle_bins(["ab", "cd"], [0.1, 0.2], n_bins=2)
    with pytest.raises(KeyError):
        b.index_for(["abc"])


def test_mask_and_label_lookup_errors() -> None:
    b = oracle_bins(["a", "b"], [0.1, 0.2], n_bins=2)
    with pytest.raises(ValueError, match="unknown bin 'L9'"):
        b.mask("L9")
    with pytest.raises(ValueError, match="bin index must be in"):
        b.mask(2)
    assert b.to_frame()["problems"].tolist() == [1, 1]
    assert b.to_dict()["assignment"] == {"a": "L2", "b": "L1"}


def test_many_bins_get_zero_padded_labels_that_sort_in_level_order() -> None:
    b = oracle_bins(_ids(12), np.arange(12.0), n_bins=12)
    assert b.labels[0] == "L01" and b.labels[-1] == "L12"
    assert list(b.labels) == sorted(b.labels)


# -- adapters from the engine's run data (synthetic pools) ------------------------------------
def test_bins_for_run_oracle_predicted_and_absolute_from_a_pool() -> None:
    from workbench.analysis.inputs import bins_for_run
    from workbench.engine import RunData, SamplePool

    # synthetic ragged pool: problem "c" has 2 real samples; padding must not enter the means
    pool = SamplePool.from_arrays(
        correct=[[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 9, 9]],
        score=[[0.9, 0.8, 0.7, 0.6], [0.5, 0.4, 0.3, 0.2], [0.1, 0.3, 99.0, 99.0]],
        sizes=[4, 4, 2], problem_ids=["a", "b", "c"], verifier="orm",
    )
    data = RunData.from_pool(pool)
    oracle = bins_for_run(data, kind="oracle", n_bins=3)
    np.testing.assert_allclose(oracle.values, [0.75, 0.25, 0.0])
    predicted = bins_for_run(data, kind="predicted", n_bins=3)
    np.testing.assert_allclose(predicted.values, [0.75, 0.35, 0.2])
    assert predicted.statistic == "mean score (orm)"
    by_score = bins_for_run(data, kind="absolute", edges=[0, 0.5, 1], statistic="score")
    assert by_score.as_mapping() == {"a": "L1", "b": "L2", "c": "L2"}


def test_predicted_bins_refuse_counts_only_runs() -> None:
    from workbench.analysis.inputs import bins_for_run
    from workbench.engine import CountsPool, RunData
    from workbench.errors import StrategyError

    counts = CountsPool("toy", np.array(["a", "b"]), np.array([4, 4]), np.array([1, 2]))
    with pytest.raises(StrategyError, match="per-problem counts only .*use --bins oracle"):
        bins_for_run(RunData.from_pool(counts), kind="predicted")
    with pytest.raises(ValueError, match="absolute bins need `edges`"):
        bins_for_run(RunData.from_pool(counts), kind="absolute")
