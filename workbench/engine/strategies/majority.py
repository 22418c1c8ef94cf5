"""majority@N: the most frequent answer among N samples (self-consistency, Wang et al. 2023).

Exact (`workbench.engine.exact_vote.majority`): generating functions over answer clusters give
the probability that the correct cluster holds the strict plurality of a uniform N-subset,
plus its uniform share of ties, in closed form (Monte Carlo only past N = 256 or when asked:
`estimator="montecarlo"`). Samples without an answer never win; if no drawn sample has an
answer, the draw scores 0.

>>> from workbench.engine.data import RunData
>>> from workbench.engine.pool import SamplePool
>>> pool = SamplePool.from_arrays(correct=[[1, 1, 0]], answer=[[5, 5, 2]])
>>> curve = Majority().curve(RunData.from_pool(pool), [1, 2, 3])
>>> curve.accuracy.round(4).tolist(), curve.exact   # N=2: 1/3 (5,5) + 2/3 x 1/2 (a tie)
([0.6667, 0.6667, 1.0], True)
"""

from __future__ import annotations

from workbench.engine.sampled import VoteStrategy
from workbench.engine.strategy import register


@register
class Majority(VoteStrategy):
    """Majority vote over N samples: exact (see `VoteStrategy` for the estimator options)."""

    name = "majority"
    needs = frozenset({"samples", "correct", "answers"})
