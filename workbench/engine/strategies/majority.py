"""majority@N: the most frequent answer among N samples (self-consistency, Wang et al. 2023).

Monte Carlo (`workbench.engine.montecarlo.vote_curve`): uniform N-subsets without replacement,
vectorised. Ties between answers are broken uniformly at random in the definition; the engine
does not sample that tie-break but uses its expectation (the share of correct answers among the
tied ones) in every draw. Samples without an answer never win; if no drawn sample has an
answer, the draw scores 0.

>>> from workbench.engine.data import RunData
>>> from workbench.engine.pool import SamplePool
>>> pool = SamplePool.from_arrays(correct=[[1, 1, 0]], answer=[[5, 5, 2]])
>>> Majority(draws=200).curve(RunData.from_pool(pool), [1, 3], rng=0).accuracy.round(4).tolist()
[0.6667, 1.0]
"""

from __future__ import annotations

from workbench.engine.sampled import VoteStrategy
from workbench.engine.strategy import register


@register
class Majority(VoteStrategy):
    """Majority vote over N samples (Monte Carlo with `draws` replicates per problem)."""

    name = "majority"
    needs = frozenset({"samples", "correct", "answers"})
