"""The analysis behind a report: one run's curves, bins, policy, plans, laws and exchange.

One code path serves `workbench report RUN`, `workbench demo` (`workbench.analysis.demo`) and
the notebooks: each step here calls the engine and the analysis layer and returns typed results;
`workbench.report.render` turns them into a `Report`. Nothing here prints; long steps call
`progress(step)` so the CLI can draw a bar. The policy and its verdicts come from
`workbench.analysis.verdict.optimize`, the call `workbench optimize` makes, so the report, the
demo's headline and the CLI agree to the last digit for the same run and seed.

What a run holds decides what is computed (anything it cannot support is listed in `notes`):

- samples with answers: every candidate strategy (majority, best-of-N and weighted best-of-N
  per verifier and PRM aggregation, pass@k as the oracle upper bound) at powers of two, with
  bootstrap CIs over problems; oracle difficulty bins; per-bin curves; the cross-fitted
  compute-optimal policy with efficiency ratios; budget plans; a saturating law on the baseline;
- per-problem counts: exact pass@k, bins, the beta-binomial law (extrapolation past the pool);
- a cached search tree: ToT breadth-first search replayed at each breadth;
- revision chains: solved-within-k-attempts (and revisions when chains allow);
- a larger model on the same problems in the store: the exchange of Snell et al., section 7.

Warnings raised by the engine or the analysis (coverage, Monte Carlo, degenerate bootstrap) are
collected into `notes`, so a reader sees them next to the numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.analysis.bin_checks import BinChecks, check_bins
from workbench.analysis.bins import Bins
from workbench.analysis.candidates import CandidateCurves, load_strategies
from workbench.analysis.exchange import ORACLE_NOTE, ExchangeResult, exchange_runs
from workbench.analysis.exchange_policy import exchange_policy
from workbench.analysis.inputs import bins_for_run, counts_curve
from workbench.analysis.labelled import LabelledCurve
from workbench.analysis.lawfits import MIN_CURVE_POINTS, LawFit, counts_laws, curve_law
from workbench.analysis.planner import Plan, plan
from workbench.analysis.policy import PolicyResult
from workbench.analysis.settings import Notes, Progress, Settings, power_budgets, step
from workbench.analysis.verdict import (
    Optimization,
    Verdict,
    candidate_set,
    optimize,
    samples_per_problem,
)
from workbench.engine import CountsPool, RunData, bootstrap_curve, load_run_data, simulate
from workbench.errors import BudgetError, CoverageWarning, FitError, StrategyError
from workbench.sources import DATASETS

if TYPE_CHECKING:
    import pandas as pd

    from workbench.engine.bootstrap import BootstrapResult
    from workbench.engine.results import Curve
    from workbench.store import RunInfo, RunStore
    from workbench.store.records import Run

STRATEGY_NAMES = {
    "weighted_bon": "weighted best-of-N",
    "best_of_n": "best-of-N",
    "majority": "majority vote",
    "pass_at_k": "pass@k (oracle)",
    "bfs": "ToT BFS",
    "beam": "beam search",
    "revisions": "revisions",
    "pass_at_attempts": "solved within k attempts",
}


@dataclass(frozen=True)
class Provenance:
    """Where a run comes from and under which terms (shown with every report)."""

    run_id: str
    dataset: str
    policy_model: str
    policy_params: float | None
    source: str
    licence: str | None
    citation: str | None
    attribution: str | None
    registered: str | None
    """The registered dataset the run comes from (third-party data), or None (own/user run)."""

    @property
    def third_party(self) -> bool:
        return self.registered is not None

    def to_frame(self) -> pd.DataFrame:
        """One row.

        Columns:
            run_id: the run.
            dataset: its dataset.
            policy_model: the model that generated it.
            policy_params: its parameter count (None: unknown).
            source: where the data came from.
            licence: the data's licence (None: own or user run).
            citation: how to cite it.
            attribution: the attribution the licence asks for.
            registered: the registered dataset it comes from (None: own or user run).
        """
        from workbench.frames import record_frame

        return record_frame([self])


@dataclass(frozen=True)
class Example:
    """One generation of a run this project produced (shown escaped)."""

    problem_id: str
    question: str | None
    gold: str | None
    answer: str | None
    correct: bool | None
    text: str

    def to_frame(self) -> pd.DataFrame:
        """One row.

        Columns:
            problem_id: the problem.
            question: its question.
            gold: its gold answer.
            answer: the generation's final answer.
            correct: whether it is correct.
            text: the generation (untrusted text: escape it before showing it as HTML).
        """
        from workbench.frames import record_frame

        return record_frame([self])


@dataclass(frozen=True)
class PlanCase:
    """A budget plan with the question it answers."""

    question: str
    plan: Plan

    def to_frame(self) -> pd.DataFrame:
        """The plan's rows (`Plan.to_frame`) with the question they answer.

        Columns:
            question: the question the plan answers.
            bin: the bin.
            weight: the bin's share of the questions.
            policy: the configuration.
            budget: its grid budget.
            unit: the budget axis.
            share: share of the bin's questions it serves.
            accuracy: its accuracy in the bin.
            bin_accuracy: the bin's expected accuracy.
            bin_ci_low: lower bound of its CI.
            bin_ci_high: upper bound.
        """
        df = self.plan.to_frame()
        df.insert(0, "question", self.question)
        return df


@dataclass(frozen=True)
class RunAnalysis:
    """Everything a per-run report shows. Parts a run cannot support are None or empty, with
    the reason in `notes`."""

    provenance: Provenance
    info: RunInfo
    curves: tuple[LabelledCurve, ...]
    baseline: str | None
    bins: Bins | None
    checks: BinChecks | None
    """Which bins are degenerate (no spread, too few samples per problem)."""
    per_bin_boots: dict[tuple[str, str], BootstrapResult]
    optimization: Optimization | None
    """The policy as `workbench optimize` computes it (None where the run supports none)."""
    plans: tuple[PlanCase, ...]
    laws: tuple[LawFit, ...]
    exchange: tuple[tuple[str, ExchangeResult], ...]
    examples: tuple[Example, ...]
    labels: dict[str, str]
    """Curve label -> display name (legends and policy tables use the display names)."""
    notes: tuple[str, ...]
    settings: Settings

    @property
    def run_id(self) -> str:
        return self.provenance.run_id

    @property
    def policy(self) -> PolicyResult | None:
        return None if self.optimization is None else self.optimization.policy

    @property
    def headline(self) -> Verdict | None:
        """The run's headline verdict (the per-bin policy over all problems at mid-grid)."""
        return None if self.optimization is None else self.optimization.headline()

    def to_frame(self) -> pd.DataFrame:
        """The run's accuracy curves with their CIs, stacked (one row per curve and budget).
        The policy is `optimization.to_frame()`, bins `bins.to_frame()`, and so on.

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

        return pd.concat([lc.to_frame() for lc in self.curves], ignore_index=True)

    def curve(self, label: str) -> LabelledCurve:
        """The labelled curve with this display label (KeyError listing the labels)."""
        for lc in self.curves:
            if lc.label == label:
                return lc
        raise KeyError(f"no curve {label!r}; curves: {[c.label for c in self.curves]}")


# -- small helpers ----------------------------------------------------------------------------
def provenance(run: Run) -> Provenance:
    """Provenance of a stored run: the registry's licence and citation for registered data."""
    prefix = run.run_id.split("/", 1)[0]
    ds = DATASETS.get(prefix)
    meta = run.meta or {}
    return Provenance(
        run_id=run.run_id, dataset=run.dataset, policy_model=run.policy_model,
        policy_params=run.policy_params, source=run.source,
        licence=ds.licence if ds is not None else meta.get("licence"),
        citation=ds.citation if ds is not None else meta.get("citation"),
        attribution=ds.attribution if ds is not None else meta.get("attribution"),
        registered=ds.name if ds is not None else None,
    )


def display_name(curve: Curve, *, show_verifier: bool = False) -> str:
    """A readable legend name, e.g. "best-of-N (last)" or "majority vote".

    >>> from workbench.analysis.budget_axis import _demo_curve
    >>> display_name(replace(_demo_curve(), strategy="best_of_n",
    ...                      params={"verifier": "prm", "agg": "min"}))
    'best-of-N (min)'
    """
    name = STRATEGY_NAMES.get(curve.strategy, curve.strategy)
    parts = []
    for key, value in curve.params.items():
        if key == "verifier" and not show_verifier:
            continue
        parts.append(str(value) if key in ("agg", "verifier", "select", "transform", "rollout")
                     else f"{key}={value}")
    return f"{name} ({', '.join(parts)})" if parts else name


def bootstrap(curve: Curve, settings: Settings, key: str) -> BootstrapResult | None:
    """Percentile bootstrap over the problems a curve covers (None with fewer than 2).

    Percentile rather than BCa: in saturated bins every problem has the same value and BCa is
    undefined there, while the percentile interval degrades to a point.
    """
    pp = np.asarray(curve.per_problem, dtype=float)
    rows = np.isfinite(pp).all(axis=1)
    if rows.sum() < 2:
        return None
    sub = curve if rows.all() else curve.subset(rows)
    return bootstrap_curve(sub, n_resamples=settings.n_boot, method="percentile",
                           confidence_level=settings.confidence, rng=settings.rng(key))


def labelled(curve: Curve, settings: Settings, *, label: str | None = None, kind: str | None = None,
             x: str = "budget", show_verifier: bool = False) -> LabelledCurve:
    """A curve with its bootstrap CI and display label (pass@k is marked as the oracle bound)."""
    name = label or display_name(curve, show_verifier=show_verifier)
    k = kind or ("oracle" if curve.strategy == "pass_at_k" else "real")
    return LabelledCurve(name, curve, bootstrap(curve, settings, f"{curve.run_id}|{name}|{x}"),
                         k, x)


# -- the parts of an analysis -----------------------------------------------------------------
def sample_curves(
    store: RunStore, run_id: str, settings: Settings, notes: Notes,
) -> CandidateCurves:
    """Every candidate strategy's curve (pass@k included as the oracle bound) and the baseline,
    exactly as `workbench optimize` computes them (`verdict.candidate_set`)."""
    with notes.catching():
        cc = candidate_set(store, [run_id], settings, include_oracle=True)
    for label, why in cc.skipped:
        notes.add(f"{label} not computed: {why}")
    return cc


def counts_budgets(counts: CountsPool, cap: int | None = None) -> list[int]:
    """Powers of two up to the smallest per-problem pool (and the pool itself)."""
    top = int(np.min(counts.n))
    return power_budgets(min(top, cap) if cap else top)


def tree_curves(data: RunData, settings: Settings, notes: Notes) -> list[LabelledCurve]:
    """ToT breadth-first search replayed at each breadth up to the logged one.

    Each breadth is its own curve: the cache covers a different share of problems at each
    (a narrower search can need nodes ToT never expanded), and a breadth is not a number of
    generations, so the x axis is the mean number of proposals generated per question.
    """
    top = int((data.run.sampler or {}).get("n_select_sample", 5))
    out = []
    covered = {}
    for select, kind in (("top", "real"), ("any", "oracle")):
        for b in range(1, top + 1):
            with warnings.catch_warnings():
                # coverage is reported once below, per breadth, instead of once per curve
                warnings.simplefilter("ignore", CoverageWarning)
                c = simulate(data, "bfs", [b], select=select)
            covered[b] = c.per_problem.shape[0]
            name = "ToT BFS (best-valued answer)" if select == "top" else \
                "ToT BFS (any final candidate: oracle)"
            out.append(labelled(c, settings, label=name, kind=kind, x="generations"))
    total = len(data.tree.problems)
    if any(n < total for n in covered.values()):
        shares = ", ".join(f"b={b}: {n}" for b, n in covered.items())
        notes.add(f"The cached tree covers a search of breadth b only where every node it "
                  f"visits was expanded; problems covered of {total}: {shares}. Accuracy at "
                  "each breadth is over the problems covered at that breadth.")
    return out


def chain_curves(data: RunData, settings: Settings, notes: Notes) -> list[LabelledCurve]:
    """Revision chains: solved within k attempts, and the bound counting ungraded attempts.

    k runs up to the attempts every chain can answer: a chain that stopped (at success, or by
    the generator's own rule) counts as it ended; one cut short by the cache limits k.
    """
    chains = data.chains
    open_lengths = [int(n) for p in chains.problems
                    for n, done in zip(p.length, p.stopped, strict=True) if not done]
    top = min(open_lengths) if open_lengths else int(chains.max_len)
    with notes.catching():
        c = simulate(data, "pass_at_attempts", list(range(1, top + 1)))
    out = [labelled(c, settings, label="solved within k attempts (graded)")]
    upper = c.meta.get("upper_bound")
    if upper is not None and not np.array_equal(np.asarray(upper, float), c.per_problem):
        up = replace(c, strategy="pass_at_attempts_upper", per_problem=np.asarray(upper, float))
        out.append(labelled(up, settings, kind="oracle",
                            label="counting ungraded attempts as solved (upper bound)"))
        notes.add("Some attempts were never graded (the logged system did not check them "
                  "against the real tests); the upper curve counts them as solved, so the truth "
                  "lies between the two curves.")
    return out


def run_policy(
    store: RunStore, run_id: str, cands: CandidateCurves, settings: Settings, notes: Notes,
) -> Optimization | None:
    """The cross-fitted compute-optimal policy over the deployable candidates (not pass@k):
    `workbench.analysis.verdict.optimize`, the call behind `workbench optimize`."""
    if sum(c.strategy != "pass_at_k" for c in cands.curves) < 2:
        notes.add("compute-optimal policy not computed: fewer than two deployable strategies")
        return None
    try:
        with notes.catching():
            return optimize(store, [run_id], settings, curves=cands)
    except ValueError as exc:
        notes.add(f"compute-optimal policy not computed: {exc}")
        return None


def budget_plans(policy: PolicyResult, notes: Notes) -> list[PlanCase]:
    """Three planning questions on a policy: the best use of a mid-grid budget, the cheapest plan
    reaching the baseline's accuracy one grid step below its largest budget, and the mid-grid
    budget on a harder question mix."""
    grid = policy.grid
    if grid.size < 2:
        return []
    out = []
    mid = float(grid[grid.size // 2])
    unit = policy.unit
    out.append(PlanCase(f"Best accuracy for {mid:g} {unit} per question on average "
                        "(observed difficulty mix)", plan(policy, budget=mid)))
    # the baseline's accuracy one step below its largest budget: how cheaply does the per-bin
    # policy get there? (at the largest budget the target can lie past what the cache covers)
    before_last = policy.entry("all", float(grid[-2]))
    target = float(before_last.baseline_accuracy)
    if grid.size >= 3 and 0 < target <= 1:
        out.append(PlanCase(
            f"Cheapest plan reaching {target:.3f}, the baseline's accuracy at "
            f"{grid[-2]:g} {unit}", plan(policy, target=target)))
    k = len(policy.bins)
    if k >= 2:
        w = np.arange(1, k + 1, dtype=float)  # weight grows with difficulty (L1 easiest)
        w /= w.sum()
        mix = ", ".join(f"{b} {x:.0%}" for b, x in zip(policy.bins, w, strict=True))
        out.append(PlanCase(f"What if the questions were harder ({mix})? Same {mid:g} {unit}",
                            plan(policy, budget=mid, mix=w)))
    for case in out:
        if not case.plan.covered:
            notes.add(case.plan.message)
    return out


def find_larger(store: RunStore, run: Run) -> Run | None:
    """The largest other model in the store on the same problems (for the exchange), if any."""
    if not run.policy_params:
        return None
    mine = _problem_ids(store, run.run_id)
    best = None
    for info in store.runs():
        if info.run_id == run.run_id or info.dataset != run.dataset:
            continue
        other = store.run_record(info.run_id)
        if not other.policy_params or other.policy_params <= run.policy_params * 1.05:
            continue
        if _problem_ids(store, info.run_id) != mine:  # the exchange pairs problems
            continue
        if best is None or other.policy_params > (best.policy_params or 0):
            best = other
    return best


def _problem_ids(store: RunStore, run_id: str) -> frozenset[str]:
    rows = store.query(
        "SELECT DISTINCT problem_id FROM samples WHERE run_id = ? "
        "UNION SELECT problem_id FROM problem_counts WHERE run_id = ?", [run_id, run_id],
    ).to_pylist()
    return frozenset(str(r["problem_id"]) for r in rows)


def exchange_pair(
    store: RunStore, small_id: str, large_id: str, settings: Settings, title: str | None = None,
    *, small_curves: CandidateCurves | None = None,
) -> tuple[list[tuple[str, ExchangeResult]], list[str]]:
    """Snell et al.'s exchange (`workbench.analysis.exchange.exchange_runs`): the small model +
    test-time compute vs the larger one used once, per oracle bin of the small model and R in
    (0.16, 0.79, 22). Returns (panel title, result) pairs and notes on what was not compared.

    pass@k is oracle coverage (an upper bound on any selection strategy); past the small
    model's pool it is the beta-binomial law's prediction (model-based; the rows say so).
    Majority vote follows when the run supports it (engine or a published curve).
    `small_curves`: the small run's `sample_curves` when the caller has them (the per-bin policy
    row reuses them instead of replaying every candidate again: the same curves, see
    `candidate_set`).
    """
    small = load_run_data(store, small_id)
    large = load_run_data(store, large_id)
    notes = Notes()
    with notes.catching():
        rep = exchange_runs(small, large, n_bins=settings.n_bins, n_boot=settings.n_boot,
                            alpha=1 - settings.confidence,
                            rng=settings.rng(f"exchange|{small_id}|{large_id}"))
    name = title or f"{small.run.policy_model} vs {large.run.policy_model} ({small.run.dataset})"
    out = []
    for res in rep.results:
        what = "pass@k (upper bound)" if res.note == ORACLE_NOTE else res.strategy
        out.append((f"{name}: {what}", res))
        if any(r.small_method.startswith("extrapolated") for r in res.rows):
            notes.add(f"{name}: budgets X past the cached pool use the beta-binomial law's "
                      "per-problem prediction (model-based)")
    for why in rep.skipped:
        notes.add(f"{name}: {why}")
    policy_row = exchange_with_policy(store, small, large, settings, name, notes,
                                      cands=small_curves)
    if policy_row is not None:
        out.append(policy_row)
    return out, notes.items


def exchange_with_policy(
    store: RunStore, small: RunData, large: RunData, settings: Settings, name: str, notes: Notes,
    *, cands: CandidateCurves | None = None,
) -> tuple[str, ExchangeResult] | None:
    """Snell's comparison proper: the small model's per-bin compute-optimal policy at the
    FLOPs-matched budget vs the large model once (`exchange_policy`), where the small run has
    deployable strategies whose pool reaches that budget; otherwise a note says why not."""
    if settings.policy_boot < 100 or large.counts is None:
        return None
    if cands is None:
        cands = candidate_set(store, [small.run_id], settings, include_oracle=False)
    # pass@k draws nothing and comes last, so curves computed with it are the same curves
    deploy = [c for c in cands.curves if c.strategy != "pass_at_k"]
    if not deploy:
        notes.add(f"{name}: the exchange with the small model's per-bin policy needs samples "
                  "with answers (the small run holds counts only), so only single strategies "
                  "are compared")
        return None
    try:
        ratio = float(large.run.policy_params or 0) / float(small.run.policy_params or 1)
        res = exchange_policy(
            deploy, counts_curve(large.counts, [1]), bins_for_run(small, n_bins=settings.n_bins),
            ratio=ratio, folds=settings.folds, splits=settings.splits,
            boot_splits=settings.boot_splits, n_boot=settings.policy_boot,
            confidence_level=settings.confidence,
            rng=settings.rng(f"exchange-policy|{small.run_id}|{large.run_id}"))
    except (BudgetError, StrategyError, ValueError) as exc:
        notes.add(f"{name}: exchange with the per-bin policy not computed: {exc}")
        return None
    return f"{name}: per-bin compute-optimal policy", res


def examples(store: RunStore, run_id: str, n: int) -> list[Example]:
    """Up to `n` generations of a run with text: correct and wrong ones alternately.

    The generations are the run's own; the questions may not be (a run of this project on
    MATH-500 problems): a question or gold answer is shown only when no registered dataset's
    run in the store has the same dataset name.
    """
    if n <= 0:
        return []
    dataset = store.run_record(run_id).dataset
    borrowed = any(info.dataset == dataset and info.run_id.split("/", 1)[0] in DATASETS
                   for info in store.runs())
    rows = store.query(
        """SELECT s.problem_id, s.answer, s.is_correct, s.text, p.question, p.gold_answer
           FROM samples s JOIN runs r ON r.run_id = s.run_id
           LEFT JOIN problems p ON p.dataset = r.dataset AND p.problem_id = s.problem_id
           WHERE s.run_id = ? AND s.text IS NOT NULL
           ORDER BY s.problem_id, s.sample_idx""",
        [run_id],
    ).to_pylist()
    right = [r for r in rows if r["is_correct"]]
    wrong = [r for r in rows if r["is_correct"] is not None and not r["is_correct"]]
    picked: list[dict[str, Any]] = []
    for pair in zip(right, wrong, strict=False):
        picked.extend(pair)
    picked = (picked or rows)[:n]
    return [Example(str(r["problem_id"]), None if borrowed else r["question"],
                    None if borrowed else r["gold_answer"], r["answer"], r["is_correct"],
                    str(r["text"])) for r in picked]


# -- one run ----------------------------------------------------------------------------------
def analyse_run(
    store: RunStore,
    run_id: str,
    settings: Settings | None = None,
    *,
    show_examples: bool | None = None,
    progress: Progress | None = None,
) -> RunAnalysis:
    """Everything a per-run report shows (see the module docstring).

    `show_examples=None` quotes generations only for runs that are not from a registered
    dataset (this project's own runs, or the user's): third-party text is never quoted unless
    the caller asks for it explicitly.

    >>> from workbench.store import Problem, Run, RunBundle, RunStore, Sample
    >>> store = RunStore(":memory:")  # a synthetic run, labelled as such
    >>> _ = store.ingest(RunBundle(Run("toy/run", "toy", "m", "synthetic"),
    ...     problems=[Problem("toy", f"p{i}") for i in range(8)],
    ...     samples=[Sample(f"p{i}", j, answer_key=str((i + j) % 3), is_correct=(i + j) % 3 == 0)
    ...              for i in range(8) for j in range(4)]))
    >>> a = analyse_run(store, "toy/run", Settings(n_boot=100, policy_boot=0, draws=50, n_bins=2))
    >>> [c.label for c in a.curves]
    ['majority vote', 'pass@k (oracle)']
    """
    settings = settings or Settings()
    load_strategies()
    notes = Notes()
    run = store.run_record(run_id)
    info = store.describe(run_id)
    prov = provenance(run)
    step(progress, f"{run_id}: load")
    data = load_run_data(store, run_id)
    curves: list[LabelledCurve] = []
    baseline: Curve | None = None
    cands: CandidateCurves | None = None
    several_verifiers = len(data.verifiers) > 1

    if data.pool is not None and data.pool.answer is not None and data.pool.correct is not None \
            and data.chains is None:
        step(progress, f"{run_id}: strategy curves")
        # powers of two and the whole pool (the last point is then exact for every strategy)
        cands = sample_curves(store, run_id, settings, notes)
        baseline = cands.baseline
        curves = [labelled(c, settings, show_verifier=several_verifiers) for c in cands.curves]
    elif data.chains is not None:
        step(progress, f"{run_id}: revision chains")
        curves = chain_curves(data, settings, notes)
        try:  # revisions(N, ratio) and voting, where the chains support them
            cands = sample_curves(store, run_id, settings, notes)
            baseline = cands.baseline
            curves += [labelled(c, settings, show_verifier=several_verifiers)
                       for c in cands.curves]
        except StrategyError as exc:
            notes.add(f"revision strategies not computed: {exc}")
    elif data.tree is not None and (data.run.sampler or {}).get("method") == "bfs":
        step(progress, f"{run_id}: tree search replay")
        curves = tree_curves(data, settings, notes)
    elif data.tree is not None:  # a tree bank for beam / lookahead / DVTS
        step(progress, f"{run_id}: tree search replay")
        cands = sample_curves(store, run_id, settings, notes)  # budgets 1 to 64
        baseline = cands.baseline
        curves = [labelled(c, settings) for c in cands.curves]
    elif data.counts is not None:
        step(progress, f"{run_id}: pass@k")
        c = counts_curve(data.counts, counts_budgets(data.counts))
        curves = [labelled(c, settings)]
        notes.add("this run holds per-problem counts only: pass@k (oracle coverage) is the only "
                  "strategy they support")
    labels = {lc.curve.label: lc.label for lc in curves}

    bins = None
    checks = None
    per_bin: dict[tuple[str, str], BootstrapResult] = {}
    if data.counts is not None and data.counts.n_problems >= 2 * settings.n_bins:
        bins = bins_for_run(data, n_bins=settings.n_bins)
        checks = check_bins(bins, samples_per_problem(data, bins), warn=False)
        for text in checks.messages():
            notes.add(text)
        step(progress, f"{run_id}: per-bin curves")
        for lc in curves:
            if lc.curve.run_id != run_id or lc.x != "budget":
                continue
            for label, sub in bins.split(lc.curve).items():
                b = bootstrap(sub, settings, f"bin|{label}|{lc.label}")
                if b is not None:
                    per_bin[(lc.label, label)] = b
    elif data.counts is not None:
        notes.add(f"difficulty bins not made: {data.counts.n_problems} problems are too few "
                  f"for {settings.n_bins} bins")

    opt = None
    plans: list[PlanCase] = []
    if bins is not None and cands is not None and settings.policy_boot > 0:
        step(progress, f"{run_id}: compute-optimal policy")
        opt = run_policy(store, run_id, cands, settings, notes)
        if opt is not None:
            for n in opt.notes:
                notes.add(n)
            step(progress, f"{run_id}: budget plans")
            plans = budget_plans(opt.policy, notes)

    laws: list[LawFit] = []
    step(progress, f"{run_id}: scaling laws")
    if data.counts is not None and data.chains is None:
        try:
            laws.append(counts_laws(data, f"pass@k of {run.policy_model}: scaling laws",
                                    settings))
        except FitError as exc:
            notes.add(str(exc))
    if baseline is not None and baseline.budgets.size >= MIN_CURVE_POINTS:
        try:
            laws.append(curve_law(baseline, f"{labels.get(baseline.label, baseline.label)}: "
                                  "saturating law"))
        except (FitError, ValueError) as exc:
            notes.add(f"saturating law not fitted to the baseline: {exc}")
    elif baseline is not None:
        notes.add(f"saturating law not fitted: the baseline has {baseline.budgets.size} "
                  f"budgets, fewer than {MIN_CURVE_POINTS}, too few for three parameters and "
                  "a useful interval")

    exch: list[tuple[str, ExchangeResult]] = []
    larger = find_larger(store, run) if data.counts is not None else None
    if larger is not None:
        step(progress, f"{run_id}: exchange with {larger.run_id}")
        try:
            exch, more = exchange_pair(store, run_id, larger.run_id, settings,
                                       small_curves=cands)
            for n in more:
                notes.add(n)
        except (StrategyError, BudgetError, FitError, ValueError) as exc:
            notes.add(f"exchange with {larger.run_id} not computed: {exc}")
    else:
        notes.add("no larger model on the same problems in the store: the exchange of "
                  "pretraining for test-time compute is not computed for this run")

    quote = (not prov.third_party) if show_examples is None else show_examples
    ex = examples(store, run_id, settings.examples) if quote else []
    return RunAnalysis(
        provenance=prov, info=info, curves=tuple(curves),
        baseline=None if baseline is None else labels.get(baseline.label, baseline.label),
        bins=bins, checks=checks, per_bin_boots=per_bin, optimization=opt, plans=tuple(plans),
        laws=tuple(laws),
        exchange=tuple(exch), examples=tuple(ex), labels=labels, notes=tuple(notes.items),
        settings=settings,
    )


__all__ = [
    "Example", "PlanCase", "Provenance", "RunAnalysis", "Settings", "analyse_run", "bootstrap",
    "budget_plans", "display_name", "exchange_pair", "find_larger",
    "labelled", "provenance",
]
