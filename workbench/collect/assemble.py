"""From journals to canonical runs: records, run metadata, and the atomic write.

Assembly reads only the journals (never the network), so it is repeated identically by every
rerun; the result is validated and written to a temporary sibling directory, then renamed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import __version__
from workbench.collect.config import CollectConfig
from workbench.collect.problems import DATASET
from workbench.collect.treebank import build_tree_nodes
from workbench.store.records import OutcomeScore, Problem, Run, RunBundle, Sample, StepScore

if TYPE_CHECKING:
    from workbench.collect.session import Session


def _sample_record(pid: str, idx: int, v: dict[str, Any], **extra: Any) -> Sample:
    return Sample(
        problem_id=pid, sample_idx=idx, answer=v["answer"], answer_key=v["answer"],
        is_correct=v["is_correct"], output_tokens=v["output_tokens"],
        prompt_tokens=v["prompt_tokens"], n_steps=v["n_steps"], text=v["text"], **extra,
    )


def _run_record(cfg: CollectConfig, run_id: str, dataset: str, extra: dict[str, Any]) -> Run:
    e, s = cfg.endpoint, cfg.sampling
    verifier_params = {j.name: j.params for j in cfg.judge if j.params is not None}
    verifier_params.update({r.name: r.params for r in cfg.reward if r.params is not None})
    meta: dict[str, Any] = {
        "generator": f"workbench.collect {__version__}",
        "collect_config": cfg.public_dict(),
        "verifier_params": verifier_params,
        **extra,
    }
    if cfg.model.price_per_1k_tokens is not None:
        meta["price_per_1k_tokens"] = cfg.model.price_per_1k_tokens
    return Run(
        run_id=run_id,
        dataset=dataset,
        policy_model=cfg.model.name,
        source=f"workbench collect {Path(cfg.source_file or 'config').name}",
        policy_params=cfg.model.params,
        sampler={
            "api": e.api, "template": e.template, "model": e.model, "n": s.n,
            "temperature": s.temperature, "top_p": s.top_p, "max_tokens": s.max_tokens,
            "separator": s.separator, "stop": list(s.stop), "seed": cfg.seed,
        },
        prompt=s.system,
        meta=meta,
    )


def assemble(s: Session, problems: list[Problem]) -> list[tuple[RunBundle, Path]]:
    cfg = s.cfg
    dataset = problems[0].dataset if problems else DATASET
    problems = [Problem(**{**_problem_fields(p), "origin": None}) for p in problems]
    samples = s.journal("samples")
    fallbacks: dict[str, int] = {}
    finish: dict[str, int] = {}
    bundle = RunBundle(run=_run_record(cfg, cfg.run_id, dataset, {}), problems=problems)
    for p in problems:
        for i in range(cfg.sampling.n):
            v = samples[(p.problem_id, i)]
            finish[str(v["finish_reason"])] = finish.get(str(v["finish_reason"]), 0) + 1
            bundle.samples.append(_sample_record(p.problem_id, i, v))
    for jcfg in cfg.judge:
        jr = s.journal(f"judge:{jcfg.name}")
        fallbacks[jcfg.name] = sum(1 for _, v in jr.items() if v["fallback"])
        for p in problems:
            for i in range(cfg.sampling.n):
                if jcfg.mode == "outcome":
                    bundle.outcome_scores.append(OutcomeScore(
                        jcfg.name, p.problem_id, i, float(jr[(p.problem_id, i)]["score"])))
                    continue
                step_tokens = samples[(p.problem_id, i)]["step_tokens"]
                for j in range(samples[(p.problem_id, i)]["n_steps"]):
                    bundle.step_scores.append(StepScore(
                        jcfg.name, p.problem_id, i, j, float(jr[(p.problem_id, i, j)]["score"]),
                        step_tokens[j] if step_tokens else None))
    for rcfg in cfg.reward:
        rj = s.journal(f"reward:{rcfg.name}")
        for p in problems:
            for i in range(cfg.sampling.n):
                rscores = rj[(p.problem_id, i)]["scores"]
                if rcfg.kind == "outcome":
                    bundle.outcome_scores.append(
                        OutcomeScore(rcfg.name, p.problem_id, i, float(rscores[0])))
                    continue
                step_tokens = samples[(p.problem_id, i)]["step_tokens"]
                for j, sc in enumerate(rscores):
                    bundle.step_scores.append(StepScore(
                        rcfg.name, p.problem_id, i, j, float(sc),
                        step_tokens[j] if step_tokens else None))
    tree_meta: dict[str, Any] = {}
    if cfg.tree is not None:
        t = cfg.tree
        gen, judged = s.journal("tree"), s.journal("tree-judge")
        per_problem: dict[str, dict[str, dict[str, Any]]] = {}
        for (pid, node), v in gen.items():
            per_problem.setdefault(pid, {})[node] = v
        scores: dict[str, dict[str, float]] = {}
        for (pid, node), v in judged.items():
            scores.setdefault(pid, {})[node] = float(v["score"])
        tree_problems = problems[: t.problems] if t.problems else problems
        for p in tree_problems:
            bundle.tree_nodes.extend(build_tree_nodes(
                p, per_problem.get(p.problem_id, {}), scores.get(p.problem_id, {}), t))
        fallbacks["tree:" + t.judge] = sum(1 for _, v in judged.items() if v["fallback"])
        tree_meta = {"tree": {"verifier": t.judge, "branching": t.branching,
                              "root_branching": t.root_branching or t.branching,
                              "max_depth": t.max_depth, "frontier": t.frontier,
                              "problems": len(tree_problems)}}
    bundle.run = _run_record(cfg, cfg.run_id, dataset, {
        "finish_reasons": dict(sorted(finish.items())),
        "judge_fallbacks": fallbacks,
        **tree_meta,
    })
    out = [(bundle, Path(cfg.out))]
    if cfg.revisions is not None:
        out.append((_assemble_revisions(s, problems, dataset), Path(cfg.revisions.out)))
    return out


def _problem_fields(p: Problem) -> dict[str, Any]:
    return {k: getattr(p, k) for k in
            ("dataset", "problem_id", "question", "gold_answer", "subject", "level", "meta")}


def _assemble_revisions(s: Session, problems: list[Problem], dataset: str) -> RunBundle:
    cfg, r = s.cfg, s.cfg.revisions
    assert r is not None
    samples, revs = s.journal("samples"), s.journal("revisions")
    rev_problems = problems[: r.problems] if r.problems else problems
    main_judge = s.journal(f"judge:{r.judge}") if r.judge else None
    rev_judge = s.journal(f"revision-judge:{r.judge}") if r.judge else None
    bundle = RunBundle(
        run=_run_record(cfg, r.run_id, dataset, {
            "revisions": {"chains": r.chains, "length": r.length, "prompt": r.prompt,
                          "verifier": r.judge, "base_run": cfg.run_id,
                          "revision_0": "sample c of the base run"}}),
        problems=rev_problems,
    )
    for p in rev_problems:
        for c in range(r.chains):
            for v in range(r.length):
                idx = c * r.length + v
                rec = samples[(p.problem_id, c)] if v == 0 else revs[(p.problem_id, c, v)]
                bundle.samples.append(
                    _sample_record(p.problem_id, idx, rec, chain_id=c, revision_idx=v))
                if r.judge and main_judge is not None and rev_judge is not None:
                    jrec = main_judge[(p.problem_id, c)] if v == 0 else \
                        rev_judge[(p.problem_id, c, v)]
                    bundle.outcome_scores.append(
                        OutcomeScore(r.judge, p.problem_id, idx, float(jrec["score"])))
    return bundle




def write_run_atomically(bundle: RunBundle, out: Path) -> Path:
    """Validate, write to a temporary sibling directory, then rename over `out`."""
    from workbench.store import write_bundle_parquet

    bundle.validate()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    write_bundle_parquet(bundle, tmp, content_hash=bundle.content_hash())
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    if old.exists():
        shutil.rmtree(old)
    return out


