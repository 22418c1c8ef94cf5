"""Tree banks: step-level search trees cached so that beam / lookahead / DVTS replay exactly.

Layout (one tree per problem):

- root: node_id "root", depth 0, text = the question, no score.
- the i-th child (0-based) of node X is "i" when X is the root, else "X.i" (i zero-padded when
  a node has more than 10 children, so ids sort in generation order); its text is one
  sampled next step (the continuation of the path's steps, stopped at the step separator),
  its `tokens` the generated token count and its `score` the judge's "is the last step correct"
  score of the path ending at it.
- a node is terminal when its step states the final answer ("Answer: N"), when the model ended
  the solution (an empty next step), or at `max_depth`, where the child is the rest of the
  solution (no stop at the separator), so every leaf is a complete answer. Terminal nodes carry
  `answer_key` (the answer extracted from the path) and `is_correct`.
- `expanded` is true exactly when all B children of the node were generated and scored.

Expansion goes depth by depth: at each depth every non-terminal node (frontier = 0) or the top
K by score (frontier = K, ties in node order) get B children. Full expansion makes every
beam(N, M) with N <= B and M <= B replay exactly, for every selection the beam can make.

>>> child_id("root", 2), child_id("2", 0), depth_of("2.0.3")
('2', '2.0', 3)
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from workbench.collect.config import TreeConfig
from workbench.collect.journal import Key
from workbench.collect.problems import extract_answer, has_final_answer, is_correct
from workbench.collect.prompts import prefix_text
from workbench.collect.sampler import request_seed
from workbench.store.records import Problem, TreeNode

if TYPE_CHECKING:
    from workbench.collect.judge import Judge
    from workbench.collect.sampler import Policy
    from workbench.collect.session import Session

ROOT = "root"


def child_id(parent: str, i: int, width: int = 1) -> str:
    """Id of the i-th child; `width` zero-pads the index so ids sort in generation order."""
    own = f"{i:0{width}d}"
    return own if parent == ROOT else f"{parent}.{own}"


def id_width(tcfg: TreeConfig) -> int:
    """Digits of a child index in node ids (1 up to 10 children per node)."""
    return len(str(max(tcfg.branching, tcfg.root_branching or 0) - 1))


def n_children(node_id: str, tcfg: TreeConfig) -> int:
    """How many children a fully expanded node has (the root may be wider)."""
    return (tcfg.root_branching or tcfg.branching) if node_id == ROOT else tcfg.branching


def parent_of(node_id: str) -> str | None:
    if node_id == ROOT:
        return None
    return node_id.rsplit(".", 1)[0] if "." in node_id else ROOT


def depth_of(node_id: str) -> int:
    return 0 if node_id == ROOT else node_id.count(".") + 1


def path_ids(node_id: str) -> list[str]:
    """Ids from the first step to `node_id` (the root excluded).

    >>> path_ids("1.0.2")
    ['1', '1.0', '1.0.2']
    """
    if node_id == ROOT:
        return []
    parts = node_id.split(".")
    return [".".join(parts[: k + 1]) for k in range(len(parts))]


def _order_key(node_id: str) -> tuple[int, ...]:
    return () if node_id == ROOT else tuple(int(p) for p in node_id.split("."))


def node_is_terminal(text: str, depth: int, max_depth: int) -> bool:
    """Terminal: the final depth, the model ended (empty step), or the answer is stated."""
    return depth >= max_depth or not text.strip() or has_final_answer(text)


def path_steps(nodes: dict[str, dict[str, Any]], node_id: str) -> list[str]:
    """The step texts from the root to `node_id` (blank steps dropped)."""
    return [t for t in (nodes[i]["text"] for i in path_ids(node_id)) if t]


def select_frontier(
    candidates: Sequence[str], scores: dict[str, float], frontier: int
) -> list[str]:
    """Which non-terminal nodes at one depth to expand: all (0) or the top K by score.

    >>> select_frontier(["0", "1", "2"], {"0": 0.2, "1": 0.9, "2": 0.2}, 2)
    ['1', '0']
    """
    ordered = sorted(candidates, key=_order_key)
    if frontier <= 0:
        return ordered
    return sorted(ordered, key=lambda n: -scores[n])[:frontier]  # stable: ties in node order


def build_tree_nodes(
    problem: Problem,
    gen: dict[str, dict[str, Any]],
    scores: dict[str, float],
    tcfg: TreeConfig,
    grades: Mapping[str, tuple[str | None, bool | None]] | None = None,
) -> list[TreeNode]:
    """Canonical `TreeNode`s of one problem from the journals' node generations and scores.

    Only nodes that were generated AND scored are emitted; `expanded` is recomputed here.
    Terminal nodes are graded from their path's text by the numeric grader, or take
    (answer_key, is_correct) from `grades` by node id when given (graded elsewhere, e.g. with
    math-verify by `workbench.gpu.tree`).
    """
    done = {n for n in gen if n in scores}
    children: dict[str, list[str]] = {}
    for n in done:
        children.setdefault(parent_of(n) or "", []).append(n)
    out = [
        TreeNode(
            problem_id=problem.problem_id,
            node_id=ROOT,
            parent_id=None,
            depth=0,
            text=problem.question,
            expanded=_all_children(ROOT, children, tcfg),
        )
    ]
    for n in sorted(done, key=_order_key):
        rec = gen[n]
        if any(p not in done for p in path_ids(n)[:-1]):
            continue  # an ancestor is missing (never happens in a finished collection)
        terminal = bool(rec["terminal"])
        if grades is not None:
            answer, correct = grades.get(n, (None, None)) if terminal else (None, None)
        else:
            answer = extract_answer("\n".join(path_steps(gen, n))) if terminal else None
            correct = is_correct(answer, problem.gold_answer) if terminal else None
        out.append(
            TreeNode(
                problem_id=problem.problem_id,
                node_id=n,
                parent_id=parent_of(n),
                depth=depth_of(n),
                text=rec["text"],
                score=float(scores[n]),
                tokens=rec.get("tokens"),
                is_terminal=terminal,
                answer_key=answer,
                is_correct=correct,
                expanded=(not terminal) and _all_children(n, children, tcfg),
            )
        )
    return out


def _all_children(node: str, children: dict[str, list[str]], tcfg: TreeConfig) -> bool:
    have = set(children.get(node, []))
    width = id_width(tcfg)
    return all(child_id(node, i, width) in have for i in range(n_children(node, tcfg)))


def nodes_at_depth(gen: Iterable[str], depth: int) -> list[str]:
    return [n for n in gen if depth_of(n) == depth]


async def expand_trees(s: Session, policy: Policy, judge: Judge, problems: list[Problem]) -> None:
    """Grow every tree depth by depth (see the module doc), journaling nodes and scores."""
    cfg, t = s.cfg, s.cfg.tree
    assert t is not None
    sep = cfg.sampling.separator
    gen, judged = s.journal("tree"), s.journal("tree-judge")
    tree_problems = problems[: t.problems] if t.problems else problems
    by_id = {p.problem_id: p for p in tree_problems}

    def nodes_by_problem() -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {p.problem_id: {} for p in tree_problems}
        for (pid, node), v in gen.items():
            if pid in out:
                out[pid][node] = v
        return out

    for depth in range(t.max_depth):
        to_expand: list[tuple[str, str]] = []
        node_cache = nodes_by_problem()
        for p in tree_problems:
            pn = node_cache[p.problem_id]
            if depth == 0:
                chosen = [ROOT]
            else:
                cands = [n for n, v in pn.items() if depth_of(n) == depth and not v["terminal"]]
                scores = {n: judged[(p.problem_id, n)]["score"] for n in cands}
                chosen = select_frontier(cands, scores, t.frontier)
            to_expand += [(p.problem_id, n) for n in chosen]
        if not to_expand:
            break
        final = depth + 1 == t.max_depth
        child_depth = depth + 1

        async def grow(
            k: Key, final: bool = final, child_depth: int = child_depth,
            node_cache: dict[str, dict[str, dict[str, Any]]] = node_cache,
        ) -> Any:
            pid, node = k
            parent = parent_of(node) or ROOT
            prefix = prefix_text(path_steps(node_cache[pid], parent), sep)
            seed = request_seed(cfg.seed, "tree", pid, node)
            comp = await policy.generate(
                by_id[pid].question or "", route=pid, seed=seed, assistant_prefix=prefix,
                max_tokens=None if final else t.max_tokens, stop_at_separator=not final,
            )
            text = comp.text.strip()
            return {
                "text": text,
                "tokens": comp.completion_tokens,
                "finish_reason": comp.finish_reason,
                "terminal": node_is_terminal(text, child_depth, t.max_depth),
                "seed": seed,
            }

        width = id_width(t)
        child_keys = [(pid, child_id(n, i, width)) for pid, n in to_expand
                      for i in range(n_children(n, t))]
        await s.stage(f"tree-d{child_depth}", gen, child_keys, grow)
        node_cache = nodes_by_problem()

        def score(
            k: Key, node_cache: dict[str, dict[str, dict[str, Any]]] = node_cache
        ) -> Awaitable[Any]:
            pid, node = k
            steps = path_steps(node_cache[pid], node)
            return judge.score(by_id[pid].question or "", steps, mode="step", route=pid)

        await s.stage(f"tree-judge-d{child_depth}", judged, child_keys, score)
