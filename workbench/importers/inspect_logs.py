"""inspect_ai evaluation logs (`.eval` or `.json` log format) -> one run per log.

inspect_ai (github.com/UKGovernmentBEIS/inspect_ai) writes one log per task: a `.eval` file
(a zip archive whose members `header.json` and `samples/<id>_epoch_<k>.json` are compressed
with zstd or deflate) or one `.json` document with the same fields. It is read here with the
standard library and pyarrow's zstd codec; inspect_ai itself is not needed.

What is read:

| log field | becomes |
|---|---|
| `eval.task`, `eval.dataset.name` | run id (default `inspect/<task>`), dataset `inspect:<name>` |
| `eval.model`, `eval.model_generate_config` | `Run.policy_model`, `Run.sampler` |
| sample `id` | `problem_id` (str) |
| sample `input` (text, or the last user message) | `question` |
| sample `target` (str, or the first of a list) | `gold_answer` |
| sample `epoch`, `output.choices[j]` | one sample per epoch and choice, `sample_idx` in order |
| `output.choices[j].message.content` | `text` (text parts joined; `attachment://` resolved) |
| `output.usage.output_tokens` | `output_tokens` (outputs with one choice) |
| `output.usage.input_tokens` | `prompt_tokens` |
| `scores[<scorer>].value` | `is_correct` (see below), `.answer` as a fallback answer |

Mapping of the scorer's value to `is_correct` (the first scorer of the log, or `scorer=`):
"C" (correct) and True and 1 -> True; "I" (incorrect), "N" (no answer), False and 0 -> False;
anything else ("P" partial credit, other numbers, dict values) carries no verdict, and the
sample is graded with math-verify against the target. A scorer judges `output.completion`,
i.e. choice 0; further choices are graded with math-verify. `Run.meta["grading"]` counts the
samples graded each way and how often the scorer agrees with math-verify.
Samples that ended in an error (no output) are left out and counted in
`Run.meta["skipped_error_samples"]`.

>>> [b] = read_log("tests/data/inspect_ai/arith.eval")  # doctest: +SKIP
>>> b.run.run_id, len(b.problems), len(b.samples)  # doctest: +SKIP
('inspect/arith', 4, 12)
"""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.importers._common import _loads, check_type, field, read_json
from workbench.importers._graded import Grading
from workbench.store.records import Problem, Run, RunBundle, Sample

FORMATS = ("inspect-eval", "inspect-json")
_ZSTD = 93  # zip compression method id of zstd (APPNOTE 4.4.5); the stdlib cannot read it
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_SAMPLE_MEMBER = re.compile(r"samples/.+\.json")


def looks_like_log(obj: Any) -> bool:
    """Whether a parsed JSON document is an inspect_ai log (`.json` log format).

    >>> looks_like_log({"version": 2, "eval": {"task": "t"}, "samples": []}), looks_like_log({})
    (True, False)
    """
    return isinstance(obj, dict) and isinstance(obj.get("eval"), dict) and "version" in obj


def _member(path: Path, file: str, archive: zipfile.ZipFile, name: str) -> Any:
    """One JSON member of a `.eval` archive (zstd members decompressed with pyarrow)."""
    info = archive.getinfo(name)
    where = f"{file}!{name}"
    if info.compress_type != _ZSTD:
        try:
            raw = archive.read(name)
        except (zipfile.BadZipFile, NotImplementedError, OSError) as exc:
            raise InputError(where, None, None, f"unreadable archive member: {exc}") from exc
    else:
        import pyarrow as pa

        with open(path, "rb") as fh:
            fh.seek(info.header_offset)
            head = fh.read(_LOCAL_HEADER.size)
            if len(head) < _LOCAL_HEADER.size or head[:4] != b"PK\x03\x04":
                raise InputError(where, None, None, "corrupt zip entry (bad local header)")
            name_len, extra_len = _LOCAL_HEADER.unpack(head)[-2:]
            fh.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
            data = fh.read(info.compress_size)
        try:
            raw = pa.Codec("zstd").decompress(data, decompressed_size=info.file_size).to_pybytes()
        except (pa.ArrowException, OSError) as exc:
            raise InputError(where, None, None, f"corrupt zstd data: {exc}") from exc
    try:
        return _loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(where, None, None, f"malformed JSON: {exc}") from exc


def _read_eval_archive(path: Path, file: str) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """(header, [(member name, sample)]) of a `.eval` file."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(file, None, None, f"not an inspect_ai .eval archive: {exc}") from exc
    with archive:
        names = archive.namelist()
        header_name = "header.json" if "header.json" in names else "_journal/start.json"
        if header_name not in names:
            raise InputError(file, None, None,
                             "not an inspect_ai .eval archive (no header.json)")
        header = _member(path, file, archive, header_name)
        samples = [(n, _member(path, file, archive, n))
                   for n in names if _SAMPLE_MEMBER.fullmatch(n)]
    return header, samples


def _text(content: Any, attachments: dict[str, Any], where: str, line: int | None,
          name: str) -> str | None:
    """Message content as text: a string, or the text parts of a content list joined."""
    if content is None:
        return None
    if isinstance(content, list):
        parts = [c.get("text") for c in content
                 if isinstance(c, dict) and c.get("type") == "text"]
        content = "".join(p for p in parts if isinstance(p, str))
    text = check_type(content, str, where, line, name)
    if text.startswith("attachment://"):
        resolved = attachments.get(text.removeprefix("attachment://"))
        if not isinstance(resolved, str):
            raise InputError(where, line, name, f"unknown attachment {text!r:.60}")
        return resolved
    return text


def _question(value: Any, attachments: dict[str, Any], where: str, line: int | None) -> str:
    if isinstance(value, list):  # a list of chat messages: the last user turn is the question
        users = [m for m in value if isinstance(m, dict) and m.get("role") == "user"]
        if not users:
            raise InputError(where, line, "input", "has no user message")
        return _text(users[-1].get("content"), attachments, where, line, "input.content") or ""
    return _text(value, attachments, where, line, "input") or ""


def _gold(value: Any, where: str, line: int | None) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value in (None, "") else check_type(value, str, where, line, "target")


def verdict(value: Any) -> bool | None:
    """The correctness an inspect_ai score value carries, or None (see the module docstring).

    >>> [verdict(v) for v in ("C", "I", "N", "P", 1, 0.0, 0.5, True, {"a": 1})]
    [True, False, False, None, True, False, None, True, None]
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"C": True, "I": False, "N": False}.get(value)
    if isinstance(value, int | float):
        return {1: True, 0: False}.get(value) if value in (0, 1) else None
    return None


def read_log(
    path: str | Path,
    *,
    run_id: str | None = None,
    dataset: str | None = None,
    scorer: str | None = None,
    policy_params: float | None = None,
) -> list[RunBundle]:
    """One run from an inspect_ai log file (`.eval` or `.json`); see the module docstring.

    Errors name the file (for `.eval`, `file!member`), the sample's position and the field.
    """
    p = Path(path)
    file = str(p)
    if p.suffix.lower() == ".eval":
        header, members = _read_eval_archive(p, file)
        located = [(f"{file}!{name}", None, s) for name, s in members]
    else:
        header = read_json(p, file)
        if not looks_like_log(header):
            raise InputError(file, None, "eval", "not an inspect_ai log (no `eval` object)")
        raw = field(header, "samples", list, file, None, optional=True) or []
        located = [(file, i, s) for i, s in enumerate(raw, start=1)]
    ev = field(header, "eval", dict, file, None)
    task = field(ev, "task", str, file, None, prefix="eval.")
    status = header.get("status")
    if not located:
        raise InputError(file, None, "samples",
                         f"the log holds no samples (status {status!r}; was it run with "
                         "--no-log-samples?)")
    ds = ev.get("dataset") if isinstance(ev.get("dataset"), dict) else {}
    dataset = dataset or f"inspect:{ds.get('name') or task}"
    scorers = [s.get("name") for s in ev.get("scorers") or [] if isinstance(s, dict)]
    scorer = scorer or (scorers[0] if scorers else None)
    grading = Grading(tool=f"inspect_ai scorer `{scorer}`")
    problems: dict[str, Problem] = {}
    samples: list[Sample] = []
    next_idx: dict[str, int] = {}
    skipped = 0
    # epoch order, so sample_idx follows the epochs whatever order the archive lists them in
    located.sort(key=lambda t: (t[2].get("epoch", 0) if isinstance(t[2], dict) else 0))
    for where, line, s in located:
        if not isinstance(s, dict):
            raise InputError(where, line, None, "sample is not a JSON object")
        sid = s.get("id")
        if isinstance(sid, bool) or not isinstance(sid, str | int):
            raise InputError(where, line, "id", f"expected str or int, got {sid!r:.40}")
        pid = str(sid)
        attachments = s.get("attachments") if isinstance(s.get("attachments"), dict) else {}
        gold = _gold(s.get("target"), where, line)
        if pid not in problems:
            problems[pid] = Problem(
                dataset=dataset, problem_id=pid, gold_answer=gold,
                question=_question(s.get("input"), attachments, where, line),
                origin=(where, line),
            )
        output = s.get("output")
        choices = output.get("choices") if isinstance(output, dict) else None
        if s.get("error") and not choices:
            skipped += 1
            continue
        choices = check_type(choices, list, where, line, "output.choices")
        usage = output.get("usage") if isinstance(output.get("usage"), dict) else {}
        score = (s.get("scores") or {}).get(scorer) if scorer else None
        score = score if isinstance(score, dict) else {}
        for j, choice in enumerate(choices):
            message = field(choice, "message", dict, where, line, prefix=f"output.choices[{j}].")
            text = _text(message.get("content"), attachments, where, line,
                         f"output.choices[{j}].message.content")
            tokens = usage.get("output_tokens") if len(choices) == 1 else None
            idx = next_idx.get(pid, 0)
            next_idx[pid] = idx + 1
            samples.append(grading.sample(
                pid, idx, text, gold=gold,
                tool_correct=verdict(score.get("value")) if j == 0 else None,
                tool_answer=score.get("answer") if j == 0 else None,
                output_tokens=tokens if isinstance(tokens, int) else None,
                prompt_tokens=usage.get("input_tokens")
                if isinstance(usage.get("input_tokens"), int) else None,
                origin=(where, line),
            ))
    if not samples:
        raise InputError(file, None, "samples", "every sample ended in an error")
    config = ev.get("model_generate_config")
    meta: dict[str, Any] = {
        "upstream": {"format": "inspect_ai log", "file": file, "task": task,
                     "eval_id": ev.get("eval_id"), "status": status,
                     "inspect_ai": (ev.get("packages") or {}).get("inspect_ai")},
        "grading": grading.summary(),
    }
    if skipped:
        meta["skipped_error_samples"] = skipped
    run = Run(
        run_id=run_id or f"inspect/{task}", dataset=dataset,
        policy_model=str(ev.get("model") or "unknown"), source=file,
        policy_params=policy_params, sampler=config if isinstance(config, dict) else None,
        meta=meta,
    )
    bundle = RunBundle(run=run, problems=list(problems.values()), samples=samples)
    return [bundle.validate()]


__all__ = ["FORMATS", "looks_like_log", "read_log", "verdict"]
