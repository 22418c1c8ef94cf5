"""Verifier AUCs against brute-force pair counting, and the `workbench verifiers` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.analysis.verifier_quality import verifier_quality
from workbench.cli import cli
from workbench.engine.pool import SamplePool
from workbench.store import Problem, Run, RunBundle, RunStore, Sample
from workbench.store.records import OutcomeScore


def _brute(score, correct, same_problem):
    wins = pairs = 0.0
    for i in range(len(score)):
        for j in range(len(score)):
            if correct[i] and not correct[j] and same_problem(i, j):
                pairs += 1
                wins += 1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0
    return wins / pairs


def test_aucs_equal_pair_counting_with_ties_and_ragged_pools():
    rng = np.random.default_rng(3)
    sizes = np.array([5, 3, 6, 1, 4])
    correct = rng.random((5, 6)) < 0.4
    score = rng.integers(0, 4, (5, 6)).astype(float)  # few values: many ties
    pool = SamplePool.from_arrays(correct=correct, score=score, sizes=sizes, verifier="v")
    q = verifier_quality(pool, n_boot=0)
    flat_s = np.concatenate([score[p, :m] for p, m in enumerate(sizes)])
    flat_c = np.concatenate([correct[p, :m] for p, m in enumerate(sizes)])
    owner = np.repeat(np.arange(5), sizes)
    assert q.auc == pytest.approx(_brute(flat_s, flat_c, lambda i, j: True), abs=1e-12)
    assert q.within_auc == pytest.approx(
        _brute(flat_s, flat_c, lambda i, j: owner[i] == owner[j]), abs=1e-12)
    assert q.samples == sizes.sum() and q.correct == int(flat_c.sum())


def test_bootstrap_interval_brackets_the_estimate_and_a_perfect_verifier_scores_one():
    rng = np.random.default_rng(0)
    correct = rng.random((40, 8)) < 0.3
    noisy = correct + rng.normal(0, 1.0, correct.shape)
    q = verifier_quality(SamplePool.from_arrays(correct=correct, score=noisy, verifier="v"),
                         n_boot=300, seed=1)
    assert q.auc_low <= q.auc <= q.auc_high and q.within_low <= q.within_auc <= q.within_high
    assert 0.5 < q.auc < 1.0
    perfect = verifier_quality(SamplePool.from_arrays(correct=correct, score=correct * 1.0,
                                                      verifier="v"), n_boot=0)
    assert perfect.auc == 1.0 and perfect.within_auc == 1.0


def test_verifiers_command_reports_each_verifier_and_refuses_an_unknown_one(tmp_path):
    store_path = tmp_path / "s.duckdb"
    store = RunStore(store_path)
    probs = [Problem("toy", f"p{i}") for i in range(6)]
    samples, outcome = [], []
    for i in range(6):
        for k in range(4):
            ok = (i + k) % 3 == 0
            samples.append(Sample(f"p{i}", k, answer_key=str(k), is_correct=ok))
            outcome.append(OutcomeScore("orm", f"p{i}", k, 0.9 if ok else 0.2))
    store.ingest(RunBundle(Run("toy/r", "toy", "m", "synthetic"), problems=probs,
                           samples=samples, outcome_scores=outcome))
    store.close()
    runner = CliRunner()
    res = runner.invoke(cli, ["verifiers", "toy/r", "--store", str(store_path), "--json",
                              "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    [row] = json.loads(res.output)["verifiers"]
    assert row["verifier"] == "orm" and row["auc"] == 1.0 and row["within_auc"] == 1.0
    bad = runner.invoke(cli, ["verifiers", "toy/r", "--store", str(store_path),
                              "--verifier", "prm"])
    assert bad.exit_code == 2 and "has no verifier prm; it has: orm" in bad.output
    assert "Traceback" not in bad.output
