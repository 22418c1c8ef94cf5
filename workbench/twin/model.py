"""The twin: a generative model of a run's pool, fitted on the real pool, that continues it.

`fit_twin(pool)` fits four components per run (see their modules): success rates (beta-binomial
shrinkage, `rates`), answer clustering (Pitman-Yor for correct and for wrong answers, plus the
share of wrong samples without an answer, `clusters`), verifier scores given correctness with
per-problem and per-answer effects (`scores`) and output tokens (`tokens`). Parameter
uncertainty is carried by `n_boot` refits on problems resampled with replacement (the
bootstrap over the cluster, as everywhere in the workbench).

`Twin.extend(size, draw=d)` returns the REAL pool continued to `size` samples per problem: the
real samples stay, new ones are drawn from each problem's posterior under parameter draw d
(its success rate, its answers so far, its verifier effects). The result is an ordinary
`SamplePool` (or `CountsPool` for counts-only runs), so every strategy of the engine runs on
it unchanged; its run id starts with "twin:" and `Twin.label` names the real run it was
calibrated on.

>>> from workbench.engine.synthetic import synthetic_pool
>>> twin = fit_twin(synthetic_pool(30, 8, rng=0), n_boot=4, rng=0)
>>> bigger = twin.extend(32, draw=0, rng=1)
>>> bigger.sizes.max(), bigger.run_id
(np.int64(32), 'twin:synthetic')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from workbench.engine.pool import CountsPool, SamplePool
from workbench.errors import FitError
from workbench.twin.clusters import PitmanYor, continue_partition, fit_pitman_yor
from workbench.twin.rates import BetaPrior, fit_beta_binomial, fit_rates
from workbench.twin.scores import ScoreModel, fit_scores
from workbench.twin.tokens import TokenModel, fit_tokens

RngLike = np.random.Generator | int | None
Pool = SamplePool | CountsPool

MODEL_LABEL = "model-based (twin)"
"""The label every twin output carries."""


@dataclass(frozen=True)
class TwinParams:
    """One set of fitted component parameters (the point fit or one bootstrap draw).

    `no_answer` is the prior of the share of WRONG samples that give no answer (None: the run
    has none); `right`/`wrong` cluster correct/wrong answers (None without answer keys);
    `scores`/`tokens` are None when the run has no verifier scores / token counts.
    """

    rate: BetaPrior
    no_answer: BetaPrior | None = None
    right: PitmanYor | None = None
    wrong: PitmanYor | None = None
    scores: ScoreModel | None = None
    tokens: TokenModel | None = None

    def summary(self) -> dict[str, float]:
        """The scalar parameters by name (for tables, JSON and intervals)."""
        out = {"rate_mean": self.rate.mean, "rate_components": float(self.rate.n_components)}
        if self.no_answer is not None:
            out["no_answer_mean"] = self.no_answer.mean
        for name, py in (("right", self.right), ("wrong", self.wrong)):
            if py is not None:
                out[f"{name}_discount"] = py.d
                out[f"{name}_concentration"] = py.theta
        if self.scores is not None:
            s = self.scores
            out.update({
                "score_mu_correct": float(s.mu[1]), "score_mu_wrong": float(s.mu[0]),
                "score_sigma_correct": float(s.sigma[1]), "score_sigma_wrong": float(s.sigma[0]),
                "score_tau_answer": s.tau_c,
                "score_sd_problem_correct": float(np.sqrt(s.cov_a[1, 1])),
                "score_sd_problem_wrong": float(np.sqrt(s.cov_a[0, 0])),
            })
        if self.tokens is not None and np.isfinite(self.tokens.m):
            out["log_tokens_mean"] = self.tokens.m
        return out


@dataclass(frozen=True)
class _Flat:
    """A pool's real samples as flat arrays (one entry per sample)."""

    prob: np.ndarray
    correct: np.ndarray
    answer: np.ndarray | None
    score: np.ndarray | None
    tokens: np.ndarray | None


def _flat(pool: SamplePool) -> _Flat:
    mask = pool.mask
    prob = np.broadcast_to(np.arange(pool.n_problems)[:, None], mask.shape)[mask]
    assert pool.correct is not None
    return _Flat(
        prob=prob, correct=pool.correct[mask],
        answer=None if pool.answer is None else pool.answer[mask].astype(np.int64),
        score=None if pool.score is None else pool.score[mask],
        tokens=None if pool.output_tokens is None else pool.output_tokens[mask],
    )


def _score_clusters(flat: _Flat) -> np.ndarray:
    """Answer code per sample for the score model; samples without one are singletons."""
    n = len(flat.prob)
    if flat.answer is None:
        return np.arange(n, dtype=np.int64)
    base = int(flat.answer.max(initial=0)) + 1
    return np.where(flat.answer >= 0, flat.answer, base + np.arange(n))


def _answer_class(pool: SamplePool) -> np.ndarray:
    """(P, K) True where an answer class is (mostly) correct."""
    return pool.class_correct >= 0.5


def _cluster_counts(pool: SamplePool, correct_class: bool) -> np.ndarray:
    """(P, K) sizes of the answer classes of one correctness (others zero), answer codes as
    columns."""
    assert pool.answer is not None
    k = max(int(pool.n_classes.max(initial=0)), 1)
    real = pool.answer >= 0
    p_idx = np.broadcast_to(np.arange(pool.n_problems)[:, None], real.shape)[real]
    counts = np.bincount(p_idx * k + pool.answer[real], minlength=pool.n_problems * k)
    counts = counts.reshape(pool.n_problems, k)
    keep = _answer_class(pool)[:, :k] == correct_class
    return np.where(keep, counts, 0)


def fit_params(pool: Pool) -> TwinParams:
    """Fit every component the pool supports (point estimates)."""
    if isinstance(pool, CountsPool):
        return TwinParams(rate=fit_rates(pool.n, pool.c))
    if pool.correct is None:
        raise FitError(f"run {pool.run_id!r}: the twin needs graded samples "
                       f"({pool.missing.get('correct', 'ungraded')})")
    counts = pool.to_counts()
    rate = fit_rates(counts.n, counts.c)
    no_answer = right = wrong = None
    if pool.answer is not None:
        none = (pool.answer < 0) & pool.mask
        wrong_n = (pool.mask & ~pool.correct).sum(axis=1)
        if none.any():
            has = wrong_n > 0
            no_answer = fit_beta_binomial(wrong_n[has], (none & ~pool.correct).sum(axis=1)[has])
        right = fit_pitman_yor(list(_cluster_counts(pool, True)))
        wrong = fit_pitman_yor(list(_cluster_counts(pool, False)))
    flat = _flat(pool)
    scores = tokens = None
    if flat.score is not None:
        scores = fit_scores(flat.score, flat.prob, flat.correct, _score_clusters(flat))
    if flat.tokens is not None and np.isfinite(flat.tokens).any():
        tokens = fit_tokens(flat.tokens, flat.prob, pool.n_problems)
    return TwinParams(rate=rate, no_answer=no_answer, right=right, wrong=wrong, scores=scores,
                      tokens=tokens)


def _resample(pool: Pool, rows: np.ndarray) -> Pool:
    if isinstance(pool, CountsPool):
        return CountsPool(pool.run_id, pool.problem_ids[rows], pool.n[rows], pool.c[rows])
    return pool.subset(rows)


@dataclass(frozen=True)
class Twin:
    """A twin fitted on one real pool (see the module docstring).

    Attributes:
        source: the real pool it was fitted on and continues.
        params: the point fit.
        draws: bootstrap refits (problems resampled), the parameter uncertainty.
        calibrated_on: the real runs it was calibrated on (for every label).
        note: how the source was obtained (e.g. "fit on 25 of 100 samples per problem").
    """

    source: Pool
    params: TwinParams
    draws: tuple[TwinParams, ...]
    calibrated_on: tuple[str, ...]
    note: str = ""
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """e.g. 'model-based (twin) calibrated on qwen25-math-rm/math-cot-100'."""
        text = f"{MODEL_LABEL} calibrated on {', '.join(self.calibrated_on)}"
        return f"{text} ({self.note})" if self.note else text

    @property
    def n_draws(self) -> int:
        return len(self.draws)

    def parameter_table(self, confidence: float = 0.95) -> list[dict[str, float | str]]:
        """Each scalar parameter: point fit and bootstrap percentile interval."""
        point = self.params.summary()
        boot = [d.summary() for d in self.draws]
        alpha = (1 - confidence) / 2
        rows: list[dict[str, float | str]] = []
        for name, value in point.items():
            vals = np.array([b[name] for b in boot if name in b], dtype=float)
            lo, hi = (np.quantile(vals, [alpha, 1 - alpha]) if len(vals)
                      else (np.nan, np.nan))
            rows.append({"parameter": name, "estimate": float(value), "low": float(lo),
                         "high": float(hi)})
        return rows

    def extend(self, size: int | np.ndarray, *, draw: int | None = None,
               rng: RngLike = None) -> Pool:
        """The real pool continued to `size` samples per problem (an int, or one per problem),
        under bootstrap draw `draw` (None: the point fit). Problems already holding `size` or
        more keep their real samples only."""
        gen = np.random.default_rng(rng)
        params = self.params if draw is None else self.draws[draw % max(len(self.draws), 1)]
        src = self.source
        n = src.n if isinstance(src, CountsPool) else src.sizes
        target = np.maximum(np.broadcast_to(np.asarray(size, dtype=np.int64), n.shape), n)
        new = target - n
        run_id = f"twin:{src.run_id}"
        if isinstance(src, CountsPool):
            rate = params.rate.posterior_draw(src.n, src.c, gen)
            c = src.c + gen.binomial(new, rate)
            return CountsPool(run_id, src.problem_ids, target, c)
        return _extend_pool(src, params, new, run_id, gen)


def _extend_pool(src: SamplePool, params: TwinParams, new: np.ndarray, run_id: str,
                 gen: np.random.Generator) -> SamplePool:
    assert src.correct is not None
    p = src.n_problems
    counts = src.to_counts()
    rate = params.rate.posterior_draw(counts.n, counts.c, gen)
    k_right = gen.binomial(new, rate)
    k_wrong = new - k_right
    width = int(new.max(initial=0))
    col = np.arange(width)[None, :]
    is_new = col < new[:, None]
    new_correct = col < k_right[:, None]
    new_answer = None
    k_none = np.zeros(p, dtype=np.int64)
    if src.answer is not None:
        wrong_obs = (src.mask & ~src.correct).sum(axis=1)
        if params.no_answer is not None:
            none_obs = ((src.answer < 0) & src.mask & ~src.correct).sum(axis=1)
            q = params.no_answer.posterior_draw(wrong_obs, none_obs, gen)
            k_none = gen.binomial(k_wrong, q)
        k_said = k_wrong - k_none
        base = int(src.n_classes.max(initial=0))
        new_answer = np.full((p, width), -1, dtype=np.int64)
        for klass, k_new, offset, prior in ((True, k_right, np.zeros(p, np.int64), params.right),
                                            (False, k_said, k_right, params.wrong)):
            assert prior is not None
            obs = _cluster_counts(src, klass)
            # pack the observed clusters first (the urn's convention), remembering their codes
            order = np.argsort(obs == 0, axis=1, kind="stable")
            packed = np.take_along_axis(obs, order, axis=1)
            labels = continue_partition(packed, k_new, prior, gen)
            n_obs = (packed > 0).sum(axis=1)
            lab = np.maximum(labels, 0)
            known = lab < n_obs[:, None]
            code = np.where(
                known, np.take_along_axis(order, np.minimum(lab, order.shape[1] - 1), axis=1),
                base + 2 * (lab - n_obs[:, None]) + (0 if klass else 1),
            )  # new clusters of the two classes get distinct codes (even / odd past base)
            j = np.arange(labels.shape[1])[None, :]
            rows, cols = np.nonzero(labels >= 0)
            new_answer[rows, offset[rows] + j[0, cols]] = code[rows, cols]
    new_score = None
    if params.scores is not None and src.score is not None:
        new_score = _new_scores(src, params.scores, new_correct, new_answer, is_new, gen)
    new_tokens = None
    if params.tokens is not None and src.output_tokens is not None:
        flat = _flat(src)
        assert flat.tokens is not None
        new_tokens = params.tokens.draw(flat.tokens, flat.prob, p, new, gen)
    return _concat(src, run_id, new, new_correct, new_answer, new_score, new_tokens)


def _new_scores(src: SamplePool, model: ScoreModel, new_correct: np.ndarray,
                new_answer: np.ndarray | None, is_new: np.ndarray,
                gen: np.random.Generator) -> np.ndarray:
    flat = _flat(src)
    assert flat.score is not None
    z_obs = model.transform.to_z(flat.score)
    a, effects = model.posterior_problem_effects(
        z_obs, flat.prob, flat.correct.astype(np.int64), _score_clusters(flat), src.n_problems,
        gen)
    p, width = new_correct.shape
    y = new_correct.astype(np.int64)
    c = np.zeros((p, width))
    if new_answer is not None and model.tau_c > 0:
        rows, cols = np.nonzero(is_new & (new_answer >= 0))
        keys = rows * (int(new_answer.max(initial=0)) + 1) + new_answer[rows, cols]
        uniq, inv = np.unique(keys, return_inverse=True)
        k_of = int(new_answer.max(initial=0)) + 1
        fresh = gen.standard_normal(len(uniq)) * model.tau_c
        val = np.array([effects.get((int(u // k_of), int(u % k_of)), f)
                        for u, f in zip(uniq, fresh, strict=True)])
        c[rows, cols] = val[inv]
        lone = is_new & (new_answer < 0)
        c[lone] = gen.standard_normal(int(lone.sum())) * model.tau_c
    elif model.tau_c > 0:
        c = gen.standard_normal((p, width)) * model.tau_c
    z = (model.mu[y] + np.take_along_axis(a, y, axis=1) + c
         + model.sigma[y] * gen.standard_normal((p, width)))
    return model.transform.from_z(z)


def _concat(src: SamplePool, run_id: str, new: np.ndarray, new_correct: np.ndarray,
            new_answer: np.ndarray | None, new_score: np.ndarray | None,
            new_tokens: np.ndarray | None) -> SamplePool:
    """The real rows followed by the new samples, as one padded pool."""
    p = src.n_problems
    sizes = src.sizes + new
    width = int(sizes.max())
    rows, cols = np.nonzero(np.arange(new_correct.shape[1])[None, :] < new[:, None])
    dest = src.sizes[rows] + cols

    def put(old: np.ndarray | None, add: np.ndarray | None, fill: float) -> np.ndarray | None:
        if old is None or add is None:
            return None
        out = np.full((p, width), fill, dtype=float)
        out[:, :old.shape[1]] = np.where(src.mask, old, fill)
        out[rows, dest] = add[rows, cols]
        return out

    correct = put(src.correct.astype(float), new_correct.astype(float), 0.0)
    answer = put(src.answer, new_answer, -1)
    prompt = None
    if src.prompt_tokens is not None:
        per = np.nanmedian(np.where(src.mask, src.prompt_tokens, np.nan), axis=1)
        prompt = np.broadcast_to(per[:, None], (p, width)).copy()
    out_tok = (put(src.output_tokens, new_tokens, np.nan) if new_tokens is not None
               else None)
    return SamplePool.from_arrays(
        correct=correct, score=put(src.score, new_score, np.nan),
        answer=None if answer is None else answer.astype(np.int64), sizes=sizes,
        output_tokens=out_tok, prompt_tokens=prompt, run_id=run_id,
        problem_ids=src.problem_ids, verifier=src.verifier,
    )


def fit_twin(pool: Pool, *, n_boot: int = 40, rng: RngLike = None,
             calibrated_on: tuple[str, ...] | None = None, note: str = "") -> Twin:
    """Fit the twin on a real pool, with `n_boot` bootstrap refits over problems.

    >>> from workbench.engine.pool import CountsPool
    >>> counts = CountsPool("r", np.array(["a", "b", "c"]), np.array([8, 8, 8]),
    ...                     np.array([1, 4, 8]))
    >>> twin = fit_twin(counts, n_boot=3, rng=0)
    >>> twin.extend(16, draw=0, rng=0).n.tolist()
    [16, 16, 16]
    """
    gen = np.random.default_rng(rng)
    p = pool.n_problems
    # the fits are many small optimisations: BLAS threads only contend (10x slower on a
    # loaded machine), so they run single-threaded
    with threadpool_limits(1):
        params = fit_params(pool)
        draws = tuple(fit_params(_resample(pool, gen.integers(0, p, p)))
                      for _ in range(n_boot))
    return Twin(source=pool, params=params, draws=draws,
                calibrated_on=calibrated_on or (pool.run_id,), note=note)
