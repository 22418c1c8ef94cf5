"""The CLI never shows a traceback for a user's mistake (issue 13, items 3 and 4): every case
the issue lists ends in ONE line on stderr, in the CLI's words, with exit status 2, through the
real entry point `workbench.cli.main`.

The store is a copy of the REAL registered runs (Game of 24, MATH, ...) plus one SYNTHETIC
3-problem run (labelled synthetic) for the "more bins than problems" cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from tests.report_helpers import copy_store
from tests.store_helpers import run_cli
from workbench.cli import DEPRECATED_FLAGS, cli
from workbench.store import OutcomeScore, Problem, Run, RunBundle, RunStore, Sample

THREE = "synthetic/three-problems"


def _three_problem_run() -> RunBundle:
    """SYNTHETIC: 3 problems x 4 samples, every other sample correct, an ORM score each."""
    problems = [Problem("toy3", f"q{i}", question=f"{i}+{i}?", gold_answer=str(2 * i))
                for i in range(3)]
    samples = [Sample(f"q{i}", j, answer=str(2 * i + j % 2), answer_key=str(2 * i + j % 2),
                      is_correct=j % 2 == 0, output_tokens=10)
               for i in range(3) for j in range(4)]
    scores = [OutcomeScore("orm", f"q{i}", j, score=0.1 * j + 0.2 * i)
              for i in range(3) for j in range(4)]
    return RunBundle(Run(THREE, "toy3", "toy-model", "synthetic (test)"), problems=problems,
                     samples=samples, outcome_scores=scores)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = copy_store(tmp_path_factory.mktemp("errors"))
    with RunStore(path) as s:
        s.ingest(_three_problem_run())
    return path


CASES = [
    (["bins", THREE], "--n-bins (5) exceeds the number of problems (3)"),
    (["optimize", THREE, "--n-boot", "0"], "--n-bins (5) exceeds the number of problems (3)"),
    (["plan", THREE, "--budget", "2", "--n-boot", "0"],
     "--n-bins (5) exceeds the number of problems (3)"),
    (["exchange", "--small", "tot-game24/gpt-4-cot", "--large", "qwen25-math-rm/math-cot-100"],
     "different datasets"),
    (["exchange", "--small", "tot-game24/gpt-4-cot", "--large", "qwen25-math-rm/math-cot-100",
      "--ratio", "10"], "give --allow-different-datasets"),
    (["simulate", "tot-game24/gpt-4-cot", "--strategy", "majority", "--n-jobs", "0"],
     "Invalid value for '--n-jobs'"),
    (["fit", "tot-game24/gpt-4-bfs"], "nothing fitted on tot-game24/gpt-4-bfs"),
    (["simulate", "tot-game24/gpt4-cot", "--strategy", "pass_at_k"],
     "did you mean 'tot-game24/gpt-4-cot'?"),
    (["simulate", "tot-game24/gpt-4-cot", "--strategy", "majorty"], "did you mean 'majority'?"),
    (["simulate", "tot-game24/gpt-4-cot", "--strategy", "majority", "--params", "draw=5"],
     "did you mean draws?"),
    (["simulate", "tot-game24/gpt-4-cot", "--strategy", "pass_at_k", "--budgets", "101"],
     "give --with-replacement"),
    (["report", "no/such-run"], "no run 'no/such-run'"),
    (["exchange", "--small", "tot-game24/gpt-4-cot", "--large", "tot-game24/gpt-4-direct"],
     "--ratio is needed"),
    (["fit", "tot-game24/gpt-4-cot", "--extrapolate", "-5"], "budgets k must be >= 1"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(c[0][:2]) for c in CASES])
def test_user_errors_are_one_line_and_exit_2(
    store: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run_cli([*args, "--store", str(store)], capsys, monkeypatch)
    assert code == 2, (out, err)
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0]
    assert "replace=True" not in err and "`n_bins`" not in err  # CLI words, not library ones


def test_exchange_of_different_datasets_runs_when_asked_and_says_so(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(
        ["exchange", "--small", "tot-game24/gpt-4-cot", "--large", "qwen25-math-rm/math-cot-100",
         "--ratio", "10", "--n-boot", "200", "--allow-different-datasets", "--json",
         "--store", str(store)], capsys, monkeypatch)
    assert code == 0, err
    assert "warning: different datasets (game24 vs math)" in err
    assert json.loads(out)["results"]


def test_library_warnings_are_one_line_each(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random beams over ToT's BFS log cover no problem: a CoverageWarning, shown as one
    'warning:' line (not Python's file:line and source line), then the one-line error."""
    code, _, err = run_cli(["optimize", "tot-game24/gpt-4-bfs", "--n-boot", "0",
                            "--store", str(store)], capsys, monkeypatch)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("warning: beam(width=4) on run 'tot-game24/gpt-4-bfs'")
    assert lines[-1].startswith("error: no candidate")
    assert ".py:" not in err and all(ln.startswith(("warning: ", "error: ")) for ln in lines)


def test_a_bug_keeps_its_traceback() -> None:
    """A ValueError raised outside the workbench (here inside int()) is a bug, not a user's
    mistake: main() lets its traceback through; the workbench's own validation is a mistake."""
    from workbench.analysis.bins import quantile_bins
    from workbench.cli._errors import is_user_error

    with pytest.raises(ValueError) as bug:
        int("x")
    assert not is_user_error(bug.value)
    with pytest.raises(ValueError, match="`n_bins`") as mistake:
        quantile_bins(["a", "b"], [0.1, 0.2], n_bins=5)
    assert is_user_error(mistake.value)


def test_deprecated_spellings_still_work_with_a_warning(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(["simulate", "tot-game24/gpt-4-cot", "--strategy", "pass_at_k",
                              "--budgets", "1", "--bootstrap", "0", "--json",
                              "--store", str(store)], capsys, monkeypatch)
    assert code == 0 and "warning: --bootstrap is deprecated; use --n-boot" in err
    assert json.loads(out)["ci"] is None
    code, out, err = run_cli(["fit", "sampling-ceilings/math500-llama-3.2-1b-s0", "--law",
                              "beta-binomial", "--extrapolate", "1280", "--alpha", "0.1",
                              "--json", "--store", str(store)], capsys, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["fits"][0]["predictions"]["alpha"] == pytest.approx(0.1)


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += _commands(command, f"{prefix}{name} ")
        else:
            out.append((prefix + name, command))
    return out


def test_every_command_has_json_and_one_set_of_flag_names() -> None:
    old = {o for table in DEPRECATED_FLAGS.values() for o in table} | {"--alpha", "--param"}
    for name, command in _commands(cli):
        flags = {f for p in command.params for f in getattr(p, "opts", [])}
        assert "--json" in flags, f"workbench {name} has no --json"
        assert not flags & old, f"workbench {name} still spells {flags & old}"


def test_simulate_help_lists_each_strategys_parameters(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.cli._choices import STRATEGY_PARAMS

    code, out, _ = run_cli(["simulate", "--help"], capsys, monkeypatch)
    assert code == 0
    for name, params in STRATEGY_PARAMS.items():
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(name + " "))
        for key, default in params:
            assert f"{key}={default}" in line
