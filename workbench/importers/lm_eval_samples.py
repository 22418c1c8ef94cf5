"""lm-evaluation-harness `--log_samples` output (`samples_<task>_<time>.jsonl`) -> one run per task.

lm-eval (github.com/EleutherAI/lm-evaluation-harness) writes, with `--log_samples`, one JSON line
per document and filter. For a `generate_until` task with `repeats: k` each line holds the k
generations in `resps[0]`; every filter of the task (e.g. "take-first", "maj@k") repeats the
document on its own line with its own `filtered_resps` and metric values. Read here with the
standard library; lm-eval itself is not needed.

| line field | becomes |
|---|---|
| `doc_id` | `problem_id` (str) |
| `arguments.gen_args_0.arg_0` (prompt; a chat prompt's last user message) | `question` |
| `target` (str or number; the first of a list) | `gold_answer` |
| `resps[0][i]` | sample i's `text` (`sample_idx` = repeat index) |
| `arguments.gen_args_0.arg_1` and the repeat count | `Run.sampler` |
| `filter` and each metric value | `Problem.meta["lm_eval"][filter][metric]` |

Only the first line of a document gives samples (every filter's line holds the same `resps`).
`is_correct`: lm-eval scores a document once per filter, after the filter has reduced the
repeats (first answer, majority vote...), so it carries no verdict on each repeat: every repeat
is graded with math-verify against `target`. The one exception is a document with a single
response and a single filter: its 0/1 `exact_match` (or `acc`) is that sample's verdict.
`Run.meta["grading"]` counts both. The model name comes from a `results_*.json` beside the
file that lists the task (lm-eval writes it next to the samples), else "unknown".
Loglikelihood tasks (multiple choice) hold no generations and are refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.importers._common import check_type, field, read_jsonl
from workbench.importers._graded import Grading
from workbench.store.records import Problem, Run, RunBundle, Sample

FORMAT = "lm-eval-samples"
_NAME = re.compile(r"samples_(?P<task>.+?)(?:_\d{4}-\d\d-\d\dT[\d\-.:]+)?")
_VERDICT_METRICS = ("exact_match", "acc")


def looks_like_samples(row: Any) -> bool:
    """Whether a JSONL row is an lm-eval `--log_samples` line.

    >>> looks_like_samples({"doc_id": 0, "resps": [["4"]], "arguments": {}}), looks_like_samples({})
    (True, False)
    """
    return isinstance(row, dict) and all(k in row for k in ("doc_id", "resps", "arguments"))


def task_name(path: str | Path) -> str:
    """The task of a samples file, from lm-eval's file name `samples_<task>_<timestamp>.jsonl`.

    >>> task_name("out/samples_gsm8k_2026-12-03T07-15-38.225346.jsonl"), task_name("x.jsonl")
    ('gsm8k', 'x')
    """
    stem = Path(path).stem
    m = _NAME.fullmatch(stem)
    return m.group("task") if m else stem


def _model_name(path: Path, task: str) -> str:
    for results in sorted(path.parent.glob("results_*.json")):
        try:
            obj = json.loads(results.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(obj, dict) and task in (obj.get("results") or {}):
            config = obj.get("config") if isinstance(obj.get("config"), dict) else {}
            name = obj.get("model_name") or config.get("model_args") or config.get("model")
            if name:
                return str(name)
    return "unknown"


def _question(prompt: Any, file: str, line: int) -> str:
    if isinstance(prompt, list) and len(prompt) == 1:  # API models log the prompt in a list
        prompt = prompt[0]
    text = check_type(prompt, str, file, line, "arguments.gen_args_0.arg_0")
    if text.startswith("[{"):  # a chat prompt: lm-eval logs the message list as JSON
        try:
            messages = json.loads(text)
        except ValueError:
            return text
        users = [m.get("content") for m in messages
                 if isinstance(m, dict) and m.get("role") == "user"]
        if users and isinstance(users[-1], str):
            return users[-1]
    return text


def _gold(value: Any, file: str, line: int) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(file, line, "target", f"expected str or number, got {value!r:.40}")
    return str(value)


def read(
    path: str | Path,
    *,
    run_id: str | None = None,
    dataset: str | None = None,
    policy_model: str | None = None,
    policy_params: float | None = None,
) -> list[RunBundle]:
    """One run from an lm-eval samples file; see the module docstring.

    Errors name the file, the line and the field.
    """
    p = Path(path)
    file = str(p)
    task = task_name(p)
    dataset = dataset or f"lm-eval:{task}"
    grading = Grading(tool="lm-eval metric (single response, single filter)")
    lines: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for line, row in read_jsonl(p, file):
        if not looks_like_samples(row):
            missing = [k for k in ("doc_id", "resps", "arguments")
                       if not isinstance(row, dict) or k not in row]
            raise InputError(file, line, missing[0] if missing else None,
                             "is missing (not an lm-eval --log_samples line)")
        doc_id = row["doc_id"]
        if isinstance(doc_id, bool) or not isinstance(doc_id, int | str):
            raise InputError(file, line, "doc_id", f"expected int or str, got {doc_id!r:.40}")
        lines.setdefault(str(doc_id), []).append((line, row))
    problems: list[Problem] = []
    samples: list[Sample] = []
    gen_kwargs: Any = None
    repeats: set[int] = set()
    for pid, rows in lines.items():
        line, row = rows[0]
        args = field(row, "arguments", dict, file, line)
        gen = field(args, "gen_args_0", dict, file, line, prefix="arguments.")
        gen_kwargs = gen.get("arg_1") if gen_kwargs is None else gen_kwargs
        resps = field(row, "resps", list, file, line)
        if len(resps) != 1 or not isinstance(resps[0], list):
            raise InputError(file, line, "resps",
                             "expected one list of generations (a generate_until task)")
        texts = resps[0]
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(file, line, f"resps[0][{i}]",
                                 f"expected str, got {t!r:.40} (loglikelihood tasks hold no "
                                 "generations and cannot be imported)")
        repeats.add(len(texts))
        gold = _gold(row.get("target"), file, line)
        scores: dict[str, dict[str, Any]] = {}
        for _, r in rows:
            names = r.get("metrics") if isinstance(r.get("metrics"), list) else []
            scores[str(r.get("filter", "none"))] = {m: r.get(m) for m in names if m in r}
        problems.append(Problem(
            dataset=dataset, problem_id=pid, question=_question(gen.get("arg_0"), file, line),
            gold_answer=gold, meta={"lm_eval": scores}, origin=(file, line),
        ))
        verdict: bool | None = None
        if len(texts) == 1 and len(scores) == 1:
            [metrics] = scores.values()
            value = next((metrics[m] for m in _VERDICT_METRICS if m in metrics), None)
            if value in (0, 1) and not isinstance(value, bool):
                verdict = bool(value)
        filtered = row.get("filtered_resps")
        tool_answer = filtered[0] if (len(texts) == 1 and isinstance(filtered, list)
                                      and filtered and isinstance(filtered[0], str)) else None
        samples.extend(
            grading.sample(pid, i, text, gold=gold, tool_correct=verdict,
                           tool_answer=tool_answer, origin=(file, line))
            for i, text in enumerate(texts)
        )
    sampler: dict[str, Any] = {"repeats": sorted(repeats)[0] if len(repeats) == 1
                               else sorted(repeats)}
    if isinstance(gen_kwargs, dict):
        sampler.update(gen_kwargs)
    run = Run(
        run_id=run_id or f"lm-eval/{task}", dataset=dataset,
        policy_model=policy_model or _model_name(p, task), source=file,
        policy_params=policy_params, sampler=sampler,
        meta={"upstream": {"format": "lm-eval --log_samples", "file": file, "task": task},
              "grading": grading.summary()},
    )
    return [RunBundle(run=run, problems=problems, samples=samples).validate()]


__all__ = ["FORMAT", "looks_like_samples", "read", "task_name"]
