"""The demo: the paper-style analysis on the default real data, in one call.

`run_demo` ingests what the store lacks (the registered datasets and this project's own runs
under cached_runs/), then analyses, with the same steps as a per-run report
(`workbench.analysis.pipeline`):

- MATH, Qwen2.5-Math-7B-Instruct with the Qwen2.5-Math-RM-72B outcome verifier (100 problems x
  8 samples): strategy curves with CIs, difficulty bins, the per-bin compute-optimal policy,
  efficiency ratios and budget plans;
- MATH-500, Qwen2.5-1.5B-Instruct with the Math-Shepherd PRM (2 samples per problem): PRM
  aggregations (last, min, prod, mean) compared;
- Game of 24, GPT-4 (Tree of Thoughts logs): chain-of-thought and direct sampling with majority
  vote, and the ToT breadth-first search replayed from its tree, against the published numbers;
- HumanEval, GPT-4 Reflexion: sequential revisions (solved within k attempts);
- scaling laws checked on held-out data: the beta-binomial law fitted on one 256-sample session
  of MATH-500 predicts pass@k of all five sessions; the coverage law fitted on k <= 128 of Large
  Language Monkeys' 10,000 samples predicts the rest; a saturating law on majority vote;
- the exchange of pretraining and test-time compute (Llama-3 8B vs 70B, MATH and GSM8K);
- this project's own runs (cached_runs/), with example generations. The main example is its
  MATH-500 run (Qwen2.5-Coder-0.5B-Instruct, 500 problems x 64, and the 3x larger 1.5B, 500 x
  16, generated on one GPU with `workbench collect-gpu`): how much signal each verifier carries
  (AUC with CIs), the per-bin compute-optimal policy, the exchange of the 0.5B model plus
  test-time compute against the 1.5B model per difficulty bin, and pass@k laws fitted on 16 of
  the 64 samples per problem and checked on all 64.

>>> DEMO_RUNS["main"]
'qwen25-math-rm/math-cot-100'
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workbench.analysis.candidates import candidate_curves, load_strategies
from workbench.analysis.exchange import ExchangeResult
from workbench.analysis.ingest import OWN_RUNS_DIR, ensure_ingested
from workbench.analysis.inputs import counts_curve
from workbench.analysis.labelled import LabelledCurve
from workbench.analysis.lawfits import LawFit, counts_laws, curve_law
from workbench.analysis.pipeline import (
    Provenance,
    RunAnalysis,
    analyse_run,
    exchange_pair,
    labelled,
    provenance,
    tree_curves,
)
from workbench.analysis.settings import Notes, Progress, Settings, power_budgets, step
from workbench.engine import load_run_data, simulate
from workbench.errors import WorkbenchError
from workbench.sources import DATASETS

if TYPE_CHECKING:
    import pandas as pd

    from workbench.analysis.verifier_quality import VerifierQuality
    from workbench.store import RunStore
    from workbench.twin.predict import TwinContinuation

DEMO_RUNS = {
    "main": "qwen25-math-rm/math-cot-100",
    "prm": "compute-optimal-tts/math500-qwen2.5-1.5b-bon",
    "cot": "tot-game24/gpt-4-cot",
    "direct": "tot-game24/gpt-4-direct",
    "bfs": "tot-game24/gpt-4-bfs",
    "reflexion": "reflexion/humaneval-gpt-4-reflexion",
    "reflexion_single": "reflexion/humaneval-gpt-4-simple",
    "law_session": "sampling-ceilings/math500-llama-3.2-1b-s0",
    "law_all": "sampling-ceilings/math500-llama-3.2-1b",
    "math_8b": "sampling-ceilings/llmonkeys-math-llama-3-8b",
    "math_70b": "sampling-ceilings/llmonkeys-math-llama-3-70b",
    "gsm8k_8b": "sampling-ceilings/llmonkeys-gsm8k-llama-3-8b",
    "gsm8k_70b": "sampling-ceilings/llmonkeys-gsm8k-llama-3-70b",
}

OWN_MAIN = ("math500-coder/qwen2.5-coder-0.5b", "math500-coder/qwen2.5-coder-1.5b")
"""This project's MATH-500 run (cached_runs/math500-coder): the small model, the 3x larger one."""

WINNER_WORDS = {"small": "small model better", "large": "larger model better",
                "tie": "no significant difference"}
"""How the summary names an exchange row's winner."""

OWN_LAW_FIT = 16
"""Samples per problem the main example's pass@k laws are fitted on (checked on all 64)."""
"""The registered runs the demo reads (RUN_IDS.md)."""

DEMO_STEPS = 8
"""Steps of a demo as the CLI counts them: the 7 that `run_demo` reports through `progress`
and writing the report (reading missing datasets and own runs add one step each)."""

PUBLISHED_GAME24 = {
    # Yao et al. (2023), Tree of Thoughts, Table 2 (GPT-4, Game of 24 problems 900-999)
    "IO (direct), 1 sample": 0.073,
    "CoT, 1 sample": 0.040,
    "CoT-SC, majority of 100": 0.090,
    "IO best of 100 (oracle)": 0.33,
    "CoT best of 100 (oracle)": 0.49,
    "ToT BFS, b = 5": 0.74,
}


@dataclass(frozen=True)
class Game24:
    """Game of 24 (GPT-4, ToT logs): sampling strategies, the replayed BFS, published numbers."""

    curves: tuple[LabelledCurve, ...]
    published: tuple[tuple[str, float, float, str], ...]
    """(method, published, reproduced from the logs, how it was computed)."""
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per method: the published number against the one reproduced from the logs.

        Columns:
            method: the method.
            published: the published success rate.
            reproduced: the same rate computed from the logs.
            how: how it was computed.
        """
        import pandas as pd

        return pd.DataFrame(list(self.published),
                            columns=["method", "published", "reproduced", "how"])


@dataclass(frozen=True)
class DemoResult:
    """Everything the demo report shows, with how it was made."""

    settings: Settings
    store_path: str
    created: tuple[str, ...]
    main: RunAnalysis
    prm: RunAnalysis
    game24: Game24
    revisions: RunAnalysis
    revisions_single: LabelledCurve
    laws: tuple[LawFit, ...]
    exchange: tuple[tuple[str, ExchangeResult], ...]
    exchange_notes: tuple[str, ...]
    own: tuple[RunAnalysis, ...]
    own_notes: tuple[str, ...]
    provenance: tuple[Provenance, ...]
    seconds: float
    twin: TwinContinuation | None = None
    """Best-of-N on the main run continued past its cached pool by the twin (model-based)."""
    coder: RunAnalysis | None = None
    """The main example, this project's MATH-500 run of the 0.5B model (None without it)."""
    coder_verifiers: tuple[VerifierQuality, ...] = ()
    """AUC of every verifier of both models of that run (complete scores only)."""
    coder_law: LawFit | None = None
    """pass@k laws fitted on `OWN_LAW_FIT` samples per problem, checked on the whole pool."""

    def to_frame(self) -> pd.DataFrame:
        """Every curve the demo shows, stacked: its runs' analyses and Game of 24.

        Columns:
            label: the name shown in legends and tables.
            kind: "real", "oracle" or "model".
            run_id: the run.
            budget: budget in generations per question.
            x: where the point sits on the chart's x axis.
            accuracy: mean expected accuracy.
            ci_low: lower bound of the bootstrap CI.
            ci_high: upper bound.
            tokens: mean generated tokens per question.
            problems: problems averaged over.
            exact: every entry is a closed form.
        """
        import pandas as pd

        coder = [self.coder] if self.coder is not None else []
        parts = [a.to_frame() for a in (*coder, self.main, self.prm, self.revisions, *self.own)]
        parts += [lc.to_frame() for lc in (*self.game24.curves, self.revisions_single)]
        return pd.concat(parts, ignore_index=True)

    def summary(self) -> list[str]:
        """A few lines with the headline numbers (what `workbench demo` prints)."""
        return demo_summary(self)


def run_demo(
    store: RunStore,
    settings: Settings | None = None,
    *,
    own_runs: Path | None = OWN_RUNS_DIR,
    progress: Progress | None = None,
) -> DemoResult:
    """Ingest what is missing, then run the whole demo analysis (see the module docstring)."""
    settings = settings or Settings()
    start = time.perf_counter()
    load_strategies()
    step(progress, "ingest missing runs")
    created = ensure_ingested(store, own_runs=own_runs, progress=progress)

    coder = None
    coder_verifiers: list[VerifierQuality] = []
    coder_law = None
    own_notes: list[str] = []
    stored = {info.run_id for info in store.runs()}
    if OWN_MAIN[0] in stored:
        step(progress, "MATH-500: Qwen2.5-Coder 0.5B (this project's run)")
        coder = analyse_run(store, OWN_MAIN[0], settings)
        coder_verifiers = demo_verifiers(store, [r for r in OWN_MAIN if r in stored], settings,
                                         own_notes)
        coder_law = own_law(store, settings)
    step(progress, "MATH: Qwen2.5-Math-7B + RM-72B")
    main = analyse_run(store, DEMO_RUNS["main"], settings)
    step(progress, "twin: best-of-N past the cached pool (model-based)")
    twin = demo_twin(store, settings)
    step(progress, "MATH-500: Qwen2.5-1.5B + PRM")
    prm = analyse_run(store, DEMO_RUNS["prm"], settings)
    step(progress, "Game of 24: sampling and ToT BFS")
    game = game24(store, settings)
    step(progress, "HumanEval: Reflexion revisions")
    rev = analyse_run(store, DEMO_RUNS["reflexion"], settings)
    single_data = load_run_data(store, DEMO_RUNS["reflexion_single"])
    single = labelled(simulate(single_data, "pass_at_k", [1]), settings, kind="real",
                      label="one attempt (separate run, no reflection)")

    step(progress, "scaling laws (held-out checks)")
    laws = demo_laws(store, settings)
    step(progress, "exchange: Llama-3 8B vs 70B")
    exch: list[tuple[str, ExchangeResult]] = []
    ex_notes: list[str] = []
    for small, large, title in (
        ("math_8b", "math_70b", "MATH: Llama-3 8B vs 70B"),
        ("gsm8k_8b", "gsm8k_70b", "GSM8K: Llama-3 8B vs 70B"),
    ):
        rows, notes = exchange_pair(store, DEMO_RUNS[small], DEMO_RUNS[large], settings, title)
        exch.extend(rows)
        ex_notes.extend(n for n in notes if n not in ex_notes)

    own = []
    for info in store.runs():
        if info.run_id.split("/", 1)[0] in DATASETS or info.run_id == OWN_MAIN[0]:
            continue  # third-party data (never quoted), or the main example, analysed above
        step(progress, f"own run {info.run_id}")
        try:
            own.append(analyse_run(store, info.run_id, settings))
        except (WorkbenchError, ValueError) as exc:  # one odd own run must not sink the demo
            own_notes.append(f"{info.run_id} could not be analysed: {exc}")
    return DemoResult(
        settings=settings, store_path=str(store.path), created=tuple(created), main=main,
        prm=prm, game24=game, revisions=rev, revisions_single=single, laws=tuple(laws),
        exchange=tuple(exch), exchange_notes=tuple(ex_notes), own=tuple(own),
        own_notes=tuple(own_notes),
        provenance=tuple(provenance(store.run_record(r)) for r in DEMO_RUNS.values()),
        seconds=time.perf_counter() - start, twin=twin, coder=coder,
        coder_verifiers=tuple(coder_verifiers), coder_law=coder_law,
    )


def demo_verifiers(store: RunStore, run_ids: list[str], settings: Settings,
                   notes: list[str]) -> list[VerifierQuality]:
    """AUC of each verifier of each run (pooled and within-problem), with bootstrap CIs; a
    verifier that scored only part of a run is left out with a note."""
    from workbench.analysis.verifier_quality import verifier_quality

    out = []
    for run_id in run_ids:
        for name in sorted(store.verifiers(run_id)):
            pool = load_run_data(store, run_id, verifier=name).pool
            if pool is None or pool.score is None:
                why = "no samples" if pool is None else pool.missing.get("score", "no scores")
                notes.append(f"{run_id}: verifier {name} left out of the AUC table ({why})")
                continue
            out.append(verifier_quality(pool, n_boot=settings.n_boot,
                                        confidence=settings.confidence,
                                        seed=int(settings.rng(f"auc|{run_id}|{name}")
                                                 .integers(2**31))))
    return out


def own_law(store: RunStore, settings: Settings) -> LawFit | None:
    """pass@k laws of the main example fitted on its first `OWN_LAW_FIT` samples per problem
    and checked against pass@k of all of them (held-out budgets 17..64)."""
    from workbench.engine.data import RunData
    from workbench.engine.pool import SamplePool

    full = load_run_data(store, OWN_MAIN[0])
    pool = full.pool
    if pool is None or pool.correct is None or full.counts is None \
            or int(pool.sizes.min()) <= OWN_LAW_FIT:
        return None
    part = SamplePool.from_arrays(correct=pool.correct[:, :OWN_LAW_FIT],
                                  sizes=np.minimum(pool.sizes, OWN_LAW_FIT),
                                  run_id=pool.run_id, problem_ids=pool.problem_ids)
    top = int(pool.sizes.min())
    return counts_laws(
        RunData.from_pool(part, run=full.run),
        f"MATH-500, Qwen2.5-Coder-0.5B: pass@k laws fitted on {OWN_LAW_FIT} samples/problem",
        settings, check=(full.counts, f"all {top} samples per problem"))


def demo_twin(store: RunStore, settings: Settings) -> TwinContinuation:
    """Best-of-N on the main run at 1..8 (real) and 16..64 (the twin, model-based: fitted on
    the run's 8 samples per problem; `workbench twin validate` measures how far it holds)."""
    from workbench.twin.predict import continue_curve

    data = load_run_data(store, DEMO_RUNS["main"])
    return continue_curve(data, "best_of_n", [1, 2, 4, 8, 16, 32, 64], n_boot=40,
                          n_resamples=1000, rng=settings.rng("twin"))


def game24(store: RunStore, settings: Settings) -> Game24:
    """Chain-of-thought and direct sampling (majority vote, pass@k as the oracle bound) and the
    ToT BFS replay, with the published numbers beside what these logs give."""
    notes = Notes()
    budgets = power_budgets(100)
    with notes.catching():
        cc = candidate_curves(store, [DEMO_RUNS["cot"], DEMO_RUNS["direct"]], budgets=budgets,
                              include_oracle=True, draws=settings.draws,
                              rng=settings.rng("game24"))
    prompt = {DEMO_RUNS["cot"]: "CoT", DEMO_RUNS["direct"]: "direct"}
    names = {"majority": "majority vote", "pass_at_k": "pass@k (oracle)"}
    curves = [labelled(c, settings, label=f"{prompt[c.run_id]} {names[c.strategy]}")
              for c in cc.curves]
    bfs = tree_curves(load_run_data(store, DEMO_RUNS["bfs"]), settings, notes)
    by = {lc.label: lc for lc in curves}

    def at(label: str, n: int) -> float:
        c = by[label].curve
        return float(c.accuracy[list(c.budgets).index(n)])

    at5 = {lc.kind: float(lc.curve.accuracy[0]) for lc in bfs if lc.curve.budgets[0] == 5}
    any5, top5 = at5["oracle"], at5["real"]
    mine = {
        "IO (direct), 1 sample": (at("direct majority vote", 1), "direct pass@1"),
        "CoT, 1 sample": (at("CoT majority vote", 1), "CoT pass@1"),
        "CoT-SC, majority of 100": (at("CoT majority vote", 100),
                                    "CoT majority vote over all 100 samples"),
        "IO best of 100 (oracle)": (at("direct pass@k (oracle)", 100), "direct pass@100"),
        "CoT best of 100 (oracle)": (at("CoT pass@k (oracle)", 100), "CoT pass@100"),
        "ToT BFS, b = 5": (any5, "replayed BFS: solved if any of the 5 final candidates is "
                           f"correct (the best-valued candidate alone: {top5:.2f})"),
    }
    published = tuple((k, v, *mine[k]) for k, v in PUBLISHED_GAME24.items())
    return Game24(tuple(curves + bfs), published, tuple(notes.items))


def demo_laws(store: RunStore, settings: Settings) -> list[LawFit]:
    """Scaling laws each checked against data it was not fitted on."""
    out = []
    session = load_run_data(store, DEMO_RUNS["law_session"])
    full = load_run_data(store, DEMO_RUNS["law_all"])
    assert session.counts is not None and full.counts is not None
    out.append(counts_laws(
        session, "MATH-500, Llama-3.2-1B: pass@k laws fitted on one 256-sample session",
        settings, check=(full.counts, "all 5 sessions (1,280 per problem)"),
    ))
    big = load_run_data(store, DEMO_RUNS["math_8b"])
    assert big.counts is not None
    cov = counts_curve(big.counts, power_budgets(int(np.min(big.counts.n))))
    out.append(curve_law(cov, "MATH, Llama-3-8B: coverage law fitted on k <= 128 of 10,000",
                         law="coverage", fit_upto=128, y_title="pass@k"))
    gsm = store.run_record(DEMO_RUNS["gsm8k_8b"])
    published = (gsm.meta or {}).get("published") or {}
    if published.get("sel_grid") and any(published.get("selection") or []):
        out.append(curve_law(
            (published["sel_grid"], published["selection"]),
            "GSM8K, Llama-3-8B: saturating law on the published majority-vote curve, fitted on "
            "N <= 64", fit_upto=64, y_title="majority-vote accuracy"))
    return out


def coder_summary(res: DemoResult) -> list[str]:
    """Headline lines of the main example (this project's MATH-500 run)."""
    c = res.coder
    if c is None:
        return []
    lines = []
    if res.coder_verifiers:
        lines.append("MATH-500, Qwen2.5-Coder verifiers (AUC vs the gold grade, pooled / "
                     "within-problem): " + "; ".join(
                         f"{q.run_id.rsplit('/', 1)[-1]} {q.verifier}: {q.auc:.3f} "
                         f"[{q.auc_low:.3f}, {q.auc_high:.3f}] / {q.within_auc:.3f}"
                         for q in res.coder_verifiers))
    mj = next((lc for lc in c.curves if lc.curve.strategy == "majority"), None)
    picks = [lc for lc in c.curves if lc.curve.strategy in ("best_of_n", "weighted_bon")
             and lc.curve.params.get("agg", "last") == "last"]
    if mj is not None and picks:
        top = int(mj.curve.budgets[-1])
        best = max(picks, key=lambda lc: float(lc.curve.accuracy[-1]))
        lines.append(f"MATH-500, Qwen2.5-Coder-0.5B ({c.info.problems} problems x {top}): "
                     f"majority @{top} = {_acc(mj, -1)}; best at @{top}: {best.label} = "
                     f"{_acc(best, -1)}; @1 = {_acc(mj, 0)}")
    if c.headline is not None:
        lines.append(c.headline.text())
    for panel, ex in c.exchange:
        if "upper bound" in panel:
            continue
        rows = [r for r in ex.rows if r.bin == "all"]
        lines.append(f"exchange, {panel}: " + "; ".join(
            f"R={r.r:g}: X={r.budget:.0f} gen., {r.difference:+.3f} [{r.lower:+.3f}, "
            f"{r.upper:+.3f}] ({WINNER_WORDS.get(r.winner, r.winner)})" for r in rows))
        break
    return lines


def demo_summary(res: DemoResult) -> list[str]:
    """The headline numbers of a demo, one line each."""
    lines = coder_summary(res)
    m = res.main
    # by strategy, not by legend name: a signed reward model's weighted vote is labelled with
    # its score transform ("weighted best-of-N (sigmoid)")
    wb = next((c for c in m.curves if c.curve.strategy == "weighted_bon"), None)
    mj = next((c for c in m.curves if c.curve.strategy == "majority"), None)
    if wb is not None and mj is not None:
        top = int(wb.curve.budgets[-1])
        lines.append(
            f"MATH (Qwen2.5-Math-7B, {m.info.problems} problems x {top}): weighted best-of-N "
            f"with RM-72B @{top} = {_acc(wb, -1)}; majority @{top} = {_acc(mj, -1)}; "
            f"@1 = {_acc(wb, 0)}"
        )
    if m.headline is not None:  # the line `workbench optimize RUN --seed S` prints
        lines.append(m.headline.text())
    if m.plans:
        p = m.plans[0].plan
        lines.append(f"plan: {p.requested:g} {p.unit}/question on average -> accuracy "
                     f"{p.accuracy:.3f} [{p.ci[0]:.3f}, {p.ci[1]:.3f}]")
    pub = {row[0]: row for row in res.game24.published}
    sc = pub["CoT-SC, majority of 100"]
    tot = pub["ToT BFS, b = 5"]
    lines.append(f"Game of 24 (GPT-4): CoT majority@100 {sc[2]:.3f} (published {sc[1]:.2f}); "
                 f"ToT BFS b=5 replayed {tot[2]:.2f} (published {tot[1]:.2f})")
    deployable = [(p, e) for p, e in res.exchange if "upper bound" not in p]
    for panel, ex in [*res.exchange[:1], *deployable[:1]]:
        rows = [r for r in ex.rows if r.bin == "all"]
        txt = "; ".join(f"R={r.r:g}: X={r.budget:.0f} gen., {r.difference:+.3f} "
                        f"[{r.lower:+.3f}, {r.upper:+.3f}] ({WINNER_WORDS.get(r.winner, r.winner)})"
                        for r in rows)
        lines.append(f"exchange, {panel}: {txt}")
    for fit in res.laws[:1]:
        if fit.check is not None and not fit.check.empty:
            last = fit.check[fit.check["law"] == fit.laws[0].name].iloc[-1]
            lines.append(
                f"scaling law ({fit.laws[0].name}) fitted on 256 samples/problem predicts "
                f"pass@{int(last['k'])} = {last['predicted']:.3f} {last['95% interval']}; "
                f"observed with 1,280: {last['observed']:.3f}"
            )
    if res.own:
        lines.append("this project's own runs: " + ", ".join(a.run_id for a in res.own))
    return lines


def _acc(lc: LabelledCurve, j: int) -> str:
    a = float(lc.curve.accuracy[j])
    if lc.boot is None:
        return f"{a:.3f}"
    lo = float(lc.boot.confidence_interval.low[j])
    hi = float(lc.boot.confidence_interval.high[j])
    return f"{a:.3f} [{lo:.3f}, {hi:.3f}]"


__all__ = ["DEMO_RUNS", "DEMO_STEPS", "OWN_MAIN", "PUBLISHED_GAME24", "DemoResult", "Game24",
           "coder_summary", "demo_laws", "demo_summary", "demo_verifiers", "game24", "own_law",
           "run_demo"]
