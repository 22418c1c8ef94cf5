"""weighted_bon@N: sum the verifier scores of the samples sharing an answer; the largest sum
wins (weighted best-of-N, Li et al. 2023 "Making Language Models Better Reasoners with
Step-Aware Verifier"; the "best-of-N weighted" of Snell et al. 2024, section 5).

Monte Carlo (`workbench.engine.montecarlo.vote_curve` with the scores as weights). Ties between
summed scores (equal to a relative 1e-9) are shared like majority ties: the expected
correctness of a uniform tie-break is used in each draw. Samples without an answer never win.

>>> from workbench.engine.data import RunData
>>> from workbench.engine.pool import SamplePool
>>> pool = SamplePool.from_arrays(correct=[[1, 1, 0]], answer=[[5, 5, 2]],
...                               score=[[0.2, 0.3, 0.9]], verifier="v")
>>> WeightedBoN(draws=200).curve(RunData.from_pool(pool), [3], rng=0).accuracy.tolist()
[0.0]
"""

from __future__ import annotations

from workbench.engine.sampled import VoteStrategy
from workbench.engine.strategy import register


@register
class WeightedBoN(VoteStrategy):
    """Weighted best-of-N (Monte Carlo with `draws` replicates per problem)."""

    name = "weighted_bon"
    needs = frozenset({"samples", "correct", "answers", "scores"})
    weighted = True
