"""Lookahead search replayed over a cached tree (Snell et al. 2024, sec. 5).

lookahead(N, M, k) is beam(N, M) whose candidates are ranked not by their own score but by the
score at the end of a k-step rollout, stopping early at a terminal or at the depth limit.

Budget. Snell et al. charge lookahead N(k+1) generations per step (each of the N candidates
rolls out k more steps), so a budget B on the generations axis runs beam width N = B / (k+1):
budgets must be multiples of M(k+1), and `Curve.budgets` are these B, comparable with best-of-N
and beam search at equal generations. `cost.generations` counts the rollout steps actually made
(fewer when rollouts stop early at terminals).

A VERIFIER-GUIDED PROXY. Snell's rollout is a temperature-0 continuation of the policy; a cache
of sampled children holds no such continuation, so the replay follows the cached child that the
VERIFIER scores highest. That rollout peeks at verifier scores the real search would only see
after choosing, so it can be optimistic; the curve says so: params ``rollout="verifier-greedy"``
(in its label) and ``meta["proxy"]``. A rollout that needs the children of a node the cache
did not expand makes the draw uncovered, like any other gap. lookahead with k=0 is beam search.

>>> from workbench.engine.tree import TreeData
>>> from workbench.store.records import TreeNode
>>> nodes = [TreeNode("p", "root", None, 0, expanded=True),
...     TreeNode("p", "a", "root", 1, score=0.9, expanded=True),   # looks good, leads nowhere
...     TreeNode("p", "b", "root", 1, score=0.1, expanded=True)] + [
...     TreeNode("p", f"{parent}{i}", parent, 2, score=s, is_terminal=True,
...              answer_key=str(s), is_correct=parent == "b")
...     for parent, scores in (("a", (0.1, 0.2)), ("b", (0.8, 0.7))) for i, s in enumerate(scores)]
>>> tree = TreeData.from_records("toy", nodes)
>>> [float(Lookahead(width=2, depth=k, draws=10).curve(tree, [2 * (k + 1)], rng=0).accuracy[0])
...  for k in (0, 1)]    # budget N(k+1): beam width N = 2 in both
[0.0, 1.0]
>>> Lookahead(width=2, depth=1, draws=10).curve(tree, [4], rng=0).label
'lookahead(width=2, depth=1, rollout=verifier-greedy)'

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace as replace_fields
from typing import Any

import numpy as np

from workbench.engine.replay import Draws, Rollout, check_int, greedy_rollout
from workbench.engine.results import Curve
from workbench.engine.strategies.beam import BeamSearch
from workbench.engine.strategy import RngLike, register
from workbench.engine.tree import ProblemTree

ROLLOUT = "verifier-greedy"
PROXY_NOTE = ("lookahead rollouts follow the cached child the verifier scores highest, a "
              "verifier-guided proxy for Snell et al.'s temperature-0 policy rollout")


@register
class Lookahead(BeamSearch):
    """lookahead(N, M, k): beam(N, M) ranking candidates by k-step verifier-greedy rollouts
    (a proxy, see the module doc); budgets are N(k+1) generations per step.

    Args:
        width: M, children drawn per kept beam.
        depth: k, rollout steps (0 = beam search).
        draws: Monte-Carlo replicates per problem and budget.
        max_depth: depth at which every candidate is final (default: the tree's deepest node).
    """

    name = "lookahead"

    def __init__(
        self, width: int = 4, depth: int = 1, *, draws: int = 1000, max_depth: int | None = None
    ):
        super().__init__(width, draws=draws, max_depth=max_depth)
        self.depth = check_int(depth, "depth", minimum=0)

    def params(self) -> dict[str, Any]:
        return {"width": self.width, "depth": self.depth}

    @property
    def per_beam(self) -> int:  # type: ignore[override]
        return self.depth + 1

    def curve(self, data: Any, budgets: Sequence[int], *, rng: RngLike = None,
              replace: bool = False) -> Curve:
        out = super().curve(data, budgets, rng=rng, replace=replace)
        return replace_fields(out, params={**out.params, "rollout": ROLLOUT},
                              meta={**out.meta, "proxy": PROXY_NOTE,
                                         "beam_width_n": (out.budgets // self.per_beam).tolist()})

    def prepare(self, tree: ProblemTree, max_depth: int) -> Rollout:
        return greedy_rollout(tree, self.depth, max_depth)

    def selection_key(
        self, tree: ProblemTree, cand: np.ndarray, active: np.ndarray, state: Draws, context: Any
    ) -> np.ndarray:
        roll: Rollout = context
        c = np.maximum(cand, 0)
        state.ok &= ~(active & ~roll.ok[c]).any(axis=1)
        state.generations += np.where(active, roll.steps[c], 0).sum(axis=1)
        state.tokens += np.where(active, roll.tokens[c], 0.0).sum(axis=1)
        state.verified += np.where(active, roll.verified[c], 0.0).sum(axis=1)
        return np.where(active, tree.score[roll.end[c]], -np.inf)
