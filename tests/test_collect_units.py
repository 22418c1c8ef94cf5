"""Unit tests of the collect package's pure parts: config validation, problems, prompts,
judge and reward parsing, journals, tree ids."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from workbench.collect import (
    Journal,
    extract_answer,
    generate_problems,
    load_config,
    parse_config,
    parse_pooling,
    yes_no_score,
)
from workbench.collect.problems import has_final_answer, is_correct
from workbench.collect.prompts import split_steps, step_spans, tokens_per_step
from workbench.collect.sampler import request_seed
from workbench.collect.treebank import (
    ROOT,
    build_tree_nodes,
    child_id,
    depth_of,
    parent_of,
    path_ids,
    select_frontier,
)
from workbench.errors import CollectError, ConfigError

BASE: dict[str, Any] = {
    "run_id": "r", "out": "o", "endpoint": {"base_url": "http://127.0.0.1:1/v1", "model": "m"}}


def _cfg(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for key, value in over.items():
        section, _, name = key.partition("__")
        if name:
            d.setdefault(section, {})[name] = value
        else:
            d[section] = value
    return d


# -- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"sampling__temprature": 1.0}, r"key `sampling.temprature`: unknown key \(did you mean "
                                        r"`temperature`\?\)"),
        ({"sampling__n": "8"}, r"key `sampling.n`: expected an integer, got '8'"),
        ({"sampling__n": 0}, r"key `sampling.n`: must be >= 1, got 0"),
        ({"sampling__top_p": 1.5}, r"key `sampling.top_p`: must be in \(0, 1\]"),
        ({"sampling__separator": ""}, r"key `sampling.separator`: must not be empty"),
        ({"endpoint": {"model": "m"}}, r"key `endpoint.base_url`: is required"),
        ({"endpoint__base_url": "localhost:8080"}, r"key `endpoint.base_url`: must start with"),
        ({"endpoint__api": "grpc"}, r"key `endpoint.api`: must be 'completions' or 'chat'"),
        ({"endpoint__concurrency": 0}, r"key `endpoint.concurrency`: must be >= 1"),
        ({"endpoint__rate_limit": -1}, r"key `endpoint.rate_limit`: must be >= 0"),
        ({"endpoint__template": "llama9"}, r"key `endpoint.template`: must be one of chatml"),
        ({"problems__levels": [1, 4]}, r"key `problems.levels`: must be a non-empty list"),
        ({"problems__source": "jsonl"}, r"key `problems.path`: is required when"),
        ({"judge": [{"mode": "outcome"}]}, r"key `judge\[0\].name`: is required"),
        ({"judge": [{"name": "j", "mode": "final"}]}, r"key `judge\[0\].mode`: must be"),
        ({"judge": [{"name": "j"}, {"name": "j"}]}, r"verifier names must be unique, repeated: j"),
        ({"tree": {"judge": "nope"}}, r"key `tree.judge`: must name a \[\[judge\]\]"),
        ({"judge": [{"name": "j"}], "tree": {"judge": "j", "branching": 0}},
         r"key `tree.branching`: must be >= 1"),
        ({"revisions": {"run_id": "r", "out": "x"}}, r"key `revisions.run_id`: must be non-empty "
                                                     r"and differ from run_id"),
        ({"sampling__n": 2, "revisions": {"run_id": "r2", "out": "x", "chains": 3}},
         r"key `revisions.chains`: must be <= sampling.n \(2\)"),
        ({"revisions": {"run_id": "r2", "out": "x", "prompt": "again"}},
         r"key `revisions.prompt`: must contain \{previous\}"),
        ({"unknown_section": {}}, r"key `unknown_section`: unknown key"),
    ],
)
def test_config_errors_name_the_key(over: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(_cfg(**over), source="c.toml")


def test_config_tree_needs_completions_api() -> None:
    d = _cfg(endpoint__api="chat", judge=[{"name": "j", "base_url": "http://h/v1"}],
             tree={"judge": "j"})
    with pytest.raises(ConfigError, match=r"key `tree`: a tree bank continues step prefixes"):
        parse_config(d)


def test_load_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("run_id = \n")
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML"):
        load_config(bad)
    good = tmp_path / "good.toml"
    good.write_text('run_id = "a"\nout = "o"\n[endpoint]\nbase_url = "http://h/v1"\nmodel = "m"\n'
                    '[[judge]]\nname = "j"\nmode = "step"\n')
    cfg = load_config(good)
    assert cfg.judge[0].mode == "step" and cfg.source_file == str(good)


def test_fingerprint_ignores_transport_and_counts_but_not_sampling() -> None:
    a = parse_config(_cfg())
    b = parse_config(_cfg(endpoint__concurrency=7, endpoint__base_url="http://other:1/v1",
                          endpoint__replicas=["http://third:2/v1"]))
    c = parse_config(_cfg(sampling__temperature=0.3))
    d = parse_config(_cfg(sampling__n=64, problems__n=500))  # growing a run keeps its journals
    assert a.fingerprint() == b.fingerprint() == d.fingerprint() != c.fingerprint()
    e = parse_config(_cfg(judge=[{"name": "j"}]))
    f = parse_config(_cfg(judge=[{"name": "j", "system": "Be strict."}]))
    assert e.stage_fingerprints()["samples"] == f.stage_fingerprints()["samples"]
    assert e.stage_fingerprints()["judge:j"] != f.stage_fingerprints()["judge:j"]


# -- problems and answers ----------------------------------------------------------------------
def test_generated_problems_are_exact_and_seeded() -> None:
    probs = generate_problems(60, seed=5)
    assert probs == generate_problems(60, seed=5)
    assert probs != generate_problems(60, seed=6)
    assert len({p.problem_id for p in probs}) == 60
    for p in probs:
        assert p.meta is not None and p.level is not None and p.question is not None
        total = p.meta["start"]
        for kind, v in p.meta["ops"]:
            if kind == "div":
                assert total % v == 0  # exact division only
            total = {"add": total + v, "sub": total - v, "mul": total * v,
                     "div": total // v if v else 0}[kind]
            assert total > 0
        assert str(total) == p.gold_answer
        assert len(p.meta["ops"]) == int(p.level)
        assert p.question.count(".") == int(p.level) + 1  # one sentence per operation + start


@pytest.mark.parametrize(
    ("text", "answer"),
    [("3 + 4 = 7\nAnswer: 7", "7"), ("the answer is 12.", "12"), ("so 5 - 2 = 3", "3"),
     ("Answer: 1,024", "1024"), ("Answer: 7.0", "7"), ("Answer: 2.5", "2.5"),
     ("Answer: 4\nthen 9", "4"), ("nothing here", None)],
)
def test_extract_answer(text: str, answer: str | None) -> None:
    assert extract_answer(text) == answer


def test_grading_and_final_answer_detection() -> None:
    assert is_correct("7", "7") and not is_correct("8", "7") and is_correct("7", "7.0")
    assert is_correct(None, "7") is False and is_correct("7", None) is None
    assert has_final_answer("Answer: 3") and has_final_answer("The answer is 3")
    assert not has_final_answer("3 + 4 = 7")


# -- prompts and steps -------------------------------------------------------------------------
def test_steps_spans_and_token_counts() -> None:
    text = "a = 1\n\n  b = 2 \nAnswer: 2"
    assert split_steps(text, "\n") == ["a = 1", "b = 2", "Answer: 2"]
    spans = step_spans(text, "\n")
    assert [text[a:b] for a, b in spans] == split_steps(text, "\n")
    offsets = [0, 2, 4, 5, 6, 7, 9, 11, 13, 14, 15, 21, 23]
    counts = tokens_per_step(text, "\n", offsets)
    assert counts == [6, 5, 2] and sum(counts) == len(offsets)
    assert tokens_per_step(text, "\n", None) is None
    assert split_steps("s1 ки s2 ки", "ки") == ["s1", "s2"]


def test_request_seed_is_stable_and_distinct() -> None:
    assert request_seed(0, "samples", "p", 1) == request_seed(0, "samples", "p", 1)
    seeds = {request_seed(0, "samples", "p", i) for i in range(1000)}
    assert len(seeds) == 1000 and all(0 <= s < 2**31 for s in seeds)
    assert request_seed(1, "samples", "p", 1) != request_seed(0, "samples", "p", 1)


# -- judge and reward parsing ------------------------------------------------------------------
def test_yes_no_score_sums_variants() -> None:
    top = {"Yes": math.log(0.3), " yes": math.log(0.1), "No": math.log(0.2), "no ": math.log(0.2),
           "Maybe": math.log(0.2)}
    score, p_yes, p_no = yes_no_score(top)
    assert score == pytest.approx(0.5) and p_yes == pytest.approx(0.4)
    assert p_no == pytest.approx(0.4)
    assert yes_no_score({"No": 0.0})[0] == 0.0
    assert yes_no_score({"x": -1.0}) == (0.5, 0.0, 0.0)


def test_parse_pooling_shapes_and_errors() -> None:
    rows = {"data": [{"data": [[0.7, 0.3], [0.1, 0.9], [0.5, 0.5]]}]}
    assert parse_pooling(rows, kind="step", n_steps=3) == [0.3, 0.9, 0.5]
    assert parse_pooling(rows, kind="step", n_steps=3, positive_index=0) == [0.7, 0.1, 0.5]
    assert parse_pooling({"data": [{"data": [0.2, 0.4]}]}, kind="step", n_steps=2) == [0.2, 0.4]
    assert parse_pooling(rows, kind="outcome", n_steps=3) == [0.5]
    with pytest.raises(CollectError, match="expected 2 step rows .* got 3"):
        parse_pooling(rows, kind="step", n_steps=2)
    with pytest.raises(CollectError, match="lacks data"):
        parse_pooling({"error": "x"}, kind="step", n_steps=1)
    with pytest.raises(CollectError, match="not a finite number"):
        parse_pooling({"data": [{"data": [["a", "b"]]}]}, kind="step", n_steps=1)
    with pytest.raises(CollectError, match="positive_index is 3"):
        parse_pooling(rows, kind="step", n_steps=3, positive_index=3)


# -- journal -----------------------------------------------------------------------------------
def test_journal_roundtrip_and_duplicate_refused(tmp_path: Path) -> None:
    j = Journal(tmp_path / "s.jsonl")
    j.put(("p", 0), {"text": "a"})
    j.put(("p", 1), {"text": "b"})
    with pytest.raises(CollectError, match="written twice"):
        j.put(("p", 0), {"text": "c"})
    j.close()
    again = Journal(tmp_path / "s.jsonl")
    assert len(again) == 2 and again[("p", 1)] == {"text": "b"}


def test_journal_drops_a_line_cut_by_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"k":["p",0],"v":1}\n{"k":["p",1],"v":2}\n{"k":["p",2],"v"')
    j = Journal(path)
    assert j.dropped_partial and len(j) == 2 and ("p", 2) not in j
    j.put(("p", 2), 3)  # the redone unit lands on a clean line
    j.close()
    assert path.read_text().splitlines()[-1] == '{"k":["p",2],"v":3}'
    assert len(Journal(path)) == 3


def test_journal_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"k":["p",0],"v":1}')
    j = Journal(path)
    j.put(("p", 1), 2)
    j.close()
    assert len(Journal(path)) == 2 and not j.dropped_partial


def test_journal_corruption_in_the_middle_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"k":["p",0],"v":1}\nGARBAGE\n{"k":["p",2],"v":3}\n')
    with pytest.raises(CollectError, match=r"s.jsonl:2: corrupt journal line"):
        Journal(path)


# -- tree ids ----------------------------------------------------------------------------------
def test_tree_ids_and_frontier() -> None:
    assert child_id(ROOT, 3) == "3" and child_id("3", 0) == "3.0"
    assert child_id(ROOT, 3, 2) == "03" and child_id("03", 11, 2) == "03.11"
    assert parent_of("3.0.1") == "3.0" and parent_of("3") == ROOT and parent_of(ROOT) is None
    assert depth_of(ROOT) == 0 and depth_of("3.0.1") == 3
    assert path_ids("3.0.1") == ["3", "3.0", "3.0.1"]
    scores = {"0": 0.5, "1": 0.9, "2": 0.5, "3": 0.1}
    assert select_frontier(list(scores), scores, 0) == ["0", "1", "2", "3"]
    assert select_frontier(["3", "2", "1", "0"], scores, 3) == ["1", "0", "2"]


def test_build_tree_nodes_marks_expanded_only_when_all_children_scored() -> None:
    from workbench.collect.config import TreeConfig

    p = generate_problems(1, seed=0)[0]
    t = TreeConfig(judge="j", branching=2, max_depth=2)
    gen = {
        "0": {"text": "so 3 + 2 = 5", "tokens": 2, "terminal": False},
        "1": {"text": f"Answer: {p.gold_answer}", "tokens": 2, "terminal": True},
        "0.0": {"text": "Answer: -1", "tokens": 2, "terminal": True},
        "0.1": {"text": "more", "tokens": 1, "terminal": True},
    }
    scores = {"0": 0.4, "1": 0.8, "0.0": 0.3}  # "0.1" generated but not scored
    nodes = {n.node_id: n for n in build_tree_nodes(p, gen, scores, t)}
    assert set(nodes) == {ROOT, "0", "1", "0.0"}
    assert nodes[ROOT].expanded and not nodes["0"].expanded  # a child lacks its score
    assert nodes["1"].is_correct is True and nodes["1"].answer_key == p.gold_answer
    assert nodes["0.0"].is_correct is False and nodes["0.0"].parent_id == "0"
    assert not nodes["1"].expanded and nodes["0"].answer_key is None
    scores["0.1"] = 0.2
    nodes = {n.node_id: n for n in build_tree_nodes(p, gen, scores, t)}
    assert nodes["0"].expanded and nodes["0.1"].answer_key == "5"  # answer from the path
