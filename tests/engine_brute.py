"""Brute-force references for the engine's estimators (not a test module).

Each function enumerates EVERY subset (or, with replacement, every ordered tuple) of a small
pool and averages the strategy's outcome with plain Python: the definition, written as
directly as possible, against which the vectorised estimators are checked.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from fractions import Fraction


def draws(m: int, n: int, replace: bool) -> Iterator[tuple[int, ...]]:
    """All equally likely draws of n of m samples (subsets, or ordered tuples with replacement)."""
    if replace:
        return itertools.product(range(m), repeat=n)
    return itertools.combinations(range(m), n)


def pass_at_k(correct: Sequence[bool], k: int, replace: bool = False) -> float:
    outs = [any(correct[i] for i in d) for d in draws(len(correct), k, replace)]
    return float(Fraction(sum(outs), len(outs)))


def best_of_n(
    scores: Sequence[float], correct: Sequence[float], n: int, replace: bool = False
) -> float:
    """Pick the highest score; a uniform tie-break means the tied samples' mean correctness."""
    total, count = Fraction(0), 0
    for d in draws(len(scores), n, replace):
        top = max(scores[i] for i in d)
        tied = [i for i in d if scores[i] == top]  # with replacement: repeats count as draws
        total += Fraction(sum(Fraction(correct[i]) for i in tied), len(tied))
        count += 1
    return float(total / count)


def vote(
    answers: Sequence[int | None],
    correct: Sequence[bool],
    n: int,
    scores: Sequence[float] | None = None,
    replace: bool = False,
) -> float:
    """Majority (scores None) or weighted best-of-N; ties between answers share uniformly.

    An answer's correctness is the mean correctness of its samples; None never wins.
    """
    by_answer: dict[int, list[bool]] = {}
    for a, c in zip(answers, correct, strict=True):
        if a is not None:
            by_answer.setdefault(a, []).append(c)
    answer_ok = {a: Fraction(sum(v), len(v)) for a, v in by_answer.items()}
    total, count = Fraction(0), 0
    for d in draws(len(answers), n, replace):
        tally: dict[int, float] = {}
        for i in d:
            a = answers[i]
            if a is not None:
                tally[a] = tally.get(a, 0.0) + (1.0 if scores is None else scores[i])
        count += 1
        if not tally:
            continue
        top = max(tally.values())
        tied = [a for a, v in tally.items() if abs(v - top) <= 1e-9 * max(1.0, abs(top))]
        total += sum((answer_ok[a] for a in tied), Fraction(0)) / len(tied)
    return float(total / count)
