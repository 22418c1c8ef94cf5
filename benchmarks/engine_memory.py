"""Peak memory of loading a large pool into the engine, and `simulate` at every N.

    python benchmarks/engine_memory.py                    # 10M samples: 10,000 x 1,000
    python benchmarks/engine_memory.py --problems 1000    # 1M samples, quicker

A SYNTHETIC run (answers in 8 clusters per problem, one correct; an outcome verifier score and
token counts per sample) is written straight into a store with DuckDB SQL (ingest has its own
benchmark), then each measurement runs in a FRESH subprocess and reports its peak RSS
(`resource.getrusage`, ru_maxrss), next to the RSS of the same process after its imports:

1. `load_run_data` (answers integer-coded in DuckDB, `SamplePool.from_codes`): the engine's
   path; target <= 1.5 GB peak for 10M samples;
2. the string path it replaced (`pool_table` -> pandas -> `SamplePool.from_table`);
3. the rows of `workbench simulate --strategy best_of_n` at every N = 1..M: the table built
   once (now) versus the per-budget recompute of the accuracy reduction (before).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
RUN = "synthetic/memory"

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, pandas, pyarrow, duckdb, scipy  # imports counted in the base RSS
from workbench.store import RunStore
from workbench.engine import SamplePool
from workbench.engine.data import load_run_data
def rss_mb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base = rss_mb()
store = RunStore(sys.argv[2], read_only=True)
t0 = time.perf_counter()
if sys.argv[3] == "codes":
    data = load_run_data(store, sys.argv[4], verifier="orm")
    pool = data.pool
else:
    pool = SamplePool.from_table(store.pool_table(sys.argv[4], "orm"), run_id=sys.argv[4],
                                 verifier="orm", verifier_kind="outcome")
secs = time.perf_counter() - t0
print(json.dumps({"base_mb": base, "peak_mb": rss_mb(), "seconds": secs,
                  "shape": list(pool.score.shape), "answers": int(pool.n_classes.max())}))
"""

ROWS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from workbench.store import RunStore
from workbench.engine import get_strategy, simulate
from workbench.engine.data import load_run_data
from workbench.cli.engine import UNITS, _num, _estimators, _rows
store = RunStore(sys.argv[2], read_only=True)
data = load_run_data(store, sys.argv[3], verifier="orm")
m = int(data.pool.sizes.min())
t0 = time.perf_counter()
curve = simulate(data, get_strategy("best_of_n"), np.arange(1, m + 1), rng=0)
t_curve = time.perf_counter() - t0
t0 = time.perf_counter(); _rows(curve, None); t_rows = time.perf_counter() - t0
def old_rows(curve):  # the loop it replaced: every reduction recomputed per budget
    est = _estimators(curve)
    return [{"budget": int(n), "estimator": est[i], "accuracy": _num(curve.accuracy[i]),
             "mc_se": _num(curve.accuracy_se[i]),
             **{u: _num(curve.cost.unit(u)[i]) for u in UNITS}}
            for i, n in enumerate(curve.budgets.tolist())]
t0 = time.perf_counter(); old_rows(curve); t_old = time.perf_counter() - t0
print(json.dumps({"budgets": m, "curve_s": t_curve, "rows_s": t_rows, "old_rows_s": t_old}))
"""


def build_store(path: Path, problems: int, samples: int) -> float:
    """Write the synthetic run with SQL; returns seconds."""
    from workbench.store import RunStore

    t0 = time.perf_counter()
    with RunStore(path) as store:
        con = store._con  # benchmark set-up: bulk SQL instead of ingest (timed elsewhere)
        con.execute(
            "INSERT INTO runs (run_id, dataset, policy_model, policy_params, sampler, prompt, "
            "source, meta, created_at, content_hash) VALUES (?, 'synthetic', 'synthetic-model', "
            "1e9, NULL, NULL, 'synthetic (benchmarks/engine_memory.py)', NULL, "
            "now()::TIMESTAMP, ?)",
            [RUN, f"bench-{problems}x{samples}"])
        con.execute(
            "INSERT INTO problems (dataset, problem_id, question, gold_answer) "
            "SELECT 'synthetic', 'problem-' || lpad(p::VARCHAR, 6, '0'), 'q', '0' "
            "FROM range(?) t(p)", [problems])
        con.execute("SELECT setseed(0.5)")
        con.execute(
            """INSERT INTO samples (run_id, problem_id, sample_idx, answer, answer_key,
                                    is_correct, output_tokens, prompt_tokens)
               SELECT ?, 'problem-' || lpad(p::VARCHAR, 6, '0'), i, a::VARCHAR,
                      'answer-' || a::VARCHAR, a = 0, 50 + (i * 7 + p) % 200, 80
               FROM (SELECT p, i, (hash(p * 100003 + i) % 8)::INTEGER AS a
                     FROM range(?) t(p), range(?) s(i))""",
            [RUN, problems, samples])
        con.execute(
            """INSERT INTO outcome_scores
               SELECT run_id, 'orm', problem_id, sample_idx,
                      round(CASE WHEN is_correct THEN 0.3 ELSE 0.0 END + 0.7 * random(), 3)
               FROM samples WHERE run_id = ?""", [RUN])
        con.execute("CHECKPOINT")
    return time.perf_counter() - t0


def child(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script, str(ROOT), *args], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=1_000)
    ap.add_argument("--skip-strings", action="store_true",
                    help="do not run the old string path (it needs about 3 GB at 10M)")
    ap.add_argument("--store", type=Path, default=None, help="reuse / keep this store file")
    args = ap.parse_args(argv)
    n = args.problems * args.samples
    print(f"engine memory benchmark: SYNTHETIC run {args.problems:,} problems x {args.samples:,} "
          f"samples = {n:,}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    out: dict = {"samples": n}
    with tempfile.TemporaryDirectory() as tmp:
        path = args.store or Path(tmp) / "bench.duckdb"
        if not path.exists():
            secs = build_store(path, args.problems, args.samples)
            print(f"store written with SQL in {secs:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        codes = child(CHILD, str(path), "codes", RUN)
        out["codes"] = codes
        print(f"\n1. load_run_data (integer codes from DuckDB): peak RSS {codes['peak_mb']:.0f} MB "
              f"({codes['base_mb']:.0f} MB after imports), {codes['seconds']:.1f} s; pool "
              f"{codes['shape'][0]:,} x {codes['shape'][1]:,}; target <= 1536 MB: "
              f"{'ok' if codes['peak_mb'] <= 1536 else 'MISSED'}")
        if not args.skip_strings:
            strings = child(CHILD, str(path), "strings", RUN)
            out["strings"] = strings
            print(f"2. string path (pool_table -> pandas): peak RSS {strings['peak_mb']:.0f} MB "
                  f"({strings['base_mb']:.0f} MB after imports), {strings['seconds']:.1f} s")
        rows = child(ROWS, str(path), RUN)
        out["rows"] = rows
        print(f"3. simulate best_of_n at every N = 1..{rows['budgets']}: curve "
              f"{rows['curve_s']:.1f} s; table rows {rows['rows_s']:.3f} s (before: "
              f"{rows['old_rows_s']:.1f} s, the accuracy reduction recomputed per budget)")
    return out


if __name__ == "__main__":
    main()
