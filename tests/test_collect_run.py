"""Whole collections against the in-process fake OpenAI-compatible server: every stage, the
canonical output, idempotent reruns, and resume after a kill or a dying endpoint with no
duplicate and no lost sample."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.collect import FakeOpenAIServer, collect, parse_config
from workbench.collect.fake_server import fake_text
from workbench.collect.prompts import render_chat
from workbench.errors import CollectError
from workbench.store import RunStore, read_bundle_parquet

N_PROBLEMS, N_SAMPLES = 4, 3


def _config(base_url: str, root_url: str, tmp: Path, *, name: str = "run") -> dict[str, Any]:
    return {
        "run_id": "fake/arith",
        "out": str(tmp / name),
        "workdir": str(tmp / f"{name}.work"),
        "seed": 7,
        "endpoint": {"base_url": base_url, "model": "fake", "concurrency": 3, "backoff": 0.001},
        "model": {"name": "fake-model", "params": 1000.0},
        "problems": {"n": N_PROBLEMS, "seed": 3},
        "sampling": {"n": N_SAMPLES, "max_tokens": 64},
        "judge": [{"name": "judge-out", "mode": "outcome", "params": 10.0},
                  {"name": "judge-step", "mode": "step"}],
        "reward": [{"name": "prm", "base_url": root_url, "model": "prm", "kind": "step"},
                   {"name": "orm", "base_url": root_url, "model": "orm", "kind": "outcome"}],
        "tree": {"judge": "judge-step", "branching": 2, "root_branching": 3, "max_depth": 3,
                 "problems": 2},
        "revisions": {"run_id": "fake/arith-revisions", "out": str(tmp / f"{name}-rev"),
                      "chains": 2, "length": 3, "judge": "judge-out"},
    }


def _toml(d: dict[str, Any]) -> str:
    """A tiny TOML writer for the test configs (tables, arrays of tables, scalars)."""
    def val(v: Any) -> str:
        return json.dumps(v)

    lines = [f"{k} = {val(v)}" for k, v in d.items() if not isinstance(v, dict | list)]
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{kk} = {val(vv)}" for kk, vv in v.items()]
        elif isinstance(v, list):
            for item in v:
                lines.append(f"[[{k}]]")
                lines += [f"{kk} = {val(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("collect")
    with FakeOpenAIServer() as srv:
        cfg = parse_config(_config(srv.base_url, srv.root_url, tmp))
        result = collect(cfg)
        n_requests = len(srv.log.paths())
    return {"cfg": cfg, "result": result, "tmp": tmp, "requests": n_requests,
            "main": read_bundle_parquet(tmp / "run"), "rev": read_bundle_parquet(tmp / "run-rev")}


def test_samples_are_the_models_completions_with_answers(full_run: dict[str, Any]) -> None:
    b, cfg = full_run["main"], full_run["cfg"]
    assert len(b.problems) == N_PROBLEMS and len(b.samples) == N_PROBLEMS * N_SAMPLES
    question = {p.problem_id: p.question for p in b.problems}
    from workbench.collect.sampler import request_seed

    for s in b.samples:
        prompt = render_chat("chatml", cfg.sampling.system, question[s.problem_id])
        seed = request_seed(7, "samples", s.problem_id, s.sample_idx)
        assert s.text == fake_text(prompt, seed)  # exactly what the server generated
        assert s.answer == s.text.rsplit("Answer: ", 1)[1] == s.answer_key
        gold = next(p.gold_answer for p in b.problems if p.problem_id == s.problem_id)
        assert s.is_correct == (s.answer == gold)
        assert s.n_steps == len(s.text.splitlines()) and s.output_tokens == len(s.text.split())
        assert s.chain_id is None and s.prompt_tokens and s.prompt_tokens > 0
    assert b.run.policy_params == 1000.0 and b.run.sampler["n"] == N_SAMPLES
    assert b.run.meta["verifier_params"] == {"judge-out": 10.0}
    assert "base_url" not in json.dumps(b.run.meta)  # ports and hosts are not data


def test_scores_go_under_each_verifier(full_run: dict[str, Any]) -> None:
    b = full_run["main"]
    outcome = Counter(s.verifier for s in b.outcome_scores)
    assert outcome == {"judge-out": N_PROBLEMS * N_SAMPLES, "orm": N_PROBLEMS * N_SAMPLES}
    total_steps = sum(s.n_steps for s in b.samples)
    step = Counter(s.verifier for s in b.step_scores)
    assert step == {"judge-step": total_steps, "prm": total_steps}
    for sc in b.step_scores:
        assert 0.0 <= sc.score <= 1.0 and sc.step_tokens is not None and sc.step_tokens >= 1
    # the per-step token counts add up to the completion's tokens
    per_sample: Counter[tuple[str, int]] = Counter()
    for sc in b.step_scores:
        if sc.verifier == "prm":
            per_sample[(sc.problem_id, sc.sample_idx)] += sc.step_tokens
    assert all(per_sample[(s.problem_id, s.sample_idx)] == s.output_tokens for s in b.samples)


def test_tree_bank_is_fully_expanded_and_consistent(full_run: dict[str, Any]) -> None:
    b = full_run["main"]
    nodes = {(n.problem_id, n.node_id): n for n in b.tree_nodes}
    assert {p for p, _ in nodes} == {"arith-0000", "arith-0001"}  # tree.problems = 2
    children = Counter((n.problem_id, n.parent_id) for n in b.tree_nodes if n.parent_id)
    for (pid, nid), n in nodes.items():
        want = 3 if nid == "root" else 2
        if n.is_terminal:
            assert not n.expanded and children[(pid, nid)] == 0
            assert n.answer_key is not None and n.is_correct is not None
        else:
            assert n.expanded and children[(pid, nid)] == want, (pid, nid)
            assert n.depth < 3 and n.answer_key is None
        if nid != "root":
            assert n.score is not None and 0 <= n.score <= 1 and n.tokens >= 1
    assert max(n.depth for n in b.tree_nodes) <= 3
    assert any(n.depth == 3 for n in b.tree_nodes) or all(
        n.is_terminal for n in b.tree_nodes if n.depth == 2)
    assert b.run.meta["tree"]["root_branching"] == 3


def test_revision_chains_start_from_the_samples(full_run: dict[str, Any]) -> None:
    rev, main = full_run["rev"], full_run["main"]
    assert rev.run.run_id == "fake/arith-revisions"
    assert len(rev.samples) == N_PROBLEMS * 2 * 3
    base = {(s.problem_id, s.sample_idx): s for s in main.samples}
    base_score = {(o.problem_id, o.sample_idx): o.score for o in main.outcome_scores
                  if o.verifier == "judge-out"}
    for s in rev.samples:
        assert s.sample_idx == s.chain_id * 3 + s.revision_idx
        if s.revision_idx == 0:
            assert s.text == base[(s.problem_id, s.chain_id)].text
    rev_scores = {(o.problem_id, o.sample_idx): o.score for o in rev.outcome_scores}
    assert len(rev_scores) == len(rev.samples)
    for (pid, idx), score in rev_scores.items():
        if idx % 3 == 0:
            assert score == base_score[(pid, idx // 3)]


def test_runs_ingest_and_pool(full_run: dict[str, Any], tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.duckdb") as store:
        store.import_run(full_run["tmp"] / "run")
        store.import_run(full_run["tmp"] / "run-rev")
        assert store.verifiers("fake/arith") == {"judge-out": "outcome", "judge-step": "step",
                                                 "orm": "outcome", "prm": "step"}
        pool = store.pool_table("fake/arith", "judge-out")
        assert pool.num_rows == N_PROBLEMS * N_SAMPLES
        assert store.table("tree_nodes", "fake/arith").num_rows == len(full_run["main"].tree_nodes)
        assert store.pool_table("fake/arith-revisions", "judge-out").num_rows == N_PROBLEMS * 6


def test_rerun_is_idempotent_and_sends_nothing(full_run: dict[str, Any]) -> None:
    tmp = full_run["tmp"]
    before = (tmp / "run" / "run.json").read_text()
    with FakeOpenAIServer() as srv:
        cfg = parse_config(_config(srv.base_url, srv.root_url, tmp))
        result = collect(cfg)
        assert srv.log.paths() == []
    assert result.new_units == 0 and result.requests == 0
    assert (tmp / "run" / "run.json").read_text() == before  # same content hash, same run
    assert not [p for p in tmp.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_changed_generation_settings_refuse_the_old_workdir(full_run: dict[str, Any]) -> None:
    d = _config("http://127.0.0.1:9/v1", "http://127.0.0.1:9", full_run["tmp"])
    d["sampling"]["temperature"] = 0.1
    with pytest.raises(CollectError, match=r"journal\(s\) samples, judge:judge-out.* changed"):
        collect(parse_config(d))


def _journal_keys(workdir: Path) -> dict[str, list]:
    out = {}
    for f in sorted((workdir / "journal").glob("*.jsonl")):
        out[f.name] = [tuple(json.loads(line)["k"]) for line in f.read_text().splitlines()]
    return out


def _content(run_dir: Path) -> str:
    """Content hash of a written run, ignoring `source` (it names the config file)."""
    bundle = read_bundle_parquet(run_dir)
    bundle.run = dataclasses.replace(bundle.run, source="-")
    return bundle.content_hash()


def _small(base_url: str, root_url: str, tmp: Path, name: str) -> dict[str, Any]:
    d = _config(base_url, root_url, tmp, name=name)
    d["problems"]["n"] = 5
    d["sampling"]["n"] = 4
    d["tree"]["problems"] = 1
    d["endpoint"]["concurrency"] = 2
    return d


def test_resume_after_kill_has_no_duplicate_and_no_lost_sample(full_run: dict[str, Any],
                                                                tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        ref = collect(parse_config(_small(srv.base_url, srv.root_url, tmp_path, "ref")))
        srv.delay = 0.05  # slow replies while the doomed process runs, so the kill lands mid-way
        cfg_path = tmp_path / "killed.toml"
        cfg_path.write_text(_toml(_small(srv.base_url, srv.root_url, tmp_path, "killed")))
        journal = tmp_path / "killed.work" / "journal" / "samples.jsonl"
        proc = subprocess.Popen(
            [sys.executable, "-c", "from workbench.cli import main; main()", "collect",
             str(cfg_path), "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if journal.exists() and len(journal.read_text().splitlines()) >= 8:
                    break
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait()
            srv.delay = 0.0
        assert not (tmp_path / "killed").exists()  # nothing half-written
        killed_units = len(journal.read_text().splitlines())
        assert 8 <= killed_units < 20
        from workbench.collect import load_config

        resumed = collect(load_config(cfg_path))
    assert 0 < resumed.new_units < ref.new_units  # it resumed, it did not start over
    keys = _journal_keys(tmp_path / "killed.work")
    for name, ks in keys.items():
        assert len(ks) == len(set(ks)), f"duplicate keys in {name}"  # no duplicate
    assert {k: sorted(v) for k, v in keys.items()} == {
        k: sorted(v) for k, v in _journal_keys(tmp_path / "ref.work").items()}  # no lost unit
    for out in ("killed", "killed-rev"):
        ref_name = out.replace("killed", "ref")
        assert _content(tmp_path / out) == _content(tmp_path / ref_name)


def test_resume_after_the_endpoint_dies(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        ref = collect(parse_config(_small(srv.base_url, srv.root_url, tmp_path, "ref")))
    with FakeOpenAIServer(fail_after=20) as dying:
        d = _small(dying.base_url, dying.root_url, tmp_path, "died")
        d["endpoint"]["max_retries"] = 1
        with pytest.raises(CollectError, match="HTTP 500"):
            collect(parse_config(d))
    assert not (tmp_path / "died").exists()
    with FakeOpenAIServer() as healthy:  # another port: transport settings are not data
        d = _small(healthy.base_url, healthy.root_url, tmp_path, "died")
        result = collect(parse_config(d))
    assert result.new_units == ref.new_units - 20
    assert _content(tmp_path / "died") == _content(tmp_path / "ref")


def test_cli_dry_run_and_run(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        d = _small(srv.base_url, srv.root_url, tmp_path, "cli")
        d.pop("workdir")
        cfg_path = tmp_path / "c.toml"
        cfg_path.write_text(_toml(d))
        runner = CliRunner()
        res = runner.invoke(cli, ["collect", str(cfg_path), "--dry-run"])
        assert res.exit_code == 0, res.output
        assert "samples" in res.output and "20 units" in res.output and srv.log.paths() == []
        res = runner.invoke(cli, ["collect", str(cfg_path), "--quiet"])
        assert res.exit_code == 0, res.output
        assert "wrote run fake/arith ->" in res.output
        assert (tmp_path / "cli.work" / "journal" / "samples.jsonl").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('run_id = "x"\nout = "o"\n[endpoint]\nbase_url = "http://h/v1"\nmodel = "m"\n'
                   '[sampling]\nn = -2\n')
    res = CliRunner().invoke(cli, ["collect", str(bad)])
    assert res.exit_code != 0 and "key `sampling.n`: must be >= 1, got -2" in str(res.exception)


def test_replicas_keep_each_problem_on_one_server_and_examples_are_prompted(
        tmp_path: Path) -> None:
    shots = [{"question": "Sam has 6 shells. He gets 5 more. How many?", "answer": "6 + 5 = 11"}]
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        d = _small(a.base_url, a.root_url, tmp_path, "rep")
        d["endpoint"]["replicas"] = [b.base_url]
        d["sampling"]["examples"] = shots
        cfg = parse_config(d)
        collect(cfg)
        served = {"a": a.log.requests, "b": b.log.requests}
    bundle = read_bundle_parquet(tmp_path / "rep")
    where: dict[str, set[str]] = {}
    for name, reqs in served.items():
        for _, path, body in reqs:
            if path.endswith("/completions"):
                for p in bundle.problems:
                    if p.question in body["prompt"]:
                        where.setdefault(p.problem_id, set()).add(name)
    assert all(len(v) == 1 for v in where.values())  # one server per problem
    assert {s for v in where.values() for s in v} == {"a", "b"}  # both servers used
    from workbench.collect.sampler import request_seed

    s = bundle.samples[0]
    question = next(p.question or "" for p in bundle.problems if p.problem_id == s.problem_id)
    prompt = render_chat("chatml", cfg.sampling.system, question,
                         [(x["question"], x["answer"]) for x in shots])
    assert "Sam has 6 shells" in prompt
    assert s.text == fake_text(prompt, request_seed(7, "samples", s.problem_id, s.sample_idx))


def test_growing_a_run_generates_only_the_new_units(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        d = _small(srv.base_url, srv.root_url, tmp_path, "grow")
        d["sampling"]["n"] = 2
        d["revisions"]["chains"] = 2
        first = collect(parse_config(d))
        d["sampling"]["n"] = 4
        d["problems"]["n"] = 6
        second = collect(parse_config(d))
        fresh = collect(parse_config({**d, "out": str(tmp_path / "fresh"),
                                      "workdir": str(tmp_path / "fresh.work"),
                                      "revisions": {**d["revisions"],
                                                    "out": str(tmp_path / "fresh-rev")}}))
    assert first.new_units + second.new_units == fresh.new_units
    assert second.units["samples"] == 24 and first.units["samples"] == 10
    assert _content(tmp_path / "grow") == _content(tmp_path / "fresh")


def test_a_stage_not_yet_started_may_change_but_a_started_one_may_not(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        d = _small(srv.base_url, srv.root_url, tmp_path, "stages")
        tree = d.pop("tree")
        first = collect(parse_config({**d, "tree": {**tree, "max_tokens": 9}}))
        # the tree journal is only created when the tree stage runs; delete it to emulate
        # an interruption before the tree stage started, then change the tree settings
        for f in (tmp_path / "stages.work" / "journal").glob("tree*.jsonl"):
            f.unlink()
        second = collect(parse_config({**d, "tree": tree}))
        assert second.units["samples"] == first.units["samples"]
        assert second.new_units == second.units["tree"] + second.units["tree-judge"]
        d["judge"][0]["system"] = "Be strict."
        with pytest.raises(CollectError,
                           match=r"journal\(s\) judge:judge-out, revision-judge:judge-out chan"):
            collect(parse_config({**d, "tree": tree}))
