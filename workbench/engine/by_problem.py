"""Lookup by problem id, shared by a run's per-problem structures (`TreeData`, `ChainData`).

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Item:
...     problem_id: str
>>> @dataclass(frozen=True, eq=False)
... class Items(ByProblem[Item]):
...     run_id: str
...     problems: tuple[Item, ...]
...     kind = "item"
>>> items = Items("r", (Item("b"), Item("a")))
>>> items.problem("a"), items.problem_ids.tolist()
(Item(problem_id='a'), ['b', 'a'])
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar, Generic, Protocol, TypeVar

import numpy as np


class _HasProblemId(Protocol):
    @property
    def problem_id(self) -> str: ...


T = TypeVar("T", bound=_HasProblemId)


class ByProblem(Generic[T]):
    """Mixin for a (frozen) dataclass with `run_id` and `problems` in problem-id order.

    `kind` names one problem's item in the error of `problem` ("tree", "chains").
    """

    run_id: str
    problems: tuple[T, ...]
    kind: ClassVar[str]

    @cached_property
    def _by_id(self) -> dict[str, int]:
        # cached_property writes the instance __dict__ directly, so it works on frozen dataclasses
        return {item.problem_id: i for i, item in enumerate(self.problems)}

    @property
    def problem_ids(self) -> np.ndarray:
        return np.array([item.problem_id for item in self.problems], dtype=object)

    def problem(self, problem_id: str) -> T:
        """The item of one problem (KeyError naming the run if absent)."""
        try:
            return self.problems[self._by_id[problem_id]]
        except KeyError:
            raise KeyError(
                f"run {self.run_id!r} has no {self.kind} for problem {problem_id!r}"
            ) from None
