"""Lookahead search replayed over a cached tree (Snell et al. 2024, sec. 5).

lookahead(N, M, k) is beam(N, M) whose candidates are ranked not by their own score but by the
score at the end of a k-step greedy rollout: from each candidate, follow the cached child with
the highest score (standing in for a temperature-0 continuation) k times, stopping early at a
terminal or at the depth limit. Rollouts cost generations too: about N(k+1) per step. A rollout
that needs the children of a node the cache did not expand makes the draw uncovered, like any
other gap. lookahead with k=0 is beam search.

>>> from workbench.engine.tree import TreeData
>>> from workbench.store.records import TreeNode
>>> nodes = [TreeNode("p", "root", None, 0, expanded=True),
...     TreeNode("p", "a", "root", 1, score=0.9, expanded=True),   # looks good, leads nowhere
...     TreeNode("p", "b", "root", 1, score=0.1, expanded=True)] + [
...     TreeNode("p", f"{parent}{i}", parent, 2, score=s, is_terminal=True,
...              answer_key=str(s), is_correct=parent == "b")
...     for parent, scores in (("a", (0.1, 0.2)), ("b", (0.8, 0.7))) for i, s in enumerate(scores)]
>>> tree = TreeData.from_records("toy", nodes)
>>> [float(Lookahead(width=2, depth=k, draws=10).curve(tree, [2], rng=0).accuracy[0])
...  for k in (0, 1)]
[0.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.engine.replay import Draws, Rollout, check_int, greedy_rollout
from workbench.engine.strategies.beam import BeamSearch
from workbench.engine.strategy import register
from workbench.engine.tree import ProblemTree


@register
class Lookahead(BeamSearch):
    """lookahead(N, M, k): beam(N, M) ranking candidates by k-step greedy rollouts.

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
