"""Budget planner: spread a per-question budget over difficulty bins, or meet a target cheaply.

Input is a `PolicyResult` (`workbench.analysis.policy`): for every bin, the cross-fitted accuracy
of the compute-optimal policy at each grid budget, in one unit (generations, tokens, FLOPs or
money; pool several runs into one policy to let the plan choose between models). With bin
weights w_j (the difficulty mix; default the observed shares) the planner solves

    maximise   sum_j w_j acc_j(b_j)   subject to   sum_j w_j b_j <= budget

(or: minimise the cost subject to the accuracy reaching a target). The plan may give a bin a
MIXTURE of two budgets (a share of its questions at each), which a deployment can do by
randomising per question; allowing it makes the problem a linear programme whose optimum is the
greedy walk along the upper concave hull of each bin's accuracy-vs-cost points: start every bin at
its cheapest point, then repeatedly buy the hull segment with the largest marginal accuracy per
unit cost, over all bins, splitting the last segment bought. Every bin's hull has decreasing
slopes, so this is exact (the fractional-knapsack argument), and at most one bin ends up mixed.

The cost of a (bin, budget) point is the grid budget itself (what the policy is allowed to
spend; the configuration it deploys may spend less). The accuracy CI comes from the policy's
bootstrap replicates, with the allocation held fixed (it is chosen on the point estimates, over
few budgets; the per-bin strategy choice inside each replicate is already re-done by the policy).

The cache only covers budgets up to the pool size: a budget the cached points cannot absorb, or a
target they cannot reach, is reported with `covered=False` and a message (the twin, a separate
module, is the tool for going further); nothing is extrapolated here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.analysis.budget_axis import UNITS, amount
from workbench.analysis.policy import _jsonable, percentile_ci

if TYPE_CHECKING:
    import pandas as pd

    from workbench.analysis.policy import PolicyResult

_TOL = 1e-12


@dataclass(frozen=True)
class Allocation:
    """A solution of the allocation problem on plain arrays (see `allocate`).

    Attributes:
        low: (K,) option index each bin starts from (its chosen hull vertex).
        high: (K,) option index of the next hull vertex (= low when the bin is not mixed).
        share: (K,) share of the bin's questions at `high` (0 or 1 unless the bin is mixed).
        accuracy: expected accuracy, sum_j w_j acc_j.
        cost: expected cost per question, sum_j w_j cost_j.
        feasible: False when the budget is below the cheapest allocation or the target above
            the best one (the allocation is then the cheapest, resp. the most accurate, one).
    """

    low: np.ndarray
    high: np.ndarray
    share: np.ndarray
    accuracy: float
    cost: float
    feasible: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per bin.

        Columns:
            bin_index: the bin's position.
            low: option index the bin starts from.
            high: option index of the next hull vertex.
            share: share of the bin's questions at `high`.
            accuracy: the allocation's expected accuracy (same on every row).
            cost: its expected cost per question (same on every row).
            feasible: whether the request could be met (same on every row).
        """
        import pandas as pd

        return pd.DataFrame({
            "bin_index": np.arange(np.asarray(self.low).size), "low": self.low,
            "high": self.high, "share": self.share, "accuracy": self.accuracy,
            "cost": self.cost, "feasible": self.feasible,
        })


def upper_hull(cost: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Indices of the upper concave hull of (cost, accuracy), cheapest first.

    The hull starts at the cheapest point (the most accurate one among equally cheap points) and
    keeps only points that raise accuracy, with strictly decreasing slopes. NaN points are
    ignored.

    >>> upper_hull(np.array([1., 2., 3., 4.]), np.array([.2, .25, .5, .55])).tolist()
    [0, 2, 3]
    """
    c = np.asarray(cost, dtype=float)
    a = np.asarray(accuracy, dtype=float)
    ok = np.flatnonzero(np.isfinite(c) & np.isfinite(a))
    if ok.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = ok[np.lexsort((-a[ok], c[ok]))]  # by cost, then most accurate first
    hull: list[int] = [int(order[0])]
    for i in order[1:]:
        if a[i] <= a[hull[-1]] + _TOL or c[i] <= c[hull[-1]]:
            continue  # dominated: costs more without raising accuracy
        while len(hull) >= 2:
            p, q = hull[-2], hull[-1]
            # drop q if it lies on or below the chord p -> i (cross-multiplied slopes)
            if (a[q] - a[p]) * (c[i] - c[q]) <= (a[i] - a[q]) * (c[q] - c[p]) + _TOL:
                hull.pop()
            else:
                break
        hull.append(int(i))
    return np.asarray(hull, dtype=np.int64)


def allocate(
    costs: Sequence[np.ndarray],
    accuracy: Sequence[np.ndarray],
    weights: np.ndarray,
    *,
    budget: float | None = None,
    target: float | None = None,
) -> Allocation:
    """Greedy allocation on the upper concave hulls (exact for the mixed-strategy problem).

    Args:
        costs, accuracy: per bin, the cost and accuracy of each option (NaN: unavailable).
        weights: (K,) bin weights summing to 1.
        budget: maximise accuracy with expected cost <= budget; or
        target: minimise expected cost with expected accuracy >= target (exactly one of them).

    >>> al = allocate([np.array([1., 2.]), np.array([1., 2.])],
    ...               [np.array([.5, .9]), np.array([.1, .2])], np.array([.5, .5]), budget=1.5)
    >>> al.low.tolist(), al.high.tolist(), al.share.tolist(), round(float(al.accuracy), 3)
    ([1, 0], [1, 0], [0.0, 0.0], 0.5)
    """
    if (budget is None) == (target is None):
        raise ValueError("give exactly one of `budget` and `target`")
    w = np.asarray(weights, dtype=float)
    hulls = [upper_hull(c, a) for c, a in zip(costs, accuracy, strict=True)]
    if any(h.size == 0 for h in hulls):
        bad = next(j for j, h in enumerate(hulls) if h.size == 0)
        raise ValueError(f"bin {bad} has no available option")
    cs = [np.asarray(c, dtype=float) for c in costs]
    ac = [np.asarray(a, dtype=float) for a in accuracy]
    pos = np.zeros(len(hulls), dtype=np.int64)  # current vertex on each hull
    share = np.zeros(len(hulls))
    spent = float(sum(w[j] * cs[j][h[0]] for j, h in enumerate(hulls)))
    acc = float(sum(w[j] * ac[j][h[0]] for j, h in enumerate(hulls)))

    # segments of every hull with positive weight, by marginal gain per unit cost
    segs = [
        (j, t) for j, h in enumerate(hulls) if w[j] > 0 for t in range(h.size - 1)
    ]
    def delta(v: list[np.ndarray], j: int, t: int) -> float:
        return float(v[j][hulls[j][t + 1]] - v[j][hulls[j][t]])

    slope = [delta(ac, j, t) / delta(cs, j, t) for j, t in segs]
    order = sorted(range(len(segs)), key=lambda i: -slope[i])  # stable: ties keep bin order

    feasible = spent <= budget * (1 + 1e-12) + _TOL if budget is not None else True
    if budget is not None and not feasible:
        order = []
    if target is not None and acc >= target - _TOL:
        order = []
    for i in order:
        j, t = segs[i]
        d_cost = w[j] * delta(cs, j, t)
        d_acc = w[j] * delta(ac, j, t)
        # how much of this segment fits: 1 = all of it
        if budget is not None:
            room = (budget - spent) / d_cost
        else:
            room = (float(target) - acc) / d_acc  # type: ignore[arg-type]
        if room >= 1 - _TOL:
            pos[j] = t + 1
            spent += d_cost
            acc += d_acc
            if room <= 1 + _TOL:
                break
            continue
        share[j] = max(room, 0.0)
        spent += share[j] * d_cost
        acc += share[j] * d_acc
        break
    else:
        if target is not None and acc < target - _TOL:
            feasible = False

    low = np.array([h[p] for h, p in zip(hulls, pos, strict=True)], dtype=np.int64)
    high = np.array(
        [h[min(int(p) + 1, h.size - 1)] if s > 0 else h[p]
         for h, p, s in zip(hulls, pos, share, strict=True)],
        dtype=np.int64,
    )
    return Allocation(low, high, share, acc, spent, bool(feasible))


@dataclass(frozen=True)
class PlanChoice:
    """One configuration a bin uses: at grid budget `budget`, for a `share` of its questions."""

    budget: float
    label: str
    share: float
    accuracy: float
    costs: dict[str, float]

    def to_frame(self) -> pd.DataFrame:
        """One row: this configuration.

        Columns:
            budget: the grid budget.
            label: the configuration.
            share: share of the bin's questions it serves.
            accuracy: its accuracy in the bin.
            costs: its mean spend per question in every unit (a dict).
        """
        from workbench.frames import record_frame

        return record_frame([self])


@dataclass(frozen=True)
class BinPlan:
    """The plan for one difficulty bin: one configuration, or a mixture of two."""

    bin: str
    weight: float
    choices: tuple[PlanChoice, ...]
    budget: float
    accuracy: float
    ci: tuple[float, float]

    def to_frame(self) -> pd.DataFrame:
        """One row per configuration the bin uses.

        Columns:
            bin: the bin.
            weight: the bin's share of the questions.
            policy: the configuration.
            budget: its grid budget.
            share: share of the bin's questions it serves.
            accuracy: its accuracy.
            bin_budget: the bin's expected budget per question.
            bin_accuracy: the bin's expected accuracy.
            bin_ci_low: lower bound of its CI.
            bin_ci_high: upper bound.
        """
        import pandas as pd

        return pd.DataFrame([{
            "bin": self.bin, "weight": self.weight, "policy": c.label, "budget": c.budget,
            "share": c.share, "accuracy": c.accuracy, "bin_budget": self.budget,
            "bin_accuracy": self.accuracy, "bin_ci_low": self.ci[0], "bin_ci_high": self.ci[1],
        } for c in self.choices])


@dataclass(frozen=True)
class Plan:
    """A budget plan over difficulty bins (see the module docstring).

    `cost` is the expected per-question budget in `unit`; `costs` the expected spend of the
    deployed configurations in every unit (NaN where a unit is unknown). `covered` is False when
    the cached runs cannot serve the request (`message` says why and what is used instead).
    """

    mode: str
    unit: str
    requested: float
    bins: tuple[BinPlan, ...]
    accuracy: float
    ci: tuple[float, float]
    cost: float
    costs: dict[str, float]
    covered: bool
    message: str
    oracle: bool
    notes: tuple[str, ...]
    bootstrap_distribution: np.ndarray = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per (bin, configuration).

        Columns:
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

        The plan's totals (`accuracy`, `ci`, `cost`) are in `frame.attrs`.
        """
        df = self.table()
        df.attrs.update(accuracy=self.accuracy, ci=self.ci, cost=self.cost, unit=self.unit,
                        covered=self.covered)
        return df

    def table(self) -> pd.DataFrame:
        """One row per (bin, configuration) (see `to_frame`)."""
        import pandas as pd

        rows = [
            {
                "bin": b.bin, "weight": b.weight, "policy": c.label, "budget": c.budget,
                "unit": self.unit, "share": c.share, "accuracy": c.accuracy,
                "bin_accuracy": b.accuracy, "bin_ci_low": b.ci[0], "bin_ci_high": b.ci[1],
            }
            for b in self.bins for c in b.choices
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "bootstrap_distribution"}
        d["bins"] = [
            {**b.__dict__, "choices": [c.__dict__ for c in b.choices]} for b in self.bins
        ]
        return _jsonable(d)  # type: ignore[no-any-return]


def plan(
    policy: PolicyResult,
    *,
    budget: float | None = None,
    target: float | None = None,
    mix: Sequence[float] | np.ndarray | None = None,
) -> Plan:
    """Allocate a per-question budget (in `policy.unit`) across bins, or meet a target cheaply.

    Args:
        policy: a compute-optimal policy on the budget axis to plan in.
        budget: expected budget per question (maximise accuracy), or
        target: accuracy to reach at the least expected cost (exactly one of the two).
        mix: weight of each bin in `policy.bins` order (summing to 1); default the shares of
            problems observed in each bin.

    Example (synthetic curves, labelled as such):

    >>> from workbench.analysis.policy import _demo_curves, compute_optimal_policy
    >>> res = compute_optimal_policy(list(_demo_curves()), ["easy", "hard"] * 20, rng=0,
    ...                              n_resamples=100)
    >>> p = plan(res, budget=4)
    >>> [(b.bin, b.budget) for b in p.bins], round(float(p.accuracy), 3), p.covered
    ([('easy', 4.0), ('hard', 4.0)], 0.75, True)
    """
    if (budget is None) == (target is None):
        raise ValueError("give exactly one of `budget` and `target`")
    if budget is not None and not (np.isfinite(budget) and budget > 0):
        raise ValueError(f"`budget` must be a positive number; got {budget!r}")
    if target is not None and not (np.isfinite(target) and 0 < target <= 1):
        raise ValueError(f"`target` must be an accuracy in (0, 1]; got {target!r}")
    k_bins = len(policy.bins)
    entries = {(e.bin, i): e for e in policy.entries for i in range(policy.grid.size)
               if np.isclose(e.budget, policy.grid[i])}
    ents = [[entries[(b, g)] for g in range(policy.grid.size)] for b in policy.bins]
    counts = np.array([row[0].n_problems for row in ents], dtype=float)
    w = _mix(mix, counts, policy.bins)
    acc = [np.array([e.accuracy for e in row]) for row in ents]
    cost = [np.where(np.isfinite(a), policy.grid, np.nan) for a in acc]
    al = allocate(cost, acc, w, budget=budget, target=target)

    reps = policy.bootstrap.accuracy  # (R, K + 1, G)
    dist = np.zeros(reps.shape[0])
    bin_plans = []
    total_costs = dict.fromkeys(UNITS, 0.0)
    for j in range(k_bins):
        parts = [(al.low[j], 1 - al.share[j])]
        if al.share[j] > 0:
            parts.append((al.high[j], al.share[j]))
        parts = [(g, s) for g, s in parts if s > 0] or [(al.low[j], 1.0)]
        choices = tuple(
            PlanChoice(float(policy.grid[g]), ents[j][g].label, float(s),
                       float(ents[j][g].accuracy), dict(ents[j][g].costs))
            for g, s in parts
        )
        bin_dist = sum(s * reps[:, j, g] for g, s in parts)
        dist = dist + w[j] * bin_dist
        for u in UNITS:
            total_costs[u] += w[j] * sum(s * ents[j][g].costs[u] for g, s in parts)
        bin_plans.append(BinPlan(
            bin=policy.bins[j], weight=float(w[j]), choices=choices,
            budget=float(sum(s * policy.grid[g] for g, s in parts)),
            accuracy=float(sum(s * ents[j][g].accuracy for g, s in parts)),
            ci=percentile_ci(np.asarray(bin_dist), policy.confidence_level),
        ))

    covered, message = _coverage(policy, al, cost, w, budget, target)
    return Plan(
        mode="budget" if budget is not None else "target", unit=policy.unit,
        requested=float(budget if budget is not None else target),  # type: ignore[arg-type]
        bins=tuple(bin_plans), accuracy=al.accuracy,
        ci=percentile_ci(dist, policy.confidence_level), cost=al.cost, costs=total_costs,
        covered=covered, message=message,
        oracle=any(c.label in _oracle_labels(policy) for b in bin_plans for c in b.choices),
        notes=policy.notes, bootstrap_distribution=dist,
    )


def _mix(mix: Sequence[float] | np.ndarray | None, counts: np.ndarray,
         bins: Sequence[str]) -> np.ndarray:
    if mix is None:
        return counts / counts.sum()
    w = np.asarray(mix, dtype=float)
    if w.shape != (len(bins),):
        raise ValueError(
            f"`mix` needs one weight per bin ({len(bins)}: {', '.join(bins)}); got {w.size}"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0) or abs(w.sum() - 1) > 1e-6:
        raise ValueError(f"`mix` must be non-negative weights summing to 1; got {w.tolist()}")
    return w / w.sum()


def _coverage(
    policy: PolicyResult, al: Allocation, cost: Sequence[np.ndarray], w: np.ndarray,
    budget: float | None, target: float | None,
) -> tuple[bool, str]:
    unit = policy.unit
    most = float(sum(w[j] * np.nanmax(c) for j, c in enumerate(cost)))
    least = float(sum(w[j] * np.nanmin(c) for j, c in enumerate(cost)))
    if budget is not None:
        if not al.feasible:
            return False, (
                f"a budget of {amount(budget, unit)} per question is below the cheapest cached "
                f"policy ({amount(least, unit)}); the plan shows that cheapest policy"
            )
        if budget > most * (1 + 1e-9):
            return False, (
                f"a budget of {amount(budget, unit)} per question is beyond what the cache "
                f"covers (at most {amount(most, unit)}, the largest cached budgets); the plan "
                f"spends {amount(al.cost, unit)} and says nothing about more (the twin can "
                "extrapolate)"
            )
        return True, f"plan spends {amount(al.cost, unit)} of {amount(budget, unit)} per question"
    if not al.feasible:
        return False, (
            f"target accuracy {target:.3f} is not reached within the cache: the best cached plan "
            f"gives {al.accuracy:.3f} at {amount(al.cost, unit)} per question (the twin can "
            "extrapolate past the pool)"
        )
    return True, f"cheapest plan reaching {target:.3f}: {amount(al.cost, unit)} per question"


def _oracle_labels(policy: PolicyResult) -> set[str]:
    return {e.label for e in policy.entries if e.oracle}
