"""compute-optimal-tts MATH-500 outputs (Qwen2.5-1.5B-Instruct + Math-Shepherd PRM) -> two runs.

Source: mehmetsakiraslan/compute-optimal-tts, ``src/output/`` (MIT; the OpenR-based code of
Liu et al. 2025), registered as dataset ``compute-optimal-tts``. Layout::

    MATH_best_of_n/<policy>/<prm>/1_1_1/question_K/record_R.jsonl    (K = 0..499, R = 0, 1)
    MATH_beam_search/<policy>/<prm>/40_4_1/question_K/record_R.jsonl (R = 0; R = 1 if K < 100)
    <method dir>/<policy>/<prm>/<config>/config.json (+ avg_result.json for beam search)

Each record file holds one JSON line: `question`, `groundtruth` (the MATH solution, ending in
`\\\\boxed{answer}`), `result` = {`majority_vote`: 1 if the record's answer is correct,
`total_completion_tokens`}, and `output`: a list with one path whose fields are `text` (the
steps, each ending in the PRM step tag "ки"), `value` (the PRM's score at each tag; equal to
`reward_history` throughout the release), `token_history`, `extracted_answer`,
`completion_tokens` and `tree_completion_tokens`.

Mapping (one run per method directory):

* ``MATH_best_of_n`` -> ``compute-optimal-tts/math500-qwen2.5-1.5b-bon``: record R of question K
  is sample R of problem "K" (two independent samples, temperature 0.7).
* ``MATH_beam_search`` -> ``compute-optimal-tts/math500-qwen2.5-1.5b-beam``: each record is the
  final answer of one PRM-guided beam search (width 4, depth <= 40), sample R of problem "K".
  `Run.meta["upstream"]` keeps `config.json` and `avg_result.json`; `avg_result`'s
  majority_vote (0.584) and total_completion_tokens (2715.15) are the means over record_0.
* Problem: ``problem_id`` = the question index K as a string (the files carry no MATH uid),
  dataset "math500", ``question``, ``gold_answer`` = the last `\\\\boxed{}` of `groundtruth`
  (the full solution is kept in `Problem.meta["solution"]`).
* Sample: ``text`` = `text` (step tags kept: they mark the PRM's steps), ``n_steps`` = number of
  tags, ``answer`` = `extracted_answer`, ``answer_key`` = `grading.answer_key(answer)`,
  ``is_correct`` = `result.majority_vote` == 1 (a vote over the record's single path),
  ``output_tokens`` = `completion_tokens`: everything generated to produce the record (for best
  of N the path itself; for beam search the whole search, which is its cost -- the final path
  alone is the sum of its step tokens).
* Step scores under verifier "math-shepherd-mistral-7b-prm": step j's score = `value[j]`,
  ``step_tokens`` = `token_history[j]` when `token_history` has one entry per step (beam
  search: one generation call per step); best of N generates the whole solution in one call,
  so its `token_history` is one number and per-step token counts are unknown (None), except for
  one-step solutions.

>>> from workbench.sources import get_dataset
>>> runs = {b.run.run_id: b for b in read(get_dataset("compute-optimal-tts").files())}
>>> bon, beam = runs[run_id("MATH_best_of_n", "Qwen2.5-1.5B-Instruct")], runs[run_id(
...     "MATH_beam_search", "Qwen2.5-1.5B-Instruct")]
>>> len(bon.problems), len(bon.samples), len(beam.samples)
(500, 1000, 600)
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.grading import answer_key, extract_answer
from workbench.importers._common import field, list_of, read_json, read_jsonl
from workbench.sources import get_dataset
from workbench.store.records import Problem, Run, RunBundle, Sample, StepScore

DATASET_NAME = "compute-optimal-tts"
DATASET = "math500"
STEP_TAG = "ки"
"""Math-Shepherd's step tag: the PRM scores the token after each occurrence."""

VERIFIER = "math-shepherd-mistral-7b-prm"
"""The verifier name: the PRM directory of the release, lower-cased."""
VERIFIER_PARAMS = {VERIFIER: 7.24e9}
POLICY_PARAMS = {"Qwen2.5-1.5B-Instruct": 1.54e9}
METHODS = {"MATH_best_of_n": "bon", "MATH_beam_search": "beam"}

_RECORD_RE = re.compile(
    r"(?:^|/)(?P<method>MATH_best_of_n|MATH_beam_search)/(?P<policy>[^/]+)/(?P<prm>[^/]+)/"
    r"(?P<config>[^/]+)/question_(?P<q>\d+)/record_(?P<r>\d+)\.jsonl$"
)
_SIDE_RE = re.compile(
    r"(?:^|/)(?P<method>MATH_best_of_n|MATH_beam_search)/(?P<policy>[^/]+)/(?P<prm>[^/]+)/"
    r"(?P<config>[^/]+)/(?P<name>config|avg_result)\.json$"
)


@dataclass(frozen=True)
class _RunKey:
    method: str
    policy: str
    prm: str
    config: str


def run_id(method: str, policy: str) -> str:
    """The run id of a method directory and policy.

    >>> run_id("MATH_best_of_n", "Qwen2.5-1.5B-Instruct")
    'compute-optimal-tts/math500-qwen2.5-1.5b-bon'
    """
    short = re.sub(r"-instruct$", "", policy.lower())
    return f"{DATASET_NAME}/{DATASET}-{short}-{METHODS[method]}"


def read(files: Mapping[str, Path]) -> list[RunBundle]:
    """The runs of the compute-optimal-tts outputs among `files` (keys: dataset-relative paths).

    Files that are not record/config/result files (LICENSE, SHA256SUMS) are ignored. Returns
    best of N before beam search. See the module docstring for the mapping and an example.
    """
    records: dict[_RunKey, list[tuple[int, int, str]]] = defaultdict(list)
    side: dict[_RunKey, dict[str, str]] = defaultdict(dict)
    for key in files:
        m = _RECORD_RE.search(key)
        if m:
            rk = _RunKey(m["method"], m["policy"], m["prm"], m["config"])
            records[rk].append((int(m["q"]), int(m["r"]), key))
            continue
        m = _SIDE_RE.search(key)
        if m:
            side[_RunKey(m["method"], m["policy"], m["prm"], m["config"])][m["name"]] = key
    if not records:
        raise InputError(None, None, None, "no compute-optimal-tts record files "
                         "(<method>/<policy>/<prm>/<config>/question_K/record_R.jsonl) found")
    ids: dict[str, _RunKey] = {}
    for rk in records:
        rid = run_id(rk.method, rk.policy)
        if rid in ids:
            raise InputError(None, None, None,
                             f"two configurations ({ids[rid].config}, {rk.config}) map to {rid}")
        ids[rid] = rk
    order = sorted(records, key=lambda rk: (list(METHODS).index(rk.method), rk.policy))
    return [_run(rk, sorted(records[rk]), side[rk], files) for rk in order]


def _run(
    rk: _RunKey, records: list[tuple[int, int, str]], side: dict[str, str],
    files: Mapping[str, Path],
) -> RunBundle:
    problems: dict[str, Problem] = {}
    samples: list[Sample] = []
    steps: list[StepScore] = []
    for q, r, key in records:
        rows = read_jsonl(Path(files[key]), key)
        if len(rows) != 1:
            raise InputError(key, rows[1][0] if len(rows) > 1 else None, None,
                             f"expected one record per file, got {len(rows)}")
        line, rec = rows[0]
        pid = str(q)
        problem = _problem(rec, pid, key, line)
        seen = problems.setdefault(pid, problem)
        if seen.question != problem.question:
            raise InputError(key, line, "question",
                             f"differs from the other records of question {q}")
        sample, scores = _sample(rec, pid, r, key, line, verifier=rk.prm.lower())
        samples.append(sample)
        steps.extend(scores)
    ds = get_dataset(DATASET_NAME)
    upstream: dict[str, Any] = {
        "repo": ds.repo,
        "commit": ds.commit,
        "directory": f"{ds.upstream_prefix}{rk.method}/{rk.policy}/{rk.prm}/{rk.config}",
        "is_correct": "upstream result.majority_vote (one path per record)",
        "output_tokens": "upstream completion_tokens: all tokens generated for the record",
    }
    sampler: dict[str, Any] = {"method": METHODS[rk.method], "config": rk.config}
    for name, key in sorted(side.items()):
        upstream[name] = read_json(Path(files[key]), key)
    config = upstream.get("config")
    if isinstance(config, dict):
        gen = config.get("gen_config")
        method_config = config.get("method_config")
        if isinstance(gen, dict):
            sampler.update({k: gen[k] for k in ("temperature", "top_p", "top_k",
                                                 "max_new_tokens") if k in gen})
        if isinstance(method_config, dict):
            sampler.update({k: method_config[k] for k in ("tree_max_width", "tree_max_depth")
                            if k in method_config})
    directory = f"{rk.method}/{rk.policy}/{rk.prm}/{rk.config}"
    run = Run(
        run_id=run_id(rk.method, rk.policy), dataset=DATASET, policy_model=rk.policy,
        source=f"{ds.repo_url}/{ds.upstream_prefix}{directory}",
        policy_params=POLICY_PARAMS.get(rk.policy),
        sampler=sampler,
        prompt=_prompt(config),
        meta={"licence": ds.licence, "citation": ds.citation,
              "verifier_params": {v: VERIFIER_PARAMS[v] for v in [rk.prm.lower()]
                                  if v in VERIFIER_PARAMS},
              "upstream": upstream},
    )
    return RunBundle(run=run, problems=list(problems.values()), samples=samples,
                     step_scores=steps).validate()


def _prompt(config: Any) -> str | None:
    if isinstance(config, dict) and isinstance(config.get("method_config"), dict):
        prompt = config["method_config"].get("cot_prompt")
        return prompt if isinstance(prompt, str) else None
    return None


def _problem(rec: Any, pid: str, key: str, line: int) -> Problem:
    solution = field(rec, "groundtruth", str, key, line)
    gold = extract_answer(solution)
    if gold is None:
        raise InputError(key, line, "groundtruth", "has no \\boxed{} final answer")
    return Problem(dataset=DATASET, problem_id=pid,
                   question=field(rec, "question", str, key, line), gold_answer=gold,
                   meta={"solution": solution}, origin=(key, line))


def _sample(
    rec: Any, pid: str, idx: int, key: str, line: int, *, verifier: str
) -> tuple[Sample, list[StepScore]]:
    result = field(rec, "result", dict, key, line)
    vote = field(result, "majority_vote", int, key, line, prefix="result.")
    if vote not in (0, 1):
        raise InputError(key, line, "result.majority_vote", f"expected 0 or 1, got {vote}")
    outputs = field(rec, "output", list, key, line)
    if len(outputs) != 1:
        raise InputError(key, line, "output",
                         f"expected one path (majority_vote then grades it), got {len(outputs)}")
    out = outputs[0]
    text = field(out, "text", str, key, line, prefix="output[0].")
    values = list_of(field(out, "value", list, key, line, prefix="output[0]."), float, key, line,
                     "output[0].value")
    n_steps = text.count(STEP_TAG)
    if len(values) != n_steps:
        raise InputError(key, line, "output[0].value",
                         f"has {len(values)} scores but the text has {n_steps} step tags")
    tokens = list_of(field(out, "token_history", list, key, line, prefix="output[0]."), int,
                     key, line, "output[0].token_history")
    step_tokens: list[int | None] = (
        list(tokens) if len(tokens) == n_steps else [None] * n_steps
    )
    answer = field(out, "extracted_answer", str, key, line, prefix="output[0].", optional=True)
    origin = (key, line)
    sample = Sample(
        problem_id=pid, sample_idx=idx, answer=answer, answer_key=answer_key(answer),
        is_correct=vote == 1,
        output_tokens=field(out, "completion_tokens", int, key, line, prefix="output[0]."),
        n_steps=n_steps, text=text, origin=origin,
    )
    scores = [
        StepScore(verifier=verifier, problem_id=pid, sample_idx=idx, step_idx=j, score=v,
                  step_tokens=t, origin=origin)
        for j, (v, t) in enumerate(zip(values, step_tokens, strict=True))
    ]
    return sample, scores


__all__ = ["read", "run_id", "VERIFIER", "STEP_TAG"]
