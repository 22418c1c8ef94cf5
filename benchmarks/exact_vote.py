"""Exact voting on real data: exact majority@N and weighted best-of-N against the Monte-Carlo
estimator they replace, on Qwen2.5-Math (qwen25-math-rm/math-cot-100: 100 MATH problems x 8
samples scored by Qwen2.5-Math-RM-72B), every budget N = 1..8.

    python benchmarks/exact_vote.py [--draws 1000] [--repeats 20] [--store PATH]

Needs the run in the store (`workbench ingest --defaults`). Prints, per strategy, the exact
curve, the Monte-Carlo curve (`estimator="montecarlo"`, `--draws` per problem and budget) with
its standard error, their difference in standard errors, and the wall time of each (exact:
mean of `--repeats` runs; the machine is shared, so read the times as rough).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.engine import load_run_data, simulate  # noqa: E402
from workbench.store import RunStore  # noqa: E402

RUN = "qwen25-math-rm/math-cot-100"
CONFIGS = (("majority", {}), ("weighted_bon", {}), ("weighted_bon", {"transform": "sigmoid"}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--store", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # the raw signed sums warn; that row shows why
    ns = list(range(1, 9))
    with RunStore(args.store, read_only=True) as store:
        data = load_run_data(store, RUN)
    print(f"{RUN}: {data.pool.n_problems} problems x {data.pool.width} samples, N = 1..8")
    for name, kw in CONFIGS:
        t0 = time.perf_counter()
        for _ in range(args.repeats):
            ex = simulate(data, name, ns, **kw)
        t_ex = (time.perf_counter() - t0) / args.repeats
        t0 = time.perf_counter()
        mc = simulate(data, name, ns, rng=0, draws=args.draws, estimator="montecarlo", **kw)
        t_mc = time.perf_counter() - t0
        print(f"\n{ex.label}: {sorted(set(ex.meta['estimators']))}, exact {1000 * t_ex:.1f} ms"
              f" (mean of {args.repeats}); Monte Carlo ({args.draws} draws) {1000 * t_mc:.1f} ms")
        print("  N   exact %  Monte Carlo %  MC - exact (pp)  MC SE (pp)  |diff| / SE")
        for i, n in enumerate(ns):
            d, se = mc.accuracy[i] - ex.accuracy[i], mc.accuracy_se[i]
            ratio = f"{abs(d) / se:11.2f}" if se > 0 else "  (MC exact)"
            print(f"  {n}  {100 * ex.accuracy[i]:8.4f}  {100 * mc.accuracy[i]:13.4f}"
                  f"  {100 * d:+15.4f}  {100 * se:10.4f}  {ratio}")


if __name__ == "__main__":
    main()
