"""Helpers shared by the store, sources, importer and bad-input tests (not a test module)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from workbench.store import (
    OutcomeScore,
    Problem,
    ProblemCount,
    Run,
    RunBundle,
    RunStore,
    Sample,
    StepScore,
    TreeNode,
)
from workbench.store.records import TABLE_RECORDS

STORE_TABLES = (
    "schema_version", "runs", "problems", "samples", "step_scores", "outcome_scores",
    "tree_nodes", "problem_counts",
)
"""Every base table of the store; a snapshot over these is the whole stored state."""
_ALL_ROWS = "SELECT * FROM {} ORDER BY ALL"


def snapshot(path: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every store table (sorted), read through a read-only connection."""
    with RunStore(path, read_only=True) as store:
        return {
            t: [tuple(row.values()) for row in store.query(_ALL_ROWS.format(t)).to_pylist()]
            for t in STORE_TABLES
        }


def mirror_path() -> Path:
    """The read-only data mirror: $WORKBENCH_DATA_MIRROR, else ../shared/data beside the repo."""
    env = os.environ.get("WORKBENCH_DATA_MIRROR")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (path / "SOURCES.md").is_file():
        pytest.fail(f"no data mirror at {path}: set WORKBENCH_DATA_MIRROR (CI: ../shared/data)")
    return path


def small_bundle(run_id: str = "test/run", *, dataset: str = "toy") -> RunBundle:
    """A synthetic run (labelled as such) with every table filled, values chosen by hand.

    Problem p1: 2 samples, PRM step scores s0 = [0.9, 0.5, 0.8], s1 = [0.6, 0.0];
    ORM scores 0.25 and 0.75. Problem p2: 1 sample without scores, a 3-node tree, counts.
    Records are given out of key order on purpose.
    """
    src = "synthetic.jsonl"
    return RunBundle(
        run=Run(
            run_id=run_id, dataset=dataset, policy_model="toy-model", source=src,
            policy_params=1_000_000_000, sampler={"temperature": 0.7, "n": 2},
            prompt="Solve.", meta={"synthetic": True, "verifier_params": {"prm": 7.0e9}},
        ),
        problems=[
            Problem(dataset, "p2", question="2+2?", gold_answer="4"),
            Problem(dataset, "p1", question="1+1?", gold_answer="2", subject="arith", level="1",
                    meta={"k": [1, 2]}),
        ],
        samples=[
            Sample("p1", 1, answer="3", answer_key="3", is_correct=False, output_tokens=20,
                   prompt_tokens=5, n_steps=2, text="wrong"),
            Sample("p1", 0, answer="2", answer_key="2", is_correct=True, output_tokens=30,
                   prompt_tokens=5, n_steps=3, text="right"),
            Sample("p2", 0, answer="4", answer_key="4", is_correct=True, output_tokens=10,
                   prompt_tokens=4, chain_id=0, revision_idx=0),
        ],
        step_scores=[
            StepScore("prm", "p1", 0, 2, 0.8, step_tokens=10),
            StepScore("prm", "p1", 0, 0, 0.9, step_tokens=10),
            StepScore("prm", "p1", 0, 1, 0.5, step_tokens=10),
            StepScore("prm", "p1", 1, 0, 0.6, step_tokens=12),
            StepScore("prm", "p1", 1, 1, 0.0, step_tokens=8),
        ],
        outcome_scores=[
            OutcomeScore("orm", "p1", 0, 0.25),
            OutcomeScore("orm", "p1", 1, 0.75),
        ],
        tree_nodes=[
            TreeNode("p2", "root", None, 0, text="2 2", expanded=True),
            TreeNode("p2", "d1-000", "root", 1, text="2+2 = 4", score=20.0, tokens=6,
                     is_terminal=True, answer_key="2+2", is_correct=True),
            TreeNode("p2", "d1-001", "root", 1, text="2*2 = 4", score=1.0, tokens=6,
                     is_terminal=True, answer_key="2*2", is_correct=True),
        ],
        problem_counts=[ProblemCount("p2", 10, 7), ProblemCount("p1", 10, 3)],
    )


def round_trip_bundle() -> RunBundle:
    """A small synthetic run touching every table and every field type (non-ASCII text
    included), for format round trips; tests edit its files by line number."""
    run = Run(run_id="synthetic/demo", dataset="toy", policy_model="toy-1b", source="tests",
              policy_params=1e9, sampler={"temperature": 0.7}, prompt="Solve.",
              meta={"verifier_params": {"toy-prm": 7e9}, "note": "ünïcode ки"})
    problems = [Problem(dataset="toy", problem_id=p, question=f"q{p}", gold_answer="2",
                        subject="algebra", level="3", meta={"k": [1, 2]}) for p in ("a", "b")]
    samples = [
        Sample(problem_id=p, sample_idx=i, answer=str(i), answer_key=str(i),
               is_correct=i == 2, output_tokens=10 * i, prompt_tokens=5, n_steps=2,
               text=f"step ки\nanswer {i}")
        for p in ("a", "b") for i in range(3)
    ]
    steps = [StepScore(verifier="toy-prm", problem_id=s.problem_id, sample_idx=s.sample_idx,
                       step_idx=j, score=0.25 * j + 0.1, step_tokens=3)
             for s in samples for j in range(2)]
    outcomes = [OutcomeScore(verifier="toy-orm", problem_id=s.problem_id,
                             sample_idx=s.sample_idx, score=-1.5) for s in samples]
    nodes = [TreeNode(problem_id="a", node_id="root", parent_id=None, depth=0, expanded=True),
             TreeNode(problem_id="a", node_id="n1", parent_id="root", depth=1, score=0.5,
                      is_terminal=True, answer_key="2", is_correct=True)]
    counts = [ProblemCount(problem_id="b", n=10, c=3)]
    return RunBundle(run=run, problems=problems, samples=samples, step_scores=steps,
                     outcome_scores=outcomes, tree_nodes=nodes, problem_counts=counts).validate()


def assert_same(a: RunBundle, b: RunBundle) -> None:
    """Same run record, same records in every table (in order), same content hash."""
    assert a.run == b.run
    for name in TABLE_RECORDS:
        assert a.table(name) == b.table(name), name
    assert a.content_hash() == b.content_hash()


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run `workbench ARGS` in-process through its real entry point; (exit code, out, err)."""
    import sys

    from workbench.cli import main

    monkeypatch.setattr(sys, "argv", ["workbench", *args])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err
