"""Analysis results -> `Report` sections: the per-run report and the demo report.

Each `add_*` function appends one section to a `Report` from results computed by
`workbench.analysis.pipeline` / `workbench.analysis.demo`, through the tidy frames of
`workbench.report.frames` and the chart builders of `workbench.report.charts` (the same ones
the notebooks use). Every number comes from a result object; text from models appears only in
`add_examples`, escaped, and only for runs this project generated (the pipeline decides).

Labels a reader can rely on: a blue badge marks numbers measured on cached real samples, a
yellow one marks model-based numbers (fitted laws, extrapolation past the pool) and oracle
upper bounds (pass@k picks with the gold answer), a red one marks degenerate difficulty bins.

Every report opens with its summary: the verdicts with their CIs in one table (`add_summary`,
rows from `verdict_rows`), then a table of contents, then provenance and the sections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench import __version__
from workbench.analysis.budget_axis import amount
from workbench.report import charts
from workbench.report import frames as fr
from workbench.report.html import Report, slug

if TYPE_CHECKING:
    from workbench.analysis.demo import DemoResult, Game24
    from workbench.analysis.exchange import ExchangeResult
    from workbench.analysis.labelled import LabelledCurve
    from workbench.analysis.lawfits import LawFit
    from workbench.analysis.pipeline import Provenance, RunAnalysis
    from workbench.analysis.verifier_quality import VerifierQuality

REAL = "real data: measured on cached samples, 95% bootstrap CIs over problems"
ORACLE = "oracle: pass@k picks with the gold answer, an upper bound for any real selection"
MODEL = "model-based: fitted law / extrapolation, not a measurement"
SUMMARY_COLUMNS = ("question", "estimate", "95% CI", "verdict")


# -- sections ---------------------------------------------------------------------------------
def add_provenance(report: Report, provs: Sequence[Provenance], *,
                   heading: str = "Data and provenance") -> Report:
    """Which runs the report stands on: source, licence, citation (the licences require it)."""
    report.heading(heading)
    rows = [{
        "run": p.run_id, "dataset": p.dataset, "policy model": p.policy_model,
        "parameters": "" if p.policy_params is None else f"{p.policy_params / 1e9:.3g}B",
        "origin": f"registered dataset {p.registered}" if p.registered else "this project / user",
        "licence": p.licence or "", "source": p.source,
    } for p in provs]
    report.table(pd.DataFrame(rows))
    seen: set[str] = set()
    for p in provs:
        if p.attribution and p.attribution not in seen:
            seen.add(p.attribution)
            report.paragraph(f"Attribution: {p.attribution}", cls="note")
    cites = []
    for p in provs:
        if p.citation and p.citation not in seen:
            seen.add(p.citation)
            cites.append(p.citation)
    if cites:
        report.preformatted("\n\n".join(cites), label="Cite the data you use:")
    if any(p.third_party for p in provs):
        report.paragraph(
            "Third-party data is read from its pinned upstream commit (or a local mirror) and "
            "checked against its SHA-256; it is not redistributed with this project. Reports "
            "for registered datasets show numbers and charts only, never model text.",
            cls="note")
    return report


# -- the summary ------------------------------------------------------------------------------
def _ci_text(lo: float, hi: float, fmt: str = ".3f") -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no CI"
    return f"[{_signed(lo, fmt)}, {_signed(hi, fmt)}]"


def _signed(v: float, fmt: str) -> str:
    text = format(v, fmt)
    return format(0.0, fmt) if float(text) == 0 else text


def verdict_rows(a: RunAnalysis, what: str) -> list[dict[str, str]]:
    """Summary rows of one run: the per-bin policy against the baseline at the headline budget
    (gain and efficiency, from the same `Verdict` `workbench optimize` prints) and, when a
    larger model is in the store, the exchange over all problems."""
    rows = []
    v = a.headline
    if v is not None:
        where = f"at {amount(v.budget, v.unit)} per question"
        caveat = ""
        if a.checks is not None and a.checks.degenerate:
            caveat = f" (degenerate bins: {', '.join(a.checks.degenerate)})"
        base = _name(a, v.baseline)
        rows.append({
            "question": f"{what}: accuracy gain of the per-bin compute-optimal policy over "
                        f"{base} {where}",
            "estimate": f"{_signed(v.gain, '+.3f')} ({v.accuracy:.3f} vs "
                        f"{v.baseline_accuracy:.3f})",
            "95% CI": _ci_text(*v.gain_ci, fmt="+.3f"),
            "verdict": v.verdict + caveat,
        })
        lo, hi = v.efficiency_ci
        sig = np.isfinite(lo) and np.isfinite(hi) and not lo <= 1 <= hi
        rows.append({
            "question": f"{what}: efficiency of the policy over {base} {where} (budget the "
                        "baseline needs for the policy's accuracy / the policy's budget)",
            "estimate": v.efficiency_text,
            "95% CI": _ci_text(lo, hi, ".2f"),
            "verdict": ("no significant difference" if not sig else
                        "the baseline needs more compute" if lo > 1 else
                        "the baseline needs less compute") + caveat,
        })
    rows += exchange_rows(a.exchange)
    return rows


def exchange_rows(results: Sequence[tuple[str, ExchangeResult]]) -> list[dict[str, str]]:
    """Summary rows of the exchange: over all problems, per R."""
    words = {"small": "small model + test-time compute better",
             "large": "larger model better", "tie": "no significant difference"}
    rows = []
    for panel, res in results:
        for r in res.rows:
            if r.bin != "all":
                continue
            rows.append({
                "question": f"{panel}, R = {r.r:g}: small model with {r.budget:.0f} generations "
                            "minus the larger model once (accuracy)",
                "estimate": f"{_signed(r.difference, '+.3f')} ({r.small_accuracy:.3f} vs "
                            f"{r.large_accuracy:.3f})",
                "95% CI": _ci_text(r.lower, r.upper, "+.3f"),
                "verdict": words.get(r.winner, r.winner),
            })
    return rows


def law_rows(fits: Sequence[LawFit]) -> list[dict[str, str]]:
    """Summary rows of the held-out law checks: the largest held-out budget of each law."""
    rows = []
    for fit in fits:
        if fit.check is None or fit.check.empty:
            continue
        for law in fit.laws:
            sub = fit.check[fit.check["law"] == law.name]
            if sub.empty:
                continue
            last = sub.iloc[-1]
            rows.append({
                "question": f"{fit.title}: {law.name} predicts k = {last['k']:,.0f} "
                            f"(held out: observed {last['observed']:.3f})",
                "estimate": f"{last['predicted']:.3f}",
                "95% CI": str(last["95% interval"]),
                "verdict": "observed value inside the prediction interval"
                if last["inside"] == "yes" else "observed value OUTSIDE the prediction interval",
            })
    return rows


def add_summary(report: Report, rows: Sequence[dict[str, str]], *,
                intro: str | None = None) -> Report:
    """The report's opening: every verdict with its CI in one table, then the contents."""
    report.heading("Summary")
    if intro:
        report.paragraph(intro)
    if rows:
        report.table(pd.DataFrame(list(rows), columns=list(SUMMARY_COLUMNS)), css="summary",
                     caption="verdicts with 95% CIs ('no significant difference': the CI of a "
                             "gain contains 0, of a ratio 1)")
    else:
        report.paragraph("This run supports no comparison with a CI (see the notes below).",
                         cls="note")
    report.contents()
    return report


def add_run_summary(report: Report, a: RunAnalysis) -> Report:
    i = a.info
    holds = [name for name, flag in (
        ("step scores", i.has_step_scores), ("outcome scores", i.has_outcome_scores),
        ("search tree", i.has_tree), ("revision chains", i.has_chains),
        ("per-problem counts only", i.counts_only)) if flag] or ["samples"]
    report.table(pd.DataFrame([{
        "run": a.run_id, "problems": i.problems, "samples": i.samples,
        "correct": i.correct, "holds": ", ".join(holds),
        "verifiers": ", ".join(i.verifiers) or "-",
    }]))
    return report


def add_difficulty(report: Report, a: RunAnalysis, key: str) -> Report:
    if a.bins is None:
        return report
    b = a.bins
    report.heading(f"Difficulty bins ({b.kind}, {b.statistic})", 3)
    report.paragraph(
        f"Problems binned into {b.n_bins} quantiles of per-problem {b.statistic} from all cached "
        "samples (L1 = easiest). Oracle bins use the gold answers; the policy below chooses per "
        "bin with cross-fitting, so its accuracy is not scored on the problems that chose it.")
    if a.checks is not None and a.checks.degenerate:
        report.raw_badge(
            f"degenerate bins: {', '.join(a.checks.degenerate)} (no spread in {b.statistic}, "
            f"or fewer than {a.checks.threshold} samples per problem): per-bin numbers there "
            "do not describe a difficulty level", warn=True)
    report.chart(charts.difficulty_histogram(fr.difficulty_frame(b)), f"{key}-difficulty")
    table = fr.bins_table(b)
    if a.checks is not None:
        reasons = {c.bin: "; ".join(c.reasons(b.statistic, a.checks.threshold))
                   for c in a.checks.checks}
        table["degenerate"] = [reasons.get(x, "") or "no" for x in table["bin"]]
    report.table(table)
    return report


def add_curves(report: Report, curves: Sequence[LabelledCurve], key: str, *, title: str,
               budget_title: str | None = None) -> Report:
    if not curves:
        return report
    report.raw_badge(REAL)
    if any(lc.kind == "oracle" for lc in curves):
        report.raw_badge(ORACLE, model=True)
    report.chart(charts.accuracy_vs_budget(fr.curve_frame(curves), title=title,
                                           budget_title=budget_title), key)
    return report


def add_points(report: Report, curves: Sequence[LabelledCurve], key: str) -> Report:
    """Strategies compared at their largest budget (for pools that allow only one or two)."""
    df = fr.curve_frame(curves)
    top = df.groupby("strategy")["n"].transform("max")
    df = df[df["n"] == top]
    report.raw_badge(REAL)
    if any(lc.kind == "oracle" for lc in curves):
        report.raw_badge(ORACLE, model=True)
    n = ", ".join(f"{v:g}" for v in sorted(set(df["n"])))
    report.chart(charts.strategy_points(df, title=f"Accuracy per strategy at N = {n}"), key)
    return report


def add_curve_table(report: Report, curves: Sequence[LabelledCurve]) -> Report:
    df = fr.curve_frame(curves)
    if df.empty:
        return report
    df = df.assign(**{"95% CI": [fr._interval((lo, hi), 3) for lo, hi in
                                 zip(df["lo"], df["hi"], strict=True)]})
    cols = ["strategy", "n", "budget", "accuracy", "95% CI", "kind", "problems"]
    if (df["n"] == df["budget"]).all():
        cols.remove("budget")
    report.table(df[cols].rename(columns={"n": "budget", "budget": "x (chart)"}),
                 collapsed=f"Table of the curves ({len(df)} points)")
    return report


def add_per_bin(report: Report, a: RunAnalysis, key: str) -> Report:
    if a.bins is None or not a.per_bin_boots:
        return report
    curves = [lc for lc in a.curves if lc.x == "budget" and lc.curve.run_id == a.run_id]
    frame = fr.per_bin_frame(curves, a.bins, a.per_bin_boots)
    if frame.empty:
        return report
    report.heading("Accuracy vs budget per difficulty bin", 3)
    report.chart(charts.per_bin_curves(frame), f"{key}-per-bin")
    return report


def add_policy(report: Report, a: RunAnalysis, key: str) -> Report:
    pol = a.policy
    if pol is None:
        return report
    report.heading("Compute-optimal policy per difficulty bin", 3)
    report.raw_badge(REAL)
    report.paragraph(
        f"For every bin and budget, the strategy with the highest accuracy among "
        f"{len(pol.candidates)} deployable candidates, chosen on one part of the problems and "
        f"scored on the other ({pol.folds}-fold cross-fitting; every number is the mean over "
        f"{pol.splits} random splits), with {pol.n_resamples} bootstrap replicates that redo "
        f"the splits and the choice. Baseline: {_name(a, pol.baseline)}. The choice shown is "
        "the one made on all problems of the bin; its accuracy is the cross-fitted one, so it "
        "can fall below the baseline even where the choice is the baseline's strategy. "
        "Efficiency = the budget at which the baseline reaches the policy's accuracy / the "
        "policy's budget, read off both curves as they are (interpolated in log-budget): "
        "below 1 when the policy loses; '>=' / '<=' mark bounds where the baseline's curve "
        "leaves the cached budgets. 'No significant difference': the gain's CI contains 0.")
    report.table(fr.policy_matrix(pol, a.labels),
                 caption="choice per bin and budget: cross-fitted accuracy [95% CI]")
    table = fr.policy_table(pol)
    table["policy"] = [_name(a, p) for p in table["policy"]]
    report.table(table, collapsed="Full policy table: baseline, gain and efficiency with CIs")
    eff = fr.efficiency_frame(pol)
    if _informative(eff):
        title = f"Efficiency over {_name(a, pol.baseline)}"
        report.chart(charts.efficiency_chart(eff, title=title), f"{key}-efficiency")
    elif not eff.empty:
        report.paragraph("No efficiency chart: every ratio and its CI is 1 (the policy is the "
                         "baseline wherever it could choose).", cls="note")
    for case in a.plans:
        report.heading(f"Budget plan: {case.question}", 4)
        p = case.plan
        report.paragraph(
            f"Expected accuracy {p.accuracy:.3f} (95% CI {p.ci[0]:.3f} to {p.ci[1]:.3f}) at "
            f"{amount(p.cost, p.unit)} per question on average. {p.message}.")
        report.table(fr.plan_table(p, a.labels))
    return report


def add_laws(report: Report, fits: Sequence[LawFit], key: str) -> Report:
    for j, fit in enumerate(fits):
        report.heading(fit.title, 3)
        report.raw_badge(MODEL, model=True)
        report.paragraph(
            "Black points are pass rates measured on real samples (shapes: the part the law was "
            "fitted on and, where there is one, the held-out part it is checked against); lines "
            "and bands are the fitted laws with 95% prediction intervals (delta method). Right "
            f"of the dashed rule (k = {fit.pool_size:g}) the law extrapolates past what it saw.")
        report.chart(charts.law_fit_chart(fit.observed, fit.fitted, pool_size=fit.pool_size,
                                          title=fit.title, y_title=fit.y_title),
                     f"{key}-law-{j}")
        report.table(pd.concat([fr.law_summary(law) for law in fit.laws], ignore_index=True),
                     digits=4)
        if fit.comparison is not None:
            report.table(fit.comparison, caption="model choice by AIC", digits=4)
        if fit.check is not None:
            inside = int((fit.check["inside"] == "yes").sum())
            report.paragraph(f"Held-out check: {inside} of {len(fit.check)} observed values "
                             "fall inside the 95% prediction interval.")
            report.table(fit.check)
        if fit.notes:
            report.bullets(fit.notes)
    return report


def add_exchange(report: Report, results: Sequence[tuple[str, ExchangeResult]], key: str,
                 notes: Sequence[str] = ()) -> Report:
    if not results:
        return report
    report.raw_badge(ORACLE, model=True)
    first = results[0][1]
    report.paragraph(
        "Snell et al. (2024, section 7): pretraining costs 6 P D_pre FLOPs, inference 2 P D_inf, "
        "R = D_inf / D_pre. A model M times larger used once costs as much as the small model "
        "with X = M + 3 (M - 1) / R generations per question. Bars: accuracy of the small model "
        "at X minus the large model's pass@1, per difficulty bin of the small model, with 95% "
        f"bootstrap CIs ({first.ci_method}); 'tie' when the CI covers 0.")
    frame = fr.exchange_frame(results)
    report.chart(charts.exchange_chart(frame), f"{key}-exchange")
    report.table(fr.exchange_table(results), collapsed="Table of the comparisons")
    report.bullets([f"{panel}: {res.note}" for panel, res in results if res.note]
                   + list(notes))
    return report


def add_twin(report: Report, c: Any, key: str) -> Report:
    """A real curve with the twin's continuation past the cached pool (`TwinContinuation`)."""
    report.heading(f"Past the cache: {c.label}, continued by the twin", level=3)
    report.paragraph(
        f"Solid: the {len(c.real_budgets)} budgets the cached pool covers, measured. Dashed: "
        f"{c.model_label}, for budgets the cache cannot serve; its band holds the parameter "
        "uncertainty (bootstrap refits), the samples not generated, and the problems "
        "resampled. `workbench twin validate` measures how well such predictions hold on "
        "held-out samples (README, 'The twin').")
    report.raw_badge(REAL)
    report.raw_badge(f"model-based: {c.model_label}", model=True)
    frame = c.to_frame()
    report.chart(charts.accuracy_vs_budget(
        frame, title=f"{c.run_id}: {c.label}, real and twin"), key)
    table = frame.assign(**{"95% interval": [fr._interval((lo, hi), 3) for lo, hi in
                                            zip(frame["lo"], frame["hi"], strict=True)]})
    report.table(table[["budget", "accuracy", "95% interval", "kind", "source"]],
                 collapsed=f"Table ({len(table)} points)")
    return report


def add_examples(report: Report, a: RunAnalysis) -> Report:
    if a.provenance.third_party and not a.examples:
        report.paragraph(
            "Example generations are not quoted: this run is third-party data (registered "
            f"dataset {a.provenance.registered}); the report shows numbers and charts only.",
            cls="note")
        return report
    if not a.examples:
        return report
    report.heading("Example generations", 3)
    report.paragraph("Model output, shown verbatim and escaped (untrusted text).", cls="note")
    shown: set[str] = set()
    for ex in a.examples:
        mark = {True: "correct", False: "wrong", None: "ungraded"}[ex.correct]
        gold = "" if ex.gold is None else f"; gold {ex.gold}"
        label = f"problem {ex.problem_id}: answer {ex.answer!s} ({mark}{gold})"
        if ex.question and ex.problem_id not in shown:  # each question once
            shown.add(ex.problem_id)
            report.preformatted(ex.question, label=f"question {ex.problem_id}")
        report.preformatted(ex.text, label=label)
    return report


def add_notes(report: Report, notes: Sequence[str]) -> Report:
    if notes:
        report.heading("Notes and caveats", 4)
        report.bullets(notes)
    return report


def add_run(report: Report, a: RunAnalysis, *, heading: str | None = None,
            level: int = 2) -> Report:
    """Every section of one run's analysis."""
    key = slug(a.run_id)
    report.heading(heading or a.run_id, level)
    add_run_summary(report, a)
    add_difficulty(report, a, key)
    x_title = "budget (generations per question)"
    if any(lc.x == "generations" for lc in a.curves):
        x_title = "generations per question (search: proposals generated)"
    if a.info.has_chains:
        # k attempts of a revision chain are k generations: one axis, named for both
        chain_only = all(lc.curve.strategy.startswith("pass_at_attempts") for lc in a.curves)
        x_title = "attempts per question (k)" if chain_only else \
            "generations per question (revision chains: attempts)"
    if a.curves and max(lc.curve.budgets.size for lc in a.curves) <= 2 \
            and all(lc.x == "budget" for lc in a.curves):
        add_points(report, a.curves, f"{key}-points")
    else:
        add_curves(report, a.curves, f"{key}-curves", title=f"{a.run_id}: accuracy vs budget",
                   budget_title=x_title)
    add_curve_table(report, a.curves)
    add_per_bin(report, a, key)
    add_policy(report, a, key)
    add_laws(report, a.laws, key)
    if a.exchange:
        report.heading("Test-time compute vs a larger model", 3)
        add_exchange(report, a.exchange, key)
    add_examples(report, a)
    add_notes(report, a.notes)
    return report


# -- whole reports ----------------------------------------------------------------------------
def run_report(a: RunAnalysis, *, seconds: float | None = None) -> Report:
    """The per-run report (`workbench report RUN`): summary, contents, provenance, results."""
    r = Report(f"ttc-workbench report: {a.run_id}")
    add_summary(r, verdict_rows(a, a.run_id))
    r.paragraph(_made_with(a.settings, seconds), cls="note")
    add_provenance(r, [a.provenance])
    add_run(r, a, heading="Results")
    return r


def demo_report(d: DemoResult) -> Report:
    """The demo report (`workbench demo`): the paper-style analysis on the default real data."""
    r = Report("ttc-workbench demo: test-time compute on cached real generations")
    rows = []
    if d.coder is not None:
        rows += verifier_rows(d.coder_verifiers)
        rows += verdict_rows(d.coder, "MATH-500, Qwen2.5-Coder-0.5B (this project's run)")
        rows += law_rows([d.coder_law] if d.coder_law is not None else [])
    rows += verdict_rows(d.main, "MATH, Qwen2.5-Math-7B + RM-72B")
    rows += verdict_rows(d.prm, "MATH-500, Qwen2.5-1.5B + PRM")
    rows += exchange_rows([(p, e) for p, e in d.exchange if "upper bound" not in p])
    rows += game24_rows(d.game24)
    rows += law_rows(d.laws)
    for own in d.own:
        rows += verdict_rows(own, f"own run {own.run_id}")
    add_summary(r, rows)
    r.heading("About this report")
    r.paragraph(
        "Which test-time strategy should a model use for which questions, how much accuracy "
        "does compute buy, and when is a bigger model the better buy? Following Snell et al. "
        "(2024, 'Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling "
        "Model Parameters'), every number below is computed offline from generations and "
        "verifier scores that were generated once and cached: nothing here calls a model.")
    r.bullets([
        "Curves: strategies x budgets, exact where a closed form exists (pass@k, best-of-N), "
        "Monte Carlo otherwise, with 95% percentile bootstrap CIs over problems.",
        "Compute-optimal policy: per difficulty bin, cross-fitted; efficiency vs best-of-N "
        "weighted; budget plans from the planner.",
        "Scaling laws: each checked against data it was not fitted on.",
        "Exchange: small model + test-time compute vs a larger model, per bin and R.",
    ])
    r.raw_badge(REAL).raw_badge(ORACLE, model=True).raw_badge(MODEL, model=True)
    r.paragraph(_made_with(d.settings, d.seconds), cls="note")
    add_provenance(r, d.provenance)

    n = 1
    if d.coder is not None:
        add_coder(r, d)
        n = 2
    r.heading(f"{n}. MATH: Qwen2.5-Math-7B-Instruct with an outcome reward model")
    r.paragraph(
        "100 MATH problems x 8 samples, scored by Qwen2.5-Math-RM-72B. Majority vote, best-of-N "
        "and weighted best-of-N (Snell et al.'s baseline) at 1 to 8 generations; pass@k is the "
        "oracle upper bound.")
    add_run(r, d.main, heading="Qwen2.5-Math-7B-Instruct + RM-72B", level=3)
    if d.twin is not None:
        add_twin(r, d.twin, "twin")

    r.heading(f"{n + 1}. MATH-500: PRM aggregation (Qwen2.5-1.5B-Instruct, Math-Shepherd PRM)")
    r.paragraph(
        "Only 2 samples per problem are cached, so budgets stop at 2: this section compares the "
        "ways to turn per-step PRM scores into one score (last step, minimum, product, mean).")
    add_run(r, d.prm, heading="Qwen2.5-1.5B-Instruct + math-shepherd-mistral-7b-prm", level=3)

    r.heading(f"{n + 2}. Game of 24: sampling vs Tree-of-Thoughts search (GPT-4)")
    add_game24(r, d.game24)

    r.heading(f"{n + 3}. Sequential revisions: Reflexion on HumanEval (GPT-4)")
    add_curves(r, [*d.revisions.curves, d.revisions_single], "reflexion-curves",
               title="Reflexion: solved within k attempts",
               budget_title="attempts per question (k)")
    add_curve_table(r, [*d.revisions.curves, d.revisions_single])
    add_notes(r, d.revisions.notes)

    r.heading(f"{n + 4}. Scaling laws, checked on held-out data")
    add_laws(r, d.laws, "laws")

    r.heading(f"{n + 5}. Test-time compute vs a 9x larger model (Llama-3 8B vs 70B)")
    add_exchange(r, d.exchange, "demo", d.exchange_notes)

    r.heading(f"{n + 6}. This project's own runs")
    if d.own:
        r.paragraph(
            "Other runs this project generated with `workbench collect` (cached_runs/): "
            "with section 1, the only "
            "place where a report quotes model text (escaped; the model's own output).")
        add_provenance(r, [a.provenance for a in d.own], heading="Provenance of these runs")
    else:
        r.paragraph("No run generated by this project (cached_runs/) was found, so no example "
                    "generations are shown: text from registered datasets is never quoted.",
                    cls="note")
    for a in d.own:
        add_run(r, a, heading=f"{a.run_id} ({a.provenance.policy_model})", level=3)
    add_notes(r, d.own_notes)
    return r


def verifier_rows(qs: Sequence[VerifierQuality]) -> list[dict[str, str]]:
    """Summary rows: each verifier's within-problem AUC (what best-of-N needs), with its CI."""
    rows = []
    for q in qs:
        agg = f", {q.agg} step" if q.agg else ""
        rows.append({
            "question": f"{q.run_id}: within-problem AUC of the verifier {q.verifier}{agg} "
                        f"(pooled AUC {q.auc:.3f} [{q.auc_low:.3f}, {q.auc_high:.3f}])",
            "estimate": f"{q.within_auc:.3f}",
            "95% CI": _ci_text(q.within_low, q.within_high),
            "verdict": "better than a random pick" if q.within_low > 0.5 else
                       "no better than a random pick" if q.within_high >= 0.5 else
                       "worse than a random pick",
        })
    return rows


def add_coder(r: Report, d: DemoResult) -> Report:
    """Section 1: this project's MATH-500 run, the demo's main example."""
    assert d.coder is not None
    r.heading("1. MATH-500: Qwen2.5-Coder 0.5B and 1.5B, this project's run (main example)")
    r.paragraph(
        "Generated by this project on one H200 with `workbench collect-gpu` "
        "(cached_runs/math500-coder): Qwen2.5-Coder-0.5B-Instruct, 500 MATH-500 problems x 64 "
        "samples, and the 3x larger Qwen2.5-Coder-1.5B-Instruct, 500 x 16, graded with "
        "math-verify. Two verifiers score every step: an LLM judge (the 1.5B model's P(yes)) "
        "and a logistic probe on the policy's hidden states, cross-fitted by problem (no "
        "problem is scored by a probe that saw its labels).")
    if d.coder_verifiers:
        r.heading("How much signal the verifiers carry", 3)
        r.table(pd.DataFrame([{
            "run": q.run_id, "verifier": q.verifier + (f" ({q.agg})" if q.agg else ""),
            "samples": f"{q.samples:,}", "AUC": f"{q.auc:.3f}",
            "95% CI": _ci_text(q.auc_low, q.auc_high),
            "within-problem AUC": f"{q.within_auc:.3f}",
            "within 95% CI": _ci_text(q.within_low, q.within_high),
        } for q in d.coder_verifiers]), caption="AUC against the gold grade: pooled over all "
            "pairs of the run, and within each problem's pool (what best-of-N needs; 0.5 = a "
            "random pick); 95% bootstrap CIs over problems")
    add_run(r, d.coder, heading="Qwen2.5-Coder-0.5B-Instruct: strategies, bins, policy, "
            "exchange with the 1.5B model", level=3)
    if d.coder_law is not None:
        r.heading("pass@k laws fitted on part of the pool, checked on the rest", 3)
        add_laws(r, [d.coder_law], "coder-laws")
    return r


def game24_rows(g: Game24) -> list[dict[str, str]]:
    """Summary row: CoT majority vote over 100 samples reproduced from the ToT logs, with its
    bootstrap CI, against the published number."""
    rows = []
    for lc in g.curves:
        if lc.label != "CoT majority vote" or lc.boot is None:
            continue
        j = int(np.argmax(lc.curve.budgets))
        lo = float(lc.boot.confidence_interval.low[j])
        hi = float(lc.boot.confidence_interval.high[j])
        pub = next(row[1] for row in g.published if row[0].startswith("CoT-SC"))
        rows.append({
            "question": f"Game of 24, GPT-4: CoT majority vote over "
                        f"{lc.curve.budgets[j]:g} samples reproduced from the ToT logs "
                        f"(published: {pub:.3f})",
            "estimate": f"{float(lc.curve.accuracy[j]):.3f}",
            "95% CI": _ci_text(lo, hi),
            "verdict": "published value inside the CI" if lo <= pub <= hi
            else "published value OUTSIDE the CI",
        })
    return rows


def add_game24(r: Report, g: Game24) -> Report:
    sampling = [lc for lc in g.curves if lc.x == "budget"]
    r.paragraph(
        "100 puzzles (indices 900-999) from the Tree of Thoughts logs: 100 chain-of-thought and "
        "100 direct ('IO') samples per puzzle, and ToT's breadth-first search tree (proposals "
        "scored by GPT-4 value prompts, top 5 kept per step), replayed here at breadths 1 to 5.")
    add_curves(r, list(g.curves), "game24-curves", title="Game of 24: accuracy vs generations",
               budget_title="generations per question (BFS: proposals generated)")
    r.chart(charts.accuracy_vs_budget(
        fr.curve_frame([_on_tokens(lc) for lc in sampling]),
        title="Game of 24: accuracy vs generated tokens per question",
        budget_title="generated tokens per question",
        strategies={lc.label for lc in g.curves}), "game24-tokens")
    r.table(pd.DataFrame([{
        "method": m, "published (Yao et al. 2023)": p, "these logs": v, "how": how,
    } for m, p, v, how in g.published]), caption="published vs reproduced")
    tot = next(row for row in g.published if row[0].startswith("ToT"))
    r.paragraph(
        f"For ToT BFS (b = 5), {tot[2]:.0%} of the logged searches end with a correct candidate "
        f"among the final five; the paper reports {tot[1]:.0%} for its run.", cls="note")
    add_curve_table(r, list(g.curves))
    add_notes(r, g.notes)
    return r


# -- helpers ----------------------------------------------------------------------------------
def _informative(eff: pd.DataFrame) -> bool:
    """An efficiency chart says something when some ratio or CI end differs from 1."""
    if eff.empty:
        return False
    vals = eff[["efficiency", "lo", "hi"]].to_numpy(dtype=float)
    return bool(np.any(np.abs(vals[np.isfinite(vals)] - 1) > 1e-9))


def _on_tokens(lc: LabelledCurve) -> LabelledCurve:
    return replace(lc, x="tokens")


def _name(a: RunAnalysis, label: str) -> str:
    return a.labels.get(label, label)


def _made_with(settings: object, seconds: float | None) -> str:
    s = settings
    took = f" in {seconds:.0f} s" if seconds is not None else ""
    return (f"Made with ttc-workbench {__version__}{took}: seed {getattr(s, 'seed', '?')}, "
            f"{getattr(s, 'n_boot', '?')} bootstrap resamples per curve, "
            f"{getattr(s, 'policy_boot', '?')} policy replicates, "
            f"{getattr(s, 'draws', '?')} Monte-Carlo draws per problem and budget. "
            "Charts need no network: the Vega libraries are inlined.")

