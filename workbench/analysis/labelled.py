"""A curve with its bootstrap CI and how a reader should see it (real, oracle bound, model).

The unit the pipeline (`workbench.analysis.pipeline`) hands to reports and notebooks: charts and
tables (`workbench.report.frames`) read curves in this form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
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

    def positions(self) -> np.ndarray:
        """(B,) where each budget sits on the chart's x axis."""
        if self.x == "budget":
            return np.asarray(self.curve.budgets, dtype=float)
        return np.asarray(self.curve.cost.unit(self.x), dtype=float)


__all__ = ["KINDS", "LabelledCurve"]
