"""Small arithmetic word problems with exact integer answers: this project's own data set.

The generator is seeded and pure, so the same `(n, seed, levels)` always yields the same
problems (and the committed run can be regenerated). Difficulty grows with the number of
operations: level 1 is one one-digit addition or subtraction, level 2 two of them, level 3 three
operations with larger numbers, multiplication and exact division, so a small model's
per-problem pass rates spread out.

>>> probs = generate_problems(2, seed=0)
>>> [p.problem_id for p in probs]
['arith-0000', 'arith-0001']
>>> probs[0].gold_answer.lstrip("-").isdigit()
True
>>> extract_answer("so 3 + 4 = 7.\\nAnswer: 7")
'7'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workbench.store.records import Problem

DATASET = "arith-word"
"""The dataset name of generated problems (Problem.dataset / Run.dataset)."""

_NAMES = (
    ("Tom", "he"), ("Anna", "she"), ("Ben", "he"), ("Lucy", "she"), ("Sam", "he"),
    ("Mia", "she"), ("Leo", "he"), ("Emma", "she"), ("Max", "he"), ("Zoe", "she"),
)
_ITEMS = ("apples", "pencils", "stickers", "marbles", "cookies", "books", "cards", "shells")


@dataclass(frozen=True, slots=True)
class _Op:
    kind: str  # "add" | "sub" | "mul" | "div"
    value: int


def _sentence(op: _Op, name: str, pron: str, item: str) -> str:
    """One sentence per operation (so a worked solution has one step per sentence)."""
    p = pron.capitalize()
    if op.kind == "add":
        return f"{p} gets {op.value} more {item}."
    if op.kind == "sub":
        return f"{p} gives {op.value} {item} to a friend."
    if op.kind == "mul":
        return f"Then the number of {item} {name} has becomes {op.value} times as large."
    return f"{p} splits the {item} into {op.value} equal groups and keeps one group."


def _apply(total: int, op: _Op) -> int:
    if op.kind == "add":
        return total + op.value
    if op.kind == "sub":
        return total - op.value
    if op.kind == "mul":
        return total * op.value
    return total // op.value


def _draw_ops(rng: np.random.Generator, start: int, level: int) -> list[_Op]:
    """Operations whose running totals stay positive integers (division always exact).

    Levels 1-2 use one-digit additions and subtractions; level 3 adds larger additions,
    multiplication and exact division.
    """
    kinds = ["add", "sub"] if level < 3 else ["add", "sub", "mul", "div"]
    top_add = 10 if level < 3 else 20
    ops: list[_Op] = []
    total = start
    while len(ops) < level:
        kind = str(rng.choice(kinds))
        if kind == "add":
            op = _Op("add", int(rng.integers(2, top_add)))
        elif kind == "sub":
            if total < 3:
                continue
            op = _Op("sub", int(rng.integers(2, min(total, 10))))
        elif kind == "mul":
            if total > 30:
                continue
            op = _Op("mul", int(rng.integers(2, 4)))
        else:
            divisors = [d for d in (2, 3, 4, 5) if total % d == 0]
            if not divisors:
                continue
            op = _Op("div", int(rng.choice(divisors)))
        ops.append(op)
        total = _apply(total, op)
    return ops


def generate_problems(
    n: int, *, seed: int = 0, levels: Sequence[int] = (1, 2, 3)
) -> list[Problem]:
    """`n` seeded arithmetic word problems, levels cycling through `levels`.

    Each problem's `gold_answer` is the exact integer (as a string), `level` its number of
    operations, `subject` the operation kinds joined by "+", and `meta` the numbers used.

    >>> p = generate_problems(1, seed=3, levels=(1,))[0]
    >>> p.level, p.dataset
    ('1', 'arith-word')
    """
    if n < 0:
        raise ValueError(f"`n` must be >= 0, got {n}")
    bad = [lv for lv in levels if lv not in (1, 2, 3)]
    if not levels or bad:
        raise ValueError(f"`levels` must be a non-empty subset of (1, 2, 3), got {list(levels)}")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        level = int(levels[i % len(levels)])
        name, pron = _NAMES[int(rng.integers(len(_NAMES)))]
        item = _ITEMS[int(rng.integers(len(_ITEMS)))]
        start = int(rng.integers(3, 13 if level < 3 else 25))
        ops = _draw_ops(rng, start, level)
        total = start
        for op in ops:
            total = _apply(total, op)
        text = " ".join(
            [f"{name} has {start} {item}."]
            + [_sentence(op, name, pron, item) for op in ops]
            + [f"How many {item} does {name} have now?"]
        )
        out.append(
            Problem(
                dataset=DATASET,
                problem_id=f"arith-{i:04d}",
                question=text,
                gold_answer=str(total),
                subject="+".join(op.kind for op in ops),
                level=str(level),
                meta={"start": start, "ops": [[op.kind, op.value] for op in ops]},
            )
        )
    return out


_ANSWER_RE = re.compile(r"answer\s*(?:is)?\s*[:=]?\s*\$?(-?\d[\d,]*(?:\.\d+)?)", re.IGNORECASE)
_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def extract_answer(text: str) -> str | None:
    """The final numeric answer of a completion, canonicalised, or None.

    Prefers the last "Answer: N" (case-insensitive, "answer is N" too); otherwise the last number
    in the text. Thousands separators are dropped and integral decimals written as integers, so
    the result doubles as the `answer_key` used for voting.

    >>> extract_answer("5 + 3 = 8 apples. The answer is 8.")
    '8'
    >>> extract_answer("1,200.0 in total") , extract_answer("no idea")
    ('1200', None)
    """
    found = _ANSWER_RE.findall(text)
    if not found:
        found = _NUMBER_RE.findall(text)
    if not found:
        return None
    raw = found[-1].replace(",", "")
    try:
        value = float(raw)
    except ValueError:  # pragma: no cover - the regex only matches numbers
        return None
    if value.is_integer():
        return str(int(value))
    return repr(value)


def has_final_answer(text: str) -> bool:
    """Whether a step states the final answer ("Answer: N" / "answer is N").

    >>> has_final_answer("Answer: 12"), has_final_answer("12 - 3 = 9")
    (True, False)
    """
    return _ANSWER_RE.search(text) is not None


def is_correct(answer_key: str | None, gold: str | None) -> bool | None:
    """Exact numeric equality of canonical answers (None when there is no gold answer).

    >>> is_correct("8", "8"), is_correct(None, "8"), is_correct("8", None)
    (True, False, None)
    """
    if gold is None:
        return None
    if answer_key is None:
        return False
    try:
        return float(answer_key) == float(gold)
    except ValueError:
        return answer_key.strip() == gold.strip()
