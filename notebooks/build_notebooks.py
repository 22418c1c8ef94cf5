"""Write the notebooks of this folder from the cell sources below, and their executed copies.

The notebooks use the public API only (`workbench.analysis`, `workbench.engine`,
`workbench.store`, and the chart builders `workbench.report.charts` with the tidy frames
`workbench.report.frames` they take; every result also has `.to_frame()`): the analysis lives
in one place, and the `report` and `demo` commands and these notebooks give the same numbers.
Each notebook analyses the run named by `RUN` in its first code cell: change that one name to
any run of `workbench runs` (a registered dataset, this project's own run, or one you
ingested) and run it again. Edit the cells here, then:

    python notebooks/build_notebooks.py            # notebooks/*.ipynb, clean (no outputs)
    python notebooks/build_notebooks.py --execute  # also notebooks/executed/*.ipynb

The clean notebooks are what a user opens; the executed copies keep their outputs (charts also
as PNG, which GitHub shows) so a reader sees the results without running anything. Both open
the store every `workbench` command uses (`--store`, else $WORKBENCH_STORE, else the default:
`workbench.store.default_store_path`) and ingest what it lacks from the registered datasets
($WORKBENCH_DATA_MIRROR, else a download), so they run from any working directory.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXECUTED = HERE / "executed"

def setup(*, pandas: bool = True, frames: bool = True) -> str:
    """The cell that opens the store (imports only what the notebook uses: ruff checks it)."""
    report = "charts, frames" if frames else "charts"
    return "\n".join([
        *(["import pandas as pd", ""] if pandas else []),
        "from workbench.analysis import ensure_ingested",
        f"from workbench.report import {report}",
        "from workbench.store import RunStore, default_store_path",
        "",
        "store = RunStore(default_store_path())",
        "created = ensure_ingested(store)  # a no-op when the store already holds the runs",
        'print(f"store {store.path}: {len(store.runs())} runs ({len(created)} ingested now)")',
        "store.describe(RUN)",
    ])


def run_cell(default: str) -> str:
    """The first code cell: the one name to change."""
    return f'RUN = "{default}"  # change to any run of `workbench runs`'


NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_quickstart": [
        ("md", """\
# Quickstart: load a run, query it with SQL, draw one curve

The workbench keeps generations and verifier scores in a DuckDB store. This notebook loads the
registered public datasets into it (once), looks at what it holds, asks a question in plain SQL,
and computes one accuracy-vs-budget curve with a bootstrap confidence interval, for the run named
in the first cell. Change `RUN` to analyse another run.

Data come from `$WORKBENCH_DATA_MIRROR` when set (a local copy), else they are downloaded from
their pinned upstream commits and checked against their SHA-256."""),
        ("code", run_cell("qwen25-math-rm/math-cot-100")),
        ("code", setup()),
        ("md", "## What the store holds"),
        ("code", """\
runs = pd.concat([r.to_frame() for r in store.runs()], ignore_index=True)
runs[["run_id", "dataset", "policy_model", "problems", "samples", "correct", "verifiers"]]"""),
        ("md", """\
## Plain SQL

Every table and view is documented (`workbench.store.VIEW_DOCS`); parameters are bound, never
pasted into the SQL. Per-problem pass@1 comes from the samples, or from the per-problem counts
for runs that publish only counts."""),
        ("code", """\
from workbench.store import VIEW_DOCS

pd.Series(VIEW_DOCS, name="what it is").to_frame()"""),
        ("code", """\
per_problem = store.query(
    \"\"\"SELECT problem_id, avg(CAST(is_correct AS DOUBLE)) AS pass_at_1,
              count(*) AS samples, count(DISTINCT answer_key) AS distinct_answers
       FROM samples WHERE run_id = ? GROUP BY problem_id
       UNION ALL
       SELECT problem_id, c / n, n, NULL FROM problem_counts WHERE run_id = ?
       ORDER BY pass_at_1, problem_id\"\"\",
    [RUN, RUN],
).to_frame()
per_problem.describe()"""),
        ("code", """\
# do the verifier's scores track correctness? (per-problem rank correlation)
verifiers = store.describe(RUN).verifiers
if verifiers:
    scores = store.query(
        \"\"\"SELECT problem_id, avg(coalesce(outcome_score, agg_last)) AS mean_score
           FROM pool(?, ?) GROUP BY problem_id\"\"\", [RUN, verifiers[0]]).to_frame()
    joined = per_problem.merge(scores, on="problem_id")
    print(verifiers[0])
    display(joined[["pass_at_1", "mean_score"]].corr(method="spearman"))
else:
    print(f"{RUN} has no verifier scores")"""),
        ("md", """\
## One curve

`candidate_curves` computes every strategy the run supports, the baseline first (weighted
best-of-N with a verifier, else majority vote, else pass@k); the bootstrap resamples problems
for the confidence interval. Every result has `.to_frame()`."""),
        ("code", """\
from workbench.analysis.candidates import candidate_curves
from workbench.engine import bootstrap_curve

candidates = candidate_curves(store, [RUN], rng=0)
curve = candidates.baseline
boot = bootstrap_curve(curve, n_resamples=2000, method="percentile", rng=0)
print(curve.label)
curve.to_frame().merge(boot.to_frame()[["budget", "ci_low", "ci_high"]], on="budget")"""),
        ("code", """\
candidates.curves_frame()[["label", "budget", "accuracy", "accuracy_se", "tokens", "exact"]]"""),
        ("code", """\
curve_frame = frames.curve_frame([frames.LabelledCurve(curve.label, curve, boot)])
charts.accuracy_vs_budget(curve_frame, title=f"{RUN}: {curve.label}")"""),
        ("md", """\
Next: `02_compute_optimal` (the paper's analysis on this run), `03_budget_planning`
(what-if questions) and `04_scaling_laws` (fits and extrapolation). `workbench report RUN`
writes the same analysis into one HTML page; `workbench demo` covers every registered run."""),
    ],
    "02_compute_optimal": [
        ("md", """\
# Compute-optimal test-time compute on a run

Snell et al. (2024) pick, for each question difficulty and budget, the test-time strategy that
gives the highest accuracy, and compare that policy with best-of-N weighted. Here the same
analysis runs on the cached generations of `RUN`: `analyse_run` computes every strategy the run
supports (with bootstrap CIs over problems), oracle difficulty bins, the per-bin policy chosen
with cross-fitting (chosen on one part of the problems, scored on the rest), efficiency ratios
and budget plans. It is the code the `workbench report` and `workbench demo` commands use."""),
        ("code", run_cell("qwen25-math-rm/math-cot-100")),
        ("code", setup(pandas=False)),
        ("code", """\
from workbench.analysis import Settings, analyse_run

analysis = analyse_run(store, RUN, Settings(seed=0))
print("baseline:", analysis.baseline)
for note in analysis.notes:
    print("-", note)"""),
        ("md", "## The verdict: the per-bin policy against the baseline, with CIs"),
        ("code", """\
if analysis.headline is not None:
    print(analysis.headline.text())"""),
        ("md", "## Difficulty bins (oracle: quantiles of per-problem pass@1)"),
        ("code", """\
if analysis.bins is not None:
    display(charts.difficulty_histogram(frames.difficulty_frame(analysis.bins)))
    display(analysis.bins.to_frame())"""),
        ("md", """\
## Strategies x budgets

pass@k is the oracle upper bound (it picks with the gold answer); the others are deployable."""),
        ("code", """\
charts.accuracy_vs_budget(frames.curve_frame(analysis.curves), title=RUN)"""),
        ("code", "analysis.to_frame()"),
        ("code", """\
per_bin = [lc for lc in analysis.curves if lc.x == "budget"]
if analysis.bins is not None and per_bin:
    display(charts.per_bin_curves(frames.per_bin_frame(per_bin, analysis.bins,
                                                       analysis.per_bin_boots)))"""),
        ("md", "## The compute-optimal policy per bin, and its efficiency over the baseline"),
        ("code", """\
if analysis.optimization is not None:
    display(frames.policy_matrix(analysis.policy, analysis.labels))
    verdicts = analysis.optimization.to_frame()
    display(verdicts[verdicts["bin"] == "all"][
        ["budget", "policy", "accuracy", "ci_low", "ci_high", "gain", "gain_ci_low",
         "gain_ci_high", "efficiency_text", "verdict"]])"""),
        ("code", """\
if analysis.policy is not None:
    display(charts.efficiency_chart(frames.efficiency_frame(analysis.policy)))"""),
        ("code", """\
if analysis.checks is not None:
    display(analysis.checks.to_frame())"""),
    ],
    "03_budget_planning": [
        ("md", """\
# Budget planning: what-if questions without a GPU

Given the compute-optimal policy of `RUN` (accuracy of the best strategy per difficulty bin at
each budget, with bootstrap replicates), the planner spreads a per-question budget over the bins
(or finds the cheapest plan that reaches a target accuracy). Then: is it cheaper to spend compute
at test time or on a bigger model? (the exchange of Snell et al., section 7)."""),
        ("code", run_cell("qwen25-math-rm/math-cot-100")),
        ("code", setup()),
        ("code", """\
from workbench.analysis import Settings, analyse_run
from workbench.analysis.planner import plan

analysis = analyse_run(store, RUN, Settings(seed=0))
policy = analysis.policy  # None when the run supports no deployable comparison
if policy is None:
    print(f"{RUN}: no compute-optimal policy to plan with:", *analysis.notes, sep="\\n- ")
else:
    print("bins:", policy.bins, "grid:", policy.grid.tolist(), policy.unit)"""),
        ("md", "## How much accuracy does each average budget buy?"),
        ("code", """\
if policy is not None:
    grid = policy.grid
    middle = float(grid[len(grid) // 2])
    midpoints = [float((a + b) / 2) for a, b in zip(grid[:-1], grid[1:], strict=True)]
    rows = []
    for budget in sorted({float(b) for b in grid} | set(midpoints)):
        p = plan(policy, budget=budget)
        rows.append({"budget per question": budget, "accuracy": p.accuracy, "ci_low": p.ci[0],
                     "ci_high": p.ci[1], "spent": p.cost, "covered": p.covered})
    display(pd.DataFrame(rows))"""),
        ("code", """\
if policy is not None:
    p = plan(policy, budget=middle)
    print(p.message)
    display(p.to_frame())"""),
        ("md", "## The cheapest plan that reaches a target"),
        ("code", """\
if policy is not None:
    best = max(e.accuracy for e in policy.entries if e.bin == "all")
    target = plan(policy, target=round(0.98 * best, 3))
    print(target.message)
    display(target.to_frame())"""),
        ("md", """\
## What if tomorrow's questions are harder?

Weights of the bins (L1 easiest): the same budget spread over an even mix, then a mix that
leans towards the hard bins."""),
        ("code", """\
if policy is not None:
    k = len(policy.bins)
    harder = [i + 1 for i in range(k)]
    for mix in ([1 / k] * k, [w / sum(harder) for w in harder]):
        q = plan(policy, budget=middle, mix=mix)
        print([round(w, 2) for w in mix],
              f"accuracy {q.accuracy:.3f} [{q.ci[0]:.3f}, {q.ci[1]:.3f}]")"""),
        ("md", """\
## Test-time compute or a bigger model?

A model M times larger, used once per question, costs as much (pretraining + inference FLOPs) as
the small model with X = M + 3(M - 1)/R generations, where R = inference tokens / pretraining
tokens."""),
        ("code", """\
from workbench.analysis import SNELL_R, exchange_generations

pd.DataFrame({f"R = {r:g}": [exchange_generations(m, r) for m in (2, 70.6 / 8, 14)]
              for r in SNELL_R}, index=["M = 2", "M = 8.8 (Llama-3 8B vs 70B)", "M = 14"])"""),
        ("md", """\
`analyse_run` makes the comparison when the store holds a larger model's run on the same
problems (for example `RUN = "sampling-ceilings/llmonkeys-math-llama-3-8b"`, against
Llama-3-70B)."""),
        ("code", """\
if analysis.exchange:
    display(charts.exchange_chart(frames.exchange_frame(list(analysis.exchange))))
    for title, result in analysis.exchange:
        print(title)
        display(result.to_frame())
else:
    print(f"no larger model's run on the same problems as {RUN} in this store")"""),
    ],
    "04_scaling_laws": [
        ("md", """\
# Scaling laws: fits, extrapolation, and checks on held-out data

A law fitted to a small pool predicts accuracy at budgets the cache does not cover. `analyse_run`
fits the laws a report shows for `RUN` (the beta-binomial law on per-problem counts, the
coverage law on the pass@k curve, a saturating law on a selection curve), and `fit_run` fits
every law that applies with its parameters, CIs and AIC. The default run is one 256-sample
session of MATH-500 (Llama-3.2-1B); the store also holds all five sessions
(`sampling-ceilings/math500-llama-3.2-1b`, 1,280 samples per problem), against which the
session's extrapolation is checked at the end."""),
        ("code", run_cell("sampling-ceilings/math500-llama-3.2-1b-s0")),
        ("code", setup(frames=False)),
        ("code", """\
from workbench.analysis import Settings, analyse_run

analysis = analyse_run(store, RUN, Settings(seed=0))
[fit.title for fit in analysis.laws]"""),
        ("code", """\
for fit in analysis.laws:
    display(charts.law_fit_chart(fit.observed, fit.fitted, pool_size=fit.pool_size,
                                 title=fit.title, y_title=fit.y_title))
    display(pd.concat([law.to_frame() for law in fit.laws], ignore_index=True))
    for note in fit.notes:
        print("-", note)"""),
        ("md", """\
## Every law on the run

`fit_run` fits the laws that apply to the run's data and reports the ones that do not (with the
reason); `aic_table` ranks those fitted to the same data."""),
        ("code", """\
from workbench.analysis import fit_run
from workbench.analysis.fits import aic_table
from workbench.engine import load_run_data

data = load_run_data(store, RUN)
pool = int(store.describe(RUN).samples / max(store.describe(RUN).problems, 1))
laws = fit_run(data, extrapolate=[2 * pool, 8 * pool], rng=0)
pd.concat([f.to_frame() for f in laws], ignore_index=True)"""),
        ("code", "aic_table(laws)"),
        ("code", """\
for f in laws:
    if f.predictions is not None:
        print(f.law, f"(pool: {pool} samples per problem)")
        display(f.predictions.to_frame())"""),
        ("md", """\
## Checked against more data

When the store holds a larger pool of the same model on the same problems, the extrapolation
above is checked against it: pass@k measured on the larger pool, next to the predictions."""),
        ("code", """\
from workbench.engine import simulate

run = store.run_record(RUN)
bigger = [r.run_id for r in store.runs()
          if r.run_id != RUN and r.dataset == run.dataset and r.policy_model == run.policy_model
          and r.samples > store.describe(RUN).samples]
if bigger:
    big = load_run_data(store, bigger[0])
    ks = [k for k in (2 * pool, 8 * pool) if k <= big.counts.n.min()]
    measured = simulate(big, "pass_at_k", ks).to_frame()[["budget", "accuracy"]]
    print(f"measured on {bigger[0]}")
    display(measured)
else:
    print("no larger pool of this model on these problems in the store")"""),
    ],
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, (kind, source) in enumerate(cells):
        cell = new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        cell["id"] = f"{name[:2]}-{i:02d}"  # stable ids: rebuilding gives the same file
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def execute(nb: nbformat.NotebookNode, *, timeout: int = 1800) -> nbformat.NotebookNode:
    """A copy of `nb` run top to bottom from the repository root (outputs kept)."""
    from nbclient import NotebookClient

    done = copy.deepcopy(nb)
    # charts as PNG (vl-convert), which GitHub shows, instead of Altair's HTML+JS, which it
    # does not; the cell that asks for it is taken out again, so the copy holds exactly the
    # notebook's cells
    done.cells.insert(0, new_code_cell('import altair\naltair.renderers.enable("png")'))
    NotebookClient(done, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    del done.cells[0]
    for cell in done.cells:  # number the cells from 1 again
        if cell.cell_type == "code" and cell.execution_count is not None:
            cell.execution_count -= 1
            for out in cell.outputs:
                if out.get("execution_count") is not None:
                    out["execution_count"] -= 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--execute", action="store_true",
                        help="also run each notebook and write notebooks/executed/NAME.ipynb")
    parser.add_argument("names", nargs="*", help="notebooks to build (default: all)")
    args = parser.parse_args()
    for name, cells in NOTEBOOKS.items():
        if args.names and name not in args.names:
            continue
        nb = build(name, cells)
        nbformat.write(nb, HERE / f"{name}.ipynb")
        if args.execute:
            EXECUTED.mkdir(exist_ok=True)
            nbformat.write(execute(nb), EXECUTED / f"{name}.ipynb")
            print(f"executed {name}")


if __name__ == "__main__":
    main()
