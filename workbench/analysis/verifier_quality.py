"""How much signal a verifier carries: AUC of its scores against the gold grade, with CIs.

Two AUCs per verifier (step scores aggregated as the engine aggregates them, e.g. `last`):

- pooled: P(score of a correct sample > score of a wrong one) over all pairs of the run
  (Mann-Whitney; ties count half). It rewards a verifier that merely knows which problems are
  easy, which is what predicted difficulty bins use.
- within-problem: the same over pairs of samples of the SAME problem, pair-weighted. Best-of-N
  picks inside one problem's pool, so this is the AUC that decides whether best-of-N beats a
  random pick (0.5 = no better). Problems whose samples are all right or all wrong hold no pair.

CIs: percentile bootstrap over problems (the cluster), as everywhere in the workbench. A
verifier is only as held-out as its scores: a trained verifier must be cross-fitted by
problem (the GPU probe is; see `workbench.gpu.probe`), else its AUC is optimistic.

>>> import numpy as np
>>> from workbench.engine.pool import SamplePool
>>> pool = SamplePool.from_arrays(correct=[[1, 0, 0], [1, 1, 0]],
...                               score=[[0.9, 0.1, 0.5], [0.2, 0.6, 0.4]], verifier="v")
>>> q = verifier_quality(pool, n_boot=0)
>>> q.within_auc  # problem 1: 2 of 2 pairs won; problem 2: 1 of 2 -> 3 / 4
0.75
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import rankdata

from workbench.auc import auc
from workbench.errors import StrategyError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.engine.pool import SamplePool


@dataclass(frozen=True)
class VerifierQuality:
    """AUCs of one verifier on one run, with percentile bootstrap CIs over problems."""

    run_id: str
    verifier: str
    agg: str | None
    problems: int
    samples: int
    correct: int
    auc: float
    auc_low: float
    auc_high: float
    within_auc: float
    within_low: float
    within_high: float
    problems_with_pairs: int
    confidence: float
    n_boot: int

    def to_frame(self) -> pd.DataFrame:
        """The result as one row.

        Columns:
            run_id: the run.
            verifier: the verifier.
            agg: how step scores were aggregated (None for an outcome verifier).
            problems: problems in the pool.
            samples: samples scored.
            correct: samples graded correct.
            auc: pooled AUC over all (correct, wrong) pairs of the run.
            auc_low: lower bound of its bootstrap CI.
            auc_high: upper bound.
            within_auc: AUC over pairs of the same problem (pair-weighted).
            within_low: lower bound of its bootstrap CI.
            within_high: upper bound.
            problems_with_pairs: problems holding a correct and a wrong sample.
            confidence: level of the intervals.
            n_boot: bootstrap resamples over problems.
        """
        import pandas as pd

        return pd.DataFrame([asdict(self)])


def _within_counts(pool: SamplePool) -> tuple[np.ndarray, np.ndarray]:
    """Per problem: pairs (correct, wrong) won by the correct sample (ties half), and pairs."""
    assert pool.score is not None and pool.correct is not None
    wins = np.zeros(pool.n_problems)
    pairs = np.zeros(pool.n_problems)
    for p in range(pool.n_problems):  # one sort per problem: M is at most a few hundred
        m = int(pool.sizes[p])
        s, c = pool.score[p, :m], pool.correct[p, :m]
        n1 = int(c.sum())
        n0 = m - n1
        if n1 and n0:
            r = rankdata(s)
            wins[p] = r[c].sum() - n1 * (n1 + 1) / 2
            pairs[p] = n1 * n0
    return wins, pairs


def verifier_quality(pool: SamplePool, *, n_boot: int = 1000, confidence: float = 0.95,
                     seed: int = 0) -> VerifierQuality:
    """AUCs of `pool`'s verifier scores against its grades (pooled and within-problem)."""
    if pool.score is None or pool.correct is None:
        why = pool.missing.get("score") or pool.missing.get("correct") or "no scores"
        raise StrategyError(f"run {pool.run_id!r}: verifier quality needs graded samples "
                            f"with scores from one verifier ({why})")
    mask = pool.mask
    score, correct = pool.score[mask], pool.correct[mask]
    wins, pairs = _within_counts(pool)
    pooled = auc(score, correct)
    within = float(wins.sum() / pairs.sum()) if pairs.sum() else float("nan")
    lo = hi = wlo = whi = float("nan")
    if n_boot:
        rng = np.random.default_rng(seed)
        starts = np.concatenate([[0], np.cumsum(pool.sizes)[:-1]])
        boots, wboots = np.empty(n_boot), np.empty(n_boot)
        for b in range(n_boot):
            pick = rng.integers(0, pool.n_problems, pool.n_problems)
            rows = np.concatenate([np.arange(starts[p], starts[p] + pool.sizes[p])
                                   for p in pick])
            boots[b] = auc(score[rows], correct[rows])
            wp = pairs[pick].sum()
            wboots[b] = wins[pick].sum() / wp if wp else np.nan
        a = (1 - confidence) / 2
        lo, hi = (float(x) for x in np.nanquantile(boots, [a, 1 - a]))
        wlo, whi = (float(x) for x in np.nanquantile(wboots, [a, 1 - a]))
    return VerifierQuality(
        run_id=pool.run_id, verifier=str(pool.verifier),
        agg=pool.agg if pool.verifier_kind == "step" else None,
        problems=pool.n_problems, samples=int(mask.sum()), correct=int(correct.sum()),
        auc=pooled, auc_low=lo, auc_high=hi, within_auc=within, within_low=wlo, within_high=whi,
        problems_with_pairs=int((pairs > 0).sum()), confidence=confidence, n_boot=n_boot)
