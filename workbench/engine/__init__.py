"""The resampling engine: pools, strategies, exact and Monte-Carlo estimators, costs, bootstrap.

Given a cached run, answer "what accuracy does strategy S reach at budget N, and how sure are
we?" offline, in milliseconds:

>>> from workbench.engine import RunData, SamplePool, bootstrap_curve, simulate
>>> pool = SamplePool.from_arrays(correct=[[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
>>> curve = simulate(RunData.from_pool(pool), "pass_at_k", [1, 2, 4])
>>> curve.accuracy.round(4).tolist()
[0.25, 0.4444, 0.6667]
>>> bootstrap_curve(curve, n_resamples=200, rng=0).confidence_interval.low.shape
(3,)

Importing this package registers every strategy (one module each in `strategies/`).
"""

from workbench.engine import exact, montecarlo
from workbench.engine.bootstrap import (
    BootstrapResult,
    ConfidenceInterval,
    bootstrap_curve,
    bootstrap_matrix,
    paired_difference,
)
from workbench.engine.budgets import check_budgets
from workbench.engine.cost import CostModel, parse_prices
from workbench.engine.data import RunData, load_run_data
from workbench.engine.montecarlo import MCEstimate, vote_curve, vote_share
from workbench.engine.pool import CountsPool, SamplePool
from workbench.engine.results import Cost, Curve
from workbench.engine.simulate import simulate, simulate_many
from workbench.engine.strategies import (  # noqa: F401  (importing a module registers it)
    beam,
    best_of_n,
    bfs,
    dvts,
    lookahead,
    majority,
    pass_at_attempts,
    pass_at_k,
    revisions,
    weighted_bon,
)
from workbench.engine.strategies.beam import BeamSearch
from workbench.engine.strategies.best_of_n import BestOfN
from workbench.engine.strategies.bfs import BreadthFirst
from workbench.engine.strategies.dvts import DVTS
from workbench.engine.strategies.lookahead import Lookahead
from workbench.engine.strategies.majority import Majority
from workbench.engine.strategies.pass_at_attempts import PassAtAttempts
from workbench.engine.strategies.pass_at_k import PassAtK
from workbench.engine.strategies.revisions import Revisions
from workbench.engine.strategies.weighted_bon import WeightedBoN
from workbench.engine.strategy import STRATEGIES, Strategy, get_strategy, register

__all__ = [
    "DVTS", "STRATEGIES", "BeamSearch", "BestOfN", "BreadthFirst", "Lookahead", "PassAtAttempts",
    "Revisions", "BootstrapResult", "ConfidenceInterval", "Cost", "CostModel",
    "CountsPool", "Curve", "MCEstimate", "Majority", "PassAtK", "RunData", "SamplePool",
    "Strategy", "WeightedBoN", "bootstrap_curve", "bootstrap_matrix", "check_budgets", "exact",
    "get_strategy", "load_run_data", "montecarlo", "paired_difference", "parse_prices",
    "register", "simulate", "simulate_many", "vote_curve", "vote_share",
]
