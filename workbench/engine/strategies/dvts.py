"""Diverse verifier tree search replayed over a cached tree (Beeching et al. 2024, HF blog
"Scaling test-time compute with open models"; the DVTS extension of Snell et al.'s beam search).

dvts(N, M): draw N first-step candidates and split them at random into N/M groups of M; each
group is an independent subtree searched greedily with width M: keep the group's best candidate
by score, expand it by M, keep the best again, until the kept candidate is terminal or at the
depth limit. The answer is weighted best-of-N over the N final candidates: each subtree's last
expansion, i.e. its kept candidate AND that candidate's M - 1 siblings (search-and-learn's
`_dvts` returns ``previous_text + next_texts[i]`` for all M; siblings that are not terminal
carry no answer and add no vote). Budget N generations per step while all subtrees run.

Replay rules (sampling children, coverage, ties): see `workbench.engine.replay`.

>>> from workbench.engine.tree import TreeData
>>> from workbench.store.records import TreeNode
>>> nodes = [TreeNode("p", "root", None, 0, expanded=True)] + [
...     TreeNode("p", f"a{i}", "root", 1, score=s, is_terminal=True, answer_key=k,
...              is_correct=k == "24")
...     for i, (s, k) in enumerate([(0.6, "24"), (0.5, "23"), (0.45, "23"), (0.1, "7")])]
>>> tree = TreeData.from_records("toy", nodes)
>>> # one subtree whose kept candidate (24, 0.6) is terminal: its 4 siblings all vote, and
>>> # 23 (0.5 + 0.45) beats 24 (0.6); voting over the kept candidate alone would say 24
>>> DVTS(width=4, draws=10).curve(tree, [4], rng=0).accuracy.tolist()
[0.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.engine.replay import (
    Draws,
    ProblemDraws,
    WidthSearch,
    expand,
    finish,
    root_gap,
    top_k,
    weighted_outcome,
)
from workbench.engine.strategy import register
from workbench.engine.tree import ProblemTree


@register
class DVTS(WidthSearch):
    """dvts(N, M) over a cached tree; budgets are N (generations per step).

    Args:
        width: M, the candidates each subtree draws per step (N/M subtrees).
        draws: Monte-Carlo replicates per problem and budget.
        max_depth: depth at which every candidate is final (default: the tree's deepest node).
    """

    name = "dvts"

    def replay(
        self, tree: ProblemTree, n: int, rng: np.random.Generator, *, replace: bool,
        max_depth: int, width: int, context: Any = None,
    ) -> ProblemDraws:
        """R draws of dvts(n, width) on one problem."""
        r, groups, m = self.draws, n // width, width
        if root_gap(tree, n, replace=replace):
            return ProblemDraws.uncovered(r)
        state = Draws.start(tree, r)
        # The N first-step candidates come in random order, so consecutive groups of M are a
        # uniformly random split into subtrees.
        cand = expand(tree, np.full((r, 1), tree.root), n, rng, state, replace=replace)
        cand = cand.reshape(r * groups, m)
        while True:
            valid = cand >= 0
            if not valid.any() or not state.ok.any():  # nothing left, or nothing replayable
                break
            key = np.where(valid, tree.score[np.maximum(cand, 0)], -np.inf)
            pos, chosen = top_k(key, valid, 1, rng)
            best = np.where(chosen[:, 0], cand[np.arange(cand.shape[0]), pos[:, 0]], -1)
            best = best.reshape(r, groups)
            b = np.maximum(best, 0)
            alive = best >= 0
            done = alive & (tree.terminal[b] | (tree.depth[b] >= max_depth))
            # a finished subtree contributes its whole last expansion (the kept candidate and
            # its M - 1 siblings) to the final pool, as search-and-learn's output does
            siblings = (done.reshape(-1)[:, None] & valid).reshape(r, -1)
            finish(tree, cand.reshape(r, -1), siblings, state)
            frontier = np.where(alive & ~done, best, -1)
            if not (frontier >= 0).any():
                break
            cand = expand(tree, frontier, m, rng, state, replace=replace).reshape(r * groups, m)
        return ProblemDraws.of(weighted_outcome(tree, state), state)
