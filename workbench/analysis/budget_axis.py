"""Put curves of different strategies on one budget axis (generations, tokens, FLOPs or money).

Strategies are computed at their own budgets (beam search only at multiples of its beam width;
in tokens each strategy has its own cost per generation), so comparing them "at equal budget"
needs a rule. The rule here never invents accuracy: at a grid budget x a configuration is worth
what it achieves at its LARGEST budget whose cost is at most x (a policy may spend less than it
is allowed, never more). A configuration none of whose budgets fits under x is unavailable there
(NaN). On the generations axis the cost of a budget is the budget itself (`Curve.budgets`); on
the other axes it is the mean cost per question `Curve.cost.<unit>`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workbench.engine.results import COST_UNITS

if TYPE_CHECKING:
    from workbench.engine.results import Curve

UNITS = COST_UNITS
"""The budget axes: the cost units of `Curve.cost`."""
_REL_TOL = 1e-9
"""Costs within this relative distance of a grid budget count as fitting under it."""


def amount(value: float, unit: str) -> str:
    """A budget as a reader wants it: three significant digits and the unit in the right number.

    >>> amount(1.36009, "generations"), amount(1, "generations"), amount(18247157.3, "flops")
    ('1.36 generations', '1 generation', '1.82e+07 FLOPs')
    >>> amount(0.0123, "money")
    '$0.0123'
    """
    v = float(value)
    num = f"{v:.3g}"
    if unit == "money":
        return f"${num}"
    name = {"flops": "FLOPs", "generations": "generation", "tokens": "token"}.get(unit, unit)
    if name in ("generation", "token") and num != "1":
        name += "s"
    return f"{num} {name}"


def check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"`unit` must be one of {', '.join(map(repr, UNITS))}; got {unit!r}")
    return unit


def budget_costs(curve: Curve, unit: str) -> np.ndarray:
    """(B,) the cost of each of the curve's budgets in `unit` (NaN where it is unknown).

    >>> from workbench.analysis.budget_axis import budget_costs
    >>> budget_costs(_demo_curve(), "tokens").tolist()
    [100.0, 200.0, 400.0]
    """
    check_unit(unit)
    if unit == "generations":
        return np.asarray(curve.budgets, dtype=float)
    return np.asarray(curve.cost.unit(unit), dtype=float)


def grid_index(costs: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(G,) index of the largest cost <= each grid budget, -1 where none fits.

    Costs need not be sorted (token costs of a strategy usually grow with the budget but need
    not); NaN costs never fit.

    >>> grid_index(np.array([1.0, 2.0, 4.0]), np.array([0.5, 1.0, 3.0, 8.0])).tolist()
    [-1, 0, 1, 2]
    """
    c = np.asarray(costs, dtype=float)
    g = np.asarray(grid, dtype=float)
    fits = c[None, :] <= g[:, None] * (1 + _REL_TOL)  # NaN compares False: never fits
    masked = np.where(fits, c[None, :], -np.inf)
    idx = masked.argmax(axis=1)
    return np.where(fits.any(axis=1), idx, -1)


def on_grid(curve: Curve, grid: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """The curve's per-problem accuracy and actual spend at each grid budget.

    Returns `(per_problem (P, G), spent (G,))`; columns where no budget fits are NaN.

    >>> pp, spent = on_grid(_demo_curve(), np.array([50.0, 250.0, 1000.0]), "tokens")
    >>> pp.tolist(), spent.tolist()
    ([[nan, 0.5, 0.75]], [nan, 200.0, 400.0])
    """
    costs = budget_costs(curve, unit)
    idx = grid_index(costs, grid)
    pp = np.asarray(curve.per_problem, dtype=float)
    out = np.where(idx[None, :] >= 0, pp[:, np.maximum(idx, 0)], np.nan)
    spent = np.where(idx >= 0, costs[np.maximum(idx, 0)], np.nan)
    return out, spent


def _demo_curve() -> Curve:
    """A one-problem curve for the docstring examples (synthetic)."""
    from workbench.engine.results import Cost, Curve

    b = np.array([1.0, 2.0, 4.0])
    return Curve(
        strategy="demo", params={}, run_id="synthetic", problem_ids=np.array(["p0"]),
        budgets=b, per_problem=np.array([[0.25, 0.5, 0.75]]), mc_se=np.zeros((1, 3)),
        cost=Cost(b, 100 * b, 2e9 * 100 * b, b * 1e-3), exact=True,
    )
