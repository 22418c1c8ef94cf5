"""Rows in HuggingFace search-and-learn's output format (JSONL or Parquet) -> one run.

search-and-learn (github.com/huggingface/search-and-learn) writes one row per problem, as JSONL
or as a Hub dataset (Parquet). The columns this importer reads:

| column | required | meaning |
|---|---|---|
| `problem` | yes | the question text |
| `answer` | yes | the gold final answer (LaTeX) |
| `completions` | yes | list of N completion texts |
| `scores` | no | per completion, the list of per-step verifier (PRM) scores |
| `completion_tokens` | no | list of N token counts, or one int for the whole row |
| `unique_id` | no | problem id (MATH-500's "test/algebra/1004.json"); else the row index |
| `level`, `subject` | no | MATH metadata ("Level 3" and 3 both become "3") |

Other columns (`pred`, `agg_scores`, `pred_weighted@4`, ...) are ignored: the workbench
recomputes every selection rule itself.

Mapping: sample i of a row has ``text`` = `completions[i]`, ``answer`` =
`grading.extract_answer(text)` (last `\\\\boxed{}` etc.), ``answer_key`` = its `answer_key`,
``is_correct`` = `grading.is_equivalent(answer, gold)` (False without an answer),
``output_tokens`` = `completion_tokens[i]` (a per-row int cannot be attributed to
completions: samples get None and the totals go to `Run.meta["row_completion_tokens"]`;
negative values mean unknown),
``n_steps`` = `len(scores[i])`; step j's score goes to `step_scores` under the verifier name
given (default "prm"), without step tokens.

The problems' dataset is `dataset` when given; else "math500" when every row has a MATH-500
style `unique_id`, else the run id (so foreign problem ids never collide with another dataset).

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "bon.jsonl"
>>> row = {"problem": "1+1?", "answer": "2", "completions": ["so \\\\boxed{2}", "\\\\boxed{3}"],
...        "scores": [[0.9, 0.8], [0.4]], "completion_tokens": [12, 7]}
>>> _ = path.write_text(json.dumps(row) + "\\n")
>>> [bundle] = read({"bon.jsonl": path})
>>> [(s.answer, s.is_correct, s.n_steps) for s in bundle.samples], bundle.run.run_id
([('2', True, 2), ('3', False, 1)], 'bon')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.grading import answer_key, extract_answer, is_equivalent
from workbench.importers._common import check_type, field, list_of, read_jsonl
from workbench.importers.qwen25_math import level_digit
from workbench.store.records import Problem, Run, RunBundle, Sample, StepScore

FORMAT = "search-and-learn"
REQUIRED_COLUMNS = ("problem", "answer", "completions")
_MATH500_UID = re.compile(r"test/[a-z_]+/\d+\.json")


def read_rows(path: Path, file: str) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a JSONL or Parquet file as (1-based line or row number, row)."""
    if Path(path).suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(str(path))
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(file, None, None, f"unreadable Parquet: {exc}") from exc
        return list(enumerate(table.to_pylist(), start=1))
    return read_jsonl(Path(path), file)


def looks_like_rows(row: Any) -> bool:
    """Whether a row has the columns of a search-and-learn output row.

    >>> looks_like_rows({"problem": "?", "answer": "1", "completions": []}), looks_like_rows({})
    (True, False)
    """
    return isinstance(row, dict) and all(c in row for c in REQUIRED_COLUMNS)


def read(
    files: Mapping[str, Path],
    *,
    verifier: str = "prm",
    run_id: str | None = None,
    dataset: str | None = None,
    policy_model: str = "unknown",
    policy_params: float | None = None,
) -> list[RunBundle]:
    """One run from search-and-learn rows in `files` (several files = shards of one run).

    `run_id` defaults to the file's stem (required with several files). Errors name the file,
    the line (JSONL) or row (Parquet, 1-based) and the column. See the module docstring.
    """
    if not files:
        raise InputError(None, None, None, "no search-and-learn files given")
    keys = sorted(files)
    if run_id is None:
        if len(keys) > 1:
            raise ValueError("`run_id` is required when several files form one run")
        run_id = Path(keys[0]).stem
    problems: list[Problem] = []
    samples: list[Sample] = []
    steps: list[StepScore] = []
    row_tokens: dict[str, int] = {}
    rows = [(key, line, row) for key in keys for line, row in read_rows(files[key], key)]
    if not rows:
        raise InputError(keys[0], None, None, "holds no rows")
    uids = [row.get("unique_id") if isinstance(row, dict) else None for _, _, row in rows]
    if dataset is None:
        math500 = all(isinstance(u, str) and _MATH500_UID.fullmatch(u) for u in uids)
        dataset = "math500" if math500 else run_id
    for index, (key, line, row) in enumerate(rows):
        uid = field(row, "unique_id", str, key, line, optional=True)
        pid = uid if uid is not None else str(index)
        gold = field(row, "answer", str, key, line)
        level = row.get("level") if isinstance(row, dict) else None
        if level is not None and (isinstance(level, bool) or not isinstance(level, str | int)):
            raise InputError(key, line, "level", f"expected str or int, got {level!r:.40}")
        origin = (key, line)
        problems.append(Problem(
            dataset=dataset, problem_id=pid, question=field(row, "problem", str, key, line),
            gold_answer=gold, subject=field(row, "subject", str, key, line, optional=True),
            level=level_digit(level), origin=origin,
        ))
        texts = list_of(field(row, "completions", list, key, line), str, key, line,
                        "completions")
        scores = _scores(row, len(texts), key, line)
        tokens = _tokens(row, len(texts), key, line)
        if isinstance(tokens, int):
            if tokens >= 0:
                row_tokens[pid] = tokens
            tokens = None
        for i, text in enumerate(texts):
            answer = extract_answer(text)
            samples.append(Sample(
                problem_id=pid, sample_idx=i, answer=answer, answer_key=answer_key(answer),
                is_correct=is_equivalent(answer, gold),
                output_tokens=None if tokens is None or tokens[i] < 0 else tokens[i],
                n_steps=None if scores is None else len(scores[i]), text=text, origin=origin,
            ))
            if scores is not None:
                steps.extend(
                    StepScore(verifier=verifier, problem_id=pid, sample_idx=i, step_idx=j,
                              score=v, origin=origin)
                    for j, v in enumerate(scores[i])
                )
    meta: dict[str, Any] = {"upstream": {"format": FORMAT, "files": keys}}
    if row_tokens:
        meta["row_completion_tokens"] = row_tokens
    run = Run(
        run_id=run_id, dataset=dataset, policy_model=policy_model, policy_params=policy_params,
        source=", ".join(str(files[k]) for k in keys), meta=meta,
    )
    return [RunBundle(run=run, problems=problems, samples=samples, step_scores=steps).validate()]


def _scores(row: Any, n: int, key: str, line: int) -> list[list[float]] | None:
    raw = field(row, "scores", list, key, line, optional=True)
    if raw is None:
        return None
    if len(raw) != n:
        raise InputError(key, line, "scores",
                         f"has {len(raw)} entries but `completions` has {n}")
    return [list_of(s, float, key, line, f"scores[{i}]") for i, s in enumerate(raw)]


def _tokens(row: Any, n: int, key: str, line: int) -> list[int] | int | None:
    raw = row.get("completion_tokens") if isinstance(row, dict) else None
    if raw is None:
        return None
    if isinstance(raw, list):
        tokens = list_of(raw, int, key, line, "completion_tokens")
        if len(tokens) != n:
            raise InputError(key, line, "completion_tokens",
                             f"has {len(tokens)} entries but `completions` has {n}")
        return tokens
    return check_type(raw, int, key, line, "completion_tokens")


__all__ = ["FORMAT", "REQUIRED_COLUMNS", "looks_like_rows", "read", "read_rows"]
