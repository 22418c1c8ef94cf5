"""The README's result tables for this run, recomputed from the store (nothing typed by hand).

    workbench ingest cached_runs/math500-coder/qwen2.5-coder-0.5b
    workbench ingest cached_runs/math500-coder/qwen2.5-coder-1.5b
    python cached_runs/math500-coder/tables.py [--store FILE] [--n-boot 1000]

Prints Markdown: each verifier's AUC (pooled and within-problem, `workbench verifiers`), the
strategies at N = 1, 4, 16, 64 (`workbench simulate`), and best-of-N@N minus majority@N on the
same problems (paired bootstrap over problems). Exact estimators wherever they exist; weighted
best-of-N between the exact ends is Monte Carlo (1,000 draws per problem).

With the revisions run ingested too (`workbench ingest cached_runs/math500-coder`), it also prints
step-level search replayed on the 0.5B run's tree bank (beam, lookahead, DVTS with M = 4 against
majority and best-of-N on the same problems at the same generation budget) and sequential
revisions against parallel sampling on the revision problems.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from workbench.analysis.verifier_quality import verifier_quality
from workbench.engine import bootstrap_curve, load_run_data, paired_difference, simulate
from workbench.store import RunStore

RUNS = {"math500-coder/qwen2.5-coder-0.5b": [1, 4, 16, 64],
        "math500-coder/qwen2.5-coder-1.5b": [1, 4, 16]}
TREE_RUN, TREE_VERIFIER = "math500-coder/qwen2.5-coder-0.5b", "probe"
SEARCHES = [  # (label, strategy, params, beam widths N): lookahead's budget is N(k + 1)
    ("beam", "beam", {"width": 4}, [4, 16]),
    ("lookahead (k = 1)", "lookahead", {"width": 4, "depth": 1}, [4, 16]),
    ("DVTS", "dvts", {"width": 4}, [4, 16]),
]
REVISIONS_RUN = "math500-coder/qwen2.5-coder-0.5b-revisions"


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
                ci_cell(curve.accuracy[j], ci.low[j], ci.high[j])
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
                ci_cell(d.estimate[j], ci.low[j], ci.high[j], pp)
                for j in range(len(budgets))) + " |")

    if TREE_RUN in store.run_ids():
        search_tables(store, a.n_boot)
    if REVISIONS_RUN in store.run_ids():
        revision_table(store, a.n_boot)


def ci_cell(x: float, low: float, high: float, fmt=pct) -> str:
    return f"{fmt(x)} [{fmt(low)}, {fmt(high)}]"


def _on(curve, ids):
    """The curve on the problems `ids` (in the curve's order)."""
    keep = np.isin(np.asarray(curve.problem_ids).astype(str), ids)
    return curve.subset(keep)


def search_tables(store: RunStore, n_boot: int) -> None:
    """Beam / lookahead / DVTS replayed on the tree bank vs majority and best-of-N at equal
    generation budgets, on the tree's problems (paired bootstrap over problems)."""
    data = load_run_data(store, TREE_RUN, verifier=TREE_VERIFIER)
    rows, ids = [], None
    for label, strat, params, widths in SEARCHES:
        per = 1 + params.get("depth", 0)
        curve = simulate(data, strat, [n * per for n in widths], rng=0, **params)
        ids = np.asarray(curve.problem_ids).astype(str)
        rows.append((label, widths, curve))
    pool = data.pool
    on_tree = np.isin(pool.problem_ids.astype(str), ids)
    mean_tokens = float(np.nanmean(np.nanmean(pool.output_tokens[on_tree], axis=1)))
    print(f"\n{TREE_RUN}: step-level search on its tree bank ({len(ids)} problems, "
          f"verifier {TREE_VERIFIER}, M = 4; N = beams kept x M; accuracy [95% CI])\n")
    print("| strategy | N | generations | tokens / question | accuracy | minus majority | "
          f"minus weighted best-of-N ({TREE_VERIFIER}) |")
    print("|---|---|---|---|---|---|---|")
    budgets = sorted({int(b) for _, _, c in rows for b in c.budgets})
    base = {name: _on(simulate(data, name, budgets, rng=0), ids)
            for name in ("majority", "best_of_n", "weighted_bon")}
    for name, curve in (("majority", base["majority"]),
                        (f"best-of-N ({TREE_VERIFIER})", base["best_of_n"]),
                        (f"weighted best-of-N ({TREE_VERIFIER})", base["weighted_bon"])):
        ci = bootstrap_curve(curve, n_resamples=n_boot, method="percentile",
                             rng=0).confidence_interval
        for j, b in enumerate(budgets):
            print(f"| {name} | {b} | {b} | {b * mean_tokens:,.0f} | "
                  f"{ci_cell(curve.accuracy[j], ci.low[j], ci.high[j])} | | |")
    for label, widths, curve in rows:
        ci = bootstrap_curve(curve, n_resamples=n_boot, method="percentile",
                             rng=0).confidence_interval
        cells = []
        for name in ("majority", "weighted_bon"):
            ref = base[name].at_budgets([budgets.index(int(b)) for b in curve.budgets])
            cells.append(paired_difference(curve, ref, n_resamples=n_boot,
                                           method="percentile", rng=0))
        for j, n in enumerate(widths):
            diffs = " | ".join(ci_cell(d.estimate[j], d.confidence_interval.low[j],
                                       d.confidence_interval.high[j], pp) for d in cells)
            print(f"| {label} | {n} | {int(curve.budgets[j])} | {curve.cost.tokens[j]:,.0f} | "
                  f"{ci_cell(curve.accuracy[j], ci.low[j], ci.high[j])} | {diffs} |")


def revision_table(store: RunStore, n_boot: int) -> None:
    """Sequential revisions (chains of 4 attempts, the model seeing its previous ones) vs the
    base run's independent samples of the same problems, at equal generation budgets, with the
    same selection rule (paired bootstrap over problems)."""
    chains = load_run_data(store, REVISIONS_RUN, verifier=TREE_VERIFIER)
    base = load_run_data(store, TREE_RUN, verifier=TREE_VERIFIER)
    budgets = [4, 8, 16]
    rows = {}
    for select, parallel in (("majority", "majority"), ("verifier", "weighted_bon")):
        seq = simulate(chains, "revisions", budgets, rng=0, ratio=4, select=select)
        ids = np.asarray(seq.problem_ids).astype(str)
        rows[select] = (seq, _on(simulate(base, parallel, budgets, rng=0), ids))
    print(f"\n{REVISIONS_RUN}: sequential revisions (N/4 chains of 4 attempts) vs parallel "
          f"samples (N independent samples of {TREE_RUN}) on the {len(ids)} revision problems "
          "(accuracy [95% CI]; difference in percentage points, paired bootstrap)\n")
    print("| selection | strategy | " + " | ".join(f"N = {n}" for n in budgets) + " |")
    print("|---|---|" + "---|" * len(budgets))
    for select, (seq, par) in rows.items():
        rule = "majority" if select == "majority" else f"weighted best-of-N ({TREE_VERIFIER})"
        for label, curve in (("parallel", par), ("sequential (ratio 4)", seq)):
            ci = bootstrap_curve(curve, n_resamples=n_boot, method="percentile",
                                 rng=0).confidence_interval
            print(f"| {rule} | {label} | " + " | ".join(
                ci_cell(curve.accuracy[j], ci.low[j], ci.high[j])
                for j in range(len(budgets))) + " |")
        d = paired_difference(seq, par, n_resamples=n_boot, method="percentile", rng=0)
        ci = d.confidence_interval
        print(f"| {rule} | sequential minus parallel | " + " | ".join(
            ci_cell(d.estimate[j], ci.low[j], ci.high[j], pp)
            for j in range(len(budgets))) + " |")


if __name__ == "__main__":
    main()
