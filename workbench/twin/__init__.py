"""The twin: a generative model of a run's pool, calibrated on real runs, for budgets past the
cache (DESIGN.md, "The twin").

Every output of the twin is model-based and names the real runs it was calibrated on:

>>> from workbench.engine.synthetic import synthetic_pool
>>> twin = fit_twin(synthetic_pool(20, 8, rng=0), n_boot=4, rng=0)
>>> twin.label
'model-based (twin) calibrated on synthetic'
"""

from workbench.twin.clusters import PitmanYor, continue_partition, fit_pitman_yor
from workbench.twin.model import MODEL_LABEL, Twin, TwinParams, fit_params, fit_twin
from workbench.twin.predict import TwinPrediction, predict
from workbench.twin.rates import BetaPrior, fit_beta_binomial, fit_rates
from workbench.twin.scores import ScoreModel, fit_scores
from workbench.twin.tokens import TokenModel, fit_tokens
from workbench.twin.validate import Validation, validate

__all__ = [
    "MODEL_LABEL", "BetaPrior", "PitmanYor", "ScoreModel", "TokenModel", "Twin",
    "TwinParams", "TwinPrediction", "Validation", "continue_partition", "fit_beta_binomial",
    "fit_params", "fit_pitman_yor", "fit_rates", "fit_scores", "fit_tokens", "fit_twin", "predict",
    "validate",
]
