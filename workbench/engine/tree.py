"""Cached search trees in array form, ready for step-level search replay.

A run's `tree_nodes` (DESIGN.md) become one `ProblemTree` per problem: flat numpy arrays indexed
by node number, with each node's children in CACHED order (the order the store returns them,
i.e. by `node_id`; importers give node ids that sort in generation order, e.g. ToT's
"d2-007"). The order matters only for deterministic replays that break score ties by position,
such as Tree-of-Thoughts' breadth-first search.

Answers: every terminal node gets an answer id. Terminals that share an `answer_key` share the
id (that is what weighted best-of-N sums over); a terminal WITHOUT an answer key is its own
answer (a singleton cluster), so it can still be chosen and is graded by its own `is_correct`,
but never agrees with anything. `answer_correct[a]` is the mean correctness of the terminals
with answer `a` (one value when the grader is consistent, which it is for keyed answers).

>>> from workbench.store.records import TreeNode
>>> nodes = [
...     TreeNode("p", "root", None, 0, expanded=True),
...     TreeNode("p", "a", "root", 1, score=0.9, is_terminal=True, answer_key="4", is_correct=True),
...     TreeNode("p", "b", "root", 1, score=0.2, is_terminal=True, answer_key="5",
...              is_correct=False),
... ]
>>> tree = TreeData.from_records("demo", nodes)
>>> t = tree.problem("p")
>>> [str(t.node_ids[c]) for c in t.children_of(t.root)]
['a', 'b']
>>> t.answer_keys, t.answer_correct.tolist()
(('4', '5'), [1.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.engine.answer_codes import AnswerCodes
from workbench.engine.by_problem import ByProblem
from workbench.errors import InputError

if TYPE_CHECKING:
    from workbench.store.records import TreeNode
    from workbench.store.run_store import RunStore

_COLUMNS = (
    "problem_id", "node_id", "parent_id", "depth", "text", "score", "tokens",
    "is_terminal", "answer_key", "is_correct", "expanded",
)


@dataclass(frozen=True, eq=False)
class ProblemTree:
    """One problem's cached tree as arrays over its n nodes (index = node number).

    Attributes:
        problem_id: the problem.
        node_ids: (n,) the nodes' ids (object array of str).
        parent: (n,) parent node number, -1 for the root.
        depth: (n,) depth (root 0).
        score: (n,) verifier/value score, NaN when the cache has none.
        tokens: (n,) generated tokens of the node's step, NaN when unknown.
        prefix_tokens: (n,) tokens of the whole solution prefix up to the node (root excluded):
            what a verifier reads to score it; NaN when any step's tokens are unknown.
        terminal: (n,) the node ends a solution (carries a final answer).
        expanded: (n,) ALL children of the node were generated and cached.
        is_correct: (n,) 1.0 / 0.0, NaN when ungraded.
        answer: (n,) answer id of terminal nodes (see the module doc), -1 elsewhere.
        answer_keys: the answer key of each answer id (None for singleton answers).
        answer_correct: (A,) mean correctness of each answer id, NaN when ungraded.
        children: (n, W) children node numbers in cached order, -1 padded.
        nchild: (n,) number of cached children.
        text: (n,) each node's own text (object array; None allowed).
        root: the root's node number.
    """

    problem_id: str
    node_ids: np.ndarray
    parent: np.ndarray
    depth: np.ndarray
    score: np.ndarray
    tokens: np.ndarray
    prefix_tokens: np.ndarray
    terminal: np.ndarray
    expanded: np.ndarray
    is_correct: np.ndarray
    answer: np.ndarray
    answer_keys: tuple[str | None, ...]
    answer_correct: np.ndarray
    children: np.ndarray
    nchild: np.ndarray
    text: np.ndarray
    root: int

    @property
    def n_nodes(self) -> int:
        return int(self.node_ids.shape[0])

    def children_of(self, node: int) -> np.ndarray:
        """Children of node number `node`, in cached order."""
        return np.asarray(self.children[node, : self.nchild[node]])

    def index(self, node_id: str) -> int:
        """The node number of a node id (KeyError if absent)."""
        hits = np.flatnonzero(self.node_ids == node_id)
        if hits.size == 0:
            raise KeyError(f"problem {self.problem_id!r} has no node {node_id!r}")
        return int(hits[0])

    def path(self, node: int) -> list[int]:
        """Node numbers from the root down to `node` (both included)."""
        out = [node]
        while self.parent[out[-1]] >= 0:
            out.append(int(self.parent[out[-1]]))
        return out[::-1]

    def full_text(self, node: int) -> str:
        """The solution prefix a node stands for: its ancestors' texts and its own, root excluded
        (the root's text is the problem input, not part of the generated output)."""
        return "".join(str(self.text[i] or "") for i in self.path(node)[1:])


@dataclass(frozen=True, eq=False)
class TreeData(ByProblem[ProblemTree]):
    """All cached trees of a run, one `ProblemTree` per problem (in problem-id order).

    `max_depth` is the deepest node of the run: the default depth limit of a replayed search.
    """

    run_id: str
    problems: tuple[ProblemTree, ...]
    max_depth: int
    kind = "tree"

    @classmethod
    def from_columns(
        cls, run_id: str, columns: Mapping[str, Sequence[Any]], *, source: str | None = None
    ) -> TreeData:
        """Build from column lists with the `tree_nodes` columns (the store's table layout).

        Rows of one problem must be in cached order. `source` names the input in errors.
        """
        missing = [c for c in _COLUMNS if c not in columns]
        if missing:
            raise InputError(source, None, missing[0], "column missing from the tree nodes")
        n = len(columns["node_id"])
        rows_by_problem: dict[str, list[int]] = {}
        for i, pid in enumerate(columns["problem_id"]):
            rows_by_problem.setdefault(str(pid), []).append(i)
        problems = tuple(
            _build_problem(pid, rows, columns, source)
            for pid, rows in sorted(rows_by_problem.items())
        )
        max_depth = max((int(t.depth.max()) for t in problems), default=0) if n else 0
        return cls(run_id=run_id, problems=problems, max_depth=max_depth)

    @classmethod
    def from_records(cls, run_id: str, nodes: Iterable[TreeNode]) -> TreeData:
        """Build from `TreeNode` records (in cached order within each problem)."""
        nodes = list(nodes)
        columns = {c: [getattr(nd, c) for nd in nodes] for c in _COLUMNS}
        return cls.from_columns(run_id, columns, source=f"tree of run {run_id!r}")


def load_tree(store: RunStore, run_id: str) -> TreeData | None:
    """The run's cached trees, or None when the run has no tree nodes.

    >>> from workbench.store.run_store import RunStore
    >>> from workbench.store.records import Problem, Run, RunBundle, TreeNode
    >>> store = RunStore(":memory:")
    >>> bundle = RunBundle(Run("r", "toy", "m", "synthetic"), problems=[Problem("toy", "p")],
    ...     tree_nodes=[TreeNode("p", "root", None, 0, expanded=True),
    ...                 TreeNode("p", "n1", "root", 1, score=1.0, is_terminal=True,
    ...                          answer_key="x", is_correct=True)])
    >>> _ = store.ingest(bundle)
    >>> load_tree(store, "r").problem("p").n_nodes
    2
    """
    table = store.table("tree_nodes", run_id)
    if table.num_rows == 0:
        return None
    return TreeData.from_columns(run_id, table.to_pydict(), source=f"tree_nodes of run {run_id!r}")


def _float(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _build_problem(
    pid: str, rows: list[int], columns: Mapping[str, Sequence[Any]], source: str | None
) -> ProblemTree:
    def col(name: str) -> list[Any]:
        values = columns[name]
        return [values[i] for i in rows]

    node_ids = [str(v) for v in col("node_id")]
    index = {nid: i for i, nid in enumerate(node_ids)}
    if len(index) != len(node_ids):
        dup = next(nid for nid in node_ids if node_ids.count(nid) > 1)
        raise InputError(source, None, "node_id", f"problem {pid!r}: duplicate node {dup!r}")
    n = len(node_ids)
    parent = np.full(n, -1, dtype=np.int64)
    for i, p in enumerate(col("parent_id")):
        if p is None:
            continue
        if str(p) not in index:
            raise InputError(
                source, None, "parent_id",
                f"problem {pid!r} node {node_ids[i]!r}: unknown parent {p!r}",
            )
        parent[i] = index[str(p)]
    roots = np.flatnonzero(parent < 0)
    if roots.size != 1:
        raise InputError(
            source, None, "parent_id",
            f"problem {pid!r}: a tree needs exactly one root (parent_id null), found {roots.size}",
        )
    depth = np.array([int(d) for d in col("depth")], dtype=np.int64)
    bad = np.flatnonzero((parent >= 0) & (depth != depth[np.maximum(parent, 0)] + 1))
    if bad.size or depth[roots[0]] != 0:
        i = int(bad[0]) if bad.size else int(roots[0])
        raise InputError(
            source, None, "depth",
            f"problem {pid!r} node {node_ids[i]!r}: depth {depth[i]} is not its parent's depth + 1"
            " (root: 0)",
        )
    kids: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        if parent[i] >= 0:
            kids[parent[i]].append(i)
    nchild = np.array([len(k) for k in kids], dtype=np.int64)
    width = max(1, int(nchild.max()))
    children = np.full((n, width), -1, dtype=np.int64)
    for i, k in enumerate(kids):
        children[i, : len(k)] = k

    terminal = np.array([bool(v) for v in col("is_terminal")], dtype=bool)
    is_correct = _float(col("is_correct"))
    answer = np.full(n, -1, dtype=np.int64)
    codes = AnswerCodes()
    for i, key in enumerate(col("answer_key")):
        if terminal[i]:
            answer[i] = codes.code(key)
    answer_correct = codes.correctness(answer, is_correct)
    tokens = _float(col("tokens"))
    prefix = np.zeros(n)
    for i in np.argsort(depth, kind="stable"):  # parents before children
        if parent[i] >= 0:
            prefix[i] = prefix[parent[i]] + tokens[i]
    return ProblemTree(
        problem_id=pid,
        node_ids=np.array(node_ids, dtype=object),
        parent=parent,
        depth=depth,
        score=_float(col("score")),
        tokens=tokens,
        prefix_tokens=prefix,
        terminal=terminal,
        expanded=np.array([bool(v) for v in col("expanded")], dtype=bool),
        is_correct=is_correct,
        answer=answer,
        answer_keys=tuple(codes.keys),
        answer_correct=answer_correct,
        children=children,
        nchild=nchild,
        text=np.array(col("text"), dtype=object),
        root=int(roots[0]),
    )
