"""The README's result tables for this run, recomputed from the store (nothing typed by hand).

    workbench ingest cached_runs/math500-coder/qwen2.5-coder-0.5b
    workbench ingest cached_runs/math500-coder/qwen2.5-coder-1.5b
    python cached_runs/math500-coder/tables.py [--store FILE] [--n-boot 1000]

Prints Markdown: each verifier's AUC (pooled and within-problem, `workbench verifiers`), the
strategies at N = 1, 4, 16, 64 (`workbench simulate`), and best-of-N@N minus majority@N on the
same problems (paired bootstrap over problems). Exact estimators wherever they exist; weighted
best-of-N between the exact ends is Monte Carlo (1,000 draws per problem).
"""

from __future__ import annotations

import argparse
import warnings

from workbench.analysis.verifier_quality import verifier_quality
from workbench.engine import bootstrap_curve, load_run_data, paired_difference, simulate
from workbench.store import RunStore

RUNS = {"math500-coder/qwen2.5-coder-0.5b": [1, 4, 16, 64],
        "math500-coder/qwen2.5-coder-1.5b": [1, 4, 16]}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def pp(x: float) -> str:
    """Percentage points, signed; no "-0.0" for a difference that rounds to zero."""
    v = round(100 * x, 1)
    return f"{v:+.1f}" if v else "0.0"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default=None)
    ap.add_argument("--n-boot", type=int, default=1000)
    a = ap.parse_args()
    store = RunStore(a.store) if a.store else RunStore()
    warnings.simplefilter("ignore")
    print("| run | verifier | AUC [95% CI] | within-problem AUC [95% CI] |")
    print("|---|---|---|---|")
    for run_id in RUNS:
        for v in sorted(store.verifiers(run_id)):
            pool = load_run_data(store, run_id, verifier=v).pool
            if pool is None or pool.score is None:
                why = "" if pool is None else pool.missing.get("score", "")
                print(f"| {run_id.rsplit('/', 1)[1]} | {v} | not on every sample: {why} | |")
                continue
            q = verifier_quality(pool, n_boot=a.n_boot)
            print(f"| {run_id.rsplit('/', 1)[1]} | {v}{' (last step)' if q.agg else ''} | "
                  f"{q.auc:.3f} [{q.auc_low:.3f}, {q.auc_high:.3f}] | {q.within_auc:.3f} "
                  f"[{q.within_low:.3f}, {q.within_high:.3f}] |")
    for run_id, budgets in RUNS.items():
        print(f"\n{run_id} (accuracy [95% CI], percentile bootstrap over problems)\n")
        print("| strategy | " + " | ".join(f"N = {n}" for n in budgets) + " |")
        print("|---|" + "---|" * len(budgets))
        plain = load_run_data(store, run_id)
        majority = None
        rows = [("pass@N (oracle)", plain, "pass_at_k"), ("majority@N", plain, "majority")]
        for v in sorted(store.verifiers(run_id)):
            data = load_run_data(store, run_id, verifier=v)
            if data.pool is None or data.pool.score is None:
                continue
            rows += [(f"best-of-N ({v})", data, "best_of_n"),
                     (f"weighted best-of-N ({v})", data, "weighted_bon")]
        diffs = []
        for label, data, strat in rows:
            curve = simulate(data, strat, budgets, rng=0)
            boot = bootstrap_curve(curve, n_resamples=a.n_boot, method="percentile", rng=0)
            ci = boot.confidence_interval
            print(f"| {label} | " + " | ".join(
                f"{pct(curve.accuracy[j])} [{pct(ci.low[j])}, {pct(ci.high[j])}]"
                for j in range(len(budgets))) + " |")
            if strat == "majority":
                majority = curve
            elif strat in ("best_of_n", "weighted_bon") and majority is not None:
                d = paired_difference(curve, majority, n_resamples=a.n_boot,
                                      method="percentile", rng=0)
                diffs.append((label, d))
        print(f"\n{run_id}: strategy minus majority@N on the same problems (percentage points, "
              "paired bootstrap)\n")
        print("| strategy | " + " | ".join(f"N = {n}" for n in budgets) + " |")
        print("|---|" + "---|" * len(budgets))
        for label, d in diffs:
            ci = d.confidence_interval
            print(f"| {label} | " + " | ".join(
                f"{pp(d.estimate[j])} [{pp(ci.low[j])}, {pp(ci.high[j])}]"
                for j in range(len(budgets))) + " |")


if __name__ == "__main__":
    main()
