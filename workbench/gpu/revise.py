"""The GPU job's `revise` stage: sequential revision chains (Snell et al. 2024, sec. 6).

Chain c of each of the first `problems` problems starts from sample c of the policy's `gen`
stage (revision 0, reused, not regenerated). Round r (1 .. length - 1) asks, for every
(problem, chain) at once in one continuous-batching `generate` call, for a corrected solution,
showing the question and the chain's last `shown` attempts (oldest first, each cut in the
middle to `attempt_chars`, and cut harder if the prompt would not leave `max_new_tokens` of the
model's context). The prompt text is built by `workbench.collect.prompts.revision_user_message`,
as `workbench collect` builds its revisions.

Shards, under the job's work directory, one per round r:
- `revise/<policy>/rNN.parquet`: problem_id, chain_idx, revision_idx, text, finish_reason,
  output_tokens, prompt_tokens (a round cut off by the deadline is kept and completed later:
  only its missing chains are generated, then the shard is rewritten whole);
- `revise-grade/<policy>/rNN.parquet`: the math-verify grade of each attempt (as `grade`);
- `revise-probe/<policy>/rNN.parquet`: the job's probe at every step end (when the probe
  stage has run), each problem scored by the fold probe that was fitted without it. The
  attempt is scored after the plain question prompt, the context the probe was trained in.
Round r + 1 starts only when round r is complete. `revision_bundle` turns the shards into a
run of their own (`<run_prefix>/<policy>-revisions`): chain rows kept apart from the policy's
best-of-N pool, as `workbench collect` keeps them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import CollectError, ConfigError

if TYPE_CHECKING:
    from workbench.gpu.job import Job, JobConfig, RevisionSpec
    from workbench.store.records import RunBundle

ROUND_COLUMNS = ("problem_id", "chain_idx", "revision_idx", "text", "finish_reason",
                 "output_tokens", "prompt_tokens")
MIN_ATTEMPT_CHARS = 200
"""Attempts are never cut below this to make a prompt fit: the job's settings are wrong then."""


def check_spec(cfg: JobConfig, spec: RevisionSpec) -> None:
    """Refuse a `[revisions]` table that cannot run, naming the file and the field."""
    where = f"{cfg.source_file}: [revisions]"
    n = cfg.policy(spec.policy).n
    checks = [
        (spec.length >= 2, "length", "must be >= 2 (revision 0 and at least one revision)"),
        (1 <= spec.chains <= n, "chains", f"must be between 1 and the policy's n ({n})"),
        (spec.problems is None or spec.problems >= 1, "problems", "must be >= 1"),
        (spec.shown >= 1, "shown", "must be >= 1"),
        (spec.attempt_chars >= MIN_ATTEMPT_CHARS, "attempt_chars",
         f"must be >= {MIN_ATTEMPT_CHARS}"),
        (spec.context_tokens > cfg.max_new_tokens, "context_tokens",
         f"must exceed max_new_tokens ({cfg.max_new_tokens})"),
        ("{previous}" in spec.prompt, "prompt", "must contain {previous}"),
    ]
    for ok, key, why in checks:
        if not ok:
            raise ConfigError(f"{where} {key} = {getattr(spec, key)!r}: {why}")


def chain_problems(problems: Sequence[dict[str, Any]], spec: RevisionSpec) -> list[dict]:
    """The problems that get chains: the first `problems` in the problems file's order."""
    return list(problems[: spec.problems] if spec.problems else problems)


def revision_prompt(system: str, question: str, previous: Sequence[str], spec: RevisionSpec,
                    *, max_chars: int | None = None) -> str:
    """The chat prompt of the next revision after `previous` (all the chain's attempts so far,
    oldest first; the last `spec.shown` of them are shown)."""
    from workbench.collect.prompts import revision_user_message
    from workbench.gpu.job import chatml

    shown = list(previous)[-spec.shown:]
    return chatml(system, revision_user_message(
        question, spec.prompt, shown, max_chars=max_chars or spec.attempt_chars))


def fit_prompt(encode: Callable[[str], list[int]], system: str, question: str,
               previous: Sequence[str], spec: RevisionSpec, max_new: int) -> list[int]:
    """Token ids of the revision prompt, attempts cut harder (halving their length) until
    prompt + `max_new` fit the model's context."""
    chars = spec.attempt_chars
    while True:
        ids = encode(revision_prompt(system, question, previous, spec, max_chars=chars))
        if len(ids) + max_new <= spec.context_tokens:
            return ids
        if chars // 2 < MIN_ATTEMPT_CHARS:
            raise CollectError(
                f"a revision prompt of {len(ids)} tokens leaves no room for {max_new} new tokens "
                f"in a context of {spec.context_tokens}, even with attempts cut to {chars} "
                "characters; lower [revisions] shown or max_new_tokens")
        chars //= 2


# -- shards ----------------------------------------------------------------------------------


def _path(job: Job, stage: str, policy: str, r: int) -> Path:
    return job.work / stage / policy / f"r{r:02d}.parquet"


def _read(job: Job, stage: str, policy: str, r: int) -> dict[str, list[Any]] | None:
    import pyarrow.parquet as pq

    path = _path(job, stage, policy, r)
    return pq.read_table(path).to_pydict() if path.exists() else None


def base_attempts(job: Job, spec: RevisionSpec) -> dict[tuple[str, int], str] | None:
    """Revision 0 of every chain: (problem_id, c) -> the text of gen sample c; None while
    the gen stage lacks any of them."""
    import pyarrow.compute as pc

    gen = job.read("gen", spec.policy)
    if gen is None:
        return None
    gen = gen.filter(pc.less(gen.column("sample_idx"), spec.chains))
    have = {(p, int(s)): t for p, s, t in zip(gen.column("problem_id").to_pylist(),
                                              gen.column("sample_idx").to_pylist(),
                                              gen.column("text").to_pylist(), strict=True)}
    keys = [(p["problem_id"], c) for p in chain_problems(job.problems, spec)
            for c in range(spec.chains)]
    return {k: have[k] for k in keys} if all(k in have for k in keys) else None


# -- the stage -------------------------------------------------------------------------------


def revise(job: Job, spec: RevisionSpec) -> None:
    """Grow every chain round by round up to `length` attempts; grade (and probe) each round.
    Skips what the shards hold; stops starting work at the job's deadline."""
    base = base_attempts(job, spec)
    if base is None:
        job.log(f"revise: the gen stage of {spec.policy} lacks samples 0..{spec.chains - 1} of "
                "the chain problems; run gen first")
        return
    history = {k: [t] for k, t in base.items()}
    for r in range(1, spec.length):
        rows = _read(job, "revise", spec.policy, r)
        done = len(rows["text"]) if rows else 0
        if done < len(history):
            if not job.time_left():
                return
            rows = _generate_round(job, spec, r, history, rows)
            if len(rows["text"]) < len(history):
                return  # cut off by the deadline: this round resumes next time
        assert rows is not None
        if job.time_left():
            _grade_round(job, spec, r, rows)
        if job.time_left():
            _probe_round(job, spec, r, rows)
        by_key = {(p, int(c)): t for p, c, t in zip(rows["problem_id"], rows["chain_idx"],
                                                    rows["text"], strict=True)}
        for k, past in history.items():
            past.append(by_key[k])


def _generate_round(job: Job, spec: RevisionSpec, r: int, history: dict[tuple[str, int], list],
                    have: dict[str, list[Any]] | None) -> dict[str, list[Any]]:
    import pyarrow as pa

    from workbench.gpu.generate import Generation, generate
    from workbench.gpu.job import _encoder, stop_ids

    cfg = job.cfg
    done = set() if have is None else {(p, int(c)) for p, c in zip(
        have["problem_id"], have["chain_idx"], strict=True)}
    todo = [k for k in history if k not in done]
    question = {p["problem_id"]: p["question"] for p in job.problems}
    dec, tok = job.model(spec.policy)
    enc = _encoder(tok)
    prompts = [fit_prompt(enc, cfg.system, question[pid], history[(pid, c)], spec,
                          cfg.max_new_tokens) for pid, c in todo]
    finished: dict[int, Generation] = {}
    # every row has its own long prompt and a refill prefills them together: bound the rows
    # by prompt tokens (4 x the scorers' batch) as well as by the policy's slots
    longest = max(len(p) for p in prompts)
    slots = max(1, min(job.cfg.policy(spec.policy).slots or cfg.slots,
                       4 * cfg.batch_tokens // longest))
    stats = generate(dec, prompts, 1, max_new=cfg.max_new_tokens, temperature=cfg.temperature,
                     top_p=cfg.top_p, stop_ids=stop_ids(tok), slots=slots,
                     seed=cfg.seed + 1_000_003 * r + len(done),
                     on_done=lambda g: finished.__setitem__(g.prompt_index, g),
                     deadline=job.deadline)
    cols: dict[str, list[Any]] = {k: list(have[k]) if have else [] for k in ROUND_COLUMNS}
    for i, g in sorted(finished.items()):
        pid, c = todo[i]
        for key, v in (("problem_id", pid), ("chain_idx", c), ("revision_idx", r),
                       ("text", tok.decode(g.tokens, skip_special_tokens=True)),
                       ("finish_reason", g.finish_reason), ("output_tokens", len(g.tokens)),
                       ("prompt_tokens", len(prompts[i]))):
            cols[key].append(v)
    order = {k: i for i, k in enumerate(history)}  # problems-file order, then chain
    perm = sorted(range(len(cols["text"])),
                  key=lambda j: order[(cols["problem_id"][j], int(cols["chain_idx"][j]))])
    cols = {k: [v[j] for j in perm] for k, v in cols.items()}
    job.write_shard("revise", spec.policy, pa.table(cols), name=f"r{r:02d}.parquet")
    job.stat(stage="revise", policy=spec.policy, round=r, samples=stats.samples,
             tokens=stats.tokens, prefill_tokens=stats.prefill_tokens,
             longest_prompt=longest, slots=stats.slots, seconds=round(stats.seconds, 1),
             tokens_per_s=round(stats.tokens_per_second), rows=len(cols["text"]),
             of=len(history))
    return cols


def _grade_round(job: Job, spec: RevisionSpec, r: int, rows: dict[str, list[Any]]) -> None:
    import pyarrow as pa

    from workbench.gpu.grade import grade_all

    have = _read(job, "revise-grade", spec.policy, r)
    if have is not None and len(have["problem_id"]) == len(rows["problem_id"]):
        return
    t0 = time.monotonic()
    gold = {p["problem_id"]: p.get("gold_answer") for p in job.problems}
    graded = grade_all([(t, gold[p]) for p, t in zip(rows["problem_id"], rows["text"],
                                                      strict=True)],
                       workers=max(2, (os.cpu_count() or 2) - 1))
    job.write_shard("revise-grade", spec.policy, pa.table({
        "problem_id": rows["problem_id"], "chain_idx": rows["chain_idx"],
        "revision_idx": rows["revision_idx"],
        "answer": [g.answer for g in graded], "answer_key": [g.answer_key for g in graded],
        "is_correct": [g.is_correct for g in graded],
        "grade_status": [g.status for g in graded]}), name=f"r{r:02d}.parquet")
    job.stat(stage="revise-grade", policy=spec.policy, round=r, samples=len(graded),
             correct=sum(g.is_correct for g in graded),
             timeouts=sum(g.status != "ok" for g in graded),
             seconds=round(time.monotonic() - t0, 1))


def _probe_round(job: Job, spec: RevisionSpec, r: int, rows: dict[str, list[Any]]) -> None:
    import numpy as np
    import pyarrow as pa

    from workbench.gpu.job import chatml
    from workbench.gpu.probe import FittedProbes
    from workbench.gpu.scoring import hidden_features

    fitted_path = job.work / "probe" / spec.policy / "probe.npz"
    have = _read(job, "revise-probe", spec.policy, r)
    if job.cfg.probe is None or not fitted_path.exists() or (
            have is not None and len(set(zip(have["problem_id"], have["chain_idx"],
                                             strict=True))) == len(rows["problem_id"])):
        return
    t0 = time.monotonic()
    fitted = FittedProbes.load(fitted_path)
    dec, tok = job.model(spec.policy)
    table = pa.table({k: rows[k] for k in ("problem_id", "text")})
    items = job.tokenised(table, lambda q: chatml(job.cfg.system, q), tok)
    feats = hidden_features(dec, items, layer=fitted.layer, max_tokens=job.cfg.batch_tokens)
    n_steps = np.array([len(f) for f in feats])
    row = np.repeat(np.arange(len(feats)), n_steps)
    pids = np.array(rows["problem_id"], dtype=object)[row]
    scores = fitted.score(np.concatenate(feats), pids.tolist())
    job.write_shard("revise-probe", spec.policy, pa.table({
        "problem_id": pids.tolist(),
        "chain_idx": np.array(rows["chain_idx"])[row],
        "revision_idx": np.array(rows["revision_idx"])[row],
        "step_idx": np.concatenate([np.arange(k) for k in n_steps]),
        "score": scores,
        "step_tokens": np.concatenate([np.array(it.step_tokens) for it in items])}),
        name=f"r{r:02d}.parquet")
    job.stat(stage="revise-probe", policy=spec.policy, round=r, rows=int(n_steps.sum()),
             samples=len(items), seconds=round(time.monotonic() - t0, 1))


# -- assembly --------------------------------------------------------------------------------


def revision_bundle(job: Job, spec: RevisionSpec, *, base_run: Any, base_samples: Sequence[Any],
                    base_steps: Sequence[Any], partial: bool) -> RunBundle | None:
    """The revision chains as a run of their own, or None when the stage has not run.

    Sample `c * length + v` is attempt v of chain c (chain_id c, revision_idx v), as collect
    numbers them; revision 0 repeats gen sample c of the base run (its grade, and its probe
    steps). Without `partial` every round must be generated and graded; with it, the rounds
    complete so far make the run (every chain equally long). The probe joins only when it
    scored every attempt, so the engine never sees a chain half scored.
    """
    from workbench.store.records import Problem, RunBundle, Sample

    cfg = job.cfg
    chain_probs = chain_problems(job.problems, spec)
    keys = [(p["problem_id"], c) for p in chain_probs for c in range(spec.chains)]
    rounds: list[dict[str, list[Any]]] = []
    for r in range(1, spec.length):
        gen, grade = _read(job, "revise", spec.policy, r), _read(job, "revise-grade",
                                                               spec.policy, r)
        if gen is None or grade is None or len(grade["problem_id"]) < len(keys):
            break
        rounds.append({**gen, **{k: grade[k] for k in ("answer", "answer_key", "is_correct",
                                                       "grade_status")}})
    if not rounds and not _path(job, "revise", spec.policy, 1).exists():
        return None
    if len(rounds) < spec.length - 1 and not partial:
        raise CollectError(f"{cfg.workdir}: revisions of {spec.policy!r} hold {len(rounds)} of "
                           f"{spec.length - 1} complete, graded rounds; run the job's revise "
                           "stage further (or assemble what there is with --partial)")
    length = len(rounds) + 1
    base = {(s.problem_id, s.sample_idx): s for s in base_samples}
    missing = [k for k in keys if k not in base]
    if missing:
        raise CollectError(f"{cfg.workdir}: revision 0 of chain {missing[0][1]} of problem "
                           f"{missing[0][0]!r} is not a graded sample of {base_run.run_id!r}")
    samples = []
    for pid, c in keys:
        b = base[(pid, c)]
        samples.append(replace(b, sample_idx=c * length, chain_id=c, revision_idx=0))
    from workbench.gpu.job import split_capped

    for v, rnd in enumerate(rounds, 1):
        for i, (pid, c) in enumerate(zip(rnd["problem_id"], rnd["chain_idx"], strict=True)):
            text = rnd["text"][i]
            samples.append(Sample(
                problem_id=pid, sample_idx=int(c) * length + v, answer=rnd["answer"][i],
                answer_key=rnd["answer_key"][i], is_correct=bool(rnd["is_correct"][i]),
                output_tokens=int(rnd["output_tokens"][i]),
                prompt_tokens=int(rnd["prompt_tokens"][i]),
                n_steps=len(split_capped(text, cfg.separator)), text=text, chain_id=int(c),
                revision_idx=v))
    n_steps = {(x.problem_id, x.sample_idx): x.n_steps or 0 for x in samples}
    step_scores = [x for x in _probe_steps(job, spec, keys, length, len(rounds), base_steps)
                   if x.step_idx < n_steps[(x.problem_id, x.sample_idx)]]  # as assemble_job
    meta = {**base_run.meta,
            "revisions": {"problems": len(chain_probs), "chains": spec.chains,
                          "length": length, "revisions_after_initial": length - 1,
                          "length_asked": spec.length, "shown": spec.shown,
                          "attempt_chars": spec.attempt_chars, "prompt": spec.prompt,
                          "base_run": base_run.run_id,
                          "revision_0": "sample c of the base run, repeated as chain c's "
                                        "revision 0 (sample_idx c * length)",
                          "verifier": cfg.probe.name if step_scores and cfg.probe else None},
            "problems_covered": f"{len(chain_probs)} of {len(job.problems)}",
            "grading_timeouts": sum(s != "ok" for rnd in rounds for s in rnd["grade_status"])}
    meta.pop("verifier_problems_scored", None)
    meta.pop("tree", None)  # the tree bank stays with the base run
    meta["verifier_params"] = {k: v for k, v in meta.get("verifier_params", {}).items()
                               if step_scores and cfg.probe and k == cfg.probe.name}
    meta["verifiers"] = {k: v for k, v in meta.get("verifiers", {}).items()
                         if k in meta["verifier_params"]}
    run = replace(base_run, run_id=f"{base_run.run_id}-revisions", meta=meta,
                  sampler={**(base_run.sampler or {}), "n": spec.chains})
    problems = [Problem(dataset=cfg.dataset, problem_id=p["problem_id"], question=None,
                        gold_answer=p.get("gold_answer"),
                        meta={"question": "not stored: see the registered dataset"})
                for p in chain_probs]
    return RunBundle(run=run, problems=problems, samples=samples, step_scores=step_scores)


def _probe_steps(job: Job, spec: RevisionSpec, keys: list[tuple[str, int]], length: int,
                 n_rounds: int, base_steps: Sequence[Any]) -> list[Any]:
    """The probe's step scores of every attempt, or [] unless it scored all of them."""
    from workbench.store.records import StepScore

    if job.cfg.probe is None:
        return []
    name = job.cfg.probe.name
    want = set(keys)
    # gen sample c is revision 0 of chain c: sample c * length here
    out = [StepScore(name, s.problem_id, s.sample_idx * length, s.step_idx, s.score,
                     s.step_tokens)
           for s in base_steps if s.verifier == name and (s.problem_id, s.sample_idx) in want]
    if {(s.problem_id, s.sample_idx // length) for s in out} != want:
        return []
    for v in range(1, n_rounds + 1):
        rows = _read(job, "revise-probe", spec.policy, v)
        if rows is None or len(set(zip(rows["problem_id"], rows["chain_idx"],
                                       strict=True))) < len(keys):
            return []
        out += [StepScore(name, p, int(c) * length + v, int(st), float(sc), int(tk))
                for p, c, st, sc, tk in zip(rows["problem_id"], rows["chain_idx"],
                                            rows["step_idx"], rows["score"],
                                            rows["step_tokens"], strict=True)]
    return out
