"""The twin: parameter recovery on pools drawn with KNOWN parameters (synthetic, labelled as
such), the twin of a pool reproducing the pool's own curves within its intervals, labels on
every output, and the `workbench twin` commands on a small REAL run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from workbench.engine import RunData, simulate
from workbench.engine.pool import CountsPool, SamplePool
from workbench.engine.synthetic import synthetic_pool
from workbench.twin import (
    MODEL_LABEL,
    PitmanYor,
    continue_partition,
    fit_beta_binomial,
    fit_pitman_yor,
    fit_rates,
    fit_scores,
    fit_twin,
    predict,
    validate,
)
from workbench.twin.validate import split

from .store_helpers import run_cli


# -- parameter recovery (synthetic pools with known truth) ---------------------------------------
def test_beta_binomial_recovers_known_shape() -> None:
    rng = np.random.default_rng(1)
    n = np.full(3000, 40)
    c = rng.binomial(n, rng.beta(2.0, 5.0, size=3000))
    prior = fit_beta_binomial(n, c)
    assert prior.a[0] == pytest.approx(2.0, rel=0.15)
    assert prior.b[0] == pytest.approx(5.0, rel=0.15)


def test_rate_mixture_recovers_two_groups() -> None:
    """Half the problems nearly never solved, half solved 70% of the time: two components,
    weights and means recovered."""
    rng = np.random.default_rng(2)
    rate = np.where(rng.random(2000) < 0.5, rng.beta(0.5, 60, 2000), rng.beta(35, 15, 2000))
    prior = fit_rates(np.full(2000, 16), rng.binomial(16, rate))
    assert prior.n_components >= 2
    means = prior.a / (prior.a + prior.b)
    low, high = np.argmin(means), np.argmax(means)
    assert means[low] < 0.03 and means[high] == pytest.approx(0.7, abs=0.04)
    assert prior.w[high] == pytest.approx(0.5, abs=0.05)


def test_pitman_yor_urn_and_fit_recover_known_parameters() -> None:
    truth = PitmanYor(d=0.3, theta=2.0)
    rng = np.random.default_rng(3)
    labels = continue_partition(np.zeros((600, 1)), np.full(600, 30), truth, rng)
    sizes = [np.bincount(row[row >= 0]) for row in labels]
    # the urn's mean number of clusters matches the known expectation
    k = np.mean([np.count_nonzero(s) for s in sizes])
    assert k == pytest.approx(truth.expected_clusters(30), rel=0.05)
    fit = fit_pitman_yor(sizes)
    assert fit.d == pytest.approx(0.3, abs=0.07)
    assert fit.theta == pytest.approx(2.0, rel=0.3)


def test_score_model_recovers_known_components() -> None:
    """z = mu_y + a_iy + c_ik + sigma eps drawn with known values, fitted on the normal scale
    (scores drawn already normal, so the copula map is close to the identity)."""
    rng = np.random.default_rng(4)
    p, m = 800, 12
    prob = np.repeat(np.arange(p), m)
    y = (rng.random(p * m) < 0.5).astype(int)
    clus = np.where(y == 1, 0, 1 + rng.integers(0, 3, p * m))
    a = rng.normal(0, [0.5, 0.8], size=(p, 2))
    c = rng.normal(0, 0.4, size=(p, 4))
    z = np.array([0.0, 1.0])[y] + a[prob, y] + c[prob, clus] + rng.normal(0, 0.3, p * m)
    model = fit_scores(z, prob, y, clus)
    # the copula standardises z: compare ratios, which it preserves approximately
    scale = np.std(z)
    assert (model.mu[1] - model.mu[0]) * scale == pytest.approx(1.0, rel=0.15)
    assert model.sigma[0] * scale == pytest.approx(0.3, rel=0.2)
    assert model.tau_c * scale == pytest.approx(0.4, rel=0.25)


def test_twin_extension_keeps_real_samples_and_draws_the_rest() -> None:
    pool = synthetic_pool(40, 8, rng=5)
    twin = fit_twin(pool, n_boot=3, rng=0)
    big = twin.extend(64, draw=1, rng=0)
    assert isinstance(big, SamplePool) and big.sizes.tolist() == [64] * 40
    assert np.array_equal(big.correct[:, :8], pool.correct)
    assert np.array_equal(big.score[:, :8], pool.score)
    # rates follow the problems: correlation of real and drawn per-problem accuracy
    real = pool.correct.mean(axis=1)
    drawn = big.correct[:, 8:].mean(axis=1)
    assert np.corrcoef(real, drawn)[0, 1] > 0.7


# -- the twin reproduces a pool's own curves ---------------------------------------------
def test_twin_of_a_pool_predicts_its_held_out_curves_within_intervals() -> None:
    """Synthetic pool (its own generator, not the twin's): fit on 8 of 32 samples per
    problem, predict the 32-sample pool's curves; most budgets inside, errors small."""
    pool = synthetic_pool(60, 32, rng=6)
    v = validate(pool, fit_size=8, n_splits=3, n_draws=20, rng=0, mc_draws=100,
                 real_mc_draws=1000)
    assert v.coverage >= 0.8, v.to_frame()
    assert v.mae <= 0.04


def test_counts_twin_extrapolates_pass_at_k_with_interval() -> None:
    rng = np.random.default_rng(7)
    rate = rng.beta(0.3, 2.0, 300)
    full = rng.binomial(512, rate)
    counts = CountsPool("toy-counts", np.arange(300).astype(str).astype(object),
                        np.full(300, 512), full)
    part = split(counts, 64, np.random.default_rng(0))
    [pred] = predict(fit_twin(part, n_boot=30, rng=0), ["pass_at_k"], [64, 512],
                     size=512, rng=0)
    real = simulate(RunData.from_pool(counts), "pass_at_k", [64, 512]).accuracy
    assert np.all(pred.low <= real) and np.all(real <= pred.high), (pred.low, real, pred.high)


# -- labels -------------------------------------------------------------------------------------
def test_every_output_is_labelled_model_based() -> None:
    pool = synthetic_pool(20, 8, rng=8)
    twin = fit_twin(pool, n_boot=3, rng=0)
    assert twin.label.startswith(MODEL_LABEL) and "synthetic" in twin.label
    assert twin.extend(16, draw=0, rng=0).run_id == "twin:synthetic"
    [pred] = predict(twin, ["best_of_n"], [4, 16], rng=0)
    assert pred.model_based and pred.model_label == twin.label
    assert pred.to_frame().model_based.all() and (pred.to_frame().source == twin.label).all()
    curve = pred.to_curve("synthetic")
    assert curve.twin and curve.meta["model_based"] and curve.meta["calibrated_on"]
    v = validate(pool, fit_size=4, n_splits=1, n_draws=3, rng=0, mc_draws=50,
                 real_mc_draws=200)
    assert v.to_frame().model_based.all()


def test_validate_rejects_a_fit_size_that_is_not_smaller_than_the_pool() -> None:
    with pytest.raises(ValueError, match="`fit_size` must lie in 1..7"):
        validate(synthetic_pool(5, 8, rng=0), fit_size=8)


# -- CLI on a small real run ------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_store() -> Path:
    from .report_helpers import real_store_path

    return real_store_path()


def test_cli_twin_validate_on_a_real_run(real_store: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(["twin", "validate", "qwen25-math-rm/math-cot-100", "--fit-size",
                              "2", "--splits", "2", "--n-boot", "8", "--store",
                              str(real_store), "--json"], capsys, monkeypatch)
    assert code == 0, err
    got = json.loads(out)
    assert got["model_based"] and "qwen25-math-rm/math-cot-100" in got["label"]
    assert {r["strategy"] for r in got["by_strategy"]} == {
        "majority", "best_of_n", "weighted_bon", "pass_at_k"}
    assert 0 <= got["mae"] < 0.05 and 0 <= got["coverage"] <= 1
    assert all(r["model_based"] for r in got["rows"])


def test_cli_twin_fit_and_sample(real_store: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(["twin", "fit", "qwen25-math-rm/math-cot-100", "--n-boot", "4",
                              "--store", str(real_store)], capsys, monkeypatch)
    assert code == 0, err
    assert out.startswith("model-based (twin) calibrated on qwen25-math-rm/math-cot-100")
    dest = tmp_path / "pool.parquet"
    code, out, err = run_cli(["twin", "sample", "qwen25-math-rm/math-cot-100", "--size", "32",
                              "--n-boot", "4", "--out", str(dest), "--store", str(real_store),
                              "--json"], capsys, monkeypatch)
    assert code == 0, err
    got = json.loads(out)
    assert got["model_based"] and got["samples"] == 3200 and got["real_samples"] == 800
    table = pq.read_table(dest)
    assert table.num_rows == 3200
    assert table.schema.metadata[b"workbench.model_based"] == b"true"


def test_cli_twin_bad_fit_size_is_one_line(real_store: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(["twin", "validate", "qwen25-math-rm/math-cot-100", "--fit-size",
                              "8", "--store", str(real_store)], capsys, monkeypatch)
    assert code == 2 and "fit_size" in err and "Traceback" not in err


def test_cli_simulate_twin_answers_budgets_past_the_pool_labelled(
        real_store: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(["simulate", "qwen25-math-rm/math-cot-100", "--strategy",
                              "best_of_n", "--budgets", "4,8,32", "--twin", "--n-boot",
                              "200", "--store", str(real_store), "--json"], capsys, monkeypatch)
    assert code == 0, err
    got = json.loads(out)
    assert got["twin"].startswith("model-based (twin) calibrated on qwen25-math-rm")
    real, past = [r for r in got["rows"] if r["budget"] <= 8], got["rows"][-1]
    assert [r["estimator"] for r in real] == ["exact", "exact"]
    assert past["budget"] == 32 and past["model_based"] and past["estimator"] == "twin"
    assert past["ci_low"] <= past["accuracy"] <= past["ci_high"]
    # without --twin the same request is refused, as before
    code, out, err = run_cli(["simulate", "qwen25-math-rm/math-cot-100", "--strategy",
                              "best_of_n", "--budgets", "32", "--store", str(real_store)],
                             capsys, monkeypatch)
    assert code == 2 and "twin" in err


def test_cli_plan_twin_answers_budgets_past_the_pool_labelled(
        real_store: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(["plan", "qwen25-math-rm/math-cot-100", "--budget", "32", "--twin",
                              "--n-boot", "50", "--draws", "100", "--store",
                              str(real_store), "--json"], capsys, monkeypatch)
    assert code == 0, err
    got = json.loads(out)
    assert got["model_based"] and got["twin"].startswith("model-based (twin) calibrated on")
    assert got["covered"]  # 32 generations lie past the 8 cached samples: the twin covers them
    assert any("comes from the twin" in n for n in got["policy"]["notes"])
