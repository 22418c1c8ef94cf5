"""`workbench simulate` on a SYNTHETIC store: table and JSON output, CIs, costs and their
overrides, with-replacement flag, and clear errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.store_helpers import run_cli
from workbench.store import OutcomeScore, Problem, Run, RunBundle, RunStore, Sample, TreeNode


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SYNTHETIC run "toy/r": 6 problems x 4 samples; problem i has i % 4 correct samples
    (samples 0..c-1, answer "ok"), the others answer "w0".."w3"; ORM "orm" scores 0.9 on
    correct samples and 0.1 otherwise; 100 output and 20 prompt tokens each."""
    path = tmp_path_factory.mktemp("cli") / "store.duckdb"
    problems = [Problem("toy", f"p{i}") for i in range(6)]
    samples, scores = [], []
    for i in range(6):
        for j in range(4):
            ok = j < i % 4
            samples.append(Sample(f"p{i}", j, answer_key="ok" if ok else f"w{j}",
                                  is_correct=ok, output_tokens=100, prompt_tokens=20))
            scores.append(OutcomeScore("orm", f"p{i}", j, 0.9 if ok else 0.1))
    with RunStore(path) as store:
        store.ingest(RunBundle(
            run=Run("toy/r", "toy", "toy-model", "synthetic", policy_params=1e9,
                    meta={"verifier_params": {"orm": 2e9}}),
            problems=problems, samples=samples, outcome_scores=scores,
        ))
        # SYNTHETIC tree run "toy/tree": one root with 2 cached terminal children
        store.ingest(RunBundle(
            run=Run("toy/tree", "toy", "toy-model", "synthetic"),
            problems=problems[:1],
            tree_nodes=[
                TreeNode("p0", "root", None, 0, expanded=True),
                TreeNode("p0", "a", "root", 1, score=0.9, is_terminal=True, answer_key="1",
                         is_correct=True),
                TreeNode("p0", "b", "root", 1, score=0.2, is_terminal=True, answer_key="2",
                         is_correct=False),
            ],
        ))
    return path


Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(store_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """`workbench simulate ARGS --store <toy store>` through the real entry point."""
    def invoke(*args: str) -> tuple[int, str, str]:
        return run_cli(["simulate", *args, "--store", str(store_path)], capsys, monkeypatch)
    return invoke


def test_table_has_one_row_per_budget_with_ci_and_cost(run: Invoke) -> None:
    code, out, _ = run("toy/r", "--strategy", "pass_at_k", "--budgets", "1,2,4")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "toy/r: pass_at_k on 6 problems (exact)"
    assert lines[1].split()[:4] == ["N", "accuracy", "95%", "CI"]
    rows = lines[3:6]
    # problem i has c = i % 4 of 4 correct: pass@1 = mean(0, .25, .5, .75, 0, .25) = 29.17%
    assert rows[0].split()[:2] == ["1", "29.17%"]
    assert rows[2].split()[:2] == ["4", "66.67%"]
    assert "400" in rows[2]  # tokens per question at N = 4


def test_json_output_matches_the_library(run: Invoke) -> None:
    code, out, _ = run("toy/r", "--strategy", "best_of_n", "--budgets", "1,4",
                       "--json", "--n-boot", "500", "--ci", "percentile")
    assert code == 0
    doc = json.loads(out)
    assert doc["label"] == "best_of_n(verifier=orm)" and doc["exact"] is True
    assert doc["ci"] == {"method": "percentile", "confidence": 0.95, "resamples": 500}
    r4 = doc["rows"][1]
    assert r4["accuracy"] == pytest.approx(4 / 6)  # a perfect verifier: pass@4
    assert r4["ci_low"] <= r4["accuracy"] <= r4["ci_high"]
    # FLOPs, both models over prompt + output: policy 2 x 1e9 x 4 x (100 + 20) processed +
    # verifier 2 x 2e9 x 4 x (100 + 20) read
    assert r4["flops"] == pytest.approx(2 * 1e9 * 480 + 2 * 2e9 * 480)
    assert r4["money"] is None  # no price known


def test_prices_and_parameter_overrides(run: Invoke, tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"input_per_1k": 1.0, "output_per_1k": 2.0}))
    for extra in (["--prices", str(prices)], ["--price-in", "1", "--price-out", "2"]):
        code, out, _ = run("toy/r", "--strategy", "pass_at_k", "--budgets", "2",
                           "--json", "--n-boot", "0", "--policy-params", "3e9", *extra)
        row = json.loads(out)["rows"][0]
        assert row["money"] == pytest.approx(2 * (20 * 1.0 + 100 * 2.0) / 1000)
        assert row["flops"] == pytest.approx(2 * 3e9 * (200 + 40))  # prompt + output
        assert row["ci_low"] is None


def test_monte_carlo_reports_draws_and_is_reproducible(run: Invoke) -> None:
    args = ("toy/r", "--strategy", "majority", "--budgets", "2,3", "--draws", "400", "--json",
            "--seed", "3", "--estimator", "montecarlo")
    first, second = json.loads(run(*args)[1]), json.loads(run(*args)[1])
    assert first == second and first["draws"] == 400 and first["exact"] is False
    assert all(r["mc_se"] > 0 and r["estimator"] == "Monte Carlo" for r in first["rows"])


def test_majority_is_exact_by_default_and_says_so(run: Invoke) -> None:
    code, out, _ = run("toy/r", "--strategy", "majority", "--budgets", "2,3", "--json")
    res = json.loads(out)
    assert code == 0 and res["exact"] is True and res["draws"] is None
    assert [r["estimator"] for r in res["rows"]] == ["exact (generating function)"] * 2
    assert all(r["mc_se"] == 0 for r in res["rows"])
    code, out, _ = run("toy/r", "--strategy", "majority", "--budgets", "2")
    assert code == 0 and "exact (generating function)" in out


def test_budget_past_the_pool_is_refused_then_flagged_with_replacement(run: Invoke) -> None:
    code, _, err = run("toy/r", "--strategy", "pass_at_k", "--budgets", "8")
    assert code == 2 and "budget N=8 exceeds the cached pool" in err
    code, out, err = run("toy/r", "--strategy", "pass_at_k", "--budgets", "8",
                         "--with-replacement")
    assert code == 0 and "BIASED: resampled with replacement" in out
    assert "warning: pass_at_k on run 'toy/r' resamples WITH replacement" in err


def test_tree_replay_with_no_coverable_problem_is_one_clear_line(run: Invoke) -> None:
    code, out, _ = run("toy/tree", "--strategy", "beam", "--budgets", "2", "--params", "width=2")
    assert code == 0 and "100.00%" in out  # both children drawn: the 0.9-scored correct one wins
    code, _, err = run("toy/tree", "--strategy", "beam", "--budgets", "4", "--params", "width=2")
    assert code == 2 and "beam could replay no problem of toy/tree at budgets 4" in err


@pytest.mark.parametrize(("args", "message"), [
    (["toy/none", "--strategy", "pass_at_k"], "no run 'toy/none'"),
    (["toy/r", "--strategy", "best_of_n", "--verifier", "prm"], "has no verifier 'prm'"),
    (["toy/r", "--strategy", "pass_at_k", "--budgets", "1,x"], "expected comma-separated"),
    (["toy/r", "--strategy", "pass_at_k", "--params", "gpu=1"], "pass_at_k has no parameter 'gpu'"),
    (["toy/r", "--strategy", "pass_at_k", "--price-in", "1"], "give both --price-in and"),
    (["toy/r", "--strategy", "nope"], "'nope' is not one of"),
])
def test_errors_are_one_clear_line(run: Invoke, args: list[str], message: str) -> None:
    code, _, err = run(*args)
    assert code != 0 and message in err
