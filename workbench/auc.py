"""Area under the ROC curve, one implementation for the GPU probe and `workbench verifiers`.

A module of its own (numpy and scipy only) because the GPU job imports it where neither DuckDB
nor the analysis package is wanted.

>>> auc([0.9, 0.1, 0.5, 0.5], [True, False, True, False])  # 3.5 of 4 pairs won (a tie: half)
0.875
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata


def auc(scores: Any, labels: Any) -> float:
    """P(score of a positive > score of a negative), ties counted half (Mann-Whitney U / n1 n0);
    NaN without both classes."""
    labels = np.asarray(labels, bool)
    n1 = int(labels.sum())
    n0 = labels.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(scores)
    return float((r[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
