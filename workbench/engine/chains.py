"""Revision chains in array form: per problem, chains of sequential attempts.

A run's samples that carry `chain_id`/`revision_idx` (DESIGN.md) become one `ProblemChains`
per problem: (C, L) arrays over its C chains and up to L attempts, attempts ordered by
`revision_idx` (which must run 0, 1, ... without gaps within a chain).

Answers are coded per problem as in `workbench.engine.tree`: attempts that share an
`answer_key` share an answer id; an attempt WITHOUT an answer key (e.g. code, or no extractable
answer) is its own answer, graded by its own `is_correct`.

When is a short chain finished? A chain can end before a given number of attempts because the
cache is truncated (the attempts were never generated: later slots are unknown) or because the
generator stopped on its own. A chain is `stopped` (finished as recorded; later revision slots
keep its last answer) when the run's sampler records a stopping rule with ``max_iters``
(Reflexion: 10) and the chain holds fewer attempts than that: the generator itself decided to
stop (Reflexion stops when the model's own unit tests pass, even if the real tests then fail).

The gold grade of the last attempt plays NO part: deciding from it whether a short chain is
padded (its answer standing for later revisions) or refused would let the answer key choose
which chains count. A chain that is not stopped and is shorter than what a strategy needs makes
that strategy refuse with a clear error rather than guess.

>>> from workbench.store.records import Sample
>>> chains = ChainData.from_records("demo", [
...     Sample("p", 0, answer_key="3", is_correct=False, chain_id=0, revision_idx=0),
...     Sample("p", 1, answer_key="4", is_correct=True, chain_id=0, revision_idx=1),
...     Sample("p", 2, answer_key="4", is_correct=True, chain_id=1, revision_idx=0)])
>>> c = chains.problem("p")
>>> c.length.tolist(), c.stopped.tolist(), c.answer.tolist()   # no max_iters: none stopped
([2, 1], [False, False], [[0, 1], [1, -1]])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.engine.answer_codes import AnswerCodes
from workbench.engine.by_problem import ByProblem
from workbench.errors import InputError

if TYPE_CHECKING:
    from workbench.store.records import Sample
    from workbench.store.run_store import RunStore

_COLUMNS = ("problem_id", "sample_idx", "answer_key", "is_correct", "output_tokens",
            "prompt_tokens", "chain_id", "revision_idx")


@dataclass(frozen=True, eq=False)
class ProblemChains:
    """One problem's revision chains as (C, L) arrays (L = its longest chain; padding -1/NaN).

    Attributes:
        problem_id: the problem.
        chain_ids: (C,) the chains' ids.
        length: (C,) attempts cached per chain.
        stopped: (C,) the chain is finished as recorded (see the module doc).
        sample_idx: (C, L) each attempt's sample index (-1 padding).
        answer: (C, L) answer ids (-1 padding).
        answer_keys: the key of each answer id (None for singleton answers).
        answer_correct: (A,) mean correctness of each answer id, NaN when ungraded.
        correct: (C, L) 1.0 / 0.0 per attempt, NaN when ungraded or padding.
        score: (C, L) verifier score, NaN when none.
        output_tokens: (C, L) generated tokens, NaN when unknown.
        prompt_tokens: (C, L) prompt tokens, NaN when unknown.
    """

    problem_id: str
    chain_ids: np.ndarray
    length: np.ndarray
    stopped: np.ndarray
    sample_idx: np.ndarray
    answer: np.ndarray
    answer_keys: tuple[str | None, ...]
    answer_correct: np.ndarray
    correct: np.ndarray
    score: np.ndarray
    output_tokens: np.ndarray
    prompt_tokens: np.ndarray

    @property
    def n_chains(self) -> int:
        return int(self.chain_ids.shape[0])


@dataclass(frozen=True, eq=False)
class ChainData(ByProblem[ProblemChains]):
    """All revision chains of a run, one `ProblemChains` per problem (problem-id order).

    `max_iters` is the generator's own attempt limit when the run records one
    (``Run.sampler["max_iters"]``), else None; `verifier` names the scores' verifier.
    """

    run_id: str
    problems: tuple[ProblemChains, ...]
    max_len: int
    max_iters: int | None = None
    verifier: str | None = None
    kind = "chains"

    @property
    def has_scores(self) -> bool:
        """True when every cached attempt has a verifier score."""
        return all(
            not np.isnan(c.score[c.answer >= 0]).any() for c in self.problems
        ) and self.verifier is not None

    @classmethod
    def from_columns(
        cls,
        run_id: str,
        columns: Mapping[str, Sequence[Any]],
        *,
        score: Sequence[Any] | None = None,
        verifier: str | None = None,
        max_iters: int | None = None,
        source: str | None = None,
    ) -> ChainData:
        """Build from sample columns (the store's pool-table layout); rows without a
        `chain_id` are ignored. `score` is one verifier score per row (None: no verifier)."""
        missing = [c for c in _COLUMNS if c not in columns]
        if missing:
            raise InputError(source, None, missing[0], "column missing from the samples")
        if score is None and "score" in columns and verifier is not None:
            score = columns["score"]
        groups: dict[str, dict[Any, dict[int, int]]] = {}
        for i, (pid, chain, rev) in enumerate(zip(columns["problem_id"], columns["chain_id"],
                                                  columns["revision_idx"], strict=True)):
            if chain is None:
                continue
            attempts = groups.setdefault(str(pid), {}).setdefault(chain, {})
            if rev in attempts:
                raise InputError(source, None, "revision_idx",
                                 f"problem {pid!r} chain {chain!r}: revision {rev} twice")
            attempts[int(rev)] = i
        problems = tuple(
            _build_problem(pid, chains, columns, score, max_iters, source)
            for pid, chains in sorted(groups.items())
        )
        max_len = max((int(c.length.max()) for c in problems), default=0)
        return cls(run_id=run_id, problems=problems, max_len=max_len, max_iters=max_iters,
                   verifier=verifier if score is not None else None)

    @classmethod
    def from_records(
        cls,
        run_id: str,
        samples: Iterable[Sample],
        *,
        scores: Mapping[tuple[str, int], float] | None = None,
        verifier: str | None = None,
        max_iters: int | None = None,
    ) -> ChainData:
        """Build from `Sample` records; `scores` maps (problem_id, sample_idx) to a score."""
        samples = list(samples)
        columns = {c: [getattr(s, c) for s in samples] for c in _COLUMNS}
        score = None
        if scores is not None:
            score = [scores.get((s.problem_id, s.sample_idx)) for s in samples]
            verifier = verifier or "scores"
        return cls.from_columns(run_id, columns, score=score, verifier=verifier,
                                max_iters=max_iters, source=f"samples of run {run_id!r}")


def load_chains(
    store: RunStore, run_id: str, *, verifier: str | None = None, agg: str = "last"
) -> ChainData | None:
    """The run's revision chains, or None when no sample has a `chain_id`.

    `verifier=None` uses the run's only verifier when it has exactly one (as `load_run_data`
    does); `agg` aggregates PRM step scores. The generator's attempt limit comes from
    ``Run.sampler["max_iters"]`` when recorded.

    >>> from workbench.store.run_store import RunStore
    >>> from workbench.store.records import Problem, Run, RunBundle, Sample
    >>> store = RunStore(":memory:")
    >>> _ = store.ingest(RunBundle(Run("r", "toy", "m", "synthetic"),
    ...     problems=[Problem("toy", "p")],
    ...     samples=[Sample("p", i, is_correct=i == 1, chain_id=0, revision_idx=i)
    ...              for i in range(2)]))
    >>> load_chains(store, "r").problem("p").correct.tolist()
    [[0.0, 1.0]]
    """
    kinds = store.verifiers(run_id)
    if verifier is None and len(kinds) == 1:
        verifier = next(iter(kinds))
    table = store.pool_table(run_id, verifier, agg)
    columns = table.to_pydict()
    if not any(c is not None for c in columns.get("chain_id", [])):
        return None
    sampler = store.run_record(run_id).sampler or {}
    max_iters = sampler.get("max_iters")
    if max_iters is not None and (isinstance(max_iters, bool) or not isinstance(max_iters, int)):
        raise InputError(f"run {run_id!r}", None, "sampler.max_iters",
                         f"must be an integer, got {max_iters!r}")
    return ChainData.from_columns(
        run_id, columns, score=columns["score"] if verifier is not None else None,
        verifier=verifier, max_iters=max_iters, source=f"samples of run {run_id!r}",
    )


def _float(values: Iterable[Any]) -> list[float]:
    return [np.nan if v is None else float(v) for v in values]


def _build_problem(
    pid: str,
    chains: dict[Any, dict[int, int]],
    columns: Mapping[str, Sequence[Any]],
    score: Sequence[Any] | None,
    max_iters: int | None,
    source: str | None,
) -> ProblemChains:
    chain_ids = sorted(chains)
    lengths = []
    for chain in chain_ids:
        revs = sorted(chains[chain])
        if revs != list(range(len(revs))):
            raise InputError(
                source, None, "revision_idx",
                f"problem {pid!r} chain {chain!r}: revisions {revs} do not run 0, 1, ... "
                "without gaps",
            )
        lengths.append(len(revs))
    c, width = len(chain_ids), max(lengths)
    sample_idx = np.full((c, width), -1, dtype=np.int64)
    answer = np.full((c, width), -1, dtype=np.int64)
    correct = np.full((c, width), np.nan)
    scores = np.full((c, width), np.nan)
    out_tok = np.full((c, width), np.nan)
    in_tok = np.full((c, width), np.nan)
    codes = AnswerCodes()
    for ci, chain in enumerate(chain_ids):
        rows = [chains[chain][r] for r in range(lengths[ci])]
        sample_idx[ci, : len(rows)] = [columns["sample_idx"][i] for i in rows]
        correct[ci, : len(rows)] = _float(columns["is_correct"][i] for i in rows)
        out_tok[ci, : len(rows)] = _float(columns["output_tokens"][i] for i in rows)
        in_tok[ci, : len(rows)] = _float(columns["prompt_tokens"][i] for i in rows)
        if score is not None:
            scores[ci, : len(rows)] = _float(score[i] for i in rows)
        answer[ci, : len(rows)] = [codes.code(columns["answer_key"][i]) for i in rows]
    answer_correct = codes.correctness(answer, correct)
    length = np.array(lengths, dtype=np.int64)
    # never from the gold grade: a chain is finished by the generator's recorded rule only
    stopped = (length < max_iters) if max_iters is not None else np.zeros(c, dtype=bool)
    return ProblemChains(
        problem_id=pid, chain_ids=np.array(chain_ids, dtype=object), length=length,
        stopped=stopped, sample_idx=sample_idx, answer=answer, answer_keys=tuple(codes.keys),
        answer_correct=answer_correct, correct=correct, score=scores, output_tokens=out_tok,
        prompt_tokens=in_tok,
    )


@dataclass(frozen=True)
class Slots:
    """The first k revision slots of every chain of one problem, (C, k) arrays.

    A stopped chain shorter than k is padded with its last attempt (same answer, grade and
    score; `generated` False and no tokens: nothing more is generated).
    """

    answer: np.ndarray
    correct: np.ndarray
    score: np.ndarray
    output_tokens: np.ndarray
    prompt_tokens: np.ndarray
    generated: np.ndarray


def first_attempts(chains: ProblemChains, k: int, strategy: str) -> Slots:
    """The first k slots of each chain; StrategyError if a chain is truncated before k.

    >>> from workbench.store.records import Sample
    >>> c = ChainData.from_records("d", [Sample("p", 0, answer_key="7", is_correct=True,
    ...                                          chain_id=0, revision_idx=0)],
    ...                            max_iters=3).problem("p")
    >>> s = first_attempts(c, 3, "demo")
    >>> s.answer.tolist(), s.generated.tolist()
    ([[0, 0, 0]], [[True, False, False]])
    """
    from workbench.errors import StrategyError

    short = np.flatnonzero((chains.length < k) & ~chains.stopped)
    if short.size:
        i = int(short[0])
        raise StrategyError(
            f"{strategy} needs {k} attempts per chain, but problem {chains.problem_id!r} chain "
            f"{chains.chain_ids[i]!r} holds {chains.length[i]} and did not stop (the run "
            f"records no `max_iters` stopping rule it stopped under): the cache is truncated "
            f"there; use at most {int(chains.length.min())} attempts"
        )
    c = chains.n_chains
    pos = np.minimum(np.arange(k)[None, :], (chains.length - 1)[:, None])  # pad with the last
    rows = np.arange(c)[:, None]
    if chains.answer.shape[1] < k:  # index within the cached width only
        pos = np.minimum(pos, chains.answer.shape[1] - 1)
    generated = np.arange(k)[None, :] < chains.length[:, None]
    return Slots(
        answer=chains.answer[rows, pos],
        correct=chains.correct[rows, pos],
        score=chains.score[rows, pos],
        output_tokens=np.where(generated, chains.output_tokens[rows, pos], 0.0),
        prompt_tokens=np.where(generated, chains.prompt_tokens[rows, pos], 0.0),
        generated=generated,
    )


def chains_of(data: Any, strategy: str) -> tuple[ChainData, Any]:
    """The `ChainData` of `data` (a `RunData`, or a `ChainData` itself) and its cost model."""
    from workbench.engine.cost import CostModel

    if isinstance(data, ChainData):
        return data, CostModel()
    data.require({"chains"}, strategy)
    return data.chains, data.cost_model
