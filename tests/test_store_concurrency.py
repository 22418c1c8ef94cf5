"""Two processes on one store, and Ctrl-C around the commit (all in real subprocesses).

- a reader started while a writer holds the store waits, says who holds it, then reads;
- a second writer waits the same way, and fails with one clear line when the wait runs out;
- a Ctrl-C during or after the commit keeps the data and says so (exit 0 for `ingest`);
  one before the commit rolls back and says "aborted" (exit 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.store import Problem, Run, RunBundle, RunStore, Sample, write_bundle_parquet

HOLDER = """
import sys
from workbench.store import Problem, Run, RunBundle, RunStore, Sample
store = RunStore(sys.argv[1])
store.ingest(RunBundle(Run("held", "d", "m", "x.jsonl"), [Problem("d", "p")], [Sample("p", 0)]))
print("holding", flush=True)
sys.stdin.readline()  # hold the store until the test says so
store.close()
"""


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from workbench.cli import main; main()", *args]


def _hold(store: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(store)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.wait(timeout=60) == 0


def _wait_for(path: Path, text: str, proc: subprocess.Popen[str], limit: float = 60.0) -> str:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared; got {path.read_text()!r}")


def test_a_reader_waits_for_the_writer_and_names_it(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    holder = _hold(store)
    err = tmp_path / "reader.err"
    with err.open("w") as err_f:
        reader = subprocess.Popen(_cli("runs", "--json", "--store", str(store)),
                                  stdout=subprocess.PIPE, stderr=err_f, text=True,
                                  env=_env(WORKBENCH_STORE_WAIT="60"))
        try:
            line = _wait_for(err, "waiting up to 60 s", reader)
            assert reader.poll() is None  # still waiting, not failed
            assert f"is held by PID {holder.pid} (" in line and "holding" not in line
            assert "-c" in line  # the holder's command line
        finally:
            _release(holder)
        out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0, err.read_text()
    assert [r["run_id"] for r in json.loads(out)] == ["held"]


def test_a_second_writer_waits_then_writes(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    run = tmp_path / "run"
    write_bundle_parquet(
        RunBundle(Run("second", "d", "m", "y.jsonl"), [Problem("d", "q")], [Sample("q", 0)]), run)
    holder = _hold(store)
    err = tmp_path / "writer.err"
    with err.open("w") as err_f:
        writer = subprocess.Popen(_cli("ingest", str(run), "--store", str(store)),
                                  stdout=subprocess.PIPE, stderr=err_f, text=True,
                                  env=_env(WORKBENCH_STORE_WAIT="60"))
        try:
            _wait_for(err, f"is held by PID {holder.pid}", writer)
        finally:
            _release(holder)
        writer.communicate(timeout=60)
    assert writer.returncode == 0, err.read_text()
    with RunStore(store, read_only=True) as s:
        assert s.run_ids() == ["held", "second"]


def test_a_second_writer_fails_clearly_when_the_wait_runs_out(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    run = tmp_path / "run"
    write_bundle_parquet(
        RunBundle(Run("second", "d", "m", "y.jsonl"), [Problem("d", "q")], [Sample("q", 0)]), run)
    holder = _hold(store)
    try:
        proc = subprocess.run(_cli("ingest", str(run), "--store", str(store)),
                              capture_output=True, text=True, timeout=60,
                              env=_env(WORKBENCH_STORE_WAIT="0.5"))
    finally:
        _release(holder)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot write to store {store}: it is held by PID {holder.pid}")
    assert "WORKBENCH_STORE_WAIT" in last
    with RunStore(store, read_only=True) as s:
        assert s.run_ids() == ["held"]  # unchanged


def test_a_bad_wait_setting_is_one_clear_error(tmp_path: Path) -> None:
    RunStore(tmp_path / "s.duckdb").close()
    proc = subprocess.run(_cli("runs", "--store", str(tmp_path / "s.duckdb")),
                          capture_output=True, text=True, timeout=60,
                          env=_env(WORKBENCH_STORE_WAIT="soon"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: WORKBENCH_STORE_WAIT must be a number of seconds >= 0, "
                                   "got 'soon'")


# -- Ctrl-C around the commit ---------------------------------------------------------------
# The interrupt is sent by the process to itself at a chosen point (a patched method), which is
# where a user's Ctrl-C could land; the CLI then runs as usual.
INTERRUPT_AT = """
import os, signal, sys
from workbench.store import run_store
from workbench.cli import main
where = sys.argv.pop(1)
if where == "after-commit":
    orig = run_store.RunStore.ingest_many
    def patched(self, *a, **k):
        out = orig(self, *a, **k)
        os.kill(os.getpid(), signal.SIGINT)
        return out
    run_store.RunStore.ingest_many = patched
elif where in ("during-commit", "before-commit"):
    orig_exec = run_store.RunStore._execute
    sql_at = "COMMIT" if where == "during-commit" else "INSERT INTO samples"
    def patched_exec(self, sql, params=None):
        if sql.strip().startswith(sql_at) and self.read_only is False and "held" not in sql:
            os.kill(os.getpid(), signal.SIGINT)
        return orig_exec(self, sql, params)
    run_store.RunStore._execute = patched_exec
main()
"""


@pytest.mark.parametrize(("where", "status", "stored", "message"), [
    ("after-commit", 0, True, "interrupted after the commit: the data is stored in"),
    ("during-commit", 0, True, "interrupted after the commit: the data is stored in"),
    ("before-commit", 1, False, "aborted"),
])
def test_ctrl_c_around_the_commit_says_what_was_kept(
    tmp_path: Path, where: str, status: int, stored: bool, message: str
) -> None:
    store = tmp_path / "s.duckdb"
    with RunStore(store) as s:  # an existing store, so the only commit is the ingest's
        assert s.run_ids() == []
    run = tmp_path / "run"
    write_bundle_parquet(
        RunBundle(Run("r1", "d", "m", "y.jsonl"), [Problem("d", "q")], [Sample("q", 0)]), run)
    proc = subprocess.run(
        [sys.executable, "-c", INTERRUPT_AT, where, "ingest", str(run), "--store", str(store)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(message)
    with RunStore(store, read_only=True) as s:
        assert s.run_ids() == (["r1"] if stored else [])
