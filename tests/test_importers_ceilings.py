"""sampling-ceilings importer against the real files in the mirror and the published numbers.

The published coverage curves of the Large Language Monkeys configs are reproduced exactly from
the imported counts with the unbiased pass@k estimator 1 - C(n-c, k) / C(n, k), computed here
with exact integers: this checks the import against the publication.
"""

from __future__ import annotations

import json
from fractions import Fraction
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.store_helpers import mirror_path
from workbench.errors import InputError
from workbench.importers import sampling_ceilings as sc
from workbench.store import RunBundle, RunStore

LLMONKEYS = {
    "GSM8K_Llama-3-8B-Instruct": "sampling-ceilings/llmonkeys-gsm8k-llama-3-8b",
    "GSM8K_Llama-3-70B-Instruct": "sampling-ceilings/llmonkeys-gsm8k-llama-3-70b",
    "MATH_Llama-3-8B-Instruct": "sampling-ceilings/llmonkeys-math-llama-3-8b",
    "MATH_Llama-3-70B-Instruct": "sampling-ceilings/llmonkeys-math-llama-3-70b",
}


@pytest.fixture(scope="module")
def folder() -> Path:
    return mirror_path() / "sampling-ceilings"


@pytest.fixture(scope="module")
def raw(folder: Path) -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in folder.glob("*.json")}


@pytest.fixture(scope="module")
def bundles(folder: Path) -> dict[str, RunBundle]:
    return {b.run.run_id: b for b in sc.read({p.name: p for p in folder.iterdir()})}


def _exact_pass_at_k(n: int, c: int, k: int) -> Fraction:
    return Fraction(1) if n - c < k else 1 - Fraction(comb(n - c, k), comb(n, k))


def test_run_ids(bundles: dict[str, RunBundle]) -> None:
    assert list(bundles) == [
        sc.MATH500_RUN, *(f"{sc.MATH500_RUN}-s{s}" for s in range(5)), *LLMONKEYS.values()]


def test_math500_combined_run(bundles: dict[str, RunBundle], raw: dict[str, Any]) -> None:
    counts = raw["rhow_counts.json"]
    b = bundles[sc.MATH500_RUN]
    assert b.run.dataset == "math500" and b.run.policy_params == 1.24e9
    assert [p.problem_id for p in b.problems] == counts["uids"]
    assert len(b.problem_counts) == 500
    assert {pc.n for pc in b.problem_counts} == {1280}
    assert [pc.c for pc in b.problem_counts] == [sum(row) for row in counts["counts"]]


def test_math500_sessions(bundles: dict[str, RunBundle], raw: dict[str, Any]) -> None:
    counts = raw["rhow_counts.json"]["counts"]
    for s in range(5):
        b = bundles[f"{sc.MATH500_RUN}-s{s}"]
        assert {pc.n for pc in b.problem_counts} == {256}
        assert [pc.c for pc in b.problem_counts] == [row[s] for row in counts]
        assert b.run.sampler is not None and b.run.sampler["session"] == s
    # The sessions add up to the combined run.
    combined = [pc.c for pc in bundles[sc.MATH500_RUN].problem_counts]
    by_session = [[pc.c for pc in bundles[f"{sc.MATH500_RUN}-s{s}"].problem_counts]
                  for s in range(5)]
    assert [sum(col) for col in zip(*by_session, strict=True)] == combined


def test_math500_matches_published_summary(bundles: dict[str, RunBundle]) -> None:
    b = bundles[sc.MATH500_RUN]
    published = b.run.meta["published"]
    mean_pass1 = np.mean([pc.c / pc.n for pc in b.problem_counts])
    assert published["s"] == pytest.approx(mean_pass1, abs=1e-12)  # 0.2386328125
    # theta_bar is each problem's c / n over the 5 sessions, published to 4 decimals.
    theta = np.array([pc.c / pc.n for pc in b.problem_counts])
    assert np.max(np.abs(np.array(published["theta_bar"]) - theta)) <= 5e-5 + 1e-12
    # `single_sample_acc` (0.2612, in both files) is kept as published; it is not the mean
    # c / n of these counts (0.2386), so nothing downstream may treat it as this run's pass@1.
    assert published["single_sample_acc"] == 0.2612


@pytest.mark.parametrize("config", list(LLMONKEYS))
def test_llmonkeys_counts_reproduce_the_published_coverage(
    config: str, bundles: dict[str, RunBundle], raw: dict[str, Any]
) -> None:
    rec = next(r for r in raw["empirical_results.json"] if r["config"] == config)
    b = bundles[LLMONKEYS[config]]
    assert len(b.problem_counts) == rec["n_problems"] == len(rec["theta"])
    assert [p.problem_id for p in b.problems] == [str(i) for i in range(len(rec["theta"]))]
    assert {pc.n for pc in b.problem_counts} == {10_000}
    published = b.run.meta["published"]
    assert published["coverage"] == rec["coverage"] and published["cov_grid"] == rec["cov_grid"]
    assert published["selection"] == rec["selection"]
    counts = [(pc.n, pc.c) for pc in b.problem_counts]
    assert published["pass_at_1"] == pytest.approx(np.mean([c / n for n, c in counts]), abs=1e-12)
    assert published["coverage_inf"] == pytest.approx(np.mean([c > 0 for _, c in counts]))
    for k, expected in zip(rec["cov_grid"], rec["coverage"], strict=True):
        ours = float(sum(_exact_pass_at_k(n, c, k) for n, c in counts) / len(counts))
        assert ours == pytest.approx(expected, abs=1e-9), k
    # The plug-in 1 - (1 - theta)^k is NOT what was published (it is biased low for k near n):
    theta = np.array(rec["theta"])
    plug_in = [np.mean(1 - (1 - theta) ** k) for k in rec["cov_grid"]]
    assert np.max(np.abs(np.array(plug_in) - rec["coverage"])) > 1e-5


@pytest.mark.parametrize("bench", ["gsm8k", "math"])
def test_llmonkeys_models_share_problem_ids(bench: str, bundles: dict[str, RunBundle]) -> None:
    """Problem ids are list positions, shared by the 8B and 70B runs: the two models' success
    rates correlate strongly by position (0.66 GSM8K, 0.75 MATH; about 0 if permuted)."""
    small = bundles[f"sampling-ceilings/llmonkeys-{bench}-llama-3-8b"].problem_counts
    large = bundles[f"sampling-ceilings/llmonkeys-{bench}-llama-3-70b"].problem_counts
    assert [pc.problem_id for pc in small] == [pc.problem_id for pc in large]
    r = np.corrcoef([pc.c for pc in small], [pc.c for pc in large])[0, 1]
    assert r > 0.6


def test_all_runs_ingest_as_counts_only(bundles: dict[str, RunBundle], tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.duckdb") as store:
        for b in bundles.values():
            store.ingest(b)
        info = {r.run_id: r for r in store.runs()}
    combined = info[sc.MATH500_RUN]
    assert combined.counts_only and combined.problems == 500
    assert combined.samples == 640_000 and combined.correct == 152_725


# ---------------------------------------------------------------- bad input

def _write(tmp_path: Path, name: str, data: Any) -> dict[str, Path]:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return {name: path}


def test_theta_that_is_not_a_count_is_refused(tmp_path: Path, raw: dict[str, Any]) -> None:
    data = json.loads(json.dumps(raw["empirical_results.json"]))
    data[2]["theta"][5] += 0.00003  # 0.3 of a sample
    with pytest.raises(InputError, match="is not a count") as err:
        sc.read(_write(tmp_path, "empirical_results.json", data))
    assert (err.value.file, err.value.line, err.value.field) == (
        "empirical_results.json", 3, "theta[5]")


def test_unknown_config_is_refused(tmp_path: Path, raw: dict[str, Any]) -> None:
    data = json.loads(json.dumps(raw["empirical_results.json"][:1]))
    data[0]["config"] = "AIME_Llama-3-8B-Instruct"
    with pytest.raises(InputError) as err:
        sc.read(_write(tmp_path, "empirical_results.json", data))
    assert (err.value.line, err.value.field) == (1, "config")


def test_bad_count_names_problem_and_session(tmp_path: Path, raw: dict[str, Any]) -> None:
    data = json.loads(json.dumps(raw["rhow_counts.json"]))
    data["counts"][41][3] = "12"
    with pytest.raises(InputError, match="expected int, got str") as err:
        sc.read(_write(tmp_path, "rhow_counts.json", data))
    assert (err.value.line, err.value.field) == (42, "counts[41][3]")
    data["counts"][41][3] = 300  # more correct than samples
    with pytest.raises(InputError, match="0 <= c <= n") as err:
        sc.read(_write(tmp_path, "rhow_counts.json", data))
    assert (err.value.line, err.value.field) == (42, "counts[41][3]")


def test_missing_session_is_refused(tmp_path: Path, raw: dict[str, Any]) -> None:
    data = json.loads(json.dumps(raw["rhow_counts.json"]))
    data["ns"][7] = data["ns"][7][:4]
    with pytest.raises(InputError, match="expected 5 sessions") as err:
        sc.read(_write(tmp_path, "rhow_counts.json", data))
    assert err.value.line == 8


def test_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rhow_counts.json").write_text("\n")
    with pytest.raises(InputError, match="empty") as err:
        sc.read({"rhow_counts.json": tmp_path / "rhow_counts.json"})
    assert err.value.file == "rhow_counts.json"
