"""A curve with its bootstrap CI and how a reader should see it (real, oracle bound, model).

The unit the pipeline (`workbench.analysis.pipeline`) hands to reports and notebooks: charts and
tables (`workbench.report.frames`) read curves in this form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from workbench.engine.bootstrap import BootstrapResult
    from workbench.engine.results import Curve

KINDS = ("real", "oracle", "model")
"""How a number was obtained: measured on cached samples ("real"), an upper bound that picks
with the gold answer ("oracle"), or from a fitted model / extrapolation ("model")."""


@dataclass(frozen=True)
class LabelledCurve:
    """A curve with its bootstrap CI and how a reader should see it.

    Attributes:
        label: the name shown in legends and tables.
        curve: the engine's curve.
        boot: its bootstrap over problems (None: no band).
        kind: "real", "oracle" (upper bound) or "model" (see `KINDS`).
        x: "budget" to plot at the curve's budgets, or a cost unit ("generations", "tokens",
            "flops", "money") to plot at its mean cost per question (e.g. a tree search whose
            budget is a breadth, not a number of generations).
    """

    label: str
    curve: Curve
    boot: BootstrapResult | None = None
    kind: str = "real"
    x: str = "budget"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}; got {self.kind!r}")

    def to_frame(self) -> pd.DataFrame:
        """One row per budget: the curve's accuracy with its bootstrap CI (NaN without one).

        Columns:
            label: the name shown in legends and tables.
            kind: "real", "oracle" or "model".
            run_id: the run.
            budget: budget in generations per question.
            x: where the point sits on the chart's x axis (`x` unit).
            accuracy: mean expected accuracy.
            ci_low: lower bound of the bootstrap CI.
            ci_high: upper bound.
            tokens: mean generated tokens per question.
            problems: problems averaged over.
            exact: every entry is a closed form.
        """
        import pandas as pd

        c = self.curve
        nan = np.full(c.budgets.size, np.nan)
        boot = self.boot
        return pd.DataFrame({
            "label": self.label, "kind": self.kind, "run_id": c.run_id,
            "budget": np.asarray(c.budgets, dtype=float), "x": self.positions(),
            "accuracy": c.accuracy,
            "ci_low": nan if boot is None else np.asarray(boot.confidence_interval.low, float),
            "ci_high": nan if boot is None else np.asarray(boot.confidence_interval.high, float),
            "tokens": np.asarray(c.cost.tokens, dtype=float),
            "problems": int(c.per_problem.shape[0]), "exact": bool(c.exact),
        })

    def positions(self) -> np.ndarray:
        """(B,) where each budget sits on the chart's x axis."""
        if self.x == "budget":
            return np.asarray(self.curve.budgets, dtype=float)
        return np.asarray(self.curve.cost.unit(self.x), dtype=float)


__all__ = ["KINDS", "LabelledCurve"]
