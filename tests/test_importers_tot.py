"""ToT Game-of-24 importer and the exact Game-24 checker, against the real logs in the mirror.

Every expected number is computed here from the raw files with `json`, independently of the
importer, or is a published figure (CoT 403 correct of 10,000 = 4.03%, Yao et al. Table 2: 4.0%).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.store_helpers import mirror_path
from workbench.errors import InputError
from workbench.importers import game24, tot_game24
from workbench.store import RunBundle, RunStore

COT, DIRECT, BFS = tot_game24.COT_FILE, tot_game24.DIRECT_FILE, tot_game24.BFS_FILE


@pytest.fixture(scope="module")
def folder() -> Path:
    return mirror_path() / "tot-game24"


@pytest.fixture(scope="module")
def files(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in folder.iterdir()}


@pytest.fixture(scope="module")
def raw(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {name: json.loads((folder / name).read_text()) for name in (COT, DIRECT, BFS)}


@pytest.fixture(scope="module")
def bundles(files: dict[str, Path]) -> dict[str, RunBundle]:
    return {b.run.run_id: b for b in tot_game24.read(files)}


@pytest.fixture(scope="module")
def numbers(raw: dict[str, list[dict[str, Any]]]) -> dict[str, list[int]]:
    return {str(r["idx"]): [int(t) for t in r["steps"][0]["x"].split()] for r in raw[BFS]}


# ---------------------------------------------------------------- the checker (known truth)

@pytest.mark.parametrize(
    ("expression", "nums", "expected"),
    [
        ("8 / (3 - 8 / 3)", [3, 3, 8, 8], True),  # needs exact fractions: 8 / (1/3) = 24
        ("(10 - 6) * (5 + 1)", [1, 5, 6, 10], True),
        ("-(4 - 10) * 4 * 1", [1, 4, 4, 10], True),  # unary minus: sympy accepts it too
        ("(10 - 4) * 4", [4, 5, 6, 10], False),  # a number unused
        ("(6 - 4) * 6 * 2", [2, 4, 6, 10], False),  # 6 used twice, 10 not at all
        ("4 * 6 * (10 - 10)", [4, 6, 10, 10], False),  # uses all, equals 0
        ("6 / (1 - 6 / 6) * 6", [1, 6, 6, 6], False),  # division by zero
        ("1.5 * 16", [1, 5, 16, 1], False),  # decimals are not input numbers
        ("2 ** 3 * 3", [2, 3, 3, 1], False),  # powers are not allowed
        ("__import__('os').getcwd()", [1, 2, 3, 4], False),  # never evaluated
        ("", [1, 2, 3, 4], False),
    ],
)
def test_checker_known_truth(expression: str, nums: list[int], expected: bool) -> None:
    assert game24.check(expression, nums) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Steps:\n6 * 4 = 24 (left: 24)\nAnswer: (4 + 8) * (6 - 4) = 24\n", "(4 + 8) * (6 - 4)"),
        ("(7 - 1) * (4 - 2) = 24", "(7 - 1) * (4 - 2)"),  # direct prompt without "Answer:"
        ("Answer: (13 - 9) * (12 - 6) = 48", "(13 - 9) * (12 - 6)"),  # wrong claim, kept
        ("Steps:\n6 * 4 = 24 (left: 24)", None),  # a final step is not an answer
        ("Answer: None", None),
        ("Answer: There is no solution.", None),
        ("", None),
    ],
)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert game24.extract_answer(text) == expected


def test_answer_key_groups_whitespace_variants_only() -> None:
    assert game24.answer_key("(10 - 6) * (4 + 5)") == game24.answer_key("(10-6)*(4+5)")
    assert game24.answer_key("1 0 + 14") != game24.answer_key("10 + 14")


# ---------------------------------------------------------------- CoT and direct runs

def test_cot_run_sizes_and_pass_at_1(bundles: dict[str, RunBundle]) -> None:
    b = bundles["tot-game24/gpt-4-cot"]
    assert [p.problem_id for p in b.problems] == [str(i) for i in range(900, 1000)]
    assert len(b.samples) == 10_000
    per_problem = Counter(s.problem_id for s in b.samples)
    assert set(per_problem.values()) == {100}
    correct = sum(s.is_correct for s in b.samples)
    assert correct == 403
    pass1 = sum(
        sum(s.is_correct for s in b.samples if s.problem_id == p.problem_id) / 100
        for p in b.problems
    ) / 100
    assert pass1 == pytest.approx(0.0403, abs=1e-12)
    assert b.problems[0].question == "4 5 6 10"  # taken from the BFS log


def test_direct_run_sizes_and_flags(
    bundles: dict[str, RunBundle], raw: dict[str, list[dict[str, Any]]]
) -> None:
    b = bundles["tot-game24/gpt-4-direct"]
    assert len(b.problems) == 100 and len(b.samples) == 10_000
    expected = {(str(r["idx"]), i): a for r in raw[DIRECT] for i, a in enumerate(r["accs"])}
    assert {(s.problem_id, s.sample_idx): s.is_correct for s in b.samples} == expected
    assert sum(expected.values()) == 734


@pytest.mark.parametrize(("run", "name"), [("cot", COT), ("direct", DIRECT)])
def test_checker_agrees_with_upstream_flags(
    run: str, name: str, bundles: dict[str, RunBundle], raw: dict[str, list[dict[str, Any]]],
    numbers: dict[str, list[int]],
) -> None:
    b = bundles[f"tot-game24/gpt-4-{run}"]
    texts = {(str(r["idx"]), i): y for r in raw[name] for i, y in enumerate(r["ys"])}
    with_answer_line = [s for s in b.samples if "answer:" in texts[(s.problem_id, s.sample_idx)]
                        .lower()]
    disagree = [s for s in b.samples
                if game24.check(s.answer, numbers[s.problem_id]) != s.is_correct]
    # Measured: the exact checker agrees with ToT's sympy grader on every logged sample.
    assert disagree == []
    assert len(with_answer_line) == {"cot": 9164, "direct": 9724}[run]
    # The samples the flags call correct all carry an answer (nothing is correct by accident).
    assert all(s.answer is not None for s in b.samples if s.is_correct)


def test_correct_expression_with_wrong_claim_counts(bundles: dict[str, RunBundle]) -> None:
    """Puzzle 927: "Answer: (13 - 9) * (12 - 6) = 48" is a right expression; upstream r=1."""
    b = bundles["tot-game24/gpt-4-cot"]
    hits = [s for s in b.samples if s.problem_id == "927" and s.answer == "(13 - 9) * (12 - 6)"
            and s.text is not None and s.text.rstrip().endswith("= 48")]
    assert len(hits) == 1 and hits[0].is_correct


def _segment_totals(records: list[dict[str, Any]]) -> dict[str, float]:
    """Sum of the cumulative usage at the end of each segment (a segment ends where every
    counter drops in the next record: the upstream run was resumed)."""
    keys = ("completion_tokens", "prompt_tokens", "cost")
    total = dict.fromkeys(keys, 0.0)
    for cur, nxt in zip(records, [*records[1:], None], strict=True):
        u = cur["usage_so_far"]
        if nxt is None or all(nxt["usage_so_far"][k] < u[k] for k in keys):
            for k in keys:
                total[k] += u[k]
    return total


@pytest.mark.parametrize(("run", "name"), [("cot", COT), ("direct", DIRECT), ("bfs", BFS)])
def test_per_problem_usage_adds_up(
    run: str, name: str, bundles: dict[str, RunBundle], raw: dict[str, list[dict[str, Any]]]
) -> None:
    b = bundles[f"tot-game24/gpt-4-{run}"]
    usage = b.run.meta["problem_usage"]
    expected = _segment_totals(raw[name])
    assert sum(u["completion_tokens"] for u in usage.values()) == expected["completion_tokens"]
    assert sum(u["prompt_tokens"] for u in usage.values()) == expected["prompt_tokens"]
    assert sum(u["cost"] for u in usage.values()) == pytest.approx(expected["cost"], abs=1e-6)
    if run != "cot":  # one segment: the totals are the last cumulative usage
        assert expected["completion_tokens"] == raw[name][-1]["usage_so_far"]["completion_tokens"]
    else:  # the CoT counter restarts once, at puzzle 932
        assert b.run.meta["usage_segments"] == ["900", "932"]
    # Per-sample tokens split each puzzle's tokens exactly and as evenly as possible.
    by_problem: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for s in b.samples:
        assert s.output_tokens is not None and s.prompt_tokens is not None
        by_problem[s.problem_id].append((s.output_tokens, s.prompt_tokens))
    for pid, toks in by_problem.items():
        outs, ins = zip(*toks, strict=True)
        assert sum(outs) == usage[pid]["completion_tokens"]
        assert sum(ins) == usage[pid]["prompt_tokens"]
        assert max(outs) - min(outs) <= 1 and max(ins) - min(ins) <= 1


def test_logged_costs_follow_the_gpt4_price(bundles: dict[str, RunBundle]) -> None:
    for b in bundles.values():
        price = b.run.meta["price_per_1k_tokens"]
        for u in b.run.meta["problem_usage"].values():
            expected = (u["prompt_tokens"] * price["prompt"]
                        + u["completion_tokens"] * price["output"]) / 1000
            assert u["cost"] == pytest.approx(expected, abs=1e-9)


# ---------------------------------------------------------------- the BFS tree

def _full_texts(nodes: list[Any]) -> dict[str, str]:
    """node id -> the node's full candidate text (its path's step texts, root excluded)."""
    by_id = {n.node_id: n for n in nodes}
    out: dict[str, str] = {"root": ""}
    for n in sorted(nodes, key=lambda n: n.depth):
        if n.node_id != "root":
            out[n.node_id] = out[n.parent_id] + (n.text or "")
    assert set(out) == set(by_id)
    return out


@pytest.fixture(scope="module")
def trees(bundles: dict[str, RunBundle]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for n in bundles["tot-game24/gpt-4-bfs"].tree_nodes:
        out[n.problem_id].append(n)
    return out


def test_tree_reproduces_every_logged_step(
    trees: dict[str, list[Any]], raw: dict[str, list[dict[str, Any]]]
) -> None:
    assert len(trees) == 100
    for rec in raw[BFS]:
        nodes = trees[str(rec["idx"])]
        texts = _full_texts(nodes)
        by_id = {n.node_id: n for n in nodes}
        root = [n for n in nodes if n.node_id == "root"]
        assert len(root) == 1 and root[0].text == rec["steps"][0]["x"] and root[0].expanded
        depth_counts = Counter(n.depth for n in nodes)
        for s, step in enumerate(rec["steps"]):
            assert depth_counts[s + 1] == len(step["new_ys"])
            for i, (y, v) in enumerate(zip(step["new_ys"], step["values"], strict=True)):
                node_id = f"d{s + 1}-{i:03d}"
                node = by_id[node_id]
                assert texts[node_id] == y and node.score == v
            # Expanded nodes are exactly those selected (ToT logs their texts as the next ys).
            if s + 1 < len(rec["steps"]):
                expanded = Counter(texts[n.node_id] for n in nodes
                                   if n.depth == s + 1 and n.expanded)
                assert expanded == Counter(rec["steps"][s + 1]["ys"])
        assert not any(n.expanded for n in nodes if n.depth == len(rec["steps"]))


def test_tree_replay_of_stable_top5_gives_the_expanded_nodes(trees: dict[str, list[Any]]) -> None:
    """What the engine will do: per depth, sort nodes by score (stable in node-id order) and
    keep 5; that set must be the expanded set at every non-final depth."""
    for nodes in trees.values():
        depths = max(n.depth for n in nodes)
        for d in range(1, depths):
            level = sorted((n for n in nodes if n.depth == d), key=lambda n: n.node_id)
            top = sorted(level, key=lambda n: n.score, reverse=True)[:5]
            assert {n.node_id for n in top} == {n.node_id for n in level if n.expanded}


def test_final_candidates_are_terminal_and_graded_like_upstream(
    trees: dict[str, list[Any]], raw: dict[str, list[dict[str, Any]]]
) -> None:
    for rec in raw[BFS]:
        nodes = trees[str(rec["idx"])]
        texts = _full_texts(nodes)
        last = len(rec["steps"])
        final_nodes = {texts[n.node_id]: n for n in nodes if n.depth == last}
        for y, info in zip(rec["ys"], rec["infos"], strict=True):
            node = final_nodes[y]
            assert node.is_terminal and node.is_correct is bool(info["r"])
        for n in nodes:
            has_answer = "answer:" in (n.text or "").lower()
            assert n.is_terminal == (has_answer or n.depth == last)
            assert (n.is_correct is None) == (not n.is_terminal)
            if n.is_correct:
                assert n.answer_key is not None


def test_duplicate_candidates_keep_separate_nodes(
    bundles: dict[str, RunBundle], trees: dict[str, list[Any]]
) -> None:
    """Puzzle 937 selects "8 - 2 = 6" twice at depth 1; its proposals split into two groups."""
    nodes = {n.node_id: n for n in trees["937"]}
    assert nodes["d1-002"].text == nodes["d1-004"].text and nodes["d1-004"].expanded
    assert [nodes[f"d2-{i:03d}"].parent_id for i in range(12, 22)] == (
        ["d1-002"] * 5 + ["d1-004"] * 5)
    assert bundles["tot-game24/gpt-4-bfs"].run.meta["ambiguous_parents"] == [
        {"problem_id": "937", "depth": 2}]


def test_runs_ingest_and_summarise(bundles: dict[str, RunBundle], tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.duckdb") as store:
        for b in bundles.values():
            assert store.ingest(b).created
        info = {r.run_id: r for r in store.runs()}
    assert info["tot-game24/gpt-4-cot"].correct == 403
    assert info["tot-game24/gpt-4-bfs"].has_tree and info["tot-game24/gpt-4-bfs"].problems == 100


# ---------------------------------------------------------------- bad input

def _write(tmp_path: Path, name: str, data: Any) -> dict[str, Path]:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return {name: path}


def test_wrong_type_names_file_record_and_field(
    tmp_path: Path, raw: dict[str, list[dict[str, Any]]]
) -> None:
    data = json.loads(json.dumps(raw[COT][:3]))
    data[1]["infos"][7]["r"] = "1"
    with pytest.raises(InputError) as err:
        tot_game24.read(_write(tmp_path, COT, data))
    e = err.value
    assert (e.file, e.line, e.field) == (COT, 2, "infos[7].r")
    assert "expected int, got str" in str(e)


def test_truncated_log_is_refused(tmp_path: Path, folder: Path) -> None:
    text = (folder / DIRECT).read_text()
    path = tmp_path / DIRECT
    path.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match="truncated") as err:
        tot_game24.read({DIRECT: path})
    assert err.value.file == DIRECT


def test_tampered_selection_is_refused(
    tmp_path: Path, raw: dict[str, list[dict[str, Any]]]
) -> None:
    data = json.loads(json.dumps(raw[BFS][:2]))
    data[1]["steps"][1]["values"][0] = 100.0  # the logged selection no longer follows
    with pytest.raises(InputError) as err:
        tot_game24.read(_write(tmp_path, BFS, data))
    assert (err.value.line, err.value.field) == (2, "steps[1].select_new_ys")


def test_partial_usage_drop_is_refused(
    tmp_path: Path, raw: dict[str, list[dict[str, Any]]]
) -> None:
    data = json.loads(json.dumps(raw[DIRECT][:3]))
    data[2]["usage_so_far"]["prompt_tokens"] = 10  # drops while the others grow
    with pytest.raises(InputError) as err:
        tot_game24.read(_write(tmp_path, DIRECT, data))
    assert (err.value.line, err.value.field) == (3, "usage_so_far.prompt_tokens")


def test_flags_must_match_outputs(tmp_path: Path, raw: dict[str, list[dict[str, Any]]]) -> None:
    data = json.loads(json.dumps(raw[DIRECT][:2]))
    data[0]["accs"].pop()
    with pytest.raises(InputError) as err:
        tot_game24.read(_write(tmp_path, DIRECT, data))
    assert (err.value.line, err.value.field) == (1, "accs")


def test_no_known_log_is_refused(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text("[]")
    with pytest.raises(InputError, match="none of the ToT"):
        tot_game24.read({"other.json": tmp_path / "other.json"})
