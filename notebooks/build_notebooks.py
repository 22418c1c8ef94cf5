"""Write the notebooks of this folder from the cell sources below (clean JSON, no outputs).

The notebooks call the library only (`workbench.report`, `workbench.analysis`, the
chart builders of `workbench.report.charts`): the analysis lives in one place, and the demo,
the `report` command and these notebooks give the same numbers. Edit the cells here, then:

    python notebooks/build_notebooks.py

Each notebook opens the store at $WORKBENCH_STORE (default cached_runs/workbench.duckdb) and
ingests what it lacks from the registered datasets ($WORKBENCH_DATA_MIRROR, else a download).
Run them from the repository root.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import pandas as pd

from workbench.report import charts, ensure_ingested, frames
from workbench.store import RunStore, default_store_path

store = RunStore(default_store_path())
created = ensure_ingested(store)  # a no-op when the store already holds the registered runs
print(f"store {store.path}: {len(store.runs())} runs ({len(created)} ingested now)")"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_quickstart": [
        ("md", """\
# Quickstart: load a run, query it with SQL, draw one curve

The workbench keeps generations and verifier scores in a DuckDB store. This notebook loads the
registered public datasets into it (once), looks at what it holds, asks a question in plain SQL,
and computes one accuracy-vs-budget curve with a bootstrap confidence interval.

Run from the repository root. Data come from `$WORKBENCH_DATA_MIRROR` when set (a local copy),
else they are downloaded from their pinned upstream commits and checked against their SHA-256."""),
        ("code", SETUP),
        ("md", "## What the store holds"),
        ("code", """\
runs = pd.DataFrame([r.to_dict() for r in store.runs()])
runs[["run_id", "dataset", "policy_model", "problems", "samples", "correct", "verifiers"]]"""),
        ("md", """\
## Plain SQL

Every table and view is documented (`workbench.store.VIEW_DOCS`); parameters are bound, never
pasted into the SQL. The table macro `pool(run, verifier)` gives one row per sample with its
correctness and verifier score."""),
        ("code", """\
from workbench.store import VIEW_DOCS

pd.Series(VIEW_DOCS, name="what it is").to_frame()"""),
        ("code", """\
RUN = "qwen25-math-rm/math-cot-100"
VERIFIER = "qwen2.5-math-rm-72b"
per_problem = store.query(
    \"\"\"SELECT problem_id,
              avg(CAST(is_correct AS DOUBLE)) AS pass_at_1,
              avg(outcome_score) AS mean_rm_score,
              count(DISTINCT answer_key) AS distinct_answers
       FROM pool(?, ?)
       GROUP BY problem_id
       ORDER BY pass_at_1, problem_id\"\"\",
    [RUN, VERIFIER],
).to_pandas()
per_problem.head(10)"""),
        ("code", """\
# do the reward model's scores track correctness? (per-problem rank correlation)
per_problem[["pass_at_1", "mean_rm_score"]].corr(method="spearman")"""),
        ("md", """\
## One curve

`simulate` runs a strategy on the cached pool at each budget: weighted best-of-N (sum the
reward-model scores of samples that share an answer, pick the largest sum) is Monte Carlo with
its own standard error; the bootstrap resamples problems for the confidence interval."""),
        ("code", """\
from workbench.engine import bootstrap_curve, load_run_data, simulate

data = load_run_data(store, RUN)  # the run's only verifier is chosen automatically
curve = simulate(data, "weighted_bon", [1, 2, 4, 8], rng=0)
boot = bootstrap_curve(curve, n_resamples=2000, method="percentile", rng=0)
pd.DataFrame({
    "budget": curve.budgets,
    "accuracy": curve.accuracy,
    "ci_low": boot.confidence_interval.low,
    "ci_high": boot.confidence_interval.high,
    "monte_carlo_se": curve.accuracy_se,
})"""),
        ("code", """\
curve_frame = frames.curve_frame([frames.LabelledCurve("weighted best-of-N (RM-72B)", curve, boot)])
charts.accuracy_vs_budget(curve_frame, title="Qwen2.5-Math-7B on 100 MATH problems")"""),
        ("md", """\
Next: `02_compute_optimal` (the paper's analysis on these runs), `03_budget_planning`
(what-if questions) and `04_scaling_laws` (fits and extrapolation). `workbench demo` writes all
of it into one HTML report."""),
    ],
    "02_compute_optimal": [
        ("md", """\
# Compute-optimal test-time compute on real runs

Snell et al. (2024) pick, for each question difficulty and budget, the test-time strategy that
gives the highest accuracy, and compare that policy with best-of-N weighted. Here the same
analysis runs on cached real generations: `analyse_run` computes every strategy the run supports
(with bootstrap CIs over problems), oracle difficulty bins, the per-bin policy chosen with
cross-fitting (chosen on one half of the problems, scored on the other), efficiency ratios and
budget plans. It is the same code the `workbench report` and `workbench demo` commands use."""),
        ("code", SETUP),
        ("code", """\
from workbench.report import Settings, analyse_run

settings = Settings(seed=0)
qwen = analyse_run(store, "qwen25-math-rm/math-cot-100", settings)
print(qwen.info)
print("baseline:", qwen.baseline)"""),
        ("md", "## Difficulty bins (oracle: quantiles of per-problem pass@1)"),
        ("code", """\
charts.difficulty_histogram(frames.difficulty_frame(qwen.bins))"""),
        ("code", "frames.bins_table(qwen.bins)"),
        ("md", """\
## Strategies x budgets

pass@k is the oracle upper bound (it picks with the gold answer); the others are deployable."""),
        ("code", """\
charts.accuracy_vs_budget(frames.curve_frame(qwen.curves),
                          title="MATH, Qwen2.5-Math-7B + RM-72B")"""),
        ("code", """\
per_bin = [lc for lc in qwen.curves if lc.x == "budget"]
charts.per_bin_curves(frames.per_bin_frame(per_bin, qwen.bins, qwen.per_bin_boots))"""),
        ("md", "## The compute-optimal policy per bin, and its efficiency over the baseline"),
        ("code", "frames.policy_matrix(qwen.policy, qwen.labels)"),
        ("code", """\
table = frames.policy_table(qwen.policy)
table[table["bin"] == "all"]"""),
        ("code", """\
charts.efficiency_chart(frames.efficiency_frame(qwen.policy))"""),
        ("code", """\
for note in qwen.notes:
    print("-", note)"""),
        ("md", """\
## PRM aggregation (MATH-500, Qwen2.5-1.5B-Instruct, Math-Shepherd PRM)

Only two samples per problem are cached, so the comparison is at N = 2: which way of turning
per-step scores into one (last step, min, product, mean) selects best?"""),
        ("code", """\
prm = analyse_run(store, "compute-optimal-tts/math500-qwen2.5-1.5b-bon", settings)
points = frames.curve_frame(prm.curves)
points = points[points["n"] == points["n"].max()]
charts.strategy_points(points, title="MATH-500: accuracy at N = 2 per selection rule")"""),
        ("md", """\
## Game of 24 (GPT-4, Tree of Thoughts logs): sampling vs search, against the paper"""),
        ("code", """\
from workbench.report.demo import game24

g24 = game24(store, settings)
pd.DataFrame(g24.published, columns=["method", "published", "these logs", "how"])"""),
        ("code", """\
charts.accuracy_vs_budget(frames.curve_frame(list(g24.curves)),
                          title="Game of 24: accuracy vs generations",
                          budget_title="generations per question (BFS: proposals generated)")"""),
    ],
    "03_budget_planning": [
        ("md", """\
# Budget planning: what-if questions without a GPU

Given the compute-optimal policy of a run (accuracy of the best strategy per difficulty bin at
each budget, with bootstrap replicates), the planner spreads a per-question budget over the bins
(or finds the cheapest plan that reaches a target accuracy). Then: is it cheaper to spend compute
at test time or on a bigger model? (the exchange of Snell et al., section 7)."""),
        ("code", SETUP),
        ("code", """\
from workbench.analysis.planner import plan
from workbench.report import Settings, analyse_run

settings = Settings(seed=0)
qwen = analyse_run(store, "qwen25-math-rm/math-cot-100", settings)
policy = qwen.policy
print("bins:", policy.bins, "grid:", policy.grid.tolist(), policy.unit)"""),
        ("md", "## How much accuracy does each average budget buy?"),
        ("code", """\
rows = []
for budget in [1, 1.5, 2, 3, 4, 6, 8]:
    p = plan(policy, budget=budget)
    rows.append({"budget per question": budget, "accuracy": p.accuracy,
                 "ci_low": p.ci[0], "ci_high": p.ci[1], "spent": p.cost, "covered": p.covered})
pd.DataFrame(rows)"""),
        ("code", """\
p = plan(policy, budget=2)
print(p.message)
frames.plan_table(p, qwen.labels)"""),
        ("md", "## The cheapest plan that reaches a target"),
        ("code", """\
target = plan(policy, target=0.93)
print(target.message)
frames.plan_table(target, qwen.labels)"""),
        ("md", """\
## What if tomorrow's questions are harder?

Weights of the bins (L1 easiest): the same budget spread over a harder mix."""),
        ("code", """\
for mix in ([0.2, 0.2, 0.2, 0.2, 0.2], [0.05, 0.1, 0.15, 0.3, 0.4]):
    p = plan(policy, budget=2, mix=mix)
    print(mix, f"accuracy {p.accuracy:.3f} [{p.ci[0]:.3f}, {p.ci[1]:.3f}]")"""),
        ("md", """\
## Test-time compute or a bigger model?

A model M times larger, used once per question, costs as much (pretraining + inference FLOPs) as
the small model with X = M + 3(M - 1)/R generations, where R = inference tokens / pretraining
tokens."""),
        ("code", """\
from workbench.analysis.exchange import SNELL_R, exchange_generations

pd.DataFrame({f"R = {r:g}": [exchange_generations(m, r) for m in (2, 70.6 / 8, 14)]
              for r in SNELL_R}, index=["M = 2", "M = 8.8 (Llama-3 8B vs 70B)", "M = 14"])"""),
        ("code", """\
from workbench.report import exchange_pair

results, notes = [], []
for small, large, title in (
    ("sampling-ceilings/llmonkeys-math-llama-3-8b", "sampling-ceilings/llmonkeys-math-llama-3-70b",
     "MATH"),
    ("sampling-ceilings/llmonkeys-gsm8k-llama-3-8b",
     "sampling-ceilings/llmonkeys-gsm8k-llama-3-70b", "GSM8K"),
):
    rows, more = exchange_pair(store, small, large, settings, title)
    results += rows
    notes += more
charts.exchange_chart(frames.exchange_frame(results))"""),
        ("code", """\
table = frames.exchange_table(results)
table[table["bin"] == "all"]"""),
        ("code", """\
for note in notes:
    print("-", note)"""),
        ("md", """\
pass@k is oracle coverage: an upper bound on what any selection strategy reaches with X
samples. The published majority-vote curve (GSM8K) is the deployable comparison."""),
    ],
    "04_scaling_laws": [
        ("md", """\
# Scaling laws: fits, extrapolation, and checks on held-out data

A law fitted to a small pool predicts accuracy at budgets the cache does not cover. Each fit
below is checked against real data it was not fitted on: the beta-binomial law fitted on one
256-sample session of MATH-500 against all five sessions (1,280 samples per problem), the
coverage law fitted on k <= 128 of Large Language Monkeys' 10,000 samples against the rest, and
a saturating law on a published majority-vote curve."""),
        ("code", SETUP),
        ("code", """\
from workbench.report import Settings
from workbench.report.demo import demo_laws

settings = Settings(seed=0)
fits = demo_laws(store, settings)
[f.title for f in fits]"""),
        ("code", """\
fit = fits[0]
charts.law_fit_chart(fit.observed, fit.fitted, pool_size=fit.pool_size, title=fit.title)"""),
        ("code", """\
pd.concat([frames.law_summary(law) for law in fit.laws])"""),
        ("code", "fit.comparison if fit.comparison is not None else fit.notes"),
        ("code", "fit.check"),
        ("code", """\
fit = fits[1]
display(charts.law_fit_chart(fit.observed, fit.fitted, pool_size=fit.pool_size, title=fit.title))
fit.check"""),
        ("code", """\
if len(fits) > 2:
    fit = fits[2]
    display(charts.law_fit_chart(fit.observed, fit.fitted, pool_size=fit.pool_size,
                                 title=fit.title, y_title=fit.y_title))
    display(fit.check)"""),
        ("md", """\
## Every law on one run

`fit_run` fits the laws that apply to a run's data and reports the ones that do not (with the
reason); `aic_table` ranks those fitted to the same data."""),
        ("code", """\
from workbench.analysis.fits import aic_table, fit_run
from workbench.engine import load_run_data

data = load_run_data(store, "sampling-ceilings/math500-llama-3.2-1b")
laws = fit_run(data, extrapolate=[1024, 4096, 16384], rng=0)
pd.DataFrame([{"law": f.law, "fitted to": f.fitted_to, "error": f.error} for f in laws])"""),
        ("code", "aic_table(laws)"),
        ("code", """\
for f in laws:
    if f.predictions is not None:
        print(f.law)
        display(f.predictions.to_frame())"""),
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


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
