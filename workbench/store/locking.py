"""Opening the store while another process holds it, and committing without being cut in half.

DuckDB lets one process write a database file, or several read it, never both: a second
process gets "Could not set lock on file ... (PID n)" at once. `connect` turns that into a
bounded wait: it retries with back-off for `wait` seconds (default: env `WORKBENCH_STORE_WAIT`,
else 60), tells `on_wait` once who holds the store (PID and command line), and then fails with
a `StoreError` that says the same. The lock itself stays DuckDB's (released by the OS when the
holder exits, even after kill -9), so there is no lock file of ours to go stale.

`commit` runs COMMIT with Ctrl-C deferred until it has finished and been recorded: an interrupt
lands either before it (the transaction rolls back) or after it (the change is kept, and
`committed_stores()` says so, for the CLI to report instead of a bare "aborted").
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from workbench.errors import StoreError

DEFAULT_WAIT_S = 60.0
"""How long opening a store held by another process waits, unless env WORKBENCH_STORE_WAIT."""

_PID_RE = re.compile(r"\(PID (\d+)\)")
_COMMITTED: list[str] = []


def wait_seconds() -> float:
    """The wait from env `WORKBENCH_STORE_WAIT` (seconds, >= 0), else `DEFAULT_WAIT_S`."""
    raw = os.environ.get("WORKBENCH_STORE_WAIT")
    if raw is None or not raw.strip():
        return DEFAULT_WAIT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        raise StoreError(f"WORKBENCH_STORE_WAIT must be a number of seconds >= 0, got {raw!r}")
    return value


def holder(message: str) -> str:
    """Who holds a store, from DuckDB's lock error: "PID n (command line)" where known.

    >>> holder('Could not set lock on file "s.duckdb": Conflicting lock is held in '
    ...        '/usr/bin/python3 (PID 999999999). See also ...')
    'PID 999999999'
    """
    m = _PID_RE.search(message)
    if m is None:
        return "another process"
    pid = int(m.group(1))
    command = _command_of(pid)
    return f"PID {pid} ({command})" if command else f"PID {pid}"


def _command_of(pid: int) -> str | None:
    try:  # Linux
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        return _shorten(shlex.join(args)) if args else None
    except OSError:
        pass
    try:  # other Unixes
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True,
                             text=True, timeout=2, check=False).stdout.strip()
        return _shorten(out) or None
    except (OSError, subprocess.SubprocessError):
        return None


def _shorten(text: str, limit: int = 160) -> str:
    # one line, printable: the command goes into a one-line message
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def connect(
    path: str,
    *,
    read_only: bool,
    wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """`duckdb.connect`, waiting up to `wait` seconds while another process holds the file.

    `on_wait` is called once, with a line naming the holder, when the first attempt finds the
    store held. Other failures raise `StoreError` at once.
    """
    budget = wait_seconds() if wait is None else wait
    start = time.monotonic()
    delay = 0.05
    told = False
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                raise StoreError(f"cannot open store {path}: {exc}") from exc
            who = holder(str(exc))
            waited = time.monotonic() - start
            if waited >= budget:
                mode = "read" if read_only else "write to"
                raise StoreError(
                    f"cannot {mode} store {path}: it is held by {who}; waited {waited:.0f} s "
                    "(set WORKBENCH_STORE_WAIT to wait longer, or retry when it has finished)"
                ) from None
            if not told and on_wait is not None:
                on_wait(f"store {path} is held by {who}; waiting up to {budget:g} s for it "
                        "(WORKBENCH_STORE_WAIT)")
            told = True
            time.sleep(min(delay, max(0.0, budget - waited)))
            delay = min(delay * 2, 1.0)


@contextmanager
def _interrupts_deferred() -> Iterator[list[Any]]:
    """Hold back SIGINT inside the block; re-deliver it (KeyboardInterrupt) at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield []  # signal handlers belong to the main thread: nothing to defer here
        return
    caught: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def commit(execute: Callable[[str], Any], path: str | None) -> None:
    """COMMIT through `execute` with Ctrl-C deferred; record that `path` (if given) changed."""
    with _interrupts_deferred():
        execute("COMMIT")
        if path is not None and path not in _COMMITTED:
            _COMMITTED.append(path)


def committed_stores() -> tuple[str, ...]:
    """The stores this process has committed changes to (the CLI reports them on Ctrl-C)."""
    return tuple(_COMMITTED)
