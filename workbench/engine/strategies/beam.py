"""Step-level beam search replayed over a cached tree (Snell et al. 2024, sec. 5).

beam(N, M): draw N first-step candidates, keep the top N/M by verifier score, expand each by M
(N candidates again), repeat; candidates that finish (terminal, or at the depth limit) leave
the beam and join the final pool; the answer is weighted best-of-N over that pool. Budget N
generations per step. Kept beams are at most N/M: when fewer unfinished candidates remain, the
beam narrows rather than re-filling (the generations actually made are what `cost` reports;
search-and-learn instead duplicates the surviving beams back to N). The final pool holds at most
N candidates: the first N to finish, as in search-and-learn (``sort_completed=False``; beams
finishing at the same step fill the places left in random order); without that cap, candidates
finishing at several depths made pools of up to about 2N (36% of draws on smollm2, beam(4, 2)).

Replay rules (sampling children, coverage, ties): see `workbench.engine.replay`.

>>> from workbench.engine.tree import TreeData
>>> from workbench.store.records import TreeNode
>>> nodes = [TreeNode("p", "root", None, 0, expanded=True)] + [
...     TreeNode("p", f"a{i}", "root", 1, score=s, is_terminal=True, answer_key=k,
...              is_correct=k == "24")
...     for i, (s, k) in enumerate([(0.9, "24"), (0.5, "23"), (0.45, "23")])]
>>> curve = BeamSearch(width=1, draws=2000).curve(TreeData.from_records("toy", nodes), [1, 3],
...                                              rng=0)
>>> curve.accuracy.round(1).tolist()   # N=1: 1 of 3 at random; N=3: 0.9 < 0.5 + 0.45
[0.3, 0.0]
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
class BeamSearch(WidthSearch):
    """beam(N, M) over a cached tree; budgets are N (generations per step).

    Args:
        width: M, the children drawn per kept beam (N/M beams are kept); "sqrt" for
            M = sqrt(N) (Snell et al.'s other width; budgets must be perfect squares).
        draws: Monte-Carlo replicates per problem and budget.
        max_depth: depth at which every candidate is final (default: the tree's deepest node).
    """

    name = "beam"

    def selection_key(
        self, tree: ProblemTree, cand: np.ndarray, active: np.ndarray, state: Draws, context: Any
    ) -> np.ndarray:
        """Score that ranks the active candidates for the next beam (lookahead overrides it)."""
        return np.where(active, tree.score[np.maximum(cand, 0)], -np.inf)

    def replay(
        self, tree: ProblemTree, n: int, rng: np.random.Generator, *, replace: bool,
        max_depth: int, width: int, context: Any = None,
    ) -> ProblemDraws:
        """R draws of beam(n, width) on one problem."""
        if root_gap(tree, n, replace=replace):
            return ProblemDraws.uncovered(self.draws)
        state = Draws.start(tree, self.draws)
        keep = n // width
        frontier = np.full((self.draws, 1), tree.root)
        m = n
        while True:
            cand = expand(tree, frontier, m, rng, state, replace=replace)
            cand = cand.reshape(self.draws, -1)
            valid = cand >= 0
            if not valid.any() or not state.ok.any():  # nothing left, or nothing replayable
                break
            c = np.maximum(cand, 0)
            done = valid & (tree.terminal[c] | (tree.depth[c] >= max_depth))
            finish(tree, cand, done, state, cap=n, rng=rng)
            active = valid & ~done
            if not active.any():
                break
            key = self.selection_key(tree, cand, active, state, context)
            pos, chosen = top_k(key, active, keep, rng)
            frontier = np.where(chosen, np.take_along_axis(cand, pos, axis=1), -1)
            m = width
        return ProblemDraws.of(weighted_outcome(tree, state), state)
