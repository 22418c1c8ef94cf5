"""Sample pools: a run's cached samples as padded (P, M) arrays the estimators work on.

`SamplePool` holds every sample of a run under one verifier (and one PRM aggregation); problems
may hold different numbers of samples (a ragged pool), so arrays are padded to the largest pool
and `sizes` says how many entries of each row are real. `CountsPool` holds only per-problem
(n, c) counts, which is all that pass@k needs and all some sources publish.

Answers are integer codes per problem (`-1` = no answer, which never wins a vote), numbered in
order of first appearance; `class_correct` gives the correctness of each answer class.

>>> import pyarrow as pa
>>> tbl = pa.table({
...     "problem_id": ["a", "a", "a", "b"], "sample_idx": [0, 1, 2, 0],
...     "answer_key": ["4", None, "4", "7"], "is_correct": [True, False, True, False],
...     "output_tokens": [10, 12, 8, 5], "prompt_tokens": [3, 3, 3, 4],
...     "score": [0.9, 0.1, 0.7, 0.5]})
>>> pool = SamplePool.from_table(tbl, run_id="toy")
>>> pool.sizes.tolist(), pool.answer.tolist()
([3, 1], [[0, -1, 0], [0, -1, -1]])
>>> pool.to_counts().c.tolist()
[2, 0]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.errors import StrategyError


@dataclass(frozen=True)
class CountsPool:
    """Per-problem sample counts: `n[p]` samples of which `c[p]` are correct.

    >>> CountsPool("toy", np.array(["a", "b"]), np.array([4, 4]), np.array([1, 0])).n_problems
    2
    """

    run_id: str
    problem_ids: np.ndarray
    n: np.ndarray
    c: np.ndarray

    def __post_init__(self) -> None:
        n, c = np.asarray(self.n), np.asarray(self.c)
        if n.shape != c.shape or n.shape != np.shape(self.problem_ids) or n.ndim != 1:
            raise ValueError("`n`, `c` and `problem_ids` must be 1-D arrays of one length")
        if np.any(n < 1) or np.any(c < 0) or np.any(c > n):
            raise ValueError("counts need n >= 1 and 0 <= c <= n for every problem")

    @property
    def n_problems(self) -> int:
        return int(len(self.n))

    @classmethod
    def from_table(cls, table: pa.Table, *, run_id: str) -> CountsPool:
        """Build from a `problem_counts` table (columns problem_id, n, c)."""
        if table.num_rows == 0:
            raise StrategyError(f"run {run_id!r} holds no problem counts")
        return cls(
            run_id=run_id,
            problem_ids=np.asarray(table.column("problem_id").to_pylist(), dtype=object),
            n=np.asarray(table.column("n").to_numpy(), dtype=np.int64),
            c=np.asarray(table.column("c").to_numpy(), dtype=np.int64),
        )


@dataclass(frozen=True)
class SamplePool:
    """A run's samples as padded (P, M) arrays; row p holds `sizes[p]` real entries.

    Attributes:
        run_id: the run.
        problem_ids: (P,) problem ids in store order.
        sizes: (P,) number of samples per problem.
        correct: (P, M) bool (False in padding), or None when some sample is ungraded.
        score: (P, M) verifier score (NaN in padding), or None without a (complete) verifier.
        answer: (P, M) int32 answer codes per problem (-1: no answer or padding), or None when
            the run has no answer keys at all.
        output_tokens / prompt_tokens: (P, M) float (NaN when unknown or padding), or None.
        verifier, verifier_kind, agg: what `score` is ('step' scores aggregated by `agg`).
        missing: why a field is None, e.g. {"score": "verifier v scored 10 of 12 samples"}.
    """

    run_id: str
    problem_ids: np.ndarray
    sizes: np.ndarray
    correct: np.ndarray | None
    score: np.ndarray | None
    answer: np.ndarray | None
    output_tokens: np.ndarray | None
    prompt_tokens: np.ndarray | None
    verifier: str | None = None
    verifier_kind: str | None = None
    agg: str | None = None
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def n_problems(self) -> int:
        return int(len(self.sizes))

    @property
    def width(self) -> int:
        """M, the largest pool of any problem (the padded width)."""
        return int(self.sizes.max()) if len(self.sizes) else 0

    @cached_property
    def mask(self) -> np.ndarray:
        """(P, M) True where an entry is a real sample (not padding)."""
        return np.arange(self.width)[None, :] < self.sizes[:, None]

    @cached_property
    def n_classes(self) -> np.ndarray:
        """(P,) number of distinct answers per problem."""
        if self.answer is None:
            raise StrategyError(f"run {self.run_id!r} has no answer keys")
        return np.asarray(self.answer.max(axis=1, initial=-1) + 1, dtype=np.int64)

    @cached_property
    def class_correct(self) -> np.ndarray:
        """(P, K) share of correct samples in each answer class (0 where a class is absent).

        Answer keys are canonical, so a class is normally all-correct or all-wrong; the mean
        keeps the estimators exact even if a grader disagrees within a class.
        """
        if self.answer is None or self.correct is None:
            raise StrategyError(f"run {self.run_id!r} needs answers and correctness")
        k = max(int(self.n_classes.max(initial=0)), 1)
        p = self.n_problems
        real = self.answer >= 0
        flat = (np.arange(p)[:, None] * k + self.answer)[real]
        tot = np.bincount(flat, minlength=p * k)
        hit = np.bincount(flat, weights=self.correct[real].astype(float), minlength=p * k)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(tot > 0, hit / np.maximum(tot, 1), 0.0)
        return share.reshape(p, k)

    def to_counts(self) -> CountsPool:
        """The pool's per-problem (n, c) counts (for pass@k)."""
        if self.correct is None:
            raise StrategyError(
                f"run {self.run_id!r}: {self.missing.get('correct', 'samples are ungraded')}"
            )
        return CountsPool(self.run_id, self.problem_ids, self.sizes.copy(),
                          self.correct.sum(axis=1).astype(np.int64))

    def subset(self, rows: np.ndarray) -> SamplePool:
        """The pool restricted to some problems (boolean mask or integer index)."""
        from dataclasses import replace

        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        sizes = self.sizes[rows]
        width = int(sizes.max()) if len(sizes) else 0

        def cut2(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows][:, :width]

        return replace(
            self, problem_ids=self.problem_ids[rows], sizes=sizes, correct=cut2(self.correct),
            score=cut2(self.score), answer=cut2(self.answer),
            output_tokens=cut2(self.output_tokens), prompt_tokens=cut2(self.prompt_tokens),
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        correct: Any = None,
        score: Any = None,
        answer: Any = None,
        sizes: Any = None,
        output_tokens: Any = None,
        prompt_tokens: Any = None,
        run_id: str = "synthetic",
        problem_ids: Any = None,
        verifier: str | None = None,
    ) -> SamplePool:
        """A pool from (P, M) arrays (synthetic data, tests, the twin).

        `answer` holds non-negative integer labels (any values; -1 = no answer); they are
        re-coded per problem. `sizes` (P,) marks ragged rows; entries past a row's size are
        ignored.

        >>> pool = SamplePool.from_arrays(correct=[[1, 0, 1]], answer=[[7, 3, 7]])
        >>> pool.answer.tolist(), pool.class_correct.tolist()
        ([[0, 1, 0]], [[1.0, 0.0]])
        """
        arrays = {
            "correct": correct, "score": score, "answer": answer,
            "output_tokens": output_tokens, "prompt_tokens": prompt_tokens,
        }
        given = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
        if not given:
            raise ValueError("give at least one of `correct`, `score`, `answer`")
        shapes = {v.shape for v in given.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"arrays must be 2-D and of one shape; got {sorted(shapes)}")
        p, m = next(iter(shapes))
        size_arr = (np.full(p, m, dtype=np.int64) if sizes is None
                    else np.asarray(sizes, dtype=np.int64))
        if size_arr.shape != (p,) or np.any(size_arr < 1) or np.any(size_arr > m):
            raise ValueError(f"`sizes` must be (P,) = ({p},) integers in 1..{m}")
        mask = np.arange(m)[None, :] < size_arr[:, None]
        out: dict[str, np.ndarray | None] = dict.fromkeys(arrays)
        if "correct" in given:
            out["correct"] = given["correct"].astype(bool) & mask
        if "score" in given:
            sc = given["score"].astype(float)
            if not np.all(np.isfinite(sc[mask])):
                raise ValueError("`score` must be finite for every real sample")
            out["score"] = np.where(mask, sc, np.nan)
        if "answer" in given:
            out["answer"] = _recode(np.where(mask, given["answer"], -1).astype(np.int64))
        for k in ("output_tokens", "prompt_tokens"):
            if k in given:
                out[k] = np.where(mask, given[k].astype(float), np.nan)
        ids = (np.asarray([str(i) for i in range(p)], dtype=object) if problem_ids is None
               else np.asarray(problem_ids, dtype=object))
        return cls(
            run_id=run_id, problem_ids=ids, sizes=size_arr, correct=out["correct"],
            score=out["score"], answer=out["answer"], output_tokens=out["output_tokens"],
            prompt_tokens=out["prompt_tokens"], verifier=verifier,
            verifier_kind=None if verifier is None else "outcome",
        )

    @classmethod
    def from_table(
        cls,
        table: pa.Table,
        *,
        run_id: str,
        verifier: str | None = None,
        verifier_kind: str | None = None,
        agg: str | None = None,
    ) -> SamplePool:
        """Build from `RunStore.pool_table` (rows ordered by problem_id, sample_idx)."""
        if table.num_rows == 0:
            raise StrategyError(f"run {run_id!r} holds no samples")
        df = table.select([
            c for c in ("problem_id", "sample_idx", "answer_key", "is_correct",
                        "output_tokens", "prompt_tokens", "score") if c in table.column_names
        ]).to_pandas()
        pid_codes, pids = pd.factorize(df["problem_id"], sort=False)
        # rows arrive sorted by (problem_id, sample_idx); re-sort defensively (stable) anyway
        order = np.lexsort((df["sample_idx"].to_numpy(), pid_codes))
        df = df.iloc[order].reset_index(drop=True)
        pidx = pid_codes[order]
        p = len(pids)
        sizes = np.bincount(pidx, minlength=p).astype(np.int64)
        start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        col = np.arange(len(df)) - start[pidx]
        m = int(sizes.max())
        missing: dict[str, str] = {}

        def scatter(values: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
            out = np.full((p, m), fill, dtype=dtype)
            out[pidx, col] = values
            return out

        correct = None
        graded = df["is_correct"].notna().to_numpy()
        if graded.all():
            correct = scatter(df["is_correct"].to_numpy(dtype=bool), False, bool)
        else:
            missing["correct"] = f"{int((~graded).sum())} of {len(df)} samples are ungraded"

        answer = None
        keys = df["answer_key"]
        has_key = keys.notna().to_numpy()
        if has_key.any():
            codes = np.full(len(df), -1, dtype=np.int64)
            sub = pd.DataFrame({"p": pidx[has_key], "k": keys[has_key].to_numpy()})
            gid = sub.groupby(["p", "k"], sort=False).ngroup().to_numpy()
            # groups are numbered in order of first appearance and rows are sorted by problem,
            # so each problem's groups are consecutive: subtract the problem's first group id
            first = np.full(p, np.iinfo(np.int64).max)
            np.minimum.at(first, sub["p"].to_numpy(), gid)
            codes[has_key] = gid - first[sub["p"].to_numpy()]
            answer = scatter(codes, -1, np.int32)
        else:
            missing["answer"] = "no sample has an answer key"

        score = None
        if verifier is not None:
            sc = df["score"].to_numpy(dtype=float, na_value=np.nan)
            ok = np.isfinite(sc)
            if ok.all():
                score = scatter(sc, np.nan, float)
            else:
                missing["score"] = (f"verifier {verifier!r} scored {int(ok.sum())} of "
                                    f"{len(df)} samples")
        else:
            missing["score"] = "no verifier chosen"

        def tokens(name: str) -> np.ndarray | None:
            if name not in df:
                return None
            v = df[name].to_numpy(dtype=float, na_value=np.nan)
            if np.isnan(v).all():
                missing[name] = "no token counts"
                return None
            return scatter(v, np.nan, float)

        return cls(
            run_id=run_id, problem_ids=np.asarray(pids, dtype=object), sizes=sizes,
            correct=correct, score=score, answer=answer,
            output_tokens=tokens("output_tokens"), prompt_tokens=tokens("prompt_tokens"),
            verifier=verifier, verifier_kind=verifier_kind,
            agg=agg if verifier_kind == "step" else None, missing=missing,
        )


    @classmethod
    def from_codes(
        cls,
        coded: Any,
        *,
        run_id: str,
        verifier: str | None = None,
        verifier_kind: str | None = None,
        agg: str | None = None,
    ) -> SamplePool:
        """Build from `workbench.store.pool_codes` (integer columns coded in DuckDB, in batches).

        The same pool as `from_table` on the same run, in memory bounded by the padded arrays
        plus one batch: no Python object per sample.
        """
        sizes = np.asarray(coded.sizes, dtype=np.int64)
        p = len(sizes)
        if p == 0:
            raise StrategyError(f"run {run_id!r} holds no samples")
        m = int(sizes.max())
        n = int(sizes.sum())
        correct = np.zeros((p, m), dtype=bool)
        answer = np.full((p, m), -1, dtype=np.int32)
        score = np.full((p, m), np.nan) if verifier is not None else None
        tok = {k: np.full((p, m), np.nan) for k in ("output_tokens", "prompt_tokens")}
        ungraded = unscored = 0
        token_rows = dict.fromkeys(tok, 0)
        for batch in coded.batches():
            rows = batch.column("problem").to_numpy()
            cols = batch.column("col").to_numpy()
            graded = batch.column("is_correct")
            ungraded += graded.null_count
            correct[rows, cols] = graded.fill_null(False).to_numpy(zero_copy_only=False)
            answer[rows, cols] = batch.column("answer_code").to_numpy()
            if score is not None:
                sc = batch.column("score")
                unscored += sc.null_count
                score[rows, cols] = sc.to_numpy(zero_copy_only=False)
            for name, arr in tok.items():
                column = batch.column(name)
                token_rows[name] += len(column) - column.null_count
                arr[rows, cols] = column.to_numpy(zero_copy_only=False)
            del batch, rows, cols, graded
        missing: dict[str, str] = {}
        if ungraded:
            missing["correct"] = f"{ungraded} of {n} samples are ungraded"
        if not (answer >= 0).any():
            missing["answer"] = "no sample has an answer key"
        if verifier is None:
            missing["score"] = "no verifier chosen"
        elif unscored or not np.isfinite(score[np.arange(m)[None, :] < sizes[:, None]]).all():
            scored = n - unscored
            missing["score"] = f"verifier {verifier!r} scored {scored} of {n} samples"
        for name in tok:
            if token_rows[name] == 0:
                missing[name] = "no token counts"
        return cls(
            run_id=run_id, problem_ids=np.asarray(coded.problem_ids, dtype=object), sizes=sizes,
            correct=None if "correct" in missing else correct,
            score=None if "score" in missing else score,
            answer=None if "answer" in missing else answer,
            output_tokens=None if "output_tokens" in missing else tok["output_tokens"],
            prompt_tokens=None if "prompt_tokens" in missing else tok["prompt_tokens"],
            verifier=verifier, verifier_kind=verifier_kind,
            agg=agg if verifier_kind == "step" else None, missing=missing,
        )


def _recode(labels: np.ndarray) -> np.ndarray:
    """Re-number non-negative labels per row as 0, 1, ... in order of first appearance."""
    p, m = labels.shape
    out = np.full((p, m), -1, dtype=np.int32)
    real = labels >= 0
    if not real.any():
        return out
    rows = np.broadcast_to(np.arange(p)[:, None], (p, m))[real]
    vals = labels[real]
    pos = np.broadcast_to(np.arange(m)[None, :], (p, m))[real]
    # first position of each (row, label) pair, then rank those firsts within the row
    pair = rows * (vals.max() + 1) + vals
    uniq, inv = np.unique(pair, return_inverse=True)
    first = np.full(len(uniq), m, dtype=np.int64)
    np.minimum.at(first, inv, pos)
    urow = uniq // (vals.max() + 1)
    order = np.lexsort((first, urow))
    rank = np.empty(len(uniq), dtype=np.int64)
    row_start = np.searchsorted(urow[order], urow[order], side="left")
    rank[order] = np.arange(len(uniq)) - row_start
    out[real] = rank[inv]
    return out
