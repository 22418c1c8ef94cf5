"""Names and defaults the CLI's options offer, as literals.

The library owns these lists: strategies register themselves when `workbench.engine` is
imported, the laws sit next to their scipy/statsmodels fits, the units and SNELL_R in modules
that load scipy. Building a `click.Choice` from them would import all of that for every command,
`workbench --help` included. tests/test_cli_startup.py checks each literal equals the library's,
so they cannot drift apart.
"""

from __future__ import annotations

STRATEGY_NAMES = ("beam", "best_of_n", "bfs", "dvts", "lookahead", "majority",
                  "pass_at_attempts", "pass_at_k", "revisions", "weighted_bon")
"""sorted(workbench.engine.STRATEGIES)"""

LAW_NAMES = ("coverage", "beta-binomial", "zero-inflated-beta-binomial", "saturating")
"""tuple(workbench.analysis.LAWS), in its order (the order `workbench fit --law all` fits)"""

UNITS = ("generations", "tokens", "flops", "money")
"""workbench.analysis.budget_axis.UNITS: the budget axes of `optimize` and `plan`"""

AGGREGATIONS = ("last", "min", "prod", "mean")
"""workbench.store.AGGREGATIONS: how a PRM's step scores become one score"""

SNELL_R = (0.16, 0.79, 22.0)
"""workbench.analysis.SNELL_R: the R = D_inf / D_pre values of Snell et al. (2024)"""

STRATEGY_PARAMS: dict[str, tuple[tuple[str, object], ...]] = {
    "beam": (("width", 4), ("draws", 1000), ("max_depth", None)),
    "best_of_n": (),
    "bfs": (("select", "top"), ("max_depth", None)),
    "dvts": (("width", 4), ("draws", 1000), ("max_depth", None)),
    "lookahead": (("width", 4), ("depth", 1), ("draws", 1000), ("max_depth", None)),
    "majority": (("draws", 1000), ("enumeration_limit", 10000)),
    "pass_at_attempts": (),
    "pass_at_k": (),
    "revisions": (("ratio", 4), ("select", "majority"), ("draws", 1000)),
    "weighted_bon": (("draws", 1000), ("transform", "none"), ("enumeration_limit", None)),
}
"""Each strategy's hyper-parameters and defaults, as `simulate --params KEY=VALUE` sets them
(the signature of workbench.engine.STRATEGIES[name] less n_jobs, progress and estimator, which
the CLI sets from --n-jobs, its progress bars and --estimator)."""
