"""Qwen2.5-Math reward-model example (100 MATH problems x 8 samples) -> one run.

Source: QwenLM/Qwen2.5-Math, ``evaluation/data/eval_rm_maj_example/math_cot_100.jsonl`` (MIT;
Yang et al. 2024), registered as dataset ``qwen25-math-rm``. One JSON line per problem:

* Problem (dataset "math"): ``problem_id`` = str(`idx`), ``question`` = `question`,
  ``gold_answer`` = `gt`, ``level`` = the digit of `level` ("Level 3" -> "3"); ``subject`` is
  not in the file (None). `Problem.meta` keeps the upstream `answer` spelling (e.g.
  "\\\\dfrac{1}{9}" where `gt` is "\\\\frac{1}{9}").
* Sample i (8 per problem, temperature 0.7, top-p 0.8): ``text`` = `response[i]`, ``answer`` =
  `pred[i]` (upstream extraction), ``answer_key`` = `grading.answer_key(pred[i])`,
  ``is_correct`` = upstream `score[i]` (728 of 800 true). Token counts are not in the file.
  The run's `prompt` is the file's `system` prompt.
* Outcome score: `pred_score[i][0]` under verifier "qwen2.5-math-rm-72b" (the upstream README
  pairs the example with Qwen2.5-Math-RM-72B).

The file does not name the policy's size; the run records it as Qwen2.5-Math-7B-Instruct
(the project's fixed run table) and says so in `Run.meta["upstream"]["policy_note"]`.

>>> from workbench.sources import get_dataset
>>> [bundle] = read(get_dataset("qwen25-math-rm").files())
>>> len(bundle.problems), len(bundle.samples), sum(s.is_correct for s in bundle.samples)
(100, 800, 728)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.grading import answer_key
from workbench.importers._common import field, list_of, read_jsonl, require_file
from workbench.sources import get_dataset
from workbench.store.records import OutcomeScore, Problem, Run, RunBundle, Sample

FILE = "math_cot_100.jsonl"
DATASET_NAME = "qwen25-math-rm"
RUN_ID = "qwen25-math-rm/math-cot-100"
DATASET = "math"
POLICY = "Qwen2.5-Math-7B-Instruct"
POLICY_PARAMS = 7.6e9
VERIFIER = "qwen2.5-math-rm-72b"
VERIFIER_PARAMS = 72.7e9


def level_digit(level: str | int | None) -> str | None:
    """MATH difficulty as a digit string: "Level 3" -> "3", 3 -> "3"; other text unchanged.

    >>> level_digit("Level 5"), level_digit(2), level_digit("Level ?"), level_digit(None)
    ('5', '2', 'Level ?', None)
    """
    if level is None:
        return None
    m = re.fullmatch(r"\s*(?:Level\s*)?(\d+)\s*", str(level))
    return m.group(1) if m else str(level)


def read(files: Mapping[str, Path]) -> list[RunBundle]:
    """The run `qwen25-math-rm/math-cot-100` from `math_cot_100.jsonl` among `files`.

    Other files (LICENSE) are ignored. Errors name the file, the JSONL line and the field.
    See the module docstring for the mapping and an example.
    """
    key = next((k for k in files if Path(k).name == FILE), FILE)
    path = require_file(files, key)
    ds = get_dataset(DATASET_NAME)
    problems: list[Problem] = []
    samples: list[Sample] = []
    scores: list[OutcomeScore] = []
    n_samples: int | None = None
    prompt: str | None = None
    for line, row in read_jsonl(path, key):
        pid = str(field(row, "idx", int, key, line))
        origin = (key, line)
        prompt = prompt or field(row, "system", str, key, line, optional=True)
        problems.append(Problem(
            dataset=DATASET, problem_id=pid,
            question=field(row, "question", str, key, line),
            gold_answer=field(row, "gt", str, key, line),
            level=level_digit(field(row, "level", str, key, line, optional=True)),
            meta={"answer": field(row, "answer", str, key, line, optional=True)},
            origin=origin,
        ))
        texts = list_of(field(row, "response", list, key, line), str, key, line, "response")
        preds = list_of(field(row, "pred", list, key, line), str, key, line, "pred")
        flags = list_of(field(row, "score", list, key, line), bool, key, line, "score")
        rm = list_of(field(row, "pred_score", list, key, line), list, key, line, "pred_score")
        n = len(texts)
        for name, values in (("pred", preds), ("score", flags), ("pred_score", rm)):
            if len(values) != n:
                raise InputError(key, line, name,
                                 f"has {len(values)} entries but `response` has {n}")
        if n_samples is not None and n != n_samples:
            raise InputError(key, line, "response",
                             f"has {n} samples, earlier problems have {n_samples}")
        n_samples = n
        for i in range(n):
            score = list_of(rm[i], float, key, line, f"pred_score[{i}]")
            if len(score) != 1:
                raise InputError(key, line, f"pred_score[{i}]",
                                 f"expected one reward score, got {len(score)}")
            samples.append(Sample(
                problem_id=pid, sample_idx=i, answer=preds[i], answer_key=answer_key(preds[i]),
                is_correct=flags[i], text=texts[i], origin=origin,
            ))
            scores.append(OutcomeScore(verifier=VERIFIER, problem_id=pid, sample_idx=i,
                                       score=score[0], origin=origin))
    run = Run(
        run_id=RUN_ID, dataset=DATASET, policy_model=POLICY, source=ds.url(key),
        policy_params=POLICY_PARAMS,
        sampler={"temperature": 0.7, "top_p": 0.8, "n_samples": n_samples},
        prompt=prompt,
        meta=_meta(ds),
    )
    return [RunBundle(run=run, problems=problems, samples=samples,
                      outcome_scores=scores).validate()]


def _meta(ds: Any) -> dict[str, Any]:
    return {
        "licence": ds.licence,
        "citation": ds.citation,
        "verifier_params": {VERIFIER: VERIFIER_PARAMS},
        "upstream": {
            "repo": ds.repo, "commit": ds.commit, "file": ds.upstream_path(FILE),
            "is_correct": "upstream per-sample `score` (Qwen2.5-Math's grader)",
            "answer": "upstream `pred`",
            "policy_note": "the file does not name the policy size; the project's run table "
                           "assigns Qwen2.5-Math-7B-Instruct",
        },
    }


__all__ = ["read", "level_digit", "RUN_ID", "VERIFIER"]
