"""OpenAI-compatible outputs (Batch API output lines, or plain chat.completion objects) -> one run.

What vLLM, llama.cpp, SGLang and the OpenAI API return for a chat (or text) completion with
`n` choices, saved one JSON object per line, in either of two shapes:

- Batch output lines (OpenAI Batch API, vLLM `run_batch`): ``{"custom_id": ..., "response":
  {"status_code": 200, "body": <chat.completion>}, "error": null}``. The problem is `custom_id`.
- Plain completion objects (``{"id": ..., "object": "chat.completion", "choices": [...]}``, as
  the `openai` client's `model_dump()` writes them). The problem is the object's `id`, unless a
  problems file maps ids to problems (below).

Several lines (requests) of the same problem add samples: servers that ignore `n` (llama.cpp)
give several samples by repeated requests. Every choice is one sample, in line then choice
order: `text` = `choices[j].message.content` (or `.text` for text completions), `output_tokens`
= `usage.completion_tokens` when the reply has one choice (with n > 1 the total cannot be
split, so it goes to `Problem.meta["completion_tokens"]`), `prompt_tokens` =
`usage.prompt_tokens`. Batch lines with an error or a non-200 status are left out and counted in
`Run.meta["skipped_failed_requests"]`.

The outputs hold no question and no gold answer. A `problems.jsonl` beside them (or given as
`problems=`) supplies them, one JSON object per problem: `problem_id` (required), `question`,
`gold_answer`, and `completion_ids` (the plain objects' `id`s that answer it). `is_correct` =
math-verify against `gold_answer` (the outputs carry no verdict), None without one.

>>> looks_like_output({"custom_id": "q1", "response": {"body": {}}}), looks_like_output({})
(True, False)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.importers._common import check_type, field, list_of, read_jsonl
from workbench.importers._graded import Grading
from workbench.store.records import Problem, Run, RunBundle, Sample

FORMAT = "openai-outputs"
PROBLEMS_FILE = "problems.jsonl"


def looks_like_output(row: Any) -> bool:
    """Whether a JSONL row is a Batch output line or a plain completion object."""
    if not isinstance(row, dict):
        return False
    if "custom_id" in row and "response" in row:
        return True
    return isinstance(row.get("choices"), list) and str(row.get("object", "")).endswith(
        "completion")


def _read_problems(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """problem_id -> {question, gold_answer, origin} and completion id -> problem_id."""
    file = str(path)
    problems: dict[str, dict[str, Any]] = {}
    by_completion: dict[str, str] = {}
    for line, row in read_jsonl(path, file):
        pid = field(row, "problem_id", str, file, line)
        if pid in problems:
            raise InputError(file, line, "problem_id", f"duplicate problem {pid!r}")
        problems[pid] = {
            "question": field(row, "question", str, file, line, optional=True),
            "gold_answer": field(row, "gold_answer", str, file, line, optional=True),
            "origin": (file, line),
        }
        ids = row.get("completion_ids")
        for cid in list_of(ids, str, file, line, "completion_ids") if ids is not None else []:
            if cid in by_completion:
                raise InputError(file, line, "completion_ids",
                                 f"completion {cid!r} is also listed for problem "
                                 f"{by_completion[cid]!r}")
            by_completion[cid] = pid
    return problems, by_completion


def _body(row: dict[str, Any], file: str, line: int) -> tuple[str | None, dict[str, Any] | None]:
    """(problem key, completion body) of a line; body None for a failed batch request."""
    if "custom_id" in row:
        key = field(row, "custom_id", str, file, line)
        response = row.get("response")
        if row.get("error") or not isinstance(response, dict) \
                or response.get("status_code", 200) != 200:
            return key, None
        return key, field(response, "body", dict, file, line, prefix="response.")
    return field(row, "id", str, file, line), row


def read(
    paths: list[Path],
    *,
    problems: str | Path | None = None,
    run_id: str | None = None,
    dataset: str | None = None,
    policy_params: float | None = None,
) -> list[RunBundle]:
    """One run from OpenAI-compatible output files (several files = parts of one run).

    `problems` defaults to a `problems.jsonl` in the first file's folder, when there is one.
    `run_id` defaults to the file's stem (one file) or its folder's name. Errors name the file,
    the line and the field (e.g. `response.body.choices[2].message.content`).
    """
    if not paths:
        raise InputError(None, None, None, "no OpenAI output files given")
    paths = sorted(Path(p) for p in paths)
    sidecar = Path(problems) if problems is not None else paths[0].parent / PROBLEMS_FILE
    known, by_completion = _read_problems(sidecar) if sidecar.is_file() else ({}, {})
    if run_id is None:
        run_id = paths[0].stem if len(paths) == 1 else paths[0].parent.name
    dataset = dataset or run_id
    grading = Grading(tool="none")
    order: list[str] = []
    origins: dict[str, tuple[str, int, str]] = {}
    n_samples: dict[str, int] = {}
    samples: list[Sample] = []
    split_tokens: dict[str, int] = {}
    models: list[str] = []
    max_n = 0
    skipped = 0
    for path in paths:
        file = str(path)
        for line, row in read_jsonl(path, file):
            if not looks_like_output(row):
                raise InputError(file, line, "choices",
                                 "is missing: not a Batch output line (custom_id, response) "
                                 "or a chat.completion object")
            key, body = _body(row, file, line)
            if body is None:
                skipped += 1
                continue
            assert key is not None
            prefix = "response.body." if "custom_id" in row else ""
            pid = by_completion.get(key, key)
            if pid not in origins:
                order.append(pid)
                origins[pid] = (file, line, "custom_id" if "custom_id" in row else "id")
            choices = field(body, "choices", list, file, line, prefix=prefix)
            usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
            out_tokens = usage.get("completion_tokens")
            in_tokens = usage.get("prompt_tokens")
            if isinstance(body.get("model"), str) and body["model"] not in models:
                models.append(body["model"])
            max_n = max(max_n, len(choices))
            if len(choices) > 1 and isinstance(out_tokens, int):
                split_tokens[pid] = split_tokens.get(pid, 0) + out_tokens
            gold = known.get(pid, {}).get("gold_answer")
            start = n_samples.get(pid, 0)
            n_samples[pid] = start + len(choices)
            for j, choice in enumerate(choices):
                name = f"{prefix}choices[{j}]"
                if not isinstance(choice, dict):
                    raise InputError(file, line, name, "is not a JSON object")
                if "message" in choice:
                    msg = field(choice, "message", dict, file, line, prefix=f"{name}.")
                    content = msg.get("content")
                    text = None if content is None else check_type(
                        content, str, file, line, f"{name}.message.content")
                else:
                    text = field(choice, "text", str, file, line, prefix=f"{name}.")
                samples.append(grading.sample(
                    pid, start + j, text, gold=gold, tool_correct=None,
                    output_tokens=out_tokens if len(choices) == 1
                    and isinstance(out_tokens, int) else None,
                    prompt_tokens=in_tokens if isinstance(in_tokens, int) else None,
                    origin=(file, line),
                ))
    if not samples:
        raise InputError(str(paths[0]), None, None, "holds no successful completions")
    unknown = [p for p in order if known and p not in known]
    if unknown:
        file, line, key_field = origins[unknown[0]]
        raise InputError(file, line, key_field, f"{unknown[0]!r} is not a problem of {sidecar}")
    problem_rows = []
    for pid in order:
        info = known.get(pid, {})
        meta = {"completion_tokens": split_tokens[pid]} if pid in split_tokens else None
        problem_rows.append(Problem(
            dataset=dataset, problem_id=pid, question=info.get("question"),
            gold_answer=info.get("gold_answer"), meta=meta,
            origin=info.get("origin", origins[pid][:2]),
        ))
    meta: dict[str, Any] = {
        "upstream": {"format": "OpenAI-compatible outputs", "files": [str(p) for p in paths],
                     "problems_file": str(sidecar) if known else None},
        "grading": grading.summary(),
    }
    if skipped:
        meta["skipped_failed_requests"] = skipped
    run = Run(
        run_id=run_id, dataset=dataset, policy_model=", ".join(models) or "unknown",
        source=", ".join(str(p) for p in paths), policy_params=policy_params,
        sampler={"n": max_n}, meta=meta,
    )
    return [RunBundle(run=run, problems=problem_rows, samples=samples).validate()]


__all__ = ["FORMAT", "PROBLEMS_FILE", "looks_like_output", "read"]
