"""Every public result type has `.to_frame()` returning a DataFrame with its documented columns.

The result types are FOUND, not listed: every frozen dataclass (and every class with a
`to_frame`) defined in workbench.engine, workbench.analysis, workbench.store and workbench.twin.
A type that is an input, a record or a fitted model's component rather than a result must be
named in `NOT_RESULTS` with the reason, so a new result type without `.to_frame()` fails here.
Instances come from one analysis of a REAL run (Qwen2.5-Math-7B + RM on 100 MATH problems,
`analyse_run` as reports and notebooks call it) and the public functions that make the rest;
each frame's columns must equal, in order, the names the method's docstring lists under
``Columns:``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import workbench.analysis
import workbench.engine
import workbench.store
import workbench.twin
from tests.report_helpers import real_store_path
from tests.store_helpers import small_bundle
from workbench.frames import documented_columns

NOT_RESULTS = {
    # inputs the engine and the analysis consume
    "RunData": "input: a run's data as the engine reads it",
    "SamplePool": "input: a pool of samples",
    "CountsPool": "input: per-problem counts",
    "CodedPool": "input: a run's pool integer-coded by DuckDB, read in batches",
    "CostModel": "input: parameter counts and prices",
    "TreeData": "input: cached search trees",
    "ProblemTree": "input: one problem's cached tree",
    "ChainData": "input: revision chains",
    "ProblemChains": "input: one problem's chains",
    "Slots": "engine internal: chain slots",
    "Draws": "engine internal: replay draws",
    "Rollout": "engine internal: one replay",
    "ProblemDraws": "engine internal: one problem's replay draws",
    "BfsReplay": "engine internal: BFS replay state",
    "CountsData": "input of a law fit",
    "CurveData": "input of a law fit",
    "Candidate": "input: a strategy configuration to compare",
    "Settings": "input: analysis settings",
    # columnar ingest inputs (store/columnar.py)
    "ColumnarRun": "input: a run to ingest, its tables as Parquet files or Arrow tables",
    "TableSource": "input: one table of a run to ingest",
    # the canonical records of the data model (rows of the store's tables)
    "Problem": "record", "Run": "record", "Sample": "record", "StepScore": "record",
    "OutcomeScore": "record", "TreeNode": "record", "ProblemCount": "record",
    "RunBundle": "records of one run, before ingest",
    # the twin's fitted components: its results are TwinPrediction and Validation
    "Twin": "fitted model", "TwinParams": "fitted model", "PitmanYor": "fitted model",
    "BetaPrior": "fitted model", "ScoreTransform": "fitted model", "ScoreModel": "fitted model",
    "TokenModel": "fitted model",
}


def _public_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for pkg in (workbench.engine, workbench.analysis, workbench.store, workbench.twin):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, cls in vars(module).items():
                if (not inspect.isclass(cls) or cls.__module__ != module.__name__
                        or name.startswith("_")):
                    continue
                if dataclasses.is_dataclass(cls) or hasattr(cls, "to_frame"):
                    found[f"{module.__name__}.{name}"] = cls
    return found


CLASSES = _public_classes()
RESULT_TYPES = {key: cls for key, cls in CLASSES.items() if cls.__name__ not in NOT_RESULTS}


def test_every_result_type_has_to_frame() -> None:
    missing = [key for key, cls in RESULT_TYPES.items() if not callable(
        getattr(cls, "to_frame", None))]
    assert not missing, f"result types without .to_frame() (or add to NOT_RESULTS): {missing}"
    # the enumeration really finds the types the issue names
    names = {cls.__name__ for cls in RESULT_TYPES.values()}
    assert {"Curve", "BootstrapResult", "QueryResult", "Bins", "PolicyResult", "Plan",
            "LawFit", "ExchangeResult", "Verdict", "Law", "RunAnalysis"} <= names


def _walk(obj: Any, seen: set[int], depth: int = 0) -> Iterator[Any]:
    if id(obj) in seen or depth > 8 or isinstance(obj, str | bytes | np.ndarray | pd.DataFrame):
        return
    seen.add(id(obj))
    yield obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        children: list[Any] = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    elif isinstance(obj, list | tuple):
        children = list(obj)
    elif isinstance(obj, dict):
        children = list(obj.values())
    else:
        children = []
    for child in children:
        yield from _walk(child, seen, depth + 1)


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> dict[type, Any]:
    from workbench.analysis.demo import DemoResult, Game24
    from workbench.analysis.efficiency import efficiency_ratio
    from workbench.analysis.exchange import exchange_runs
    from workbench.analysis.fits import fit_run
    from workbench.analysis.pipeline import Example, analyse_run
    from workbench.analysis.planner import allocate
    from workbench.analysis.settings import Settings
    from workbench.engine import load_run_data
    from workbench.engine.montecarlo import vote_curve
    from workbench.store import RunStore

    roots: list[Any] = []
    with RunStore(real_store_path(), read_only=True) as store:
        analysis = analyse_run(store, "qwen25-math-rm/math-cot-100", Settings.quick())
        roots += [analysis, analysis.headline]
        from workbench.analysis.verifier_quality import verifier_quality

        roots.append(verifier_quality(load_run_data(store, "qwen25-math-rm/math-cot-100").pool,
                                      n_boot=20))
        counts = load_run_data(store, "sampling-ceilings/llmonkeys-math-llama-3-8b")
        # every law fits on this run (a failed fit is a LawFit without a model)
        fitted = load_run_data(store, "sampling-ceilings/math500-llama-3.2-1b")
        roots.append(fit_run(fitted, extrapolate=(2000,)))
        large = load_run_data(store, "sampling-ceilings/llmonkeys-math-llama-3-70b")
        roots.append(exchange_runs(counts, large, n_boot=100, rng=0))
        roots.append(store.query("SELECT run_id, dataset FROM runs ORDER BY run_id"))
        roots.append(store.runs())
    lc = analysis.curves[0]
    roots.append(DemoResult(
        settings=analysis.settings, store_path="x", created=(), main=analysis, prm=analysis,
        game24=Game24(curves=(lc,), published=(("CoT", 0.04, 0.05, "pass@1"),), notes=()),
        revisions=analysis, revisions_single=lc, laws=analysis.laws, exchange=(),
        exchange_notes=(), own=(), own_notes=(), provenance=(analysis.provenance,),
        seconds=1.0))
    roots.append(Example("p1", "1+1?", "2", "2", True, "so 2"))
    roots.append(vote_curve(np.array([[0, 0, 1]]), np.array([[1.0, 0.0]]), np.array([3]),
                            [1, 2], draws=50, rng=0))
    roots.append(efficiency_ratio(np.array([1.0, 2.0]), np.array([0.2, 0.4]),
                                  np.array([0.3, 0.5])))
    roots.append(allocate([np.array([1.0, 2.0])], [np.array([0.2, 0.4])], np.array([1.0]),
                          budget=1.5))
    from workbench.engine import RunData
    from workbench.engine.synthetic import synthetic_pool  # synthetic: known truth
    from workbench.twin.model import fit_twin
    from workbench.twin.predict import continue_curve, predict
    from workbench.twin.validate import validate

    twin = fit_twin(synthetic_pool(20, 8, rng=0), n_boot=5, rng=0)
    roots.append(predict(twin, ["pass_at_k"], [1, 16], rng=0))
    roots.append(continue_curve(RunData.from_pool(synthetic_pool(20, 4, rng=0)), "best_of_n",
                                [1, 2, 4, 8], n_boot=4, n_resamples=100, rng=0))
    roots.append(validate(synthetic_pool(30, 16, rng=0), fit_size=4, n_splits=2, n_draws=8,
                          rng=0))
    with RunStore(tmp_path_factory.mktemp("frames") / "s.duckdb") as store:
        roots.append(store.ingest(small_bundle()))
    found: dict[type, Any] = {}
    for obj in _walk(roots, set()):
        for cls in type(obj).__mro__:
            found.setdefault(cls, obj)
    return found


@pytest.mark.parametrize("key", sorted(k for k, c in RESULT_TYPES.items()
                                       if hasattr(c, "to_frame")))
def test_to_frame_has_the_documented_columns(key: str, instances: dict[type, Any]) -> None:
    cls = RESULT_TYPES[key]
    assert cls in instances, f"no {cls.__name__} was made: add one to the `instances` fixture"
    obj = instances[cls]
    frame = obj.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) > 0
    if cls.__name__ == "QueryResult":  # its columns are the query's
        assert frame.columns.tolist() == ["run_id", "dataset"]
        assert frame.equals(obj.to_pandas())  # the older name still works
        return
    documented = documented_columns(type(obj).to_frame)
    assert documented, f"{cls.__name__}.to_frame lists no columns under 'Columns:'"
    assert frame.columns.tolist() == documented


def test_old_names_still_work(instances: dict[type, Any]) -> None:
    from workbench.analysis.planner import Plan
    from workbench.analysis.policy import PolicyResult

    policy = instances[PolicyResult]
    assert policy.table().equals(policy.to_frame())
    plan = instances[Plan]
    assert plan.table().equals(plan.to_frame())


def test_frames_hold_the_results_numbers(instances: dict[type, Any]) -> None:
    """The frames are views of the results, not recomputations."""
    from workbench.analysis.verdict import Optimization
    from workbench.engine import BootstrapResult, Curve

    curve = instances[Curve]
    frame = curve.to_frame()
    np.testing.assert_array_equal(frame["accuracy"], curve.per_problem.mean(axis=0))
    np.testing.assert_array_equal(frame["budget"], curve.budgets)
    long = curve.per_problem_frame()
    assert len(long) == curve.per_problem.size
    np.testing.assert_allclose(long.groupby("budget", sort=True)["p"].mean(), curve.accuracy)
    from workbench.analysis.candidates import CandidateCurves

    cands = instances[CandidateCurves]
    stacked = cands.curves_frame()
    assert stacked.columns.tolist() == documented_columns(CandidateCurves.curves_frame)
    assert len(stacked) == sum(c.budgets.size for c in cands.curves)
    boot = instances[BootstrapResult]
    bf = boot.to_frame()
    np.testing.assert_array_equal(bf["ci_low"], boot.confidence_interval.low)
    opt = instances[Optimization]
    head = opt.headline()
    row = opt.to_frame().query("bin == 'all' and budget == @head.budget").iloc[0]
    assert (row["accuracy"], row["ci_low"], row["ci_high"]) == (head.accuracy, *head.ci)
