"""Speed-up of `n_jobs` for the bootstrap and the policy search, and where it does not pay.

    python benchmarks/parallel.py              # small and large sizes
    python benchmarks/parallel.py --jobs 4     # on a machine with more cores

On SYNTHETIC per-problem curves (random accuracies, labelled as such) it times, serially and
with `n_jobs` joblib processes, in the same run:

1. the bootstrap over problems (`bootstrap_matrix`, percentile) of a (P x B) matrix;
2. the cross-fitted policy search with its bootstrap (`compute_optimal_policy`: strategies x
   budgets x bins x folds x replicates);

each at a small size (below `MIN_PARALLEL_WORK`, timed with the threshold lifted to show what
parallelism would cost there) and a large one, and checks that the results are identical.
Wall times are the fastest of `--repeats` runs; the machine's load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.analysis.policy import compute_optimal_policy  # noqa: E402
from workbench.engine import bootstrap_matrix, parallel  # noqa: E402
from workbench.engine.results import Cost, Curve  # noqa: E402


def best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    t, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def curves(p: int, strategies: int, budgets: int, seed: int) -> list[Curve]:
    gen = np.random.default_rng(seed)
    b = 2.0 ** np.arange(budgets)
    ids = np.array([f"p{i}" for i in range(p)])
    out = []
    for s in range(strategies):
        pp = np.sort(gen.random((p, budgets)), axis=1)
        out.append(Curve(f"s{s}", {}, "synthetic", ids, b, pp, np.zeros_like(pp),
                         Cost(b, 100 * b, 2e11 * b, 1e-3 * b), True))
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"parallel benchmark: SYNTHETIC curves; n_jobs={args.jobs}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; threshold "
          f"MIN_PARALLEL_WORK = {parallel.MIN_PARALLEL_WORK:.2g} cells")
    threshold = parallel.MIN_PARALLEL_WORK
    parallel.MIN_PARALLEL_WORK = 0  # time both paths at every size
    out: dict[str, Any] = {}
    gen = np.random.default_rng(args.seed)
    cases: list[tuple[str, Callable[[int], Any], float]] = []
    for p, b, reps in ((500, 16, 2000), (20_000, 64, 4000)):
        x = gen.random((p, b))
        cases.append((
            f"bootstrap {p:,} problems x {b} budgets, {reps:,} replicates",
            lambda j, x=x, reps=reps: bootstrap_matrix(
                x, n_resamples=reps, method="percentile", rng=1, n_jobs=j).bootstrap_distribution,
            float(reps) * p * (b + 4),
        ))
    for p, reps in ((300, 200), (6_000, 1000)):
        cs = curves(p, 6, 8, args.seed)
        bins = [f"L{i % 5}" for i in range(p)]
        cases.append((
            f"policy search {p:,} problems x 6 strategies x 8 budgets x 5 bins x 2 folds x 20 "
            f"splits, {reps:,} replicates",
            lambda j, cs=cs, bins=bins, reps=reps: compute_optimal_policy(
                cs, bins, n_resamples=reps, rng=1, n_jobs=j).bootstrap.accuracy,
            float(reps) * 20 * p * 6 * 8 * 2,
        ))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, fn, work in cases:
            t1, r1 = best(lambda fn=fn: fn(1), args.repeats)
            tj, rj = best(lambda fn=fn: fn(args.jobs), args.repeats)
            same = np.array_equal(r1, rj, equal_nan=True)
            diff = float(np.nanmax(np.abs(np.asarray(r1) - np.asarray(rj)))) if not same else 0.0
            mode = "parallel" if work >= threshold else "runs serially by default"
            out[label] = {"serial_s": t1, "parallel_s": tj, "speedup": t1 / tj, "work": work,
                          "identical": same, "max_abs_diff": diff}
            print(f"\n{label}\n   work {work:.2g} cells ({mode}); serial {t1:7.2f} s, "
                  f"n_jobs={args.jobs} {tj:7.2f} s: speed-up {t1 / tj:4.2f}x; results "
                  + ("identical" if same else f"equal to {diff:.1e} (BLAS summation order: "
                     "joblib's workers run the BLAS on one thread each)"))
    return out


if __name__ == "__main__":
    main()
