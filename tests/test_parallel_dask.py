"""The bootstrap and the policy search on a Dask cluster (a `distributed.LocalCluster` here)
give exactly the local results for the same seed: chunks are fixed by the data and each has its
own spawned random stream, so which worker runs a chunk does not matter.

Synthetic curves with random per-problem accuracies (labelled as such): only equality of the
local and distributed results is tested here; the statistics are tested elsewhere."""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pytest
from distributed import Client, LocalCluster, get_task_stream

from workbench.analysis.policy import compute_optimal_policy
from workbench.engine import bootstrap_matrix, parallel
from workbench.engine.results import Cost, Curve
from workbench.errors import SerialFallbackWarning


def _curves(n_problems: int = 120, seed: int = 7) -> tuple[list[Curve], list[str]]:
    gen = np.random.default_rng(seed)
    b = np.array([1.0, 2.0, 4.0, 8.0])
    ids = np.array([f"p{i}" for i in range(n_problems)])
    curves = []
    for name in ("base", "alt", "third"):
        pp = np.sort(gen.random((n_problems, b.size)), axis=1)  # accuracy grows with budget
        curves.append(Curve(name, {}, "synthetic", ids, b, pp, np.zeros_like(pp),
                            Cost(b, 100 * b, 2e11 * b, 1e-3 * b), True))
    bins = ["easy", "mid", "hard"] * (n_problems // 3)
    return curves, bins


def _policy(n_jobs: int | None) -> object:
    curves, bins = _curves()
    return compute_optimal_policy(curves, bins, folds=2, splits=4, n_resamples=250, rng=11,
                                  n_jobs=n_jobs)


def _same_policy(a: object, b: object) -> None:
    for field in ("accuracy", "baseline", "gain", "efficiency", "efficiency_bound"):
        np.testing.assert_array_equal(getattr(a.bootstrap, field), getattr(b.bootstrap, field))
    assert a.table().equals(b.table())


@pytest.fixture(scope="module")
def client() -> Client:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def test_policy_search_on_dask_equals_the_local_run(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)  # small data, but go distributed
    local = _policy(n_jobs=1)
    with joblib.parallel_config(backend="dask"), get_task_stream(client) as tasks:
        remote = _policy(n_jobs=None)
    assert len(tasks.data) >= 3  # 250 replicates in chunks of 100: three tasks ran on Dask
    _same_policy(local, remote)


def test_curve_bootstrap_on_dask_and_on_local_processes_equals_the_serial_run(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    x = np.random.default_rng(3).random((300, 5))
    serial = bootstrap_matrix(x, n_resamples=400, batch=64, rng=5, method="percentile")
    with joblib.parallel_config(backend="dask"), get_task_stream(client) as tasks:
        on_dask = bootstrap_matrix(x, n_resamples=400, batch=64, rng=5, method="percentile")
    assert len(tasks.data) == 7  # ceil(400 / 64) chunks
    on_loky = bootstrap_matrix(x, n_resamples=400, batch=64, rng=5, method="percentile",
                               n_jobs=2)
    for other in (on_dask, on_loky):
        np.testing.assert_array_equal(serial.bootstrap_distribution,
                                      other.bootstrap_distribution)
        np.testing.assert_array_equal(serial.confidence_interval.low,
                                      other.confidence_interval.low)


def test_small_work_runs_serially_and_says_so() -> None:
    x = np.random.default_rng(3).random((30, 2))
    with pytest.warns(SerialFallbackWarning, match=r"n_jobs=2: ran in one process"):
        res = bootstrap_matrix(x, n_resamples=100, batch=10, rng=1, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = bootstrap_matrix(x, n_resamples=100, batch=10, rng=1)  # n_jobs=None: serial
    np.testing.assert_array_equal(res.bootstrap_distribution, same.bootstrap_distribution)


def test_n_jobs_is_validated() -> None:
    with pytest.raises(ValueError, match="`n_jobs` must be a non-zero integer or None"):
        bootstrap_matrix(np.ones((4, 1)), n_resamples=10, n_jobs=0)
