"""Diagnostics of difficulty bins: which bins can carry a per-bin verdict.

A bin is DEGENERATE when

- its problems do not differ in the binning statistic ("no spread"): on Qwen2.5-Math (8
  samples) 79 of 100 problems have pass@1 = 1, so L1 to L4 all hold problems with pass@1 = 1 and
  quantile binning splits that tie by problem id; such bins are one bin cut in pieces, and a
  per-bin "policy" there chooses among strategies on what is in effect the same problems; or
- its problems have too few samples to place them: pass@1 from n samples moves in steps of
  1 / n, so with n = 2 (compute-optimal-tts) a problem is "easy" after two right answers by luck.
  The default minimum, 16 samples per problem, keeps the standard error of a pass@1 of 0.5
  at 0.125, half the width of a quintile of a uniform spread; below it the bin a problem falls
  in is mostly noise.

`check_bins` returns the per-bin diagnostics and, unless told not to, raises a
`DegenerateBinWarning` naming the bins; the report shows a badge beside them.

Worked example (synthetic): four problems with pass@1 1, 1, 0.5, 0 from 2 samples each, in
two bins: L1 = {1, 1} has no spread, and every bin has 2 < 16 samples per problem.

>>> import numpy as np
>>> from workbench.analysis.bins import oracle_bins
>>> b = oracle_bins(["a", "b", "c", "d"], [1.0, 1.0, 0.5, 0.0], n_bins=2)
>>> checks = check_bins(b, np.full(4, 2), warn=False)
>>> [(c.bin, c.spread, c.min_samples) for c in checks.checks]
[('L1', False, 2), ('L2', True, 2)]
>>> checks.degenerate
('L1', 'L2')
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.errors import DegenerateBinWarning

if TYPE_CHECKING:
    import pandas as pd

    from workbench.analysis.bins import Bins

MIN_SAMPLES = 16
"""Samples per problem below which a bin is flagged (see the module docstring)."""


@dataclass(frozen=True)
class BinCheck:
    """Diagnostics of one bin.

    Attributes:
        bin: the bin label.
        problems: problems in the bin.
        low, high: smallest and largest value of the binning statistic in the bin.
        spread: False when every problem of the bin has the same value.
        min_samples: fewest samples any problem of the bin has.
        enough_samples: `min_samples` >= the threshold the check used.
    """

    bin: str
    problems: int
    low: float
    high: float
    spread: bool
    min_samples: int
    enough_samples: bool

    @property
    def degenerate(self) -> bool:
        return self.problems > 0 and (not self.spread or not self.enough_samples)

    def to_frame(self) -> pd.DataFrame:
        """One row: this bin's diagnostics.

        Columns:
            bin: the bin label.
            problems: problems in the bin.
            low: smallest value of the binning statistic.
            high: largest value.
            spread: False when every problem has the same value.
            min_samples: fewest samples any problem has.
            enough_samples: `min_samples` reaches the threshold.
            degenerate: no spread or too few samples.
        """
        from workbench.frames import record_frame

        frame = record_frame([self])
        frame["degenerate"] = self.degenerate
        return frame

    def reasons(self, statistic: str, threshold: int) -> list[str]:
        out = []
        if self.problems and not self.spread:
            out.append(f"no spread: all {self.problems} problems have {statistic} "
                       f"{self.low:.3g}")
        if self.problems and not self.enough_samples:
            out.append(f"{self.min_samples} samples per problem, fewer than {threshold}")
        return out


@dataclass(frozen=True)
class BinChecks:
    """Diagnostics of every bin of a partition (`check_bins`)."""

    checks: tuple[BinCheck, ...]
    statistic: str
    threshold: int

    @property
    def degenerate(self) -> tuple[str, ...]:
        """Labels of the degenerate bins, easiest first."""
        return tuple(c.bin for c in self.checks if c.degenerate)

    def messages(self) -> list[str]:
        """One plain sentence per degenerate bin (empty when none is)."""
        return [f"bin {c.bin} is degenerate "
                f"({'; '.join(c.reasons(self.statistic, self.threshold))}): its per-bin numbers "
                "do not describe a difficulty level" for c in self.checks if c.degenerate]

    def to_frame(self) -> pd.DataFrame:
        """One row per bin.

        Columns:
            bin: the bin label.
            problems: problems in the bin.
            low: smallest value of the binning statistic.
            high: largest value.
            spread: False when every problem has the same value.
            min_samples: fewest samples any problem has.
            enough_samples: `min_samples` reaches the threshold.
            degenerate: no spread or too few samples.
            reason: why the bin is degenerate, in words ("" when it is not).
        """
        import pandas as pd

        return pd.DataFrame([{
            "bin": c.bin, "problems": c.problems, "low": c.low, "high": c.high,
            "spread": c.spread, "min_samples": c.min_samples,
            "enough_samples": c.enough_samples, "degenerate": c.degenerate,
            "reason": "; ".join(c.reasons(self.statistic, self.threshold)),
        } for c in self.checks])


def check_bins(
    bins: Bins,
    samples: Any,
    *,
    min_samples: int = MIN_SAMPLES,
    warn: bool = True,
) -> BinChecks:
    """Flag degenerate bins (no spread in the statistic, or too few samples per problem).

    Args:
        bins: the partition.
        samples: samples per problem: an array aligned with `bins.problem_ids`, or a mapping
            problem_id -> count.
        min_samples: the threshold (default `MIN_SAMPLES`, 16).
        warn: raise one `DegenerateBinWarning` listing the degenerate bins.
    """
    if not isinstance(min_samples, int | np.integer) or min_samples < 1:
        raise ValueError(f"`min_samples` must be a positive integer; got {min_samples!r}")
    if isinstance(samples, Mapping):
        try:
            n = np.array([samples[str(p)] for p in bins.problem_ids], dtype=float)
        except KeyError as exc:
            raise ValueError(f"`samples` has no count for problem {exc.args[0]!r}") from None
    else:
        n = np.asarray(samples, dtype=float)
        if n.shape != bins.problem_ids.shape:
            raise ValueError(f"`samples` must have one count per problem "
                             f"({bins.problem_ids.size}); got shape {n.shape}")
    out = []
    for j, label in enumerate(bins.labels):
        m = bins.bin_index == j
        v = bins.values[m]
        k = int(n[m].min()) if m.any() else 0
        out.append(BinCheck(
            bin=label, problems=int(m.sum()),
            low=float(v.min()) if v.size else float("nan"),
            high=float(v.max()) if v.size else float("nan"),
            spread=bool(v.size > 1 and v.max() - v.min() > 1e-12) or v.size <= 1,
            min_samples=k, enough_samples=k >= min_samples,
        ))
    res = BinChecks(tuple(out), bins.statistic, int(min_samples))
    if warn and res.degenerate:
        warnings.warn("; ".join(res.messages()), DegenerateBinWarning, stacklevel=2)
    return res


__all__ = ["MIN_SAMPLES", "BinCheck", "BinChecks", "check_bins"]
