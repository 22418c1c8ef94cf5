"""weighted_bon@N: sum the verifier scores of the samples sharing an answer; the largest sum
wins (weighted best-of-N, Li et al. 2023 "Making Language Models Better Reasoners with
Step-Aware Verifier"; the "best-of-N weighted" of Snell et al. 2024, section 5).

Exact by enumerating every N-subset where a pool has at most `enumeration_limit` of them
(`workbench.engine.exact_vote.weighted_bon`), Monte Carlo elsewhere
(`workbench.engine.montecarlo.vote_curve`); the curve's `meta["estimators"]` says which, per
budget. Ties between summed scores (equal to a relative 1e-9) are shared uniformly. Samples
without an answer never win.

Signed scores. Snell's votes are PRM probabilities in [0, 1]; summing them rewards an answer
that more samples reach. A reward model's raw scores may be negative, and then a sum punishes
agreement: of the pool [5, 5, 5, 2] scored [-1, -1, -1, -0.5] the raw sums pick 2 (-0.5 > -3).
`transform` maps each score before it is summed (a monotone map, so best-of-N is unchanged):

* "none": the raw score; a `SignedScoreWarning` is issued when some score is negative;
* "sigmoid": 1 / (1 + exp(-score)), the probability a logit-scale reward model implies;
* "rank": the score's mid-rank among ALL the run's scores, divided by their count (a fixed
  monotone map onto (0, 1] learnt from the run, as a calibration set would be; it never looks
  at one problem's pool alone).

>>> from workbench.engine.data import RunData
>>> from workbench.engine.pool import SamplePool
>>> pool = SamplePool.from_arrays(correct=[[1, 1, 0]], answer=[[5, 5, 2]],
...                               score=[[0.2, 0.3, 0.9]], verifier="v")
>>> WeightedBoN().curve(RunData.from_pool(pool), [3]).accuracy.tolist()
[0.0]
>>> signed = SamplePool.from_arrays(correct=[[1, 1, 1, 0]], answer=[[5, 5, 5, 2]],
...                                 score=[[-1, -1, -1, -0.5]], verifier="v")
>>> WeightedBoN(transform="sigmoid").curve(RunData.from_pool(signed), [4]).accuracy.tolist()
[1.0]
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import special, stats

from workbench.engine.data import RunData
from workbench.engine.sampled import VoteStrategy
from workbench.engine.strategy import register
from workbench.errors import SignedScoreWarning, StrategyError

TRANSFORMS = ("none", "sigmoid", "rank")


def transform_scores(score: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
    """Scores mapped by `how` (see the module doc); entries outside `mask` are left as NaN.

    >>> s = np.array([[-1.0, -1.0, -1.0, -0.5]])
    >>> transform_scores(s, np.ones_like(s, bool), "rank").tolist()
    [[0.5, 0.5, 0.5, 1.0]]
    """
    if how not in TRANSFORMS:
        raise StrategyError(f"`transform` must be one of {TRANSFORMS}; got {how!r}")
    if how == "none":
        return score
    out = np.full(score.shape, np.nan)
    if how == "sigmoid":
        out[mask] = special.expit(score[mask])
    else:
        real = score[mask]
        out[mask] = stats.rankdata(real, method="average") / real.size
    return out


@register
class WeightedBoN(VoteStrategy):
    """Weighted best-of-N: exact by enumeration on small pools, Monte Carlo elsewhere.

    Args:
        transform: "none", "sigmoid" or "rank": the map applied to each score before the
            sums (module doc). Other arguments: see `VoteStrategy`.
    """

    name = "weighted_bon"
    needs = frozenset({"samples", "correct", "answers", "scores"})
    weighted = True

    def __init__(self, draws: int = 1000, n_jobs: int = 1, progress: Any = None, *,
                 transform: str = "none", estimator: str = "auto",
                 enumeration_limit: int | None = None) -> None:
        kwargs = {} if enumeration_limit is None else {"enumeration_limit": enumeration_limit}
        super().__init__(draws, n_jobs, progress, estimator=estimator, **kwargs)
        if transform not in TRANSFORMS:
            raise StrategyError(f"`transform` must be one of {TRANSFORMS}; got {transform!r}")
        self.transform = transform

    def params(self) -> dict[str, Any]:
        return {} if self.transform == "none" else {"transform": self.transform}

    def params_of(self, data: RunData) -> dict[str, Any]:
        return {**data.score_params(), **self.params()}

    def votes(self, data: RunData) -> np.ndarray:
        pool = data.pool
        assert pool is not None and pool.score is not None
        if self.transform == "none":
            negative = np.nan_to_num(pool.score, nan=0.0) < 0
            if negative.any():
                rows = int(negative.any(axis=1).sum())
                warnings.warn(
                    f"weighted_bon on run {data.run_id!r}: verifier {data.verifier!r} gives "
                    f"negative scores on {rows} problem(s); summing them penalises answers "
                    "that more samples agree on. Pass transform='sigmoid' (logit-scale "
                    "scores) or 'rank'", SignedScoreWarning, stacklevel=4)
        return transform_scores(pool.score, pool.mask, self.transform)
