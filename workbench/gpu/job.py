"""A GPU collection job: sample every policy, grade, score with a judge and a probe, in shards.

    python -m workbench.gpu.job CONFIG.toml [--stages gen,probe,judge] [--minutes M]
        [--workdir DIR] [--device cuda]

Every stage writes Parquet shards into the work directory as it goes and skips what a shard
already holds, so a job cut off by a time limit (or a lost machine) resumes where it stopped;
`--minutes` stops starting new work after M minutes. `workbench collect-gpu CONFIG` then
assembles the shards into canonical runs (`workbench.gpu.assemble`). Only torch, numpy,
pyarrow, gguf, transformers (the tokenizer) and math-verify are imported here: no DuckDB.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import ConfigError

MAX_STEPS = 48
"""Steps beyond this are merged into the last one (bounds the judge's passes on run-on text)."""

STAGES = ("gen", "grade", "probe", "judge", "revise", "tree")
GEN_COLUMNS = ("problem_id", "sample_idx", "text", "finish_reason", "output_tokens",
               "prompt_tokens")


@dataclass(frozen=True)
class PolicySpec:
    name: str  # run id suffix, e.g. "qwen2.5-coder-0.5b"
    gguf: str
    n: int
    sha256: str | None = None
    slots: int | None = None  # rows decoded together (default: the job's `slots`)
    model: str = ""  # upstream model name
    weights: str = ""  # where the weights file comes from (package, URL)
    licence: str = ""
    quantisation: str = ""


@dataclass(frozen=True)
class JudgeSpec:
    name: str
    policy: str  # which policy's weights judge
    system: str = "You are a careful math teacher. You check solutions step by step."
    step_question: str = "Is every step of the solution so far correct? Answer Yes or No."
    final_question: str = "Is the final answer of this solution correct? Answer Yes or No."


@dataclass(frozen=True)
class ProbeSpec:
    name: str = "probe"
    layer_fraction: float = 0.67
    folds: int = 5


@dataclass(frozen=True)
class RevisionSpec:
    """Revision chains (`workbench.gpu.revise`); fields named as collect's `RevisionsConfig`.

    Chain c of each of the first `problems` problems starts from sample c of `policy`'s
    generation (revision 0); revisions 1 .. length - 1 each show the model the question and up
    to `shown` previous attempts of the chain (each cut to `attempt_chars`) and ask for a
    corrected solution. `context_tokens` is the model's context (Qwen2.5: 32k).
    """

    policy: str
    problems: int | None = None
    chains: int = 4
    length: int = 5
    shown: int = 4
    attempt_chars: int = 6000
    context_tokens: int = 32768
    prompt: str = (
        "Here are your previous attempts at this problem, oldest first:\n\n{previous}\n\n"
        "They may contain mistakes. Check them and write a corrected solution, step by step, "
        "and put your final answer within \\boxed{}."
    )


@dataclass(frozen=True)
class TreeSpec:
    """[tree]: a tree bank grown with one policy, its nodes scored by that policy's probe
    (`workbench.gpu.tree`; the fields mean what `workbench.collect.config.TreeConfig`'s do)."""

    policy: str
    problems: int = 200  # the first k problems get a tree
    branching: int = 4
    root_branching: int | None = 16
    max_depth: int = 3  # the depth-max_depth node is the rest of the solution (terminal)
    frontier: int = 0  # 0 = expand every non-terminal node; K = the top K by score per depth
    step_tokens: int = 256  # new tokens of one step (a whole solution keeps max_new_tokens)


@dataclass(frozen=True)
class JobConfig:
    run_prefix: str
    dataset: str
    problems: str  # JSONL: problem_id, question, gold_answer
    out: str
    workdir: str
    system: str
    policies: list[PolicySpec]
    separator: str = "\n\n"
    max_new_tokens: int = 768
    temperature: float = 0.8
    top_p: float = 1.0
    seed: int = 0
    slots: int = 1024
    shard_problems: int = 50
    batch_tokens: int = 262_144
    n_problems: int | None = None
    judge: JudgeSpec | None = None
    probe: ProbeSpec | None = None
    revisions: RevisionSpec | None = None
    tree: TreeSpec | None = None
    source_file: str = field(default="", compare=False)

    def policy(self, name: str) -> PolicySpec:
        for p in self.policies:
            if p.name == name:
                return p
        raise ConfigError(f"{self.source_file}: no [[policy]] named {name!r}")


def load_job(path: str | Path) -> JobConfig:
    """Read and check a job TOML; errors name the file and key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from None
    try:
        pol = [PolicySpec(**p) for p in raw.pop("policy")]
        judge = JudgeSpec(**raw.pop("judge")) if "judge" in raw else None
        probe = ProbeSpec(**raw.pop("probe")) if "probe" in raw else None
        revisions = RevisionSpec(**raw.pop("revisions")) if "revisions" in raw else None
        tree = TreeSpec(**raw.pop("tree")) if "tree" in raw else None
        cfg = JobConfig(**raw, policies=pol, judge=judge, probe=probe, revisions=revisions,
                        tree=tree, source_file=str(path))
    except (KeyError, TypeError) as e:
        raise ConfigError(f"{path}: {e}") from None
    if judge is not None:
        cfg.policy(judge.policy)
    if revisions is not None:
        from workbench.gpu.revise import check_spec

        check_spec(cfg, revisions)
    if tree is not None:
        from workbench.gpu.tree import check_tree

        check_tree(cfg)
    return cfg


def model_path(spec: PolicySpec) -> Path:
    """A policy's GGUF: absolute, or relative to $WORKBENCH_MODELS (default: the cwd)."""
    p = Path(spec.gguf).expanduser()
    return p if p.is_absolute() else Path(os.environ.get("WORKBENCH_MODELS", ".")) / p


# -- shared text handling ------------------------------------------------------------------


def chatml(system: str | None, user: str) -> str:
    from workbench.collect.prompts import render_chat

    return render_chat("chatml", system, user)


def split_capped(text: str, separator: str) -> list[str]:
    """Steps of a completion (blank-line separated), at most MAX_STEPS (the rest merged)."""
    from workbench.collect.prompts import split_steps

    steps = split_steps(text, separator)
    if len(steps) > MAX_STEPS:
        steps = steps[: MAX_STEPS - 1] + [separator.join(steps[MAX_STEPS - 1:])]
    return steps


def read_problems(cfg: JobConfig) -> list[dict[str, Any]]:
    out = []
    with open(cfg.problems, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(json.loads(line))
    return out[: cfg.n_problems] if cfg.n_problems else out


# -- the job -------------------------------------------------------------------------------


class Job:
    def __init__(self, cfg: JobConfig, *, device: str, deadline: float | None,
                 log: Callable[[str], None] = print) -> None:
        self.cfg = cfg
        self.device = device
        self.deadline = deadline
        self.log = log
        self.work = Path(cfg.workdir)
        self.work.mkdir(parents=True, exist_ok=True)
        self.problems = read_problems(cfg)
        self.models: dict[str, Any] = {}
        self.tokenizers: dict[str, Any] = {}

    def time_left(self) -> bool:
        return self.deadline is None or time.monotonic() < self.deadline

    def stat(self, **rec: Any) -> None:
        rec["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(self.work / "stats.jsonl", "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        self.log(json.dumps(rec))

    def model(self, name: str) -> tuple[Any, Any]:
        """Decoder and tokenizer of a policy (de-quantised once; cached as bf16 in /tmp)."""
        if name not in self.models:
            from workbench.gpu.decoder import Decoder
            from workbench.gpu.weights import load_tokenizer, read_gguf, sha256_of

            spec = self.cfg.policy(name)
            t0 = time.monotonic()
            cache = Path(os.environ.get("WORKBENCH_MODEL_CACHE", "/tmp/ttc-models"))
            cache.mkdir(parents=True, exist_ok=True)
            saved = cache / f"{spec.name}-{self.device}.pt"
            if saved.exists():
                dec = Decoder.load(saved, device=self.device)
            else:
                gguf = model_path(spec)
                if spec.sha256:
                    got = sha256_of(gguf)
                    if got != spec.sha256:
                        raise ConfigError(f"{gguf}: SHA-256 {got} != pinned {spec.sha256}")
                cfg, weights = read_gguf(gguf, threads=os.cpu_count() or 2)
                dec = Decoder(cfg, weights, device=self.device)
                del weights
                dec.save(saved)
            self.models[name] = dec
            self.tokenizers[name] = load_tokenizer(model_path(spec))
            self.stat(stage="load", policy=name, seconds=round(time.monotonic() - t0, 1),
                      params=dec.n_params, separate_output=dec.lm_head is not dec.embed,
                      config=dec.cfg.to_dict())
        return self.models[name], self.tokenizers[name]

    # -- shards --------------------------------------------------------------------------
    def shards(self, stage: str, policy: str) -> list[Path]:
        d = self.work / stage / policy
        return sorted(d.glob("*.parquet")) if d.exists() else []

    def read(self, stage: str, policy: str) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        files = self.shards(stage, policy)
        cols = list(GEN_COLUMNS) if stage == "gen" else None
        return pa.concat_tables([pq.read_table(f, columns=cols) for f in files]) if files else None

    def graded(self, policy: str) -> Any:
        """Generation shards with their grades, or None while a shard is ungraded."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        gen = self.shards("gen", policy)
        if not gen or any(not (self.work / "grade" / policy / f.name).exists() for f in gen):
            return None
        parts = []
        for f in gen:
            g = pq.read_table(f, columns=list(GEN_COLUMNS))
            grade = pq.read_table(self.work / "grade" / policy / f.name)
            for name in grade.column_names:
                if name not in ("problem_id", "sample_idx"):
                    g = g.append_column(name, grade.column(name))
            parts.append(g)
        return pa.concat_tables(parts, promote_options="default")  # an all-null grade column

    def write_shard(self, stage: str, policy: str, table: Any, name: str | None = None) -> Path:
        import pyarrow.parquet as pq

        from workbench.parquet import PARQUET_OPTIONS

        d = self.work / stage / policy
        d.mkdir(parents=True, exist_ok=True)
        path = d / (name or f"{len(self.shards(stage, policy)):04d}.parquet")
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp, **PARQUET_OPTIONS)
        os.replace(tmp, path)  # a shard is whole or absent
        return path

    # -- stage: generation ---------------------------------------------------------------
    def generate(self, policy: str) -> None:
        import pyarrow as pa

        from workbench.gpu.generate import Generation, generate

        spec = self.cfg.policy(policy)
        have = self.read("gen", policy)
        done_ids = set(have.column("problem_id").to_pylist()) if have is not None else set()
        todo = [p for p in self.problems if p["problem_id"] not in done_ids]
        if not todo or not self.time_left():
            return
        dec, tok = self.model(policy)
        prompts = [tok.encode(chatml(self.cfg.system, p["question"]), add_special_tokens=False)
                   for p in todo]
        stops = stop_ids(tok)
        results: dict[int, dict[int, Generation]] = {}
        complete: list[int] = []
        written = 0  # problems whose samples are in a shard

        def flush(idx: list[int]) -> None:
            nonlocal written
            cols: dict[str, list[Any]] = {k: [] for k in GEN_COLUMNS}
            for i in idx:
                gens = results.pop(i)
                for smp in range(spec.n):
                    g = gens[smp]
                    cols["problem_id"].append(todo[i]["problem_id"])
                    cols["sample_idx"].append(smp)
                    cols["text"].append(tok.decode(g.tokens, skip_special_tokens=True))
                    cols["finish_reason"].append(g.finish_reason)
                    cols["output_tokens"].append(len(g.tokens))
                    cols["prompt_tokens"].append(len(prompts[i]))
            self.write_shard("gen", policy, pa.table(cols))
            written += len(idx)

        def on_done(g: Generation) -> None:
            results.setdefault(g.prompt_index, {})[g.sample_index] = g
            if len(results[g.prompt_index]) == spec.n:
                complete.append(g.prompt_index)
                if len(complete) >= self.cfg.shard_problems:
                    flush(complete.copy())
                    complete.clear()

        stats = generate(dec, prompts, spec.n, max_new=self.cfg.max_new_tokens,
                         temperature=self.cfg.temperature, top_p=self.cfg.top_p, stop_ids=stops,
                         slots=spec.slots or self.cfg.slots, seed=self.cfg.seed + len(done_ids),
                         on_done=on_done, deadline=self.deadline)
        if complete:
            flush(complete.copy())
        self.stat(stage="gen", policy=policy, samples=stats.samples, tokens=stats.tokens,
                  prefill_tokens=stats.prefill_tokens, seconds=round(stats.seconds, 1),
                  tokens_per_s=round(stats.tokens_per_second), slots=stats.slots,
                  problems_done=len(done_ids) + written)

    # -- stage: grading -------------------------------------------------------------------
    def grade(self, policy: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from workbench.gpu.grade import grade_all

        gold = {p["problem_id"]: p.get("gold_answer") for p in self.problems}
        for f in self.shards("gen", policy):
            if (self.work / "grade" / policy / f.name).exists() or not self.time_left():
                continue
            t0 = time.monotonic()
            gen = pq.read_table(f, columns=["problem_id", "sample_idx", "text"]).to_pydict()
            rows = [(t, gold[p]) for p, t in zip(gen["problem_id"], gen["text"], strict=True)]
            graded = grade_all(rows, workers=max(2, (os.cpu_count() or 2) - 1))
            self.write_shard("grade", policy, pa.table({
                "problem_id": gen["problem_id"], "sample_idx": gen["sample_idx"],
                "answer": [g.answer for g in graded], "answer_key": [g.answer_key for g in graded],
                "is_correct": [g.is_correct for g in graded],
                "grade_status": [g.status for g in graded]}), name=f.name)
            self.stat(stage="grade", policy=policy, shard=f.name, samples=len(rows),
                      correct=sum(g.is_correct for g in graded),
                      timeouts=sum(g.status != "ok" for g in graded),
                      seconds=round(time.monotonic() - t0, 1))

    # -- stage: probe --------------------------------------------------------------------
    def tokenised(self, gen: Any, prompt_of: Callable[[str], str], tok: Any) -> list[Any]:
        """Every sample of `gen` as the scorers see it (prompt, then its capped steps)."""
        from workbench.gpu.scoring import tokenise_steps

        enc = _encoder(tok)
        q = {p["problem_id"]: p["question"] for p in self.problems}
        items = []
        for pid, text in zip(gen.column("problem_id").to_pylist(), gen.column("text").to_pylist(),
                             strict=True):
            steps = split_capped(text, self.cfg.separator) or [text]
            items.append(tokenise_steps(enc, prompt_of(q[pid]), steps, self.cfg.separator))
        return items

    def probe(self, policy: str) -> None:
        import pyarrow as pa

        from workbench.gpu.probe import auc, crossfit_probe
        from workbench.gpu.scoring import hidden_features

        spec = self.cfg.policy(policy)
        pcfg = self.cfg.probe
        assert pcfg is not None
        if (self.work / "probe" / policy).exists() and self.shards("probe", policy):
            return
        gen = self.graded(policy)
        if gen is None or gen.num_rows < len(self.problems) * spec.n or not self.time_left():
            return
        dec, tok = self.model(policy)
        t0 = time.monotonic()
        items = self.tokenised(gen, lambda q: chatml(self.cfg.system, q), tok)
        layer = max(0, min(dec.cfg.n_layers - 1,
                           round(pcfg.layer_fraction * dec.cfg.n_layers) - 1))
        feats = hidden_features(dec, items, layer=layer, max_tokens=self.cfg.batch_tokens)
        t_feat = time.monotonic() - t0
        pids = gen.column("problem_id").to_pylist()
        correct = np.array(gen.column("is_correct").to_pylist(), dtype=bool)
        n_steps = np.array([len(f) for f in feats])
        row_sample = np.repeat(np.arange(len(feats)), n_steps)
        x = np.concatenate(feats).astype(np.float32)
        res = crossfit_probe(x, correct[row_sample], np.array(pids, dtype=object)[row_sample],
                             folds=pcfg.folds, seed=self.cfg.seed, device=self.device)
        step_idx = np.concatenate([np.arange(k) for k in n_steps])
        last = np.cumsum(n_steps) - 1
        outcome = res.scores[last]
        table = pa.table({
            "problem_id": np.array(pids, dtype=object)[row_sample].tolist(),
            "sample_idx": np.array(gen.column("sample_idx").to_pylist())[row_sample],
            "step_idx": step_idx, "score": res.scores,
            "step_tokens": np.concatenate([np.array(it.step_tokens) for it in items]),
        })
        self.write_shard("probe", policy, table)
        keys = sorted(res.fold_of)  # the fitted probes, for scoring live searches later
        np.savez(self.work / "probe" / policy / "probe.npz", mean=res.mean, std=res.std,
                 weights=res.weights, layer=layer, problem_ids=np.array(keys, dtype=str),
                 fold=np.array([res.fold_of[k] for k in keys]))
        self.stat(stage="probe", policy=policy, layer=layer, rows=int(x.shape[0]),
                  dim=int(x.shape[1]), auc_steps=round(res.auc, 4),
                  auc_outcome=round(auc(outcome, correct), 4), l2=list(res.l2_per_fold),
                  features_s=round(t_feat, 1), seconds=round(time.monotonic() - t0, 1))

    # -- stage: judge --------------------------------------------------------------------
    def judge(self, policy: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from workbench.gpu.scoring import NO, YES, judge_scores, token_ids

        jcfg = self.cfg.judge
        assert jcfg is not None
        gen_files = self.shards("gen", policy)
        done = len(self.shards("judge", policy))
        if done >= len(gen_files) or not self.time_left():
            return
        dec, tok = self.model(jcfg.policy)

        enc = _encoder(tok)
        sys_part = chatml(jcfg.system, "\x00").split("\x00")[0]  # up to the user's content
        step_sfx = enc(f"\n\n{jcfg.step_question}<|im_end|>\n<|im_start|>assistant\n")
        final_sfx = enc(f"\n\n{jcfg.final_question}<|im_end|>\n<|im_start|>assistant\n")
        yes, no = token_ids(enc, YES), token_ids(enc, NO)
        for f in gen_files[done:]:
            if not self.time_left():
                break
            t0 = time.monotonic()
            gen = pq.read_table(f)
            items = self.tokenised(gen,
                                   lambda q: f"{sys_part}Problem:\n{q}\n\nSolution:\n", tok)
            scores = judge_scores(dec, items, step_suffix=step_sfx, final_suffix=final_sfx,
                                  yes_ids=yes, no_ids=no, max_tokens=self.cfg.batch_tokens)
            cols: dict[str, list[Any]] = {k: [] for k in (
                "problem_id", "sample_idx", "step_idx", "score", "step_tokens", "yes_no_mass")}
            for pid, s, it, (steps, final, mass) in zip(
                    gen.column("problem_id").to_pylist(), gen.column("sample_idx").to_pylist(),
                    items, scores, strict=True):
                for j, sc in enumerate([*steps, final]):
                    last = j == len(steps)
                    cols["problem_id"].append(pid)
                    cols["sample_idx"].append(s)
                    cols["step_idx"].append(-1 if last else j)  # -1: the final-answer question
                    cols["score"].append(sc)
                    cols["step_tokens"].append(None if last else it.step_tokens[j])
                    cols["yes_no_mass"].append(mass)
            self.write_shard("judge", policy, pa.table(cols))
            self.stat(stage="judge", policy=policy, shard=f.name, samples=gen.num_rows,
                      tokens=sum(len(it.ids) for it in items),
                      seconds=round(time.monotonic() - t0, 1))

    # -- stage: revision chains (workbench.gpu.revise) -----------------------------------
    def revise(self, policy: str) -> None:
        if self.cfg.revisions is not None and self.cfg.revisions.policy == policy:
            from workbench.gpu.revise import revise

            revise(self, self.cfg.revisions)

    # -- stage: tree bank (workbench.gpu.tree) ------------------------------------------------
    def tree(self, policy: str) -> None:
        from workbench.gpu.tree import build_trees

        if self.cfg.tree is not None and self.cfg.tree.policy == policy:
            build_trees(self, policy)

    def run(self, stages: tuple[str, ...]) -> None:
        """Run the asked stages in order (each skips what its shards already hold)."""
        steps = {"gen": self.generate, "grade": self.grade, "probe": self.probe,
                 "judge": self.judge, "revise": self.revise, "tree": self.tree}
        for stage in STAGES:
            if stage not in stages or (stage == "probe" and self.cfg.probe is None) or (
                    stage == "judge" and self.cfg.judge is None) or (
                    stage == "tree" and self.cfg.tree is None):
                continue
            for p in self.cfg.policies:
                steps[stage](p.name)


def stop_ids(tok: Any) -> list[int]:
    """The ids that end a completion: end of text and end of the assistant's turn."""
    return sorted({tid for tid in (tok.eos_token_id, tok.pad_token_id,
                                   tok.convert_tokens_to_ids("<|im_end|>"),
                                   tok.convert_tokens_to_ids("<|endoftext|>"))
                   if isinstance(tid, int) and tid >= 0})


def _encoder(tok: Any) -> Callable[[str], list[int]]:
    """Token ids of a text as it stands (chat markers in it are parsed, nothing is added)."""
    return lambda text: list(tok.encode(text, add_special_tokens=False))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workbench.gpu.job", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--device", default=None)
    a = ap.parse_args(argv)
    cfg = load_job(a.config)
    if a.workdir:
        cfg = JobConfig(**{**cfg.__dict__, "workdir": a.workdir})
    import torch

    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    deadline = time.monotonic() + 60 * a.minutes if a.minutes else None
    stages = tuple(s for s in a.stages.split(",") if s)
    bad = [s for s in stages if s not in STAGES]
    if bad:
        ap.error(f"unknown stage(s) {bad}; choose from {list(STAGES)}")
    Job(cfg, device=device, deadline=deadline).run(stages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
