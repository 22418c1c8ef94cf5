"""CLI: `workbench optimize` and `workbench plan` on a store holding REAL runs from the mirror.

Numbers checked against the data themselves: pass@1 of Qwen2.5-Math (728 of 800 correct by the
upstream flags), ToT CoT (403 of 10,000, Yao et al. 2023: 4.0%), Llama-3-8B on MATH (343,489
correct of 1,280,000 samples), and best-of-8 by the reward model recomputed from the raw file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.store_helpers import mirror_path
from workbench.analysis.candidates import candidate_curves
from workbench.cli import cli
from workbench.importers import qwen25_math, sampling_ceilings, tot_game24
from workbench.store import RunStore

QWEN = "qwen25-math-rm/math-cot-100"
COT = "tot-game24/gpt-4-cot"
DIRECT = "tot-game24/gpt-4-direct"
MONKEY = "sampling-ceilings/llmonkeys-math-llama-3-8b"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("policy") / "store.duckdb"
    mirror = mirror_path()
    with RunStore(path) as st:
        for module, folder in ((qwen25_math, "qwen25-math-rm"), (tot_game24, "tot-game24"),
                               (sampling_ceilings, "sampling-ceilings")):
            files = {p.name: p for p in (mirror / folder).iterdir() if p.name != "LICENSE"}
            st.ingest_many(module.read(files))
    return str(path)


def _run(store_path: str, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, [*args, "--store", store_path])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.output


def _json(store_path: str, *args: str) -> dict:
    code, out = _run(store_path, *args, "--json")
    assert code == 0, out
    return json.loads(out)


def _entry(d: dict, bin: str, budget: float) -> dict:
    return next(e for e in d["entries"] if e["bin"] == bin and e["budget"] == budget)


def _best_of_8_from_raw_file() -> float:
    """Reward-model best-of-8 accuracy straight from the upstream JSONL (ties share credit)."""
    acc = []
    with (mirror_path() / "qwen25-math-rm" / "math_cot_100.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            score = np.array([s[0] for s in row["pred_score"]])
            correct = np.array(row["score"], dtype=float)
            top = score == score.max()
            acc.append(correct[top].mean())
    return float(np.mean(acc))


def test_optimize_qwen_policy_against_the_data(store_path: str) -> None:
    d = _json(store_path, "optimize", QWEN, "--n-boot", "200")
    # the reward model's scores are signed (negative on 14 problems): the weighted vote goes
    # through a sigmoid (raw signed sums penalise agreement; engine.strategies.weighted_bon)
    assert d["baseline"] == "weighted_bon(verifier=qwen2.5-math-rm-72b, transform=sigmoid)"
    assert set(d["candidates"]) == {
        "weighted_bon(verifier=qwen2.5-math-rm-72b, transform=sigmoid)",
        "best_of_n(verifier=qwen2.5-math-rm-72b)", "majority",
    }
    assert d["grid"] == [1.0, 2.0, 4.0, 8.0] and d["bins"] == ["L1", "L2", "L3", "L4", "L5"]
    assert len(d["entries"]) == 6 * 4
    e1 = _entry(d, "all", 1.0)
    assert e1["baseline_accuracy"] == pytest.approx(728 / 800, abs=1e-12)  # every N=1 is pass@1
    assert e1["accuracy"] == pytest.approx(728 / 800, abs=1e-12)
    assert e1["efficiency"] == 1.0
    # the candidates the CLI compares are the engine's curves: best_of_n is exact, and at
    # N = 8 (the whole pool) it is the raw file's reward-model pick
    with RunStore(store_path, read_only=True) as st:
        curves = candidate_curves(st, [QWEN], rng=0, draws=50).curves
    bon = next(c for c in curves if c.strategy == "best_of_n")
    assert bon.accuracy[-1] == pytest.approx(_best_of_8_from_raw_file(), abs=1e-12)
    for e in d["entries"]:
        assert e["unit"] == "generations"
        assert e["ci"][0] - 1e-9 <= e["accuracy"] <= e["ci"][1] + 1e-9


def test_optimize_text_output_and_k_folds(store_path: str) -> None:
    code, out = _run(store_path, "optimize", QWEN, "--folds", "3", "--n-boot", "50")
    assert code == 0, out
    assert "cross-fitting: 3-fold" in out and "bin L5 (20 problems)" in out
    assert "efficiency" in out and "time: curves" in out


def test_optimize_game24_majority_only_is_its_own_baseline(store_path: str) -> None:
    d = _json(store_path, "optimize", COT, "--n-boot", "100", "--draws", "200")
    assert d["candidates"] == ["majority"]
    assert any("only one candidate" in n for n in d["notes"])
    assert _entry(d, "all", 1.0)["accuracy"] == pytest.approx(403 / 10000, abs=1e-12)
    for e in d["entries"]:
        assert e["efficiency"] == 1.0 and e["efficiency_bound"] == "exact"
        assert e["gain"] == 0.0


def test_optimize_two_runs_compete_on_money(store_path: str) -> None:
    d = _json(store_path, "optimize", COT, DIRECT, "--unit", "money", "--budgets", "1,4,16",
              "--n-boot", "50", "--draws", "200")
    assert d["unit"] == "money" and d["baseline"] == f"{COT}:majority"
    assert f"{DIRECT}:majority" in d["candidates"]
    # the grid is the baseline's own mean cost per question (GPT-4 prices), increasing
    assert np.all(np.diff(d["grid"]) > 0) and d["grid"][0] > 0


def test_optimize_counts_run_says_oracle(store_path: str) -> None:
    code, out = _run(store_path, "optimize", MONKEY, "--budgets", "1,16,256", "--n-boot",
                     "50")
    assert code == 0, out
    assert "ORACLE" in out and "UPPER BOUND" in out
    d = _json(store_path, "optimize", MONKEY, "--budgets", "1,16,256", "--n-boot", "50")
    assert d["oracle"] and d["candidates"] == ["pass_at_k"]
    assert _entry(d, "all", 1.0)["accuracy"] == pytest.approx(343489 / 1280000, abs=1e-12)


def test_plan_budget_target_and_coverage(store_path: str) -> None:
    d = _json(store_path, "plan", QWEN, "--budget", "2", "--n-boot", "100")
    assert d["covered"] and d["cost"] <= 2 + 1e-9 and d["mode"] == "budget"
    assert d["ci"][0] <= d["accuracy"] <= d["ci"][1]
    assert sum(b["weight"] for b in d["bins"]) == pytest.approx(1.0)
    reach = d["accuracy"]
    t = _json(store_path, "plan", QWEN, "--target", f"{reach - 0.01:.4f}", "--n-boot", "0")
    assert t["covered"] and t["cost"] <= d["cost"] + 1e-9
    far = _json(store_path, "plan", QWEN, "--budget", "64", "--n-boot", "0")
    assert not far["covered"] and "beyond what the cache covers" in far["message"]
    code, out = _run(store_path, "plan", QWEN, "--budget", "64", "--n-boot", "0")
    assert "NOT COVERED" in out


def test_plan_mix_and_usage_errors(store_path: str) -> None:
    d = _json(store_path, "plan", QWEN, "--budget", "4", "--mix", "0,0,0,0,1", "--n-boot",
              "0")
    hard = d["bins"][-1]
    assert hard["weight"] == 1.0 and d["accuracy"] == pytest.approx(hard["accuracy"])
    code, out = _run(store_path, "plan", QWEN, "--budget", "4", "--target", "0.9")
    assert code == 2 and "exactly one of --budget and --target" in out
    code, out = _run(store_path, "plan", QWEN, "--budget", "4", "--mix", "0.5,0.5")
    assert code == 2 and "one weight per bin" in out
    code, out = _run(store_path, "optimize", QWEN, "--unit", "tokens")
    assert code == 2 and "tokens" in out


def test_unknown_run_is_one_clear_error(store_path: str) -> None:
    from workbench.errors import RunNotFoundError

    with pytest.raises(RunNotFoundError, match="no run 'nope/run'"):
        _run(store_path, "optimize", "nope/run")
