"""The `tree` stage of a GPU job: a tree bank grown with the policy, scored by its probe.

The trees are those of `workbench.collect.treebank` (its node ids, terminal rules, depth-by-depth
expansion and `expanded` flags, so beam / lookahead / DVTS replay exactly), built with the
in-process decoder instead of an endpoint and scored with the policy's cross-fitted probe
instead of a judge. For depth d = 1 .. max_depth:

1. grow: the B children (the root: `root_branching`) of every node chosen at depth d - 1 (the
   root; then every non-terminal node, or the top `frontier` by score) are sampled in one
   continuous batch over all problems. A child is one step: its row ends on a token whose text
   holds the step separator (`step_stops`), and its text is cut there with the split the gen
   stage's samples use (`split_steps`). At max_depth the child is the rest of the solution. A
   whole path keeps the job's `max_new_tokens`, like a sample. Each problem's children are
   written when all are done: `tree/<policy>/nodes/d<d>-<k>.parquet`.
2. score: every node's score is the probe's P(correct) at its last token, read exactly as the
   probe was trained (prompt + the path's steps re-tokenised by `tokenise_steps`, the residual
   stream after the probe's layer by `hidden_features`), by the fold probe that never saw the
   problem's labels; terminal nodes are graded with math-verify as the gen stage grades:
   `tree/<policy>/scores/<same name>`.

Both steps skip what their shards hold, so a job cut off by `--minutes` resumes where it stopped.
A node is terminal at max_depth, when the model ended the solution (an end-of-turn token, or an
empty step), when the step states the answer (a `\\boxed{}` or "Answer: N"), or when the path has
used the whole token budget. `tokens` of a node are its generated tokens (the separator's token
included), so replayed searches report their cost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.collect.config import TreeConfig
from workbench.collect.prompts import split_steps
from workbench.collect.treebank import (
    ROOT,
    build_tree_nodes,
    child_id,
    depth_of,
    id_width,
    n_children,
    node_is_terminal,
    path_ids,
    select_frontier,
)
from workbench.errors import ConfigError

if TYPE_CHECKING:
    from workbench.gpu.generate import StepStops
    from workbench.gpu.job import Job, JobConfig, TreeSpec
    from workbench.store.records import TreeNode

NODE_COLUMNS = ("problem_id", "node_id", "parent_id", "depth", "text", "tokens",
                "finish_reason", "terminal", "context_tokens")
SCORE_COLUMNS = ("problem_id", "node_id", "score", "answer", "answer_key", "is_correct",
                 "grade_status")


def tree_config(spec: TreeSpec, verifier: str) -> TreeConfig:
    """The collect path's `TreeConfig` of a GPU tree (node ids and widths come from it)."""
    return TreeConfig(judge=verifier, branching=spec.branching,
                      root_branching=spec.root_branching, max_depth=spec.max_depth,
                      frontier=spec.frontier, problems=spec.problems, max_tokens=spec.step_tokens)


def check_tree(cfg: JobConfig) -> None:
    """Refuse a `[tree]` table the job cannot build (one line naming file and key)."""
    t = cfg.tree
    assert t is not None
    where = f"{cfg.source_file}: [tree]"
    cfg.policy(t.policy)
    if cfg.probe is None:
        raise ConfigError(f"{where} scores nodes with the policy's probe: add a [probe] table")
    for key in ("problems", "branching", "max_depth", "step_tokens"):
        if not isinstance(getattr(t, key), int) or getattr(t, key) < 1:
            raise ConfigError(f"{where} `{key}` must be an integer >= 1, got {getattr(t, key)!r}")
    if t.root_branching is not None and (not isinstance(t.root_branching, int)
                                         or t.root_branching < 1):
        raise ConfigError(f"{where} `root_branching` must be an integer >= 1")
    if not isinstance(t.frontier, int) or t.frontier < 0:
        raise ConfigError(f"{where} `frontier` must be an integer >= 0 (0 = every node)")


# -- step stops and the text cut (no model) ----------------------------------------------------


def step_stops(decode: Callable[[int], str], vocab: int, separator: str) -> StepStops:
    """The `StepStops` of a vocabulary: which token ids end a step at `separator`.

    `decode(i)` is the text of token i alone. A token whose text holds the separator ends the
    step (`ends` when text comes before the separator in it, `lead` when only whitespace does);
    a separator cut between two tokens is found through (tails, heads) pairs.

    >>> texts = ["a", ".", "\\n", "\\n\\n", ".\\n\\n", " ", "\\n\\nb"]
    >>> s = step_stops(texts.__getitem__, len(texts), "\\n\\n")
    >>> s.ends, s.lead, s.blank, s.pairs
    ((4,), (3, 6), (2, 3, 5), (((2, 3, 4), (2, 3, 6)),))
    """
    from workbench.gpu.generate import StepStops  # torch only where a model runs

    ends, lead, blank = [], [], []
    tails: list[list[int]] = [[] for _ in range(1, len(separator))]
    heads: list[list[int]] = [[] for _ in range(1, len(separator))]
    for i in range(vocab):
        text = decode(i)
        if not text:
            continue
        if not text.strip():
            blank.append(i)
        at = text.find(separator)
        if at >= 0:
            (lead if not text[:at].strip() else ends).append(i)
        for k in range(1, len(separator)):
            if text.endswith(separator[:k]):
                tails[k - 1].append(i)
            if text.startswith(separator[k:]):
                heads[k - 1].append(i)
    pairs = tuple((tuple(t), tuple(h)) for t, h in zip(tails, heads, strict=True) if t and h)
    return StepStops(ends=tuple(ends), lead=tuple(lead), blank=tuple(blank), pairs=pairs)


def cut_step(text: str, finish_reason: str, separator: str) -> str:
    """A child's text: the first step when its row ended at a separator, else all of it.

    >>> cut_step("x = 2.\\n\\n", "step", "\\n\\n"), cut_step("\\n\\ny = 3\\n\\nz", "step", "\\n\\n")
    ('x = 2.', 'y = 3')
    >>> cut_step(" so \\\\boxed{5}.\\n\\nDone. ", "stop", "\\n\\n")
    'so \\\\boxed{5}.\\n\\nDone.'
    """
    if finish_reason != "step":
        return text.strip()
    steps = split_steps(text, separator)
    return steps[0] if steps else ""


def is_terminal(text: str, finish_reason: str, depth: int, max_depth: int, used: int,
                budget: int) -> bool:
    """Treebank's rule (max depth, empty step, "Answer: N"), plus what ends a MATH solution
    here: the model ended its turn, a `\\boxed{}` answer, or the token budget is spent.

    >>> is_terminal("so x = \\\\boxed{3}", "step", 1, 3, 40, 768), is_terminal("x = 3", "step",
    ...     1, 3, 40, 768), is_terminal("x = 3", "stop", 1, 3, 40, 768)
    (True, False, True)
    """
    from workbench.grading import has_boxed

    return (node_is_terminal(text, depth, max_depth) or finish_reason == "stop"
            or has_boxed(text) or used >= budget)


# -- the stage ---------------------------------------------------------------------------------


class _Bank:
    """What the shards of one policy's tree hold: nodes and scores by problem."""

    def __init__(self, job: Job, policy: str) -> None:
        self.dir = job.work / "tree" / policy
        self.nodes: dict[str, dict[str, dict[str, Any]]] = {}
        self.scores: dict[str, dict[str, dict[str, Any]]] = {}
        for kind, into in (("nodes", self.nodes), ("scores", self.scores)):
            for f in self.files(kind):
                for rec in _rows(f):
                    into.setdefault(rec["problem_id"], {})[rec["node_id"]] = rec

    def files(self, kind: str, depth: int | None = None) -> list[Path]:
        d = self.dir / kind
        pattern = "*.parquet" if depth is None else f"d{depth}-*.parquet"
        return sorted(d.glob(pattern)) if d.exists() else []

    def texts(self, pid: str, node: str) -> list[str]:
        """The node texts of the path root -> node (root excluded)."""
        return [self.nodes[pid][n]["text"] for n in path_ids(node)]

    def used(self, pid: str, node: str) -> int:
        """Generated tokens of the path root -> node."""
        return sum(int(self.nodes[pid][n]["tokens"]) for n in path_ids(node))


def _rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def path_steps(texts: Sequence[str], separator: str) -> list[str]:
    """The steps of a path as the gen stage splits a sample: its texts joined as one solution
    and split (capped at MAX_STEPS), at least one (possibly empty) step.

    >>> path_steps(["a = 1", "b = 2\\n\\nso 3"], "\\n\\n")
    ['a = 1', 'b = 2', 'so 3']
    """
    from workbench.gpu.job import split_capped

    return split_capped(separator.join(t for t in texts if t), separator) or [""]


def build_trees(job: Job, policy: str) -> None:
    """Grow and score every depth of the policy's trees, resuming from the shards."""
    from workbench.gpu.probe import FittedProbes

    spec = job.cfg.tree
    assert spec is not None and job.cfg.probe is not None
    probe_file = job.work / "probe" / policy / "probe.npz"
    if not probe_file.exists():
        job.log(json.dumps({"stage": "tree", "policy": policy,
                            "skipped": "no probe.npz yet: run the probe stage first"}))
        return
    probes = FittedProbes.load(str(probe_file))
    for depth in range(1, spec.max_depth + 1):
        if not job.time_left():
            return
        _grow(job, policy, depth)
        _score(job, policy, depth, probes)


def _problems(job: Job) -> list[dict[str, Any]]:
    assert job.cfg.tree is not None
    return job.problems[: job.cfg.tree.problems]


def _context(job: Job, enc: Callable[[str], list[int]], question: str,
             texts: Sequence[str]) -> Any:
    """The scorer's tokenisation of prompt + path (`tokenise_steps`, as the probe was fit)."""
    from workbench.gpu.job import chatml
    from workbench.gpu.scoring import tokenise_steps

    steps = path_steps(texts, job.cfg.separator) if texts else []
    return tokenise_steps(enc, chatml(job.cfg.system, question), steps, job.cfg.separator)


def _grow(job: Job, policy: str, depth: int) -> None:
    import pyarrow as pa

    from workbench.gpu.generate import Generation, generate
    from workbench.gpu.job import _encoder, stop_ids

    spec, cfg = job.cfg.tree, job.cfg
    assert spec is not None and cfg.probe is not None
    tcfg = tree_config(spec, cfg.probe.name)
    bank = _Bank(job, policy)
    final = depth == spec.max_depth
    to_expand: list[tuple[str, str]] = []
    for p in _problems(job):
        pid = p["problem_id"]
        pn = bank.nodes.get(pid, {})
        if any(depth_of(n) == depth for n in pn):
            continue  # this depth is in a shard already
        if depth == 1:
            chosen = [ROOT]
        else:
            prev = [n for n in pn if depth_of(n) == depth - 1]
            if not prev or any(n not in bank.scores.get(pid, {}) for n in prev):
                continue  # the parents' depth is not grown and scored yet
            cands = [n for n in prev if not pn[n]["terminal"]]
            chosen = select_frontier(cands, {n: bank.scores[pid][n]["score"] for n in cands},
                                     spec.frontier)
        to_expand += [(pid, n) for n in chosen]
    if not to_expand or not job.time_left():
        return
    dec, tok = job.model(policy)
    enc = _encoder(tok)
    question = {p["problem_id"]: p["question"] for p in job.problems}
    contexts, budgets = [], []
    sep_ids = enc(cfg.separator)
    for pid, node in to_expand:
        texts = bank.texts(pid, node) if node != ROOT else []
        ids = _context(job, enc, question[pid], texts).ids
        contexts.append(ids + sep_ids if texts else ids)
        left = cfg.max_new_tokens - (bank.used(pid, node) if node != ROOT else 0)
        budgets.append(max(1, left if final else min(spec.step_tokens, left)))
    width = id_width(tcfg)
    items = [(i, c) for i, (_, node) in enumerate(to_expand)
             for c in range(n_children(node, tcfg))]
    pending: dict[str, int] = {}
    for i, _ in items:
        pending[to_expand[i][0]] = pending.get(to_expand[i][0], 0) + 1
    done: dict[str, list[Generation]] = {}
    complete: list[str] = []
    written = finished = 0
    shard0 = len(bank.files("nodes", depth))

    def flush(pids: list[str]) -> None:
        nonlocal written, finished
        finished += len(pids)
        cols: dict[str, list[Any]] = {k: [] for k in NODE_COLUMNS}
        for pid in pids:
            for g in sorted(done.pop(pid), key=lambda g: (g.prompt_index, g.sample_index)):
                parent = to_expand[g.prompt_index][1]
                text = cut_step(tok.decode(g.tokens, skip_special_tokens=True),
                                g.finish_reason, cfg.separator)
                used = (bank.used(pid, parent) if parent != ROOT else 0) + len(g.tokens)
                cols["problem_id"].append(pid)
                cols["node_id"].append(child_id(parent, g.sample_index, width))
                cols["parent_id"].append(parent)
                cols["depth"].append(depth)
                cols["text"].append(text)
                cols["tokens"].append(len(g.tokens))
                cols["finish_reason"].append(g.finish_reason)
                cols["terminal"].append(is_terminal(text, g.finish_reason, depth,
                                                    spec.max_depth, used, cfg.max_new_tokens))
                cols["context_tokens"].append(len(contexts[g.prompt_index]))
        job.write_shard("tree", f"{policy}/nodes", pa.table(cols),
                        name=f"d{depth}-{shard0 + written:04d}.parquet")
        written += 1

    def on_done(g: Generation) -> None:
        pid = to_expand[g.prompt_index][0]
        done.setdefault(pid, []).append(g)
        pending[pid] -= 1
        if pending[pid] == 0:
            complete.append(pid)
            if len(complete) >= cfg.shard_problems:
                flush(complete.copy())
                complete.clear()

    steps = None if final else step_stops(
        lambda i: tok.decode([i], skip_special_tokens=False), len(tok), cfg.separator)
    pspec = cfg.policy(policy)
    stats = generate(dec, contexts, 0, items=items, max_new=max(budgets),
                     max_new_of=budgets, temperature=cfg.temperature, top_p=cfg.top_p,
                     stop_ids=stop_ids(tok), step_stops=steps,
                     slots=pspec.slots or cfg.slots, seed=cfg.seed + 1009 * depth + shard0,
                     on_done=on_done, deadline=job.deadline)
    if complete:
        flush(complete.copy())
    job.stat(stage="tree-grow", policy=policy, depth=depth, nodes=stats.samples,
             tokens=stats.tokens, prefill_tokens=stats.prefill_tokens,
             seconds=round(stats.seconds, 1), tokens_per_s=round(stats.tokens_per_second),
             problems=finished, problems_left=len(pending) - finished)


def _score(job: Job, policy: str, depth: int, probes: Any) -> None:
    import os

    import pyarrow as pa

    from workbench.gpu.grade import grade_all
    from workbench.gpu.job import _encoder
    from workbench.gpu.scoring import hidden_features

    cfg = job.cfg
    bank = _Bank(job, policy)
    todo = [f for f in bank.files("nodes", depth)
            if not (bank.dir / "scores" / f.name).exists()]
    if not todo or not job.time_left():
        return
    dec, tok = job.model(policy)
    enc = _encoder(tok)
    problem = {p["problem_id"]: p for p in job.problems}
    for f in todo:
        if not job.time_left():
            return
        t0 = time.monotonic()
        rows = _rows(f)
        texts = [bank.texts(r["problem_id"], r["node_id"]) for r in rows]
        items = [_context(job, enc, problem[r["problem_id"]]["question"], t)
                 for r, t in zip(rows, texts, strict=True)]
        feats = hidden_features(dec, items, layer=probes.layer, max_tokens=cfg.batch_tokens)
        pids = [r["problem_id"] for r in rows]
        scores = probes.score(np.stack([x[-1] for x in feats]), pids)
        term = [i for i, r in enumerate(rows) if r["terminal"]]
        graded = grade_all([(cfg.separator.join(t for t in texts[i] if t),
                             problem[pids[i]].get("gold_answer")) for i in term],
                           workers=max(2, (os.cpu_count() or 2) - 1))
        by_row = dict(zip(term, graded, strict=True))
        job.write_shard("tree", f"{policy}/scores", pa.table({
            "problem_id": pids, "node_id": [r["node_id"] for r in rows],
            "score": scores.astype(float),
            "answer": [by_row[i].answer if i in by_row else None for i in range(len(rows))],
            "answer_key": [by_row[i].answer_key if i in by_row else None
                           for i in range(len(rows))],
            "is_correct": [by_row[i].is_correct if i in by_row else None
                           for i in range(len(rows))],
            "grade_status": [by_row[i].status if i in by_row else None
                             for i in range(len(rows))]}), name=f.name)
        job.stat(stage="tree-score", policy=policy, depth=depth, shard=f.name, nodes=len(rows),
                 terminal=len(term), correct=sum(g.is_correct for g in graded),
                 tokens=sum(len(it.ids) for it in items),
                 seconds=round(time.monotonic() - t0, 1))


# -- assembly ----------------------------------------------------------------------------------


def tree_nodes(job: Job, policy: str) -> tuple[list[TreeNode], dict[str, Any]]:
    """The policy's canonical tree nodes (scored ones only, `expanded` recomputed by
    `build_tree_nodes`) and the run metadata that says the tree's config and coverage."""
    from workbench.store.records import Problem

    spec, cfg = job.cfg.tree, job.cfg
    assert spec is not None and cfg.probe is not None
    tcfg = tree_config(spec, cfg.probe.name)
    bank = _Bank(job, policy)
    out: list[TreeNode] = []
    complete = 0
    tree_problems = _problems(job)
    for p in tree_problems:
        pid = p["problem_id"]
        gen, sc = bank.nodes.get(pid, {}), bank.scores.get(pid, {})
        if not sc:
            continue
        grades = {n: (r["answer_key"], r["is_correct"]) for n, r in sc.items()}
        nodes = build_tree_nodes(
            Problem(dataset=cfg.dataset, problem_id=pid, question=None,
                    gold_answer=p.get("gold_answer")),
            gen, {n: r["score"] for n, r in sc.items()}, tcfg, grades=grades)
        out += nodes
        complete += all(x.is_terminal or x.expanded for x in nodes)
    grown = {pid for pid in bank.scores if pid in {p["problem_id"] for p in tree_problems}}
    meta = {"verifier": cfg.probe.name, "branching": spec.branching,
            "root_branching": spec.root_branching or spec.branching,
            "max_depth": spec.max_depth, "frontier": spec.frontier,
            "step_tokens": spec.step_tokens, "max_tokens": cfg.max_new_tokens,
            "problems": f"{len(grown)} of {len(tree_problems)}",
            "problems_fully_expanded": complete if spec.frontier == 0 else None,
            "nodes": sum(x.node_id != ROOT for x in out),
            "tokens": int(sum(x.tokens or 0 for x in out)),
            "score": f"{cfg.probe.name}: the policy's probe at the node's last token, "
                     "cross-fitted (the fold probe that never saw the problem's labels)"}
    return out, meta


__all__ = ["build_trees", "check_tree", "cut_step", "is_terminal", "path_steps", "step_stops",
           "tree_config", "tree_nodes"]
