"""Ingest at scale: columnar ingest against DuckDB's bare `read_parquet` of the same files.

Generates SYNTHETIC canonical Parquet runs (labelled `synthetic` in the run's meta and source:
100 samples per problem, answers drawn from 20 keys, uniform scores, no text), then, each in a
fresh subprocess so that peak RSS is the process's own:

* `ingest`: `read_path(DIR)` + `RunStore.ingest` into a new store file, the path
  `workbench ingest DIR` takes (checks, content hash and insert, one transaction);
* `bare`: DuckDB's `CREATE TABLE ... AS SELECT * FROM read_parquet(...)` of the same files into
  a new database file: the floor for loading these bytes, with no checks.

It prints one row per case (time, peak RSS, ratio to bare, machine load before the case), the
growth exponent of ingest time in the number of samples (least squares on log-log over the
outcome-score sizes) and writes a log-log chart (Altair, PNG through vl-convert).

    python benchmarks/scale.py                     # 1e4, 1e5, 1e6 outcome; 1M x 8 steps
    python benchmarks/scale.py --sizes 1e4,1e5,1e6,1e7   # adds the 10M case (~1.5 GB disk)

Targets (issue 12): 10M samples with outcome scores <= 60 s and <= 2 GB peak RSS; 1M samples
with 8 step scores each <= 60 s and <= 2 GB. The machine is shared: read the load column.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PER_PROBLEM = 100
CHUNK_PROBLEMS = 2_000  # problems per written row group: generation memory is bounded too


def generate(directory: Path, n_samples: int, steps: int, seed: int = 0) -> Path:
    """Write a SYNTHETIC canonical Parquet run of `n_samples` samples (100 per problem), with
    one outcome score per sample (`steps == 0`) or `steps` step scores per sample."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_problems = max(1, n_samples // PER_PROBLEM)
    run_id = f"synthetic/scale-{n_samples}-{steps}"
    header = {"format": "ttc-workbench-run/1", "run": {
        "run_id": run_id, "dataset": f"synthetic-scale-{n_samples}", "policy_model": "synthetic",
        "source": "benchmarks/scale.py (synthetic)", "policy_params": 1e9, "sampler": None,
        "prompt": None, "meta": {"synthetic": True}}}
    writers: dict[str, pq.ParquetWriter] = {}

    def write(name: str, table: pa.Table) -> None:
        if name not in writers:
            writers[name] = pq.ParquetWriter(str(directory / f"{name}.parquet"), table.schema)
        writers[name].write_table(table)

    for start in range(0, n_problems, CHUNK_PROBLEMS):
        ids = np.arange(start, min(n_problems, start + CHUNK_PROBLEMS))
        pids = np.char.add("p", ids.astype(str))
        write("problems", pa.table({
            "dataset": pa.array([header["run"]["dataset"]] * len(ids)),
            "problem_id": pa.array(pids), "question": pa.array(np.char.add("question ", pids)),
            "gold_answer": pa.array(["0"] * len(ids))}))
        n = len(ids) * PER_PROBLEM
        spid = pa.array(np.repeat(pids, PER_PROBLEM))
        sidx = np.tile(np.arange(PER_PROBLEM, dtype=np.int64), len(ids))
        keys = rng.integers(0, 20, n)
        write("samples", pa.table({
            "problem_id": spid, "sample_idx": pa.array(sidx),
            "answer": pa.array(keys.astype(str)), "answer_key": pa.array(keys.astype(str)),
            "is_correct": pa.array(keys == 0), "output_tokens": pa.array(rng.integers(20, 800, n)),
            "prompt_tokens": pa.array(np.full(n, 64)),
            "n_steps": pa.array(np.full(n, max(steps, 1)))}))
        if steps == 0:
            write("outcome_scores", pa.table({
                "verifier": pa.array(["synthetic-orm"] * n), "problem_id": spid,
                "sample_idx": pa.array(sidx), "score": pa.array(rng.random(n))}))
        else:
            m = n * steps
            write("step_scores", pa.table({
                "verifier": pa.array(["synthetic-prm"] * m),
                "problem_id": pa.array(np.repeat(np.repeat(pids, PER_PROBLEM), steps)),
                "sample_idx": pa.array(np.repeat(sidx, steps)),
                "step_idx": pa.array(np.tile(np.arange(steps, dtype=np.int64), n)),
                "score": pa.array(rng.random(m)), "step_tokens": pa.array(np.full(m, 40))}))
    for w in writers.values():
        w.close()
    (directory / "run.json").write_text(json.dumps(header, indent=2))
    return directory


# -- what each subprocess runs -----------------------------------------------------------------
CHILD_INGEST = """
import json, resource, sys, time
t = time.perf_counter()
from workbench.importers import read_path
from workbench.store import RunStore
[run] = read_path(sys.argv[1])
with RunStore(sys.argv[2]) as store:
    result = store.ingest(run)
print(json.dumps({"seconds": time.perf_counter() - t, "created": result.created,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

CHILD_BARE = """
import glob, json, resource, sys, time
import duckdb
t = time.perf_counter()
con = duckdb.connect(sys.argv[2])
for i, path in enumerate(sorted(glob.glob(sys.argv[1] + "/*.parquet"))):
    con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_parquet('{path}')")
con.close()
print(json.dumps({"seconds": time.perf_counter() - t,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def measure(child: str, run_dir: Path, work: Path) -> dict[str, float]:
    db = work / "target.duckdb"
    for p in work.glob("target.duckdb*"):
        p.unlink() if p.is_file() else shutil.rmtree(p)
    out = subprocess.run([sys.executable, "-c", child, str(run_dir), str(db)],
                         capture_output=True, text=True, env={**os.environ})
    if out.returncode:
        raise SystemExit(f"benchmark child failed:\n{out.stderr}")
    for p in work.glob("target.duckdb*"):
        p.unlink() if p.is_file() else shutil.rmtree(p)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def growth_exponent(ns: list[int], seconds: list[float]) -> float:
    """Slope of log(seconds) on log(n): 1 is linear growth."""
    slope, _ = np.polyfit(np.log(ns), np.log(seconds), 1)
    return float(slope)


def chart(rows: list[dict[str, object]], path: Path) -> Path:
    import altair as alt
    import pandas as pd
    import vl_convert as vlc

    data = pd.DataFrame([
        {"samples": r["samples"], "seconds": r[k], "what": label}
        for r in rows if r["steps"] == 0
        for k, label in (("ingest_s", "workbench ingest"), ("bare_s", "DuckDB read_parquet"))
    ])
    spec = alt.Chart(data, title="Ingest of synthetic Parquet runs (outcome scores)").mark_line(
        point=True).encode(
        x=alt.X("samples:Q", scale=alt.Scale(type="log"), title="samples"),
        y=alt.Y("seconds:Q", scale=alt.Scale(type="log"), title="seconds (log)"),
        color=alt.Color("what:N", title=None),
    ).properties(width=480, height=300)
    path.write_bytes(vlc.vegalite_to_png(spec.to_dict(), scale=2))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6",
                        help="samples per outcome-score run (comma separated; 1e7 for 10M)")
    parser.add_argument("--step-samples", type=float, default=1e6,
                        help="samples of the step-score run (0: none)")
    parser.add_argument("--steps", type=int, default=8, help="step scores per sample")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the synthetic runs are written (default: a temp folder)")
    parser.add_argument("--chart", type=Path, default=Path("benchmarks/scale.png"))
    parser.add_argument("--json", dest="as_json", action="store_true")
    args = parser.parse_args(argv)
    cases = [(int(float(s)), 0) for s in args.sizes.split(",") if s.strip()]
    if args.step_samples:
        cases.append((int(args.step_samples), args.steps))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="workbench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    try:
        for n, steps in cases:
            run_dir = generate(work / f"run-{n}-{steps}", n, steps)
            load = os.getloadavg()[0]
            bare = measure(CHILD_BARE, run_dir, work)
            ingest = measure(CHILD_INGEST, run_dir, work)
            rows.append({"samples": n, "steps": steps, "load": round(load, 2),
                         "ingest_s": round(ingest["seconds"], 3),
                         "bare_s": round(bare["seconds"], 3),
                         "ratio": round(ingest["seconds"] / bare["seconds"], 2),
                         "ingest_rss_gb": round(ingest["rss"] / 2**30, 3),
                         "bare_rss_gb": round(bare["rss"] / 2**30, 3)})
            shutil.rmtree(run_dir)
            if not args.as_json:
                r = rows[-1]
                kind = f"{steps} step scores" if steps else "outcome scores"
                print(f"{n:>12,} samples, {kind:<15} ingest {r['ingest_s']:>8.2f} s "
                      f"{r['ingest_rss_gb']:>6.2f} GB | bare read_parquet {r['bare_s']:>7.2f} s "
                      f"{r['bare_rss_gb']:>5.2f} GB | ratio {r['ratio']:>5.1f}x | "
                      f"load {r['load']:.1f} ({os.cpu_count()} cores)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    outcome = [r for r in rows if r["steps"] == 0]
    exponent = (growth_exponent([int(r["samples"]) for r in outcome],  # type: ignore[call-overload]
                                [float(r["ingest_s"]) for r in outcome])  # type: ignore[arg-type]
                if len(outcome) >= 2 else math.nan)
    path = chart(rows, args.chart) if len(outcome) >= 2 else None
    if args.as_json:
        print(json.dumps({"rows": rows, "growth_exponent": exponent,
                          "chart": str(path) if path else None}, indent=2))
        return
    print(f"growth exponent of ingest time in samples ({outcome[0]['samples']:,} to "
          f"{outcome[-1]['samples']:,}): {exponent:.2f} (1 = linear)" if outcome else "")
    if path:
        print(f"chart: {path}")


if __name__ == "__main__":
    main()
