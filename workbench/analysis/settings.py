"""Settings, notes and progress shared by every step of a report's analysis.

>>> Settings.quick().n_boot
200
>>> notes = Notes()
>>> notes.add("a caveat"); notes.add("a caveat"); notes.items
['a caveat']
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

Progress = Callable[[str], None]
"""`progress(step)`: called before each long step with a short description (the CLI's bar)."""


@dataclass(frozen=True)
class Settings:
    """Sizes and seed of one analysis. The defaults finish the demo in about 3 minutes on two
    cores; `quick()` is for tests and previews.

    Attributes:
        seed: root seed; each step draws from its own stream derived from it and the step's
            name, so results do not depend on which steps ran before.
        n_boot: bootstrap resamples (over problems) of every curve and exchange row.
        policy_boot: bootstrap replicates of the compute-optimal policy (selection re-done).
        draws: Monte-Carlo draws per problem and budget (majority, weighted best-of-N).
        n_bins, folds: difficulty bins and cross-fitting folds of the policy.
        splits, boot_splits: cross-fitting splits averaged for the policy's point estimate
            and in each of its bootstrap replicates (`workbench.analysis.policy`).
        confidence: level of every interval.
        examples: example generations shown per run (only runs this project generated).
        n_jobs: joblib workers for the bootstraps (None: as `joblib.parallel_config` says,
            e.g. a Dask cluster); results do not depend on it (`workbench.engine.parallel`).
    """

    seed: int = 0
    n_boot: int = 2000
    policy_boot: int = 1000
    draws: int = 1000
    n_bins: int = 5
    folds: int = 2
    splits: int = 100
    boot_splits: int = 20
    confidence: float = 0.95
    examples: int = 3
    n_jobs: int | None = None

    @classmethod
    def quick(cls, seed: int = 0) -> Settings:
        """Small sizes: same steps, wider Monte-Carlo error (for tests and previews)."""
        return cls(seed=seed, n_boot=200, policy_boot=100, draws=200)

    def rng(self, key: str) -> np.random.Generator:
        """An independent random stream for the step `key`."""
        return np.random.default_rng([self.seed, zlib.crc32(key.encode())])


class Notes:
    """Plain-language caveats collected along an analysis (warnings included), deduplicated."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)

    @contextmanager
    def catching(self) -> Iterator[None]:
        """Record the warnings raised inside as notes. Floating-point RuntimeWarnings (overflow
        inside an optimiser's trial steps) say nothing about the result and are dropped."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
        for w in caught:
            self.add(str(w.message))


def step(progress: Progress | None, text: str) -> None:
    """Report the start of a step to `progress` (if any)."""
    if progress is not None:
        progress(text)


def power_budgets(top: int, *, include_top: bool = True) -> list[int]:
    """Powers of two up to `top` (and `top` itself when it is not one).

    >>> power_budgets(100)
    [1, 2, 4, 8, 16, 32, 64, 100]
    """
    out = [2**i for i in range(int(np.log2(max(top, 1))) + 1)]
    if include_top and out[-1] != top:
        out.append(int(top))
    return out
