"""Difficulty bins: a partition of a run's problems by how hard they are for the model.

Three kinds (DESIGN.md, Analysis; Snell et al. 2024, section 3.2):

- "oracle": quantile bins of per-problem pass@1 estimated from all cached samples (needs gold).
- "predicted": the same on the mean verifier score per problem (no gold answers used).
- "absolute": fixed thresholds the user gives on either statistic.

Levels run from easiest to hardest, as in Snell et al.: bin 0, label "L1", holds the problems
with the HIGHEST value (pass@1 or mean score); the last bin the lowest.

Quantile bins are assigned by rank, not by comparing values with quantile edges: problems are
sorted by value (descending) with ties broken by problem id (ascending, a fixed and documented
order), and the problem at rank r of P goes to bin floor(r * n_bins / P). Bin sizes therefore
differ by at most one even when many problems share a value (pass@1 = 0 is common), and the
assignment is deterministic. The price: problems with equal values can straddle a bin boundary.
`edges` of quantile bins are the usual value quantiles, kept for display only.

Bins are per model (per run): bin a second run's problems with that run's own statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from workbench.engine.results import Curve

KINDS = ("oracle", "predicted", "absolute")


@dataclass(frozen=True)
class Bins:
    """A partition of problems into difficulty levels (L1 = easiest).

    Attributes:
        problem_ids: (P,) problem ids, in the order the values were given.
        bin_index: (P,) the bin of each problem, 0 = easiest.
        edges: (n_bins + 1,) value boundaries, ascending (quantile bins: for display only).
        kind: "oracle", "predicted" or "absolute".
        labels: one label per bin, easiest first ("L1", "L2", ...).
        values: (P,) the statistic the bins were made from (pass@1 or mean verifier score).
        statistic: what `values` are ("pass@1", "mean score (verifier)", ...).

    >>> b = oracle_bins(["a", "b", "c", "d"], [0.9, 0.1, 0.5, 0.0], n_bins=2)
    >>> b.labels, b.counts.tolist(), b.label_of("a")
    (('L1', 'L2'), [2, 2], 'L1')
    """

    problem_ids: np.ndarray
    bin_index: np.ndarray
    edges: np.ndarray
    kind: str
    labels: tuple[str, ...]
    values: np.ndarray
    statistic: str = "pass@1"

    @property
    def n_bins(self) -> int:
        return len(self.labels)

    @property
    def counts(self) -> np.ndarray:
        """(n_bins,) number of problems in each bin."""
        return np.bincount(self.bin_index, minlength=self.n_bins)

    def _bin(self, b: int | str) -> int:
        if isinstance(b, str):
            if b not in self.labels:
                raise ValueError(f"unknown bin {b!r}; bins are {list(self.labels)}")
            return self.labels.index(b)
        if not 0 <= int(b) < self.n_bins:
            raise ValueError(f"bin index must be in [0, {self.n_bins}); got {b!r}")
        return int(b)

    def mask(self, b: int | str) -> np.ndarray:
        """(P,) boolean mask of the problems in bin `b` (index or label)."""
        return np.asarray(self.bin_index == self._bin(b))

    def label_of(self, problem_id: str) -> str:
        """The bin label of one problem."""
        hit = np.flatnonzero(self.problem_ids == problem_id)
        if hit.size == 0:
            raise KeyError(f"problem {problem_id!r} is not in these bins")
        return self.labels[int(self.bin_index[hit[0]])]

    def as_mapping(self) -> dict[str, str]:
        """problem_id -> bin label (the form `analysis.policy` takes)."""
        pairs = zip(self.problem_ids, self.bin_index, strict=True)
        return {str(p): self.labels[int(i)] for p, i in pairs}

    def index_for(self, problem_ids: Any) -> np.ndarray:
        """(Q,) bin index of each given problem id; KeyError naming the first unknown one."""
        order = np.argsort(self.problem_ids, kind="stable")
        sorted_ids = self.problem_ids[order]
        ids = np.asarray(problem_ids).astype(str)
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(sorted_ids.size - 1, 0))
        found = sorted_ids[pos] == ids if sorted_ids.size else np.zeros(ids.size, bool)
        if not np.all(found):
            missing = ids[~found]
            raise KeyError(
                f"{missing.size} problem(s) have no bin, e.g. {str(missing[0])!r}: bin the "
                "run the curve came from (bins are per model)"
            )
        return np.asarray(self.bin_index[order[pos]])

    def split(self, curve: Curve) -> dict[str, Curve]:
        """The curve's rows split by bin, aligned by problem id: {label: Curve}, easiest first.

        Every problem of the curve must have a bin (KeyError otherwise); bins with no problem
        of the curve give an empty Curve.
        """
        idx = self.index_for(curve.problem_ids)
        return {label: curve.subset(idx == j) for j, label in enumerate(self.labels)}

    def to_frame(self) -> pd.DataFrame:
        """One row per bin, easiest first.

        Columns:
            bin: the bin's label ("L1" = easiest).
            problems: problems in the bin.
            min: smallest value of the binning statistic in the bin (NaN: empty bin).
            max: largest value in the bin.
            mean: mean value in the bin.
            statistic: what the values are ("pass@1", "mean score (prm)", ...).
            kind: "oracle", "predicted" or "absolute".

        >>> oracle_bins(["a", "b", "c", "d"], [0.9, 0.1, 0.5, 0.0], n_bins=2).to_frame()["mean"]
        0    0.70
        1    0.05
        Name: mean, dtype: float64
        """
        import pandas as pd

        rows = []
        for j, label in enumerate(self.labels):
            v = self.values[self.bin_index == j]
            rows.append(
                {
                    "bin": label,
                    "problems": int(v.size),
                    "min": float(v.min()) if v.size else np.nan,
                    "max": float(v.max()) if v.size else np.nan,
                    "mean": float(v.mean()) if v.size else np.nan,
                    "statistic": self.statistic,
                    "kind": self.kind,
                }
            )
        df = pd.DataFrame(rows)
        df.attrs.update(kind=self.kind, statistic=self.statistic, edges=self.edges.tolist())
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (the CLI's --json)."""
        return {
            "kind": self.kind,
            "statistic": self.statistic,
            "labels": list(self.labels),
            "edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
            "bins": self.to_frame().to_dict(orient="records"),
            "assignment": self.as_mapping(),
        }


def _labels(n_bins: int) -> tuple[str, ...]:
    width = len(str(n_bins))  # zero-pad so labels sort in level order (L01 .. L10)
    return tuple(f"L{i + 1:0{width}d}" for i in range(n_bins))


def _validate(problem_ids: Any, values: Any) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray(problem_ids).astype(str)
    vals = np.asarray(values, float)
    if ids.ndim != 1 or vals.shape != ids.shape:
        raise ValueError(
            f"`problem_ids` and `values` must be 1-D of equal length; got {ids.shape}, {vals.shape}"
        )
    if ids.size == 0:
        raise ValueError("`problem_ids` is empty: nothing to bin")
    if not np.all(np.isfinite(vals)):
        bad = int(np.flatnonzero(~np.isfinite(vals))[0])
        raise ValueError(f"`values` must be finite; problem {str(ids[bad])!r} has {vals[bad]}")
    uniq, first = np.unique(ids, return_index=True)
    if uniq.size != ids.size:
        dup = str(ids[np.setdiff1d(np.arange(ids.size), first)][0])
        raise ValueError(f"`problem_ids` must be unique; {dup!r} appears more than once")
    return ids, vals


def quantile_bins(
    problem_ids: Any, values: Any, *, n_bins: int = 5, kind: str = "oracle",
    statistic: str = "pass@1",
) -> Bins:
    """Near-equal-size bins by rank of `values` (highest value = L1), ties by problem id.

    >>> b = quantile_bins(["p1", "p2", "p3", "p4", "p5"], [0, 0, 0, 1, 0.5], n_bins=2)
    >>> b.as_mapping()  # the three tied at 0 straddle the boundary: p1 (first id) goes up
    {'p1': 'L1', 'p2': 'L2', 'p3': 'L2', 'p4': 'L1', 'p5': 'L1'}
    """
    if kind not in ("oracle", "predicted"):
        raise ValueError(f"`kind` must be 'oracle' or 'predicted' for quantile bins; got {kind!r}")
    ids, vals = _validate(problem_ids, values)
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"`n_bins` must be a positive integer; got {n_bins!r}")
    if n_bins > ids.size:
        raise ValueError(f"`n_bins` ({n_bins}) exceeds the number of problems ({ids.size})")
    # rank: value descending, then problem id ascending (lexsort sorts by the LAST key first)
    order = np.lexsort((ids, -vals))
    rank = np.empty(ids.size, np.int64)
    rank[order] = np.arange(ids.size)
    bin_index = (rank * n_bins) // ids.size
    edges = np.quantile(vals, np.linspace(0, 1, n_bins + 1))
    return Bins(ids, bin_index, edges, kind, _labels(n_bins), vals, statistic)


def oracle_bins(problem_ids: Any, pass_at_1: Any, *, n_bins: int = 5) -> Bins:
    """Oracle difficulty bins: quantiles of per-problem pass@1 (from all cached samples).

    >>> oracle_bins(["a", "b", "c"], [1.0, 0.0, 0.5], n_bins=3).as_mapping()
    {'a': 'L1', 'b': 'L3', 'c': 'L2'}
    """
    return quantile_bins(problem_ids, pass_at_1, n_bins=n_bins, kind="oracle", statistic="pass@1")


def predicted_bins(
    problem_ids: Any, mean_score: Any, *, n_bins: int = 5, verifier: str | None = None
) -> Bins:
    """Predicted difficulty bins: quantiles of the mean verifier score per problem (no gold).

    >>> predicted_bins(["a", "b"], [0.2, 0.7], n_bins=2, verifier="prm").labels
    ('L1', 'L2')
    """
    stat = "mean score" if verifier is None else f"mean score ({verifier})"
    return quantile_bins(problem_ids, mean_score, n_bins=n_bins, kind="predicted", statistic=stat)


def absolute_bins(
    problem_ids: Any, values: Any, edges: Any, *, statistic: str = "pass@1"
) -> Bins:
    """Bins by user thresholds: `edges` ascending; bin j (L1 = top interval) holds values in
    [edges[m-1-j], edges[m-j]) with the top interval closed on the right. Values outside
    [edges[0], edges[-1]] are an error. Bins may be empty.

    >>> b = absolute_bins(["a", "b", "c"], [0.05, 0.5, 1.0], [0, 0.1, 0.9, 1])
    >>> b.as_mapping(), b.counts.tolist()
    ({'a': 'L3', 'b': 'L2', 'c': 'L1'}, [1, 1, 1])
    """
    ids, vals = _validate(problem_ids, values)
    e = np.asarray(edges, float)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise ValueError(f"`edges` must be >= 2 finite, strictly increasing numbers; got {edges!r}")
    outside = (vals < e[0]) | (vals > e[-1])
    if np.any(outside):
        bad = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"`values` must lie within the edges [{e[0]}, {e[-1]}]; problem {str(ids[bad])!r} has "
            f"{vals[bad]}"
        )
    n_bins = e.size - 1
    ascending = np.clip(np.searchsorted(e, vals, side="right") - 1, 0, n_bins - 1)
    return Bins(ids, (n_bins - 1) - ascending, e, "absolute", _labels(n_bins), vals, statistic)

