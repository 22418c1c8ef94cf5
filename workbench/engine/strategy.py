"""The one interface every search strategy implements, and the registry of strategies.

Adding a strategy is one file: subclass `Strategy`, set `name` and `needs`, implement `curve`,
and decorate the class with `@register`.
"""

from __future__ import annotations

import difflib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from workbench.errors import StrategyError

if TYPE_CHECKING:
    from workbench.engine.results import Curve

RngLike = np.random.Generator | int | None


class Strategy(ABC):
    """A test-time strategy: maps a run's cached data and budgets to a per-problem `Curve`.

    `needs` names what the run must hold: any of "samples", "correct", "answers", "scores",
    "tree", "chains", "counts". The engine checks it before calling `curve` and says clearly
    what is missing.
    """

    name: ClassVar[str]
    needs: ClassVar[frozenset[str]] = frozenset()
    exact: ClassVar[bool] = False

    @abstractmethod
    def curve(
        self,
        data: Any,
        budgets: Sequence[int],
        *,
        rng: RngLike = None,
        replace: bool = False,
    ) -> Curve:
        """Per-problem expected accuracy at each budget (in generations per question)."""

    def params(self) -> dict[str, Any]:
        """The hyper-parameters that identify this configuration (for labels and policies)."""
        return {}


STRATEGIES: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator adding a strategy to `STRATEGIES` under its `name`."""
    if cls.name in STRATEGIES:
        raise StrategyError(f"strategy name {cls.name!r} registered twice")
    STRATEGIES[cls.name] = cls
    return cls


def get_strategy(name: str, **params: Any) -> Strategy:
    """Instantiate a registered strategy by name with keyword parameters."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        close = difflib.get_close_matches(name, STRATEGIES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise StrategyError(
            f"unknown strategy {name!r}; {hint}known: {', '.join(sorted(STRATEGIES))}"
        ) from None
    signature = inspect.signature(cls)
    try:
        signature.bind(**params)
    except TypeError as exc:
        accepted = ", ".join(signature.parameters) or "none"
        raise StrategyError(f"{name}: {exc}; its parameters: {accepted}") from None
    return cls(**params)
