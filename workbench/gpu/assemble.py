"""Shards of a GPU job -> canonical runs (one per policy), written atomically.

Per policy `P` the run `<run_prefix>/<P>` holds:
- samples: text, answer, answer_key and math-verify grade, token counts, `n_steps` (the same
  blank-line split, capped at `MAX_STEPS`, that the verifiers scored);
- step_scores: `<judge>-steps` (the judge's P(yes) that every step so far is correct) and
  `probe` (the cross-fitted hidden-state probe's P(correct) at every step end);
- outcome_scores: `<judge>` (its P(yes) that the final answer is correct);
- tree_nodes: the tree bank of the job's `[tree]` policy (`workbench.gpu.tree`), nodes scored
  by the probe, terminal nodes graded with math-verify; run.json's meta "tree" gives its config
  and coverage.
With a `[revisions]` table, the revise stage's chains become the run `<run_prefix>/<P>-revisions`
(`workbench.gpu.revise.revision_bundle`): a run of their own, so chain rows never enter the
policy's best-of-N pool (the engine draws every sample of a run into its pool).
Problems carry the gold answer and the dataset's problem id, not the question text (third-party
text stays in the registered dataset). Give the job a dataset name of its own (e.g.
"math500-ids"): the store refuses a second copy of a stored problem that differs from it, and
a copy without its question differs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench import __version__
from workbench.errors import CollectError
from workbench.gpu.job import Job, JobConfig, split_capped


def _stats(cfg: JobConfig) -> list[dict[str, Any]]:
    path = Path(cfg.workdir) / "stats.jsonl"
    if not path.exists():
        return []
    # a stat can be NaN (a probe's AUC without both classes): run.json must be standard JSON
    return [json.loads(x, parse_constant=lambda c: None)
            for x in path.read_text().splitlines() if x.strip()]


def _params(stats: list[dict[str, Any]], policy: str) -> float | None:
    """Parameters with the embedding counted once, as FLOPs = 2 x params x tokens expects:
    the upstream Qwen2.5 models tie it, and their GGUF files store a (re-quantised) copy as a
    separate output matrix, which is not counted. Loads logged before `separate_output` was
    recorded were of those Qwen files."""
    for s in stats:
        if s.get("stage") == "load" and s.get("policy") == policy:
            c = s["config"]
            copy = c["vocab"] * c["hidden"] if s.get("separate_output", True) else 0
            return float(s["params"] - copy)
    return None


def _probe_params(stats: list[dict[str, Any]], policy: str) -> float:
    """The probe's cost as a parameter count: the job reads the states with a separate
    forward pass through the policy's first `layer + 1` blocks, so FLOPs = 2 x (that share of
    the policy's parameters) x tokens; the linear head itself is negligible."""
    full = _params(stats, policy) or 0.0
    for s in stats:
        if s.get("stage") == "load" and s.get("policy") == policy:
            layers = s["config"]["n_layers"]
            probe = [x for x in stats if x.get("stage") == "probe" and x.get("policy") == policy]
            if probe:
                return full * (probe[-1]["layer"] + 1) / layers
    return full


def assemble_job(cfg: JobConfig, *, partial: bool = False) -> list[Path]:
    """Write `<out>/<policy>/` for every policy and return the paths.

    Every generation shard must be graded (`--stages grade`). Without `partial`, every
    problem must hold all its samples; with it, the problems generated so far make the run (its
    metadata says how many of the job's problems it covers) and a policy with none is skipped.
    """
    from workbench.collect.assemble import write_run_atomically
    from workbench.store.records import OutcomeScore, Problem, Run, RunBundle, Sample, StepScore

    job = Job(cfg, device="cpu", deadline=None, log=lambda line: None)  # loads no model
    problems = job.problems
    stats = _stats(cfg)
    written = []
    for spec in cfg.policies:
        if job.shards("gen", spec.name) and job.graded(spec.name) is None:
            raise CollectError(f"{cfg.workdir}: policy {spec.name!r} has ungraded shards; run "
                               "the job's grade stage first (--stages grade)")
        gen = job.graded(spec.name)
        if gen is None and partial:
            continue
        if gen is None or (gen.num_rows < len(problems) * spec.n and not partial):
            have = 0 if gen is None else gen.num_rows
            raise CollectError(f"{cfg.workdir}: policy {spec.name!r} has {have} of "
                               f"{len(problems) * spec.n} samples; run the job further first "
                               "(or assemble what there is with --partial)")
        covered = set(gen.column("problem_id").to_pylist())
        run_id = f"{cfg.run_prefix}/{spec.name}"
        g = gen.to_pydict()
        samples = [
            Sample(problem_id=pid, sample_idx=int(s), answer=a, answer_key=k,
                   is_correct=bool(ok), output_tokens=int(ot), prompt_tokens=int(pt),
                   n_steps=len(split_capped(text, cfg.separator)), text=text)
            for pid, s, a, k, ok, ot, pt, text in zip(
                g["problem_id"], g["sample_idx"], g["answer"], g["answer_key"], g["is_correct"],
                g["output_tokens"], g["prompt_tokens"], g["text"], strict=True)
        ]
        n_steps = {(x.problem_id, x.sample_idx): x.n_steps for x in samples}
        step_scores: list[StepScore] = []
        outcome_scores: list[OutcomeScore] = []
        verifiers: dict[str, float] = {}
        if cfg.judge is not None and (jt := job.read("judge", spec.name)) is not None:
            judge_params = _params(stats, cfg.judge.policy)
            verifiers |= {cfg.judge.name: judge_params or 0.0,
                          f"{cfg.judge.name}-steps": judge_params or 0.0}
            j = jt.to_pydict()
            for pid, s, st, sc, tok in zip(j["problem_id"], j["sample_idx"], j["step_idx"],
                                           j["score"], j["step_tokens"], strict=True):
                if st < 0:
                    outcome_scores.append(OutcomeScore(cfg.judge.name, pid, int(s), float(sc)))
                elif st < n_steps[(pid, s)]:  # an empty completion was scored as one "step"
                    step_scores.append(StepScore(f"{cfg.judge.name}-steps", pid, int(s),
                                                 int(st), float(sc), int(tok)))
        if cfg.probe is not None and (pt_ := job.read("probe", spec.name)) is not None:
            verifiers[cfg.probe.name] = _probe_params(stats, spec.name)
            p = pt_.to_pydict()
            for pid, s, st, sc, tok in zip(p["problem_id"], p["sample_idx"], p["step_idx"],
                                           p["score"], p["step_tokens"], strict=True):
                if st < n_steps[(pid, s)]:
                    step_scores.append(StepScore(cfg.probe.name, pid, int(s), int(st),
                                                 float(sc), int(tok)))
        tree_nodes: list[Any] = []
        tree_meta: dict[str, Any] = {}
        if cfg.tree is not None and cfg.tree.policy == spec.name:
            from workbench.gpu.tree import tree_nodes as tree_of

            tree_nodes, tree_meta = tree_of(job, spec.name)
        scored = {}  # problems each verifier scored (a verifier stage can lag the samples)
        for name in {x.verifier for x in step_scores} | {x.verifier for x in outcome_scores}:
            got = ({x.problem_id for x in step_scores if x.verifier == name}
                   | {x.problem_id for x in outcome_scores if x.verifier == name})
            scored[name] = f"{len(got)} of {len(covered)}"
        run = Run(
            run_id=run_id, dataset=cfg.dataset, policy_model=spec.model or spec.name,
            source=f"workbench.gpu.job {Path(cfg.source_file).name}",
            policy_params=_params(stats, spec.name),
            sampler={"backend": "workbench.gpu (in-process, continuous batching)", "n": spec.n,
                     "temperature": cfg.temperature, "top_p": cfg.top_p,
                     "max_tokens": cfg.max_new_tokens, "separator": cfg.separator,
                     "template": "chatml", "seed": cfg.seed},
            prompt=cfg.system,
            meta={"generator": f"workbench.gpu {__version__}", "licence": spec.licence,
                  "problems_covered": f"{len(covered)} of {len(problems)}",
                  "grading_timeouts": int(sum(s != "ok" for s in g["grade_status"])),
                  "quantisation": spec.quantisation, "gguf_sha256": spec.sha256,
                  "weights": spec.weights,
                  "verifier_params": verifiers,
                  "verifiers": _verifier_notes(cfg),
                  "verifier_problems_scored": dict(sorted(scored.items())),
                  "gpu_stats": [s for s in stats if s.get("policy") in
                                (spec.name, cfg.judge.policy if cfg.judge else None)],
                  **({"tree": tree_meta} if tree_nodes else {})},
        )
        bundle = RunBundle(
            run=run,
            problems=[Problem(dataset=cfg.dataset, problem_id=p["problem_id"], question=None,
                              gold_answer=p.get("gold_answer"),
                              meta={"question": "not stored: see the registered dataset"})
                      for p in problems if p["problem_id"] in covered],
            samples=samples, step_scores=step_scores, outcome_scores=outcome_scores,
            tree_nodes=tree_nodes,
        )
        written.append(write_run_atomically(bundle, Path(cfg.out) / spec.name))
        if cfg.revisions is not None and cfg.revisions.policy == spec.name:
            from workbench.gpu.revise import revision_bundle

            rev = revision_bundle(job, cfg.revisions, base_run=run, base_samples=samples,
                                  base_steps=step_scores, partial=partial)
            if rev is not None:
                written.append(write_run_atomically(rev, Path(cfg.out) /
                                                    f"{spec.name}-revisions"))
    return written


def _verifier_notes(cfg: JobConfig) -> dict[str, str]:
    notes = {}
    if cfg.judge is not None:
        notes[cfg.judge.name] = (f"LLM judge ({cfg.judge.policy}): P(yes) / (P(yes) + P(no)) "
                                 f"after '{cfg.judge.final_question}'")
        notes[f"{cfg.judge.name}-steps"] = (f"the same judge after every step: "
                                            f"'{cfg.judge.step_question}'")
    if cfg.probe is not None:
        notes[cfg.probe.name] = (f"logistic probe on the policy's residual stream at "
                                 f"{cfg.probe.layer_fraction:.0%} depth at every step end, "
                                 f"trained on outcome labels, cross-fitted by problem "
                                 f"({cfg.probe.folds} folds)")
    return notes
