"""SYNTHETIC sample pools with known structure, for tests and benchmarks (not real data).

A pool that looks like a math benchmark's: per-problem success rates from a Beta distribution
(easy and hard problems), wrong answers spread over a few clusters with Dirichlet weights (so
majority voting can fail), a few samples without an answer, verifier scores that are higher
for correct samples but overlap, rounded to 3 decimals (so score ties occur, as they do with
real PRM outputs), and token counts.

>>> pool = synthetic_pool(4, 16, rng=0)
>>> pool.sizes.tolist(), pool.verifier
([16, 16, 16, 16], 'synthetic-verifier')
"""

from __future__ import annotations

import numpy as np

from workbench.engine.pool import SamplePool

RngLike = np.random.Generator | int | None


def synthetic_pool(
    problems: int,
    samples: int,
    *,
    rng: RngLike = None,
    wrong_answers: int = 24,
    no_answer_rate: float = 0.03,
    score_decimals: int | None = 3,
) -> SamplePool:
    """A synthetic (P x M) pool with answers, correctness, verifier scores and tokens."""
    gen = np.random.default_rng(rng)
    p, m = problems, samples
    rate = gen.beta(0.6, 0.9, size=p)
    correct = gen.random((p, m)) < rate[:, None]
    weights = gen.dirichlet(np.full(wrong_answers, 0.3), size=p)
    cdf = np.cumsum(weights, axis=1)
    u = gen.random((p, m))
    wrong = np.minimum((u[:, :, None] > cdf[:, None, :]).sum(axis=2), wrong_answers - 1) + 1
    answer = np.where(correct, 0, wrong)
    none = gen.random((p, m)) < no_answer_rate
    answer = np.where(none, -1, answer)
    correct &= ~none
    score = np.where(correct, gen.beta(4.0, 2.0, size=(p, m)), gen.beta(2.0, 3.0, size=(p, m)))
    if score_decimals is not None:
        score = np.round(score, score_decimals)
    out_tok = np.round(gen.lognormal(np.log(300), 0.5, size=(p, m)))
    in_tok = np.broadcast_to(np.round(gen.lognormal(np.log(150), 0.3, size=(p, 1))), (p, m))
    return SamplePool.from_arrays(
        correct=correct, score=score, answer=answer, output_tokens=out_tok,
        prompt_tokens=in_tok, run_id="synthetic", verifier="synthetic-verifier",
    )
