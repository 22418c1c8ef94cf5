"""Tree-of-Thoughts breadth-first search replayed deterministically over a cached tree.

bfs(b) is the search of Yao et al. (2023, ToT) with greedy selection: at every depth, expand
EVERY kept node (all its cached children, in cached order, kept nodes in their selection
order), sort the pooled candidates by score with a STABLE sort (ties keep proposal order:
ToT's ``sorted(ids, key=lambda x: values[x], reverse=True)[:b]``) and keep the top b, down to
the depth limit. A kept node that is terminal before the limit stays a candidate (it is not
expanded). No sampling: the replay is exact. With b = 5 on the ToT Game-of-24 log it
reproduces the logged final candidates (`ys`) of every puzzle; a different b needs nodes ToT
never expanded and is covered only where the cache happens to hold them.

The answer from the b final candidates: ``select="top"`` (the first, i.e. best-valued, one; a
non-terminal scores 0), ``"weighted_bon"`` (weighted best-of-N over the final terminals), or
``"any"`` (oracle: solved if any final candidate is correct, ToT's own success count).
Budgets are the breadths b; `cost.generations` counts the proposals actually generated.

>>> from workbench.engine.tree import TreeData
>>> from workbench.store.records import TreeNode
>>> nodes = [TreeNode("p", "root", None, 0, expanded=True)] + [
...     TreeNode("p", f"a{i}", "root", 1, score=s, is_terminal=True, answer_key=str(i),
...              is_correct=i == 1) for i, s in enumerate([2.0, 2.0, 1.0])]
>>> tree = TreeData.from_records("toy", nodes)
>>> BreadthFirst(select="top").curve(tree, [1, 2]).accuracy.tolist()  # a0 first on the tie
[0.0, 0.0]
>>> BreadthFirst(select="any").curve(tree, [1, 2]).accuracy.tolist()
[0.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.engine.budgets import check_budgets as check_budget_values
from workbench.engine.replay import (
    Draws,
    check_int,
    check_searchable,
    coverage_curve,
    finish,
    tree_of,
    weighted_outcome,
)
from workbench.engine.results import Curve
from workbench.engine.strategy import RngLike, Strategy, register
from workbench.engine.tree import ProblemTree
from workbench.errors import StrategyError

SELECTIONS = ("top", "weighted_bon", "any")


@dataclass(frozen=True)
class BfsReplay:
    """One deterministic BFS replay of one problem.

    `final` holds the kept node numbers at the depth limit in selection order (empty when not
    covered); `levels[d]` the kept nodes after depth d+1; `gap` the first kept node the search
    had to expand but the cache did not (-1 when covered).
    """

    final: np.ndarray
    levels: tuple[np.ndarray, ...]
    covered: bool
    gap: int
    generations: int
    tokens: float
    verified: float


def bfs_replay(tree: ProblemTree, breadth: int, max_depth: int) -> BfsReplay:
    """Replay ToT's breadth-first search with breadth `breadth` on one problem's cached tree.

    >>> from workbench.engine.tree import TreeData
    >>> from workbench.store.records import TreeNode
    >>> t = TreeData.from_records("toy", [TreeNode("p", "root", None, 0, expanded=True),
    ...     TreeNode("p", "x", "root", 1, score=1.0), TreeNode("p", "y", "root", 1, score=3.0)]
    ... ).problem("p")
    >>> [str(t.node_ids[i]) for i in bfs_replay(t, 1, 1).final]
    ['y']
    """
    frontier = np.array([tree.root])
    levels: list[np.ndarray] = []
    generations, tokens, verified = 0, 0.0, 0.0
    for _ in range(max_depth):
        pooled = []
        for node in frontier.tolist():
            if tree.terminal[node] and node != tree.root:
                pooled.append(np.array([node]))  # finished early: competes as it is
                continue
            if not tree.expanded[node]:
                return BfsReplay(np.array([], dtype=np.int64), tuple(levels), False, node,
                                 generations, tokens, verified)
            kids = tree.children_of(node)
            generations += kids.size
            tokens += float(tree.tokens[kids].sum())
            verified += float(tree.prefix_tokens[kids].sum())
            pooled.append(kids)
        cand = np.concatenate(pooled) if pooled else np.array([], dtype=np.int64)
        order = np.argsort(-tree.score[cand], kind="stable")  # ToT's stable sort, ties in order
        frontier = cand[order[:breadth]]
        levels.append(frontier)
        if frontier.size == 0:
            break
    return BfsReplay(frontier, tuple(levels), True, -1, generations, tokens, verified)


@register
class BreadthFirst(Strategy):
    """bfs(b): ToT's breadth-first search with greedy top-b selection; budgets are b.

    Args:
        select: how the final candidates give one answer: "top", "weighted_bon" or "any".
        max_depth: search depth (default: the tree's deepest node; ToT Game of 24: 4 steps).
    """

    name = "bfs"
    needs = frozenset({"tree"})
    exact = True

    def __init__(self, select: str = "top", *, max_depth: int | None = None):
        if select not in SELECTIONS:
            raise StrategyError(f"`select` must be one of {SELECTIONS}, got {select!r}")
        self.select = select
        self.max_depth = None if max_depth is None else check_int(max_depth, "max_depth",
                                                                  minimum=1)

    def params(self) -> dict[str, Any]:
        return {"select": self.select}

    def outcome(self, tree: ProblemTree, final: np.ndarray) -> float:
        """Success (expected correctness) of the answer chosen from the final candidates."""
        if final.size == 0:
            return 0.0
        graded = np.where(tree.terminal[final], np.nan_to_num(tree.is_correct[final]), 0.0)
        if self.select == "top":
            return float(graded[0])
        if self.select == "any":
            return float(graded.max())
        state = Draws.start(tree, 1)
        finish(tree, final[None, :], tree.terminal[final][None, :], state)
        return float(weighted_outcome(tree, state)[0])

    def curve(
        self, data: Any, budgets: Sequence[int], *, rng: RngLike = None, replace: bool = False
    ) -> Curve:
        tree_data, cost_model = tree_of(data, self.name)
        check_searchable(tree_data, self.name)
        breadths = check_budget_values(budgets)
        max_depth = self.max_depth or tree_data.max_depth
        p, nb = len(tree_data.problems), breadths.size
        est = np.zeros((p, nb))
        covered = np.zeros((p, nb))
        spent = np.zeros((3, p, nb))
        for i, tree in enumerate(tree_data.problems):
            for j, b in enumerate(breadths.tolist()):
                rep = bfs_replay(tree, b, max_depth)
                covered[i, j] = rep.covered
                est[i, j] = self.outcome(tree, rep.final)
                spent[:, i, j] = rep.generations, rep.tokens, rep.verified
        return coverage_curve(self.name, self.params(), tree_data, breadths, est,
                              np.zeros_like(est), covered, spent, cost_model,
                              exact=True, biased=False)
