"""Tree-of-Thoughts Game-of-24 logs (GPT-4, puzzles 900-999) -> three runs.

Source: princeton-nlp/tree-of-thought-llm, logs/game24/ (MIT; Yao et al. 2023). Each file is a
JSON array with one record per puzzle (`idx` 900..999); errors name the 1-based record index.

* ``..._naive_cot_sample_100_...json`` -> ``tot-game24/gpt-4-cot``: one sample per `ys` entry
  (100 per puzzle), `is_correct` = upstream `infos[i].r`.
* ``..._naive_standard_sample_100_...json`` -> ``tot-game24/gpt-4-direct``: the same with direct
  answers, `is_correct` = upstream `accs[i]`.
* ``..._propose1_value3_greedy5_...json`` -> ``tot-game24/gpt-4-bfs``: the breadth-first search
  tree, laid out as RUN_IDS.md fixes it (node "root" = the input numbers; node f"d{s+1}-{i:03d}"
  = proposal i of `steps[s].new_ys`, proposal order kept, text = the new step only, score =
  `steps[s].values[i]`; `expanded` = selected by ToT's stable top-5 and then expanded, which
  the importer recomputes and checks against `select_new_ys` and the next step's `ys`).
  Terminal nodes are those whose step says "Answer:" and every node at the final depth (the
  search stops there); their `is_correct` is the exact Game-24 checker, which agrees with the
  upstream `infos[].r` on all 500 logged final candidates.

Answers: `answer` is the expression ToT's own grader reads (`game24.extract_answer`), None
when the output gives no expression; `answer_key` is that expression with whitespace removed.

Tokens and cost: `usage_so_far` is cumulative, so a puzzle's own usage is the difference from
the previous record. The CoT log restarts its counter once (at puzzle 932: the upstream run was
resumed), which shows as every counter dropping; such a record starts a new segment and its
usage is its own cumulative value. Samples store ints, so a puzzle's tokens are split as evenly
as possible over its samples (floor, the remainder to the first samples): the per-sample values
are billed shares (ToT sends up to 20 samples per API call, the prompt is billed once per call),
not per-sample lengths. The exact per-puzzle totals and dollar cost are kept in
``Run.meta["problem_usage"]`` (in the run, not in `Problem.meta`, because the three runs share
the puzzles while their usage differs).

Puzzle texts ("4 5 6 10") are logged only in the BFS file; the CoT and direct runs take them
from it when it is among the inputs (else `Problem.question` is None).

>>> from workbench.sources import get_dataset
>>> bundles = {b.run.run_id: b for b in read(get_dataset("tot-game24").files())}
>>> sum(s.is_correct for s in bundles["tot-game24/gpt-4-cot"].samples)
403
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.importers import game24
from workbench.importers._common import (
    check_type,
    field,
    list_of,
    provenance,
    read_json,
    source_url,
)
from workbench.store.records import Problem, Run, RunBundle, Sample, TreeNode

COT_FILE = "gpt-4_0.7_naive_cot_sample_100_start900_end1000.json"
DIRECT_FILE = "gpt-4_0.7_naive_standard_sample_100_start900_end1000.json"
BFS_FILE = "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json"

SOURCE = "tot-game24"
"""The registered dataset (workbench.sources): URLs, licence and citation come from there."""
DATASET = "game24"
POLICY = "gpt-4"
N_SELECT = 5
"""ToT's `n_select_sample` in the BFS log ("greedy5")."""

PRICE_PER_1K_TOKENS = {"prompt": 0.03, "output": 0.06, "currency": "USD"}
"""GPT-4 (8k) list price when the logs were made; every logged cost equals it exactly."""

USAGE_TYPES: dict[str, type] = {"completion_tokens": int, "prompt_tokens": int, "cost": float}
USAGE_FIELDS = tuple(USAGE_TYPES)


def read(files: Mapping[str, Path]) -> list[RunBundle]:
    """Runs from the ToT Game-24 logs among `files` (keys: dataset-relative names).

    Files other than the three logs (LICENSE, SHA256SUMS) are ignored; at least one log must be
    there. Returns the runs in the order cot, direct, bfs (those present). See the module
    docstring for the mapping and `tot_game24` example.
    """
    by_name = {Path(key).name: (key, Path(path)) for key, path in files.items()}
    if not any(n in by_name for n in (COT_FILE, DIRECT_FILE, BFS_FILE)):
        raise InputError(
            ", ".join(sorted(files)) or None, None, None,
            f"none of the ToT Game-24 logs ({COT_FILE}, {DIRECT_FILE}, {BFS_FILE}) is present",
        )
    bfs_records = None
    puzzles: dict[str, str] = {}
    if BFS_FILE in by_name:
        key, path = by_name[BFS_FILE]
        bfs_records = _records(path, key)
        puzzles = _puzzles(bfs_records, key)
    bundles = []
    if COT_FILE in by_name:
        key, path = by_name[COT_FILE]
        bundles.append(_sampled_run(_records(path, key), key, "cot", puzzles))
    if DIRECT_FILE in by_name:
        key, path = by_name[DIRECT_FILE]
        bundles.append(_sampled_run(_records(path, key), key, "direct", puzzles))
    if bfs_records is not None:
        bundles.append(_bfs_run(bfs_records, by_name[BFS_FILE][0], puzzles))
    return [b.validate() for b in bundles]


def _records(path: Path, file: str) -> list[tuple[int, dict[str, Any]]]:
    """The log's records as (1-based index, record) with a unique int `idx` each."""
    data = read_json(path, file)
    check_type(data, list, file, None, "<top level>")
    if not data:
        raise InputError(file, None, None, "the log holds no records")
    out: list[tuple[int, dict[str, Any]]] = []
    seen: set[int] = set()
    for line, rec in enumerate(data, start=1):
        idx = field(rec, "idx", int, file, line)
        if idx in seen:
            raise InputError(file, line, "idx", f"duplicate puzzle index {idx}")
        seen.add(idx)
        out.append((line, rec))
    return out


def _puzzles(records: list[tuple[int, dict[str, Any]]], file: str) -> dict[str, str]:
    """Puzzle id -> input numbers ("4 5 6 10"), from the BFS log's `steps[0].x`."""
    out = {}
    for line, rec in records:
        steps = field(rec, "steps", list, file, line)
        if not steps:
            raise InputError(file, line, "steps", "is empty")
        x = field(steps[0], "x", str, file, line, prefix="steps[0].")
        try:
            numbers = game24.parse_numbers(x)
        except ValueError:
            numbers = []
        if len(numbers) != 4:
            raise InputError(file, line, "steps[0].x", f"expected four integers, got {x!r:.60}")
        out[str(rec["idx"])] = x
    return out


def _problem_usage(
    records: list[tuple[int, dict[str, Any]]], file: str
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each puzzle's own usage from the cumulative `usage_so_far`, and the segment starts.

    A record whose counters ALL drop starts a new segment (the upstream run was resumed and
    its counter restarted): its own usage is its cumulative value. Some counters dropping and
    others not is not a restart, and is refused.
    """
    prev: dict[str, Any] | None = None
    segments: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    for line, rec in records:
        usage = field(rec, "usage_so_far", dict, file, line)
        cur: dict[str, Any] = {
            k: field(usage, k, t, file, line, prefix="usage_so_far.")
            for k, t in USAGE_TYPES.items()
        }
        drops = [] if prev is None else [k for k in USAGE_FIELDS if cur[k] < prev[k]]
        pid = str(rec["idx"])
        if prev is None or len(drops) == len(USAGE_FIELDS):
            segments.append(pid)
            own = dict(cur)
        elif drops:
            raise InputError(file, line, f"usage_so_far.{drops[0]}",
                             f"cumulative usage decreased ({prev[drops[0]]} -> {cur[drops[0]]}) "
                             "while other counters did not")
        else:
            own = {k: cur[k] - prev[k] for k in USAGE_FIELDS}
        # Costs are sums of 5-decimal prices; rounding removes float noise from the difference.
        own["cost"] = round(own["cost"], 10)
        out[pid] = own
        prev = cur
    return out, segments


def _split(total: int, n: int) -> list[int]:
    """`total` split over `n` items as evenly as possible, the remainder to the first items.

    >>> _split(2185, 100)[:2], _split(2185, 100)[-1], sum(_split(2185, 100))
    ([22, 22], 21, 2185)
    """
    base, rest = divmod(total, n)
    return [base + 1 if i < rest else base for i in range(n)]


def _run_meta(file: str, usage: dict[str, dict[str, Any]], segments: list[str],
              **extra: Any) -> dict[str, Any]:
    return {
        **provenance(SOURCE, file),
        "price_per_1k_tokens": PRICE_PER_1K_TOKENS,
        "usage": {
            k: round(sum(u[k] for u in usage.values()), 10) if k == "cost"
            else sum(u[k] for u in usage.values())
            for k in USAGE_FIELDS
        },
        "usage_segments": segments,
        "problem_usage": usage,
        **extra,
    }


def _problem(pid: str, puzzles: Mapping[str, str], file: str, line: int) -> Problem:
    return Problem(DATASET, pid, question=puzzles.get(pid), origin=(file, line))


def _sampled_run(
    records: list[tuple[int, dict[str, Any]]], file: str, style: str, puzzles: Mapping[str, str]
) -> RunBundle:
    """The CoT (`infos[i].r`) or direct-answer (`accs[i]`) log as a run of plain samples."""
    usage, segments = _problem_usage(records, file)
    flags: Callable[[dict[str, Any], int], list[bool]]
    if style == "cot":
        def flags(rec: dict[str, Any], line: int) -> list[bool]:
            infos = field(rec, "infos", list, file, line)
            out = []
            for i, info in enumerate(infos):
                r = field(info, "r", int, file, line, prefix=f"infos[{i}].")
                if r not in (0, 1):
                    raise InputError(file, line, f"infos[{i}].r", f"expected 0 or 1, got {r}")
                out.append(r == 1)
            return out
        flag_field = "infos"
    else:
        def flags(rec: dict[str, Any], line: int) -> list[bool]:
            return list_of(field(rec, "accs", list, file, line), bool, file, line, "accs")
        flag_field = "accs"

    problems, samples = [], []
    n_per_problem = set()
    for line, rec in records:
        pid = str(rec["idx"])
        ys = list_of(field(rec, "ys", list, file, line), str, file, line, "ys")
        correct = flags(rec, line)
        if not ys:
            raise InputError(file, line, "ys", "is empty")
        if len(correct) != len(ys):
            raise InputError(file, line, flag_field,
                             f"has {len(correct)} entries for {len(ys)} outputs in `ys`")
        n_per_problem.add(len(ys))
        problems.append(_problem(pid, puzzles, file, line))
        out_tok = _split(usage[pid]["completion_tokens"], len(ys))
        in_tok = _split(usage[pid]["prompt_tokens"], len(ys))
        for i, text in enumerate(ys):
            answer = game24.extract_answer(text)
            samples.append(Sample(
                problem_id=pid, sample_idx=i, answer=answer,
                answer_key=None if answer is None else game24.answer_key(answer),
                is_correct=correct[i], output_tokens=out_tok[i], prompt_tokens=in_tok[i],
                text=text, origin=(file, line),
            ))
    n = max(n_per_problem)
    run = Run(
        run_id=f"tot-game24/{POLICY}-{style}", dataset=DATASET, policy_model=POLICY,
        source=source_url(SOURCE, file), policy_params=None,
        sampler={"method": "naive", "prompt_sample": "cot" if style == "cot" else "standard",
                 "temperature": 0.7, "n_samples": n},
        meta=_run_meta(file, usage, segments,
                       correctness={"cot": "upstream infos[i].r",
                                    "direct": "upstream accs[i]"}[style],
                       tokens_per_sample="billed share: the puzzle's usage split evenly"),
    )
    return RunBundle(run=run, problems=problems, samples=samples)


def _stable_top(values: list[float], k: int) -> list[int]:
    """ToT's selection: `sorted(ids, key=lambda x: values[x], reverse=True)[:k]` (stable).

    >>> _stable_top([1.0, 3.0, 1.0, 3.0, 2.0], 3)
    [1, 3, 4]
    """
    return sorted(range(len(values)), key=lambda i: values[i], reverse=True)[:k]


def _bfs_run(
    records: list[tuple[int, dict[str, Any]]], file: str, puzzles: Mapping[str, str]
) -> RunBundle:
    usage, segments = _problem_usage(records, file)
    problems, nodes = [], []
    ambiguous: list[dict[str, Any]] = []
    n_steps = set()
    for line, rec in records:
        pid = str(rec["idx"])
        problems.append(_problem(pid, puzzles, file, line))
        steps = field(rec, "steps", list, file, line)
        n_steps.add(len(steps))
        nodes.extend(_tree(pid, steps, rec, file, line, ambiguous))
    run = Run(
        run_id=f"tot-game24/{POLICY}-bfs", dataset=DATASET, policy_model=POLICY,
        source=source_url(SOURCE, file), policy_params=None,
        sampler={"method": "bfs", "method_generate": "propose", "n_generate_sample": 1,
                 "method_evaluate": "value", "n_evaluate_sample": 3,
                 "method_select": "greedy", "n_select_sample": N_SELECT,
                 "temperature": 0.7, "steps": max(n_steps)},
        meta=_run_meta(
            file, usage, segments,
            value_scale={"sure": 20, "likely": 1, "impossible": 0.001,
                         "note": "a score is the sum over 3 ratings; a candidate repeated "
                                 "within a step gets 0 (ToT's local value cache)"},
            selection="stable top-5 by value in proposal order",
            correctness="exact Game-24 checker on terminal nodes",
            ambiguous_parents=ambiguous,
        ),
    )
    return RunBundle(run=run, problems=problems, tree_nodes=nodes)


def _tree(
    pid: str, steps: list[Any], rec: dict[str, Any], file: str, line: int,
    ambiguous: list[dict[str, Any]],
) -> list[TreeNode]:
    """The tree of one puzzle, checked against ToT's own selection at every step."""
    x = field(steps[0], "x", str, file, line, prefix="steps[0].")
    numbers = game24.parse_numbers(x)
    root = TreeNode(pid, "root", None, 0, text=x, expanded=True, origin=(file, line))
    out = [root]
    level_ids = ["root"]  # node ids of steps[s].ys, in order
    level_texts = [""]  # their full texts
    last = len(steps) - 1
    for s, step in enumerate(steps):
        pre = f"steps[{s}]."
        got_step = field(step, "step", int, file, line, prefix=pre)
        if got_step != s:
            raise InputError(file, line, f"{pre}step", f"expected {s}, got {got_step}")
        ys = list_of(field(step, "ys", list, file, line, prefix=pre), str, file, line, f"{pre}ys")
        if ys != level_texts:
            raise InputError(file, line, f"{pre}ys",
                             "differs from the candidates the previous step selected")
        new_ys = list_of(field(step, "new_ys", list, file, line, prefix=pre), str, file, line,
                         f"{pre}new_ys")
        values = list_of(field(step, "values", list, file, line, prefix=pre), float, file, line,
                         f"{pre}values")
        if len(values) != len(new_ys):
            raise InputError(file, line, f"{pre}values",
                             f"has {len(values)} entries for {len(new_ys)} proposals")
        selected = list_of(field(step, "select_new_ys", list, file, line, prefix=pre), str, file,
                           line, f"{pre}select_new_ys")
        chosen = _stable_top(values, N_SELECT)
        if [new_ys[i] for i in chosen] != selected:
            raise InputError(file, line, f"{pre}select_new_ys",
                             "is not the stable top-5 of `new_ys` by `values`")
        parents = _parents(ys, new_ys, file, line, pre)
        if len(set(ys)) < len(ys):
            ambiguous.append({"problem_id": pid, "depth": s + 1})
        chosen_set = set(chosen)
        ids = []
        for i, (y, value) in enumerate(zip(new_ys, values, strict=True)):
            node_id = f"d{s + 1}-{i:03d}"
            ids.append(node_id)
            step_text = y[len(ys[parents[i]]):]
            terminal = "answer:" in step_text.lower() or s == last
            answer = game24.extract_answer(y) if terminal else None
            out.append(TreeNode(
                pid, node_id, level_ids[parents[i]], s + 1, text=step_text, score=value,
                tokens=None, is_terminal=terminal,
                answer_key=None if answer is None else game24.answer_key(answer),
                is_correct=game24.check(answer, numbers) if terminal else None,
                # Selected by index (not by text, which is ambiguous for repeated proposals)
                # and, below the last step, expanded: all its proposals were generated+valued.
                expanded=i in chosen_set and s < last,
                origin=(file, line),
            ))
        level_ids = [ids[i] for i in chosen]
        level_texts = selected
    final = list_of(field(rec, "ys", list, file, line), str, file, line, "ys")
    if final != level_texts:
        raise InputError(file, line, "ys", "differs from the last step's `select_new_ys`")
    return out


def _parents(ys: list[str], new_ys: list[str], file: str, line: int, pre: str) -> list[int]:
    """For each proposal, the index in `ys` of the candidate it extends.

    ToT proposes for `ys` in order, so proposals come grouped by parent in `ys` order. When a
    candidate text occurs twice in `ys` (the same step selected twice), both groups extend the
    same text; the boundary is then taken where a step text repeats within the current group
    (a fresh call for the copy starts over), and the run records the puzzle as ambiguous.
    """
    out = []
    j = 0
    seen: set[str] = set()
    for i, y in enumerate(new_ys):
        while j < len(ys) and not y.startswith(ys[j]):
            j += 1
            seen = set()
        if j == len(ys):
            raise InputError(file, line, f"{pre}new_ys[{i}]",
                             "extends no candidate of `ys` in order (not a ToT BFS log?)")
        step_text = y[len(ys[j]):]
        if step_text in seen and j + 1 < len(ys) and ys[j + 1] == ys[j]:
            j += 1
            seen = set()
        seen.add(step_text)
        out.append(j)
    return out


__all__ = ["BFS_FILE", "COT_FILE", "DIRECT_FILE", "read"]
