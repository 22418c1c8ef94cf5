"""Benchmark of the resampling engine against the baselines research code really uses.

    python benchmarks/engine.py            # the full benchmark (a few minutes)
    python benchmarks/engine.py --quick    # small sizes, a smoke test

On a SYNTHETIC pool (500 problems x 2048 samples, `workbench.engine.synthetic`), times

1. exact pass@k and best-of-N curves at EVERY budget N = 1..2048;
2. Monte-Carlo majority and weighted best-of-N at 12 budgets (1, 2, 4, ..., 2048);
3. a 2,000-replicate bootstrap (BCa) over problems of the best-of-N curve (all 2048 budgets);

and, in the same process, two baselines for each (each printed with what it is):

* HEADLINE, the fair baseline (what careful research code does):
  1. the closed-form estimators in a per-problem loop: Chen et al.'s (2021) numerically stable
     pass@k `1 - prod(1 - k / arange(n - c + 1, n + 1))` per problem and k, and best-of-N's
     rank weights C(M-r, N-1)/C(M, N) (ties sharing their mass) per problem and N in numpy;
  2. per-problem numpy Monte Carlo: for each problem, all draws at once as random orderings
     of its pool (the N-subset is a prefix), votes by `bincount`, a random tie-break;
  3. a plain loop over replicates on the precomputed per-problem matrix.
* second line, the naive baseline (a Python loop drawing a random subset per problem, per
  budget and per replicate, `rng.choice` + `Counter`), kept for comparison with older results.

Baselines are timed on a subset of problems (and, for the every-N curves, of budgets) and
scaled linearly: their cost per problem does not depend on which problem it is. Ratios compare
the time each approach needs for EQUAL OR LOWER error: exact curves have none (the closed-form
baseline computes the same numbers, checked); for Monte Carlo a baseline is charged the draws it
needs to match the engine's standard error at every Monte-Carlo budget (from its own per-draw
variance); the bootstrap baselines use the same number of replicates.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.engine import bootstrap_matrix, exact, vote_curve  # noqa: E402
from workbench.engine.synthetic import synthetic_pool  # noqa: E402

TARGETS = {"exact": 0.2, "monte carlo": 5.0, "bootstrap": 1.0}


def best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Fastest wall time of `repeats` runs (the machine is shared: the minimum is the signal)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# -- the baseline: research code, a Python loop per problem, budget and replicate ---------------
def baseline_exact(pool: Any, problems: np.ndarray, budgets: np.ndarray, draws: int,
                   seed: int) -> dict[str, tuple[float, float]]:
    """pass@k and best-of-N by drawing subsets: {name: (seconds on the given problems and
    budgets, SE of the accuracy over the whole pool at `draws` draws)}."""
    rng = np.random.default_rng(seed)
    m = int(pool.sizes[0])
    out = {}
    for name in ("pass@k", "best-of-N"):
        var = []
        t0 = time.perf_counter()
        for n in budgets:
            for p in problems:
                scores, correct = pool.score[p], pool.correct[p]
                hits = []
                for _ in range(draws):
                    idx = rng.choice(m, int(n), replace=False)
                    if name == "pass@k":
                        hits.append(correct[idx].any())
                    else:
                        s = scores[idx]
                        hits.append(correct[rng.choice(idx[s == s.max()])])  # random tie-break
                var.append(np.var(hits, ddof=1))
        seconds = time.perf_counter() - t0
        out[name] = (seconds, float(np.sqrt(np.mean(var) / (pool.n_problems * draws))))
    return out


def baseline_votes(pool: Any, problems: np.ndarray, budgets: np.ndarray, draws: int,
                   seed: int, weighted: bool) -> tuple[float, np.ndarray]:
    """Majority / weighted best-of-N by drawing subsets: (seconds, (B,) mean per-draw variance
    over the problems)."""
    rng = np.random.default_rng(seed)
    tie = random.Random(seed)
    m = int(pool.sizes[0])
    var = np.zeros((len(problems), len(budgets)))
    t0 = time.perf_counter()
    for j, n in enumerate(budgets):
        for i, p in enumerate(problems):
            answers = pool.answer[p].tolist()
            scores = pool.score[p].tolist()
            ok = pool.class_correct[p].tolist()
            hits = []
            for _ in range(draws):
                idx = rng.choice(m, int(n), replace=False)
                if weighted:
                    tally: dict[int, float] = defaultdict(float)
                    for k in idx:
                        if answers[k] >= 0:
                            tally[answers[k]] += scores[k]
                else:
                    tally = Counter(answers[k] for k in idx if answers[k] >= 0)
                if not tally:
                    hits.append(0.0)
                    continue
                top = max(tally.values())
                hits.append(ok[tie.choice([a for a, v in tally.items() if v == top])])
            var[i, j] = np.var(hits, ddof=1)
    return time.perf_counter() - t0, var.mean(axis=0)


def chen_pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al. (2021), Codex paper, figure 3: the numerically stable unbiased estimator."""
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def fair_exact(pool: Any, problems: np.ndarray, budgets: np.ndarray) -> dict[str, Any]:
    """Closed forms in a per-problem loop: {name: (seconds, (problems, budgets) values)}."""
    from scipy.special import gammaln

    out: dict[str, Any] = {}
    counts = pool.to_counts()
    t0 = time.perf_counter()
    vals = np.array([[chen_pass_at_k(int(counts.n[p]), int(counts.c[p]), int(k))
                      for k in budgets] for p in problems])
    out["pass@k"] = (time.perf_counter() - t0, vals)
    t0 = time.perf_counter()
    vals = np.empty((len(problems), len(budgets)))
    for i, p in enumerate(problems):
        m = int(pool.sizes[p])
        order = np.argsort(-pool.score[p, :m], kind="stable")
        s, c = pool.score[p, :m][order], pool.correct[p, :m][order].astype(float)
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # tied scores share their mass
        group_mean = np.add.reduceat(c, starts) / np.diff(np.r_[starts, m])
        r = np.arange(1, m + 1)
        lg = gammaln(np.arange(m + 2) + 1.0)  # lg[k] = log k!, once per problem
        for j, n in enumerate(budgets):
            ok = m - r >= n - 1  # C(M - r, N - 1) = 0 elsewhere
            w = np.zeros(m)
            w[ok] = np.exp(lg[m - r[ok]] - lg[n - 1] - lg[m - r[ok] - n + 1]
                           - (lg[m] - lg[n] - lg[m - n]))
            vals[i, j] = float(np.add.reduceat(w, starts) @ group_mean)
    out["best-of-N"] = (time.perf_counter() - t0, vals)
    return out


def fair_votes(pool: Any, problems: np.ndarray, budgets: np.ndarray, draws: int, seed: int,
               weighted: bool) -> tuple[float, np.ndarray, np.ndarray]:
    """Per-problem numpy Monte Carlo: (seconds, (problems, B) means, (B,) mean per-draw
    variance). Each problem draws `draws` random orderings of its pool at once; the subset of
    size N is a prefix of each (nested subsets, shared across budgets, as careful research code
    does); votes per (draw, answer) by one `bincount`."""
    rng = np.random.default_rng(seed)
    means = np.empty((len(problems), len(budgets)))
    var = np.zeros((len(problems), len(budgets)))
    t0 = time.perf_counter()
    for i, p in enumerate(problems):
        m = int(pool.sizes[p])
        ans, ok = pool.answer[p, :m], pool.class_correct[p]
        k = max(int(ans.max()) + 1, 1)
        wts = pool.score[p, :m] if weighted else np.ones(m)
        order = np.argsort(rng.random((draws, m)), axis=1)  # random orderings, no replacement
        for j, n in enumerate(budgets):
            idx = order[:, :n]
            a = ans[idx]
            real = a >= 0
            flat = (np.arange(draws)[:, None] * k + np.where(real, a, 0))[real]
            tally = np.bincount(flat, weights=wts[idx][real], minlength=draws * k)
            tally = tally.reshape(draws, k)
            top = tally.max(axis=1, keepdims=True)
            # random tie-break among the top answers; no answer at all scores 0
            pick = np.argmax((tally == top) * rng.random((draws, k)), axis=1)
            hit = np.where(top[:, 0] > 0, ok[pick], 0.0)
            means[i, j], var[i, j] = hit.mean(), hit.var(ddof=1)
    return time.perf_counter() - t0, means, var.mean(axis=0)


def baseline_bootstrap(per_problem: np.ndarray, replicates: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    p = per_problem.shape[0]
    t0 = time.perf_counter()
    out = np.empty((replicates, per_problem.shape[1]))
    for r in range(replicates):
        out[r] = per_problem[rng.integers(0, p, size=p)].mean(axis=0)
    np.percentile(out, [2.5, 97.5], axis=0)
    return time.perf_counter() - t0


# -- the benchmark ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--draws", type=int, default=200,
                    help="Monte-Carlo draws per problem and budget (engine)")
    ap.add_argument("--resamples", type=int, default=2000, help="bootstrap replicates")
    ap.add_argument("--baseline-problems", type=int, default=8,
                    help="problems the baseline is timed on (then scaled)")
    ap.add_argument("--baseline-draws", type=int, default=100,
                    help="draws per (problem, budget) charged to the exact-curve baseline")
    ap.add_argument("--n-jobs", type=int, default=1, help="joblib workers for Monte Carlo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.problems, args.samples, args.draws, args.resamples = 40, 64, 50, 200
        args.baseline_problems, args.baseline_draws = 3, 10
    p, m = args.problems, args.samples
    out: dict[str, Any] = {}
    print(f"engine benchmark: SYNTHETIC pool {p} problems x {m} samples, seed {args.seed}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    pool = synthetic_pool(p, m, rng=args.seed)
    counts = pool.to_counts()
    pool.class_correct  # noqa: B018  (built once, outside the timings)
    sub = np.random.default_rng(args.seed).choice(p, min(args.baseline_problems, p),
                                                  replace=False)
    scale = p / len(sub)

    # 1. exact curves at every budget
    every = np.arange(1, m + 1)
    t_pass, pk = best_time(lambda: exact.pass_at_k(counts.n, counts.c, every), 3)
    t_bon, bon = best_time(
        lambda: exact.best_of_n(pool.score, pool.correct, pool.sizes, every), 3)
    t_exact = t_pass + t_bon
    probe = np.unique(np.linspace(1, m, 16).round().astype(int))  # budgets the baselines time
    fair = fair_exact(pool, sub, probe)
    agree = max(float(np.abs(fair["pass@k"][1] - pk[sub][:, probe - 1]).max()),
                float(np.abs(fair["best-of-N"][1] - bon[sub][:, probe - 1]).max()))
    fair_exact_s = sum(t for t, _ in fair.values()) * scale * m / len(probe)
    base = baseline_exact(pool, sub, probe, args.baseline_draws, args.seed)
    per_value = {k: t / (len(sub) * len(probe) * args.baseline_draws)
                 for k, (t, _) in base.items()}  # seconds per (problem, budget, draw)
    base_exact = sum(per_value.values()) * p * m * args.baseline_draws
    out["exact"] = {"seconds": t_exact, "baseline_seconds": fair_exact_s,
                    "ratio": fair_exact_s / t_exact, "baseline_max_abs_diff": agree,
                    "naive_seconds": base_exact, "naive_ratio": base_exact / t_exact}
    print(f"\n1. exact curves, every N = 1..{m} ({p} x {m} = {p * m:,} values each)")
    print(f"   pass@k        {t_pass:8.3f} s")
    print(f"   best-of-N     {t_bon:8.3f} s   (ties share their mass; no Monte-Carlo error)")
    print(f"   baseline      {fair_exact_s:8.2f} s   closed forms in a per-problem loop: Chen et "
          "al.'s pass@k product per problem and k, best-of-N rank weights per problem and N "
          f"(same numbers: max |diff| {agree:.1e}; timed on {len(sub)} problems x {len(probe)} "
          "budgets, scaled)")
    print(f"   ratio         {fair_exact_s / t_exact:8.0f}x  (headline: same result, same error)")
    print(f"   naive loop    {base_exact:8.1f} s   ({args.baseline_draws} random subsets per "
          f"problem and N, SE {base['best-of-N'][1]:.4f} (best-of-N), "
          f"{base['pass@k'][1]:.4f} (pass@k)): {base_exact / t_exact:.0f}x")

    # 2. Monte Carlo at 12 budgets
    b12 = np.unique(np.minimum(2 ** np.arange(12), m))
    draws_b = max(args.draws // 4, 20)  # the naive baseline's draws while it is timed
    mc_total, fair_total, base_total = 0.0, 0.0, 0.0
    out["monte carlo"] = {}
    print(f"\n2. Monte Carlo at budgets {b12.tolist()} ({args.draws} draws per problem and "
          "budget); baselines charged the draws they need for the engine's standard error")
    for name, weighted in (("majority", False), ("weighted BoN", True)):
        t_mc, est = best_time(lambda w=weighted: vote_curve(
            pool.answer, pool.class_correct, pool.sizes, b12, draws=args.draws, rng=args.seed,
            weights=pool.score if w else None, n_jobs=args.n_jobs), 2)
        # draws a baseline needs to reach the engine's SE at every Monte-Carlo budget, from
        # both per-draw variances summed over the same problems (the engine shares ties between
        # answers instead of sampling the tie-break: less variance); budgets where the engine
        # has no variance need no matching
        var_engine = (est.se[sub] ** 2 * args.draws).mean(axis=0)
        mc_cols = ~est.exact & (var_engine > 0)

        def needed(var_b: np.ndarray, cols: np.ndarray = mc_cols,
                   var_e: np.ndarray = var_engine) -> int:
            if not cols.any():
                return args.draws
            return int(np.ceil((args.draws * var_b[cols] / var_e[cols]).max()))

        t_f, _, var_f = fair_votes(pool, sub, b12, args.draws, args.seed, weighted)
        fair_s = t_f / args.draws * needed(var_f) * scale
        t_b, var_b = baseline_votes(pool, sub, b12, draws_b, args.seed, weighted)
        base = t_b / draws_b * needed(var_b) * scale
        mc_total += t_mc
        fair_total += fair_s
        base_total += base
        se = est.accuracy_se[mc_cols].max() if mc_cols.any() else 0.0
        out["monte carlo"][name] = {
            "seconds": t_mc, "baseline_seconds": fair_s, "ratio": fair_s / t_mc, "se": se,
            "baseline_draws_for_equal_se": needed(var_f), "naive_seconds": base,
            "naive_ratio": base / t_mc}
        print(f"   {name:13s} {t_mc:8.3f} s   SE <= {se:.5f}; per-problem numpy Monte Carlo "
              f"needs {needed(var_f)} draws for it: {fair_s:7.2f} s, ratio {fair_s / t_mc:5.1f}x"
              f"; naive subset loop {base:8.1f} s, {base / t_mc:6.0f}x")
    out["monte carlo"]["total"] = {"seconds": mc_total, "ratio": fair_total / mc_total,
                                   "naive_ratio": base_total / mc_total}
    print(f"   both          {mc_total:8.3f} s   ratio {fair_total / mc_total:5.1f}x vs "
          f"per-problem numpy (headline), {base_total / mc_total:6.0f}x vs the naive loop")

    # 3. bootstrap over problems
    t_boot, res = best_time(lambda: bootstrap_matrix(bon, n_resamples=args.resamples,
                                                     method="BCa", rng=args.seed), 1)
    # the ratio compares like with like: percentile intervals on both sides (BCa adds a
    # jackknife the plain loop does not do)
    t_pct, _ = best_time(lambda: bootstrap_matrix(bon, n_resamples=args.resamples,
                                                  method="percentile", rng=args.seed), 1)
    reps_b = max(args.resamples // 20, 10)
    loop = baseline_bootstrap(bon, reps_b, args.seed) * args.resamples / reps_b
    # naive research code re-estimates the curve inside every replicate by drawing subsets:
    # one draw per (resampled problem, budget) at least, which adds Monte-Carlo noise
    nested = per_value["best-of-N"] * p * m * args.resamples
    out["bootstrap"] = {"seconds": t_boot, "percentile_seconds": t_pct,
                        "baseline_seconds": loop, "ratio": loop / t_pct,
                        "naive_seconds": nested, "naive_ratio": nested / t_boot}
    print(f"\n3. bootstrap, {args.resamples} replicates over {p} problems of the best-of-N "
          f"curve at all {m} budgets (BCa)")
    print(f"   engine        {t_boot:8.3f} s   (per-problem curve computed once; replicates "
          "are one matrix product per batch)")
    print(f"   percentile    {t_pct:8.3f} s   (the same replicates, percentile interval)")
    print(f"   baseline      {loop:8.2f} s   a plain loop over replicates on the same "
          f"precomputed matrix, percentile interval (timed on {reps_b}, scaled)")
    print(f"   ratio         {loop / t_pct:8.1f}x  (headline: same replicates, same interval)")
    print(f"   naive loop    {nested:8.0f} s   (re-draws a subset per resampled problem and "
          f"budget in every replicate, adding noise): {nested / t_boot:.0f}x")

    print("\nsummary: engine time (target), ratio vs the fair baseline (headline), "
          "vs the naive loop")
    checks = [
        ("exact curves", t_exact, TARGETS["exact"], out["exact"]),
        ("Monte Carlo", mc_total, TARGETS["monte carlo"], out["monte carlo"]["total"]),
        ("bootstrap", t_boot, TARGETS["bootstrap"], out["bootstrap"]),
    ]
    for label, secs, target, row in checks:
        flag = "ok" if secs <= target else "MISSED"
        print(f"   {label:13s} {secs:7.3f} s (<= {target} s) {flag:6s} fair {row['ratio']:7.1f}x"
              f"   naive {row['naive_ratio']:8.0f}x")
    return out


if __name__ == "__main__":
    main()
