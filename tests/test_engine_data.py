"""Loading runs for the engine (pools from the store, counts, verifier choice, what a run lacks)
and costs in the four units, checked against hand computations on SYNTHETIC runs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from workbench.engine import CostModel, RunData, SamplePool, load_run_data, simulate
from workbench.engine.cost import parse_prices
from workbench.errors import StrategyError
from workbench.store import (
    OutcomeScore,
    Problem,
    ProblemCount,
    Run,
    RunBundle,
    RunStore,
    Sample,
    StepScore,
)


def toy_store() -> RunStore:
    """Two SYNTHETIC runs. Run "r": problem a has 3 samples, b has 2 (ragged); PRM "prm" step
    scores and ORM "orm" scores; tokens and prices known. Run "c": counts only."""
    src = "synthetic"
    samples = [
        Sample("a", 0, answer_key="4", is_correct=True, output_tokens=10, prompt_tokens=5),
        Sample("a", 1, answer_key=None, is_correct=False, output_tokens=20, prompt_tokens=5),
        Sample("a", 2, answer_key="5", is_correct=False, output_tokens=30, prompt_tokens=5),
        Sample("b", 0, answer_key="x", is_correct=False, output_tokens=40, prompt_tokens=7),
        Sample("b", 1, answer_key="y", is_correct=True, output_tokens=60, prompt_tokens=7),
    ]
    steps = [  # (problem, sample) -> step scores
        (("a", 0), [0.9, 0.8]), (("a", 1), [0.5]), (("a", 2), [0.2, 0.95]),
        (("b", 0), [0.6, 0.6]), (("b", 1), [0.3, 0.7]),
    ]
    store = RunStore(":memory:")
    store.ingest(RunBundle(
        run=Run("r", "toy", "toy-model", src, policy_params=1e9,
                meta={"verifier_params": {"prm": 7e9, "orm": 2e9},
                      "price_per_1k_tokens": {"prompt": 1.0, "output": 2.0}}),
        problems=[Problem("toy", "a"), Problem("toy", "b")], samples=samples,
        step_scores=[StepScore("prm", p, i, j, v) for (p, i), vs in steps
                     for j, v in enumerate(vs)],
        outcome_scores=[OutcomeScore("orm", s.problem_id, s.sample_idx, float(k))
                        for k, s in enumerate(samples)],
    ))
    store.ingest(RunBundle(
        run=Run("c", "toy", "toy-model", src),
        problems=[Problem("toy", "a"), Problem("toy", "b")],
        problem_counts=[ProblemCount("a", 10, 3), ProblemCount("b", 10, 0)],
    ))
    return store


def test_pool_from_store_is_padded_coded_and_scored() -> None:
    data = load_run_data(toy_store(), "r", verifier="prm", agg="min")
    pool = data.pool
    assert pool.problem_ids.tolist() == ["a", "b"] and pool.sizes.tolist() == [3, 2]
    assert pool.answer.tolist() == [[0, -1, 1], [0, 1, -1]]
    assert pool.correct.tolist() == [[True, False, False], [False, True, False]]
    np.testing.assert_array_equal(pool.score[0], [0.8, 0.5, 0.2])
    assert np.isnan(pool.score[1, 2])
    assert data.score_params() == {"verifier": "prm", "agg": "min"}
    assert data.counts.c.tolist() == [1, 1]


def test_aggregation_and_outcome_scores_reach_best_of_n() -> None:
    store = toy_store()
    last = simulate(load_run_data(store, "r", verifier="prm", agg="last"), "best_of_n", [1, 2])
    orm = simulate(load_run_data(store, "r", verifier="orm"), "best_of_n", [2])
    # PRM last: a -> [0.8, 0.5, 0.95] picks sample 2 (wrong) whenever it is drawn: 1/3 right
    assert last.per_problem[0, 1] == pytest.approx(1 / 3)
    # ORM scores rise with sample order: the later sample of each pair wins
    assert orm.per_problem[:, 0].tolist() == pytest.approx([0.0, 1.0])
    assert orm.params == {"verifier": "orm"}


def test_verifier_must_be_chosen_when_a_run_has_several() -> None:
    data = load_run_data(toy_store(), "r")
    assert data.verifier is None
    with pytest.raises(StrategyError, match=r"choose a verifier of run 'r' \(verifier=\.\.\. / "
                                            r"--verifier\): orm, prm"):
        simulate(data, "best_of_n", [1])


def test_counts_only_run_serves_pass_at_k_and_says_what_else_is_missing() -> None:
    data = load_run_data(toy_store(), "c")
    assert data.pool is None and data.counts.n.tolist() == [10, 10]
    assert simulate(data, "pass_at_k", [1]).accuracy.tolist() == pytest.approx([0.15])
    with pytest.raises(StrategyError, match=r"majority needs individual samples, but run 'c' "
                                            r"holds per-problem counts only \(2 problems\); "
                                            r"strategies this run supports: pass_at_k"):
        simulate(data, "majority", [1])


def test_ungraded_pool_is_refused_with_the_count() -> None:
    pool = SamplePool.from_table(
        pa.table({
            "problem_id": ["a", "a"], "sample_idx": [0, 1], "answer_key": ["1", "2"],
            "is_correct": [True, None], "output_tokens": [1, 1], "prompt_tokens": [1, 1],
            "score": [None, None]}), run_id="u")
    with pytest.raises(StrategyError, match="1 of 2 samples are ungraded"):
        simulate(RunData.from_pool(pool), "majority", [1])


def test_sampling_cost_by_hand() -> None:
    data = load_run_data(toy_store(), "r", verifier="prm")
    cost = simulate(data, "best_of_n", [1, 2]).cost
    out = (np.mean([10, 20, 30]) + np.mean([40, 60])) / 2  # 35 tokens per sample
    inp = (5 + 7) / 2
    np.testing.assert_allclose(cost.generations, [1, 2])
    np.testing.assert_allclose(cost.tokens, [out, 2 * out])
    # policy and verifier both charged prompt + output tokens (engine.cost)
    np.testing.assert_allclose(cost.flops, [2 * 1e9 * (out + inp) + 2 * 7e9 * (out + inp),
                                            2 * (2 * 1e9 * (out + inp) + 2 * 7e9 * (out + inp))])
    np.testing.assert_allclose(cost.money, [(inp * 1.0 + out * 2.0) / 1000,
                                            2 * (inp * 1.0 + out * 2.0) / 1000])
    # no verifier reads the samples for pass@k: policy FLOPs only
    np.testing.assert_allclose(simulate(data, "pass_at_k", [1]).cost.flops,
                               [2 * 1e9 * (out + inp)])


def test_explicit_counts_and_prices_override_the_run() -> None:
    data = load_run_data(toy_store(), "r", verifier="orm", policy_params=2e9,
                         verifier_params=1e9, prices={"input_per_1k": 0, "output_per_1k": 1})
    assert data.cost_model == CostModel(2e9, 1e9, 0.0, 1.0)
    unknown = RunData.from_pool(SamplePool.from_arrays(correct=[[1, 0]]))
    cost = simulate(unknown, "pass_at_k", [1, 2]).cost
    assert np.isnan(cost.tokens).all() and np.isnan(cost.flops).all()
    assert np.isnan(cost.money).all() and cost.generations.tolist() == [1, 2]


@pytest.mark.parametrize(("prices", "match"), [
    ({"input_per_1k": -1, "output_per_1k": 1}, "`input_per_1k` must be a finite number >= 0"),
    ({"in": 1}, r"`prices` has unknown keys \['in'\]"),
    ("cheap", "`prices` must be a mapping or a number"),
])
def test_bad_prices_are_named(prices: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_prices(prices)  # type: ignore[arg-type]


def test_bad_parameter_count_is_named() -> None:
    with pytest.raises(ValueError, match="`policy_params` must be a positive parameter count"):
        load_run_data(toy_store(), "r", policy_params=-5)


def test_unknown_strategy_parameter_is_named() -> None:
    data = RunData.from_pool(SamplePool.from_arrays(correct=[[1, 0]]))
    with pytest.raises(StrategyError, match=r"pass_at_k: got an unexpected keyword argument "
                                            r"'draws'; its parameters: none"):
        simulate(data, "pass_at_k", [1], draws=5)
