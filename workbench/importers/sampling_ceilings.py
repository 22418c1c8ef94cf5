"""sampling-ceilings per-problem success counts -> counts-only runs (`problem_counts`).

Source: bay-yearick-lab/sampling-ceilings, paper/data/ (CC BY 4.0, attribution in Run.meta).
These sources publish no sample texts, only how many of n samples were correct per problem, so
every run here is a `problem_counts` run (n, c): enough for pass@k, coverage curves, difficulty
bins and the beta-binomial scaling laws, not for voting or verifiers.

* ``rhow_counts.json`` (MATH-500, Llama-3.2-1B-Instruct, graded with math-verify from the public
  HuggingFaceH4 best-of-N release): `counts[i][s]` correct out of `ns[i][s]` (256) in session s
  of problem `uids[i]`. -> ``sampling-ceilings/math500-llama-3.2-1b`` with n, c summed over the
  5 sessions (n = 1280), and one run per session ``...-s0`` .. ``...-s4`` (n = 256). Problem ids
  are the uids ("test/algebra/1004.json"). When ``rhow_results.json`` is among the inputs its
  published summary (`s`, `rho_w`, the within-session curves, `theta_bar`, ...) is kept in the
  combined run's ``meta["published"]``; `single_sample_acc` (0.2612) is kept as published: it
  is NOT the mean c/n of these counts (0.23863 = the file's `s`), see the tests.
* ``empirical_results.json`` (Large Language Monkeys logs, 10,000 samples per problem):
  one record per config -> ``sampling-ceilings/llmonkeys-{gsm8k,math}-llama-3-{8b,70b}`` with
  problem ids "0".."126" (GSM8K) / "0".."127" (MATH) in `theta` order, n = 10000 and
  c = round(theta * 10000); theta * 10000 must be within 1e-6 of an integer (it is, to 1e-12),
  else the record is refused. The published curves (`cov_grid`/`coverage`, `sel_grid`/
  `selection`) and summary numbers go to ``meta["published"]``: they are the reference other
  tests check the engine against (`coverage` is the unbiased pass@k of these counts).

>>> from workbench.sources import get_dataset
>>> runs = {b.run.run_id: b for b in read(get_dataset("sampling-ceilings").files())}
>>> b = runs["sampling-ceilings/math500-llama-3.2-1b"]
>>> len(b.problem_counts), b.problem_counts[0].n
(500, 1280)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.importers._common import (
    check_type,
    field,
    list_of,
    provenance,
    read_json,
    source_url,
)
from workbench.store.records import Problem, ProblemCount, Run, RunBundle

SOURCE = "sampling-ceilings"
COUNTS_FILE = "rhow_counts.json"
RESULTS_FILE = "rhow_results.json"
EMPIRICAL_FILE = "empirical_results.json"

MATH500_RUN = "sampling-ceilings/math500-llama-3.2-1b"
MATH500_MODEL = "Llama-3.2-1B-Instruct"
POLICY_PARAMS = {
    "llama-3.2-1b": 1.24e9,
    "llama-3-8b": 8.0e9,
    "llama-3-70b": 70.6e9,
}
"""Parameter counts (RUN_IDS.md) by the lower-case model name without "-instruct"."""

LLMONKEYS_DATASETS = {"gsm8k": "gsm8k-llmonkeys", "math": "math-llmonkeys"}
INTEGER_TOLERANCE = 1e-6
"""How far theta * n may be from an integer before a record is refused."""


def read(files: Mapping[str, Path]) -> list[RunBundle]:
    """Counts runs from the sampling-ceilings files among `files` (dataset-relative names).

    `rhow_counts.json` gives the MATH-500 runs (combined first, then sessions s0..s4);
    `empirical_results.json` gives the four Large Language Monkeys runs; `rhow_results.json`
    is optional (published summary). Other files are ignored; at least one of the two data
    files must be present. See the module docstring for the mapping.
    """
    by_name = {Path(key).name: (key, Path(path)) for key, path in files.items()}
    if COUNTS_FILE not in by_name and EMPIRICAL_FILE not in by_name:
        raise InputError(
            ", ".join(sorted(files)) or None, None, None,
            f"neither {COUNTS_FILE} nor {EMPIRICAL_FILE} is present",
        )
    bundles: list[RunBundle] = []
    if COUNTS_FILE in by_name:
        published = None
        if RESULTS_FILE in by_name:
            key, path = by_name[RESULTS_FILE]
            published = read_json(path, key)
            check_type(published, dict, key, None, "<top level>")
        key, path = by_name[COUNTS_FILE]
        bundles.extend(_math500_runs(read_json(path, key), key, published))
    if EMPIRICAL_FILE in by_name:
        key, path = by_name[EMPIRICAL_FILE]
        bundles.extend(_llmonkeys_runs(read_json(path, key), key))
    return [b.validate() for b in bundles]


def _model_key(model: str) -> str:
    """"Llama-3-8B-Instruct" -> "llama-3-8b" (the run-id and parameter-table spelling)."""
    return re.sub(r"-instruct$", "", model.strip().lower())


def _math500_runs(
    data: Any, file: str, published: dict[str, Any] | None
) -> list[RunBundle]:
    check_type(data, dict, file, None, "<top level>")
    uids = list_of(field(data, "uids", list, file, None), str, file, None, "uids")
    counts = field(data, "counts", list, file, None)
    ns = field(data, "ns", list, file, None)
    seeds = list_of(field(data, "seeds", list, file, None), int, file, None, "seeds")
    m = field(data, "m_per_session", int, file, None)
    if not uids:
        raise InputError(file, None, "uids", "is empty")
    if len(counts) != len(uids) or len(ns) != len(uids):
        raise InputError(file, None, "counts",
                         f"{len(counts)} count rows and {len(ns)} n rows for {len(uids)} uids")
    sessions = len(seeds)
    rows: list[tuple[list[int], list[int]]] = []
    for i, (c_row, n_row) in enumerate(zip(counts, ns, strict=True)):
        line = i + 1  # errors name the problem's 1-based index in the arrays
        c_vals = list_of(c_row, int, file, line, f"counts[{i}]")
        n_vals = list_of(n_row, int, file, line, f"ns[{i}]")
        if len(c_vals) != sessions or len(n_vals) != sessions:
            raise InputError(file, line, f"counts[{i}]",
                             f"expected {sessions} sessions (one per seed), got {len(c_vals)} "
                             f"counts and {len(n_vals)} ns")
        for s, (c, n) in enumerate(zip(c_vals, n_vals, strict=True)):
            if n <= 0 or not 0 <= c <= n:
                raise InputError(file, line, f"counts[{i}][{s}]",
                                 f"need 0 <= c <= n and n > 0, got c={c}, n={n}")
        rows.append((c_vals, n_vals))
    seen: set[str] = set()
    for i, uid in enumerate(uids):
        if uid in seen:
            raise InputError(file, i + 1, f"uids[{i}]", f"duplicate problem id {uid!r}")
        seen.add(uid)

    upstream_dataset = field(data, "dataset", str, file, None, optional=True)
    summary = dict(published or {})
    sampler: dict[str, Any] = {"sessions": sessions, "m_per_session": m, "seeds": seeds}
    for key in ("temperature", "top_p"):
        if isinstance(summary.get(key), (int, float)):
            sampler[key] = summary[key]
    summary["single_sample_acc"] = data.get("single_sample_acc", summary.get("single_sample_acc"))

    def bundle(run_id: str, pick: Any, extra_sampler: dict[str, Any],
               meta_extra: dict[str, Any]) -> RunBundle:
        problems = [Problem("math500", uid, origin=(file, i + 1)) for i, uid in enumerate(uids)]
        pcs = []
        for i, (uid, (c_vals, n_vals)) in enumerate(zip(uids, rows, strict=True)):
            n, c = pick(n_vals), pick(c_vals)
            pcs.append(ProblemCount(uid, n=n, c=c, origin=(file, i + 1)))
        run = Run(
            run_id=run_id, dataset="math500", policy_model=MATH500_MODEL,
            source=source_url(SOURCE, file),
            policy_params=POLICY_PARAMS[_model_key(MATH500_MODEL)],
            sampler={**sampler, **extra_sampler},
            meta={**provenance(SOURCE, file), "upstream_dataset": upstream_dataset,
                  "grader": "math-verify", **meta_extra},
        )
        return RunBundle(run=run, problems=problems, problem_counts=pcs)

    out = [bundle(MATH500_RUN, sum, {}, {"published": summary})]
    for s, seed in enumerate(seeds):
        out.append(bundle(f"{MATH500_RUN}-s{s}", lambda v, s=s: v[s],
                          {"session": s, "seed": seed}, {}))
    return out


def _llmonkeys_runs(data: Any, file: str) -> list[RunBundle]:
    check_type(data, list, file, None, "<top level>")
    if not data:
        raise InputError(file, None, None, "holds no records")
    out = []
    seen: set[str] = set()
    for line, rec in enumerate(data, start=1):
        config = field(rec, "config", str, file, line)
        bench, sep, model = config.partition("_")
        dataset = LLMONKEYS_DATASETS.get(bench.lower())
        if not sep or dataset is None or not model:
            raise InputError(file, line, "config",
                             f"expected '<GSM8K|MATH>_<model>', got {config!r:.60}")
        model_key = _model_key(model)
        run_id = f"{SOURCE}/llmonkeys-{bench.lower()}-{model_key}"
        if run_id in seen:
            raise InputError(file, line, "config", f"repeats {config!r}")
        seen.add(run_id)
        n = field(rec, "samples_per_problem", int, file, line)
        if n <= 0:
            raise InputError(file, line, "samples_per_problem", f"must be > 0, got {n}")
        thetas = list_of(field(rec, "theta", list, file, line), float, file, line, "theta")
        n_problems = field(rec, "n_problems", int, file, line)
        if n_problems != len(thetas):
            raise InputError(file, line, "theta",
                             f"has {len(thetas)} entries, `n_problems` says {n_problems}")
        problems, pcs = [], []
        for i, theta in enumerate(thetas):
            exact = theta * n
            c = round(exact)
            if not 0.0 <= theta <= 1.0 or not math.isclose(exact, c, rel_tol=0.0,
                                                           abs_tol=INTEGER_TOLERANCE):
                raise InputError(file, line, f"theta[{i}]",
                                 f"theta * {n} = {exact!r} is not a count (not within "
                                 f"{INTEGER_TOLERANCE} of an integer in [0, {n}])")
            pid = str(i)
            problems.append(Problem(dataset, pid, origin=(file, line)))
            pcs.append(ProblemCount(pid, n=n, c=c, origin=(file, line)))
        published = {k: v for k, v in rec.items() if k != "theta"}
        run = Run(
            run_id=run_id, dataset=dataset, policy_model=model,
            source=source_url(SOURCE, file), policy_params=POLICY_PARAMS.get(model_key),
            sampler={"n_samples": n},
            meta={**provenance(SOURCE, file),
                  "upstream_dataset": "Large Language Monkeys (Brown et al. 2024) sample logs",
                  "problem_ids": "index in the published `theta` list",
                  "published": published},
        )
        out.append(RunBundle(run=run, problems=problems, problem_counts=pcs))
    return out


__all__ = ["COUNTS_FILE", "EMPIRICAL_FILE", "MATH500_RUN", "RESULTS_FILE", "read"]
