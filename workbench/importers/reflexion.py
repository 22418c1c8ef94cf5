"""Reflexion HumanEval logs (GPT-4, Python, 164 problems) -> a revision-chain run and a
one-attempt run.

Source: noahshinn/reflexion @ 218cf0e, programming_runs/root/ (MIT; Shinn et al. 2023). Both
files are JSONL, one HumanEval problem per line with `task_id`, `prompt`, `entry_point`,
`canonical_solution`, `test`, `solution` and `is_solved`; errors name the JSONL line.

``simple_humaneval_py_gpt4.jsonl`` -> ``reflexion/humaneval-gpt-4-simple``: one sample per
problem, `is_correct` = `is_solved`, text = `solution` (the whole function, prompt included).

``reflexion_humaneval_py_gpt4.jsonl`` -> ``reflexion/humaneval-gpt-4-reflexion``: one revision
chain per problem (`chain_id` = the problem's 0-based position in the file, = N of
"HumanEval/N"), one sample per attempt with `sample_idx` = `revision_idx` = the attempt index.
The records add only `reflections` (the self-reflection texts) to the fields above. The loop
that wrote them (`run_reflexion` of that version, pass_at_k = 1) is:

1. attempt 0 is generated and run against the REAL HumanEval tests; if it passes, the chain
   stops there (solved, no reflection);
2. otherwise, for iteration j = 1, 2, ...: write reflection j, generate attempt j, and run it
   against the model's OWN internal unit tests. If those pass, or j is the last iteration
   (max_iters - 1), attempt j is run against the real tests, `is_solved` records the outcome,
   and the chain stops. Otherwise the next iteration starts.

So with k = len(reflections) a chain has k + 1 attempts, and:

* attempt 0: `is_correct` = `is_solved` when k = 0, else False (it failed the real tests);
* attempts 1 .. k-1: `is_correct` = None: they failed the internal tests, the real tests were
  never run on them, so their correctness is NOT recoverable (they may have been right);
* attempt k (k > 0): `is_correct` = `is_solved`.

A chain therefore never continues after a recorded success. Texts: only a solved chain's final
attempt is logged (`solution`, the function BODY without the prompt); an unsolved chain logs
`solution` = "" and every earlier attempt's code is lost, so those texts are None. The
reflections are kept in ``Run.meta["reflections"]`` ({task_id: [text, ...]}); reflection j
was written after attempt j-1 and before attempt j. Token counts are not logged (None).
max_iters is not logged either; it is 10 here: 20 chains stop at exactly 9 reflections, 12 of
them unsolved, and none goes further (``Run.sampler["max_iters"]``, marked as inferred).

Records with `implementations` / `test_feedback` come from a later Reflexion version whose
loop checks attempt 0 against the internal tests instead; they are refused rather than
misread.

>>> from workbench.sources import get_dataset
>>> runs = {b.run.run_id: b for b in read(get_dataset("reflexion").files())}
>>> sum(s.is_correct is True for s in runs["reflexion/humaneval-gpt-4-reflexion"].samples)
150
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.importers._common import field, list_of, provenance, read_jsonl, source_url
from workbench.store.records import Problem, Run, RunBundle, Sample

SOURCE = "reflexion"
REFLEXION_FILE = "reflexion_humaneval_py_gpt4.jsonl"
SIMPLE_FILE = "simple_humaneval_py_gpt4.jsonl"
DATASET = "humaneval"
POLICY = "gpt-4"
INFERRED_MAX_ITERS = 10
"""Reflexion's `max_iters` for this log (not logged; inferred, see the module docstring)."""


def read(files: Mapping[str, Path]) -> list[RunBundle]:
    """The Reflexion HumanEval runs among `files` (dataset-relative names): reflexion chains
    first, then the simple run (those present). Other files are ignored; at least one log
    must be present. See the module docstring for how attempts are reconstructed.
    """
    by_name = {Path(key).name: (key, Path(path)) for key, path in files.items()}
    if REFLEXION_FILE not in by_name and SIMPLE_FILE not in by_name:
        raise InputError(", ".join(sorted(files)) or None, None, None,
                         f"neither {REFLEXION_FILE} nor {SIMPLE_FILE} is present")
    out = []
    if REFLEXION_FILE in by_name:
        key, path = by_name[REFLEXION_FILE]
        out.append(_reflexion_run(read_jsonl(path, key), key))
    if SIMPLE_FILE in by_name:
        key, path = by_name[SIMPLE_FILE]
        out.append(_simple_run(read_jsonl(path, key), key))
    return [b.validate() for b in out]


def _problem(rec: Any, file: str, line: int, seen: set[str]) -> Problem:
    """The HumanEval problem of a record (prompt, canonical solution, entry point, tests)."""
    task_id = field(rec, "task_id", str, file, line)
    if task_id in seen:
        raise InputError(file, line, "task_id", f"duplicate problem {task_id!r}")
    seen.add(task_id)
    if "implementations" in rec or "test_feedback" in rec:
        raise InputError(file, line, "implementations",
                         "this is a later Reflexion log format (attempt 0 checked against "
                         "internal tests); only the 218cf0e format is supported")
    return Problem(
        DATASET, task_id,
        question=field(rec, "prompt", str, file, line),
        gold_answer=field(rec, "canonical_solution", str, file, line),
        meta={"entry_point": field(rec, "entry_point", str, file, line),
              "test": field(rec, "test", str, file, line)},
        origin=(file, line),
    )


def _run(run_id: str, file: str, sampler: dict[str, Any], **meta: Any) -> Run:
    return Run(
        run_id=run_id, dataset=DATASET, policy_model=POLICY, source=source_url(SOURCE, file),
        policy_params=None, sampler=sampler,
        meta={**provenance(SOURCE, file), "correctness": "HumanEval tests (upstream is_solved)",
              **meta},
    )


def _simple_run(rows: list[tuple[int, Any]], file: str) -> RunBundle:
    problems, samples = [], []
    seen: set[str] = set()
    for line, rec in rows:
        problem = _problem(rec, file, line, seen)
        problems.append(problem)
        solution = field(rec, "solution", str, file, line)
        samples.append(Sample(
            problem_id=problem.problem_id, sample_idx=0,
            is_correct=field(rec, "is_solved", bool, file, line),
            text=solution or None, origin=(file, line),
        ))
    run = _run(f"{SOURCE}/{DATASET}-{POLICY}-simple", file,
               {"strategy": "simple", "pass_at_k": 1})
    return RunBundle(run=run, problems=problems, samples=samples)


def _reflexion_run(rows: list[tuple[int, Any]], file: str) -> RunBundle:
    problems, samples = [], []
    reflections_by_task: dict[str, list[str]] = {}
    seen: set[str] = set()
    max_reflections = 0
    for chain_id, (line, rec) in enumerate(rows):
        problem = _problem(rec, file, line, seen)
        problems.append(problem)
        pid = problem.problem_id
        solved = field(rec, "is_solved", bool, file, line)
        solution = field(rec, "solution", str, file, line)
        reflections = list_of(field(rec, "reflections", list, file, line), str, file, line,
                              "reflections")
        k = len(reflections)
        max_reflections = max(max_reflections, k)
        if k >= INFERRED_MAX_ITERS:
            raise InputError(file, line, "reflections",
                             f"{k} reflections: more than max_iters - 1 = "
                             f"{INFERRED_MAX_ITERS - 1} (another Reflexion configuration?)")
        if reflections:
            reflections_by_task[pid] = reflections
        for j in range(k + 1):
            if j == k:
                correct: bool | None = solved
                text = solution or None
            else:
                correct = False if j == 0 else None
                text = None
            samples.append(Sample(
                problem_id=pid, sample_idx=j, is_correct=correct, text=text,
                chain_id=chain_id, revision_idx=j, origin=(file, line),
            ))
    run = _run(
        f"{SOURCE}/{DATASET}-{POLICY}-reflexion", file,
        {"strategy": "reflexion", "pass_at_k": 1, "max_iters": INFERRED_MAX_ITERS,
         "max_iters_inferred": True},
        attempts=("attempt 0 and the last attempt are graded by the real tests; middle "
                  "attempts failed the model's internal tests and are ungraded (None)"),
        max_reflections_seen=max_reflections,
        reflections=reflections_by_task,
    )
    return RunBundle(run=run, problems=problems, samples=samples)


__all__ = ["REFLEXION_FILE", "SIMPLE_FILE", "read"]
