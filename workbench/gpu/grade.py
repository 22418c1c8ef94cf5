"""Grade many completions with math-verify in worker processes, with a hard time limit.

math-verify bounds its own parse and comparison with `signal.alarm`, but a signal cannot stop
work inside one C call, and sympy evaluates answers such as `2^{2^{100}}` in big-integer
arithmetic that never returns: on the GPU machine one such answer stalled the grading pool (and
every shard queued behind it). Here each chunk runs in its own forked process; a chunk that
outlives `timeout` is killed and its rows are retried one per process, and a row that still
times out is recorded with status "timeout" (no answer key, not correct) instead of stalling.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Graded:
    answer: str | None
    answer_key: str | None
    is_correct: bool
    status: str  # "ok" or "timeout"


def grade_one(text: str, gold: str | None) -> Graded:
    from workbench.grading import answer_key, extract_answer, grade

    ans = extract_answer(text)
    ok = bool(ans is not None and gold is not None and grade(ans, gold))
    return Graded(ans, answer_key(ans), ok, "ok")


def _work(conn: mp.connection.Connection, rows: list[tuple[str, str | None]]) -> None:
    conn.send([grade_one(t, g) for t, g in rows])
    conn.close()


def grade_all(rows: Sequence[tuple[str, str | None]], *, workers: int = 2, chunk: int = 128,
              timeout: float = 60.0, progress: Callable[[int], None] | None = None
              ) -> list[Graded]:
    """Grade (text, gold) rows; the result list is in input order."""
    import workbench.grading  # noqa: F401  (imported once here, so forked workers start warm)

    ctx = mp.get_context("fork")  # workers inherit the imports; they never touch a GPU
    out: list[Graded | None] = [None] * len(rows)
    todo: deque[tuple[list[int], float]] = deque(
        (list(range(i, min(i + chunk, len(rows)))), timeout) for i in range(0, len(rows), chunk))
    running: list[tuple[mp.Process, mp.connection.Connection, list[int], float, float]] = []
    while todo or running:
        while todo and len(running) < max(1, workers):
            idx, limit = todo.popleft()
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_work, args=(send, [rows[i] for i in idx]), daemon=True)
            proc.start()
            send.close()
            running.append((proc, recv, idx, limit, time.monotonic()))
        time.sleep(0.01)
        still = []
        for proc, recv, idx, limit, t0 in running:
            if recv.poll():
                try:
                    got = recv.recv()
                except EOFError:
                    got = None
                proc.join()
                if got is None:  # the worker died: retry alone, like a timeout
                    _split(todo, idx, limit, rows, out)
                else:
                    for i, g in zip(idx, got, strict=True):
                        out[i] = g
                    if progress:
                        progress(len(idx))
            elif time.monotonic() - t0 > limit or not proc.is_alive():
                proc.kill()
                proc.join()
                _split(todo, idx, limit, rows, out)
                if progress and len(idx) == 1:
                    progress(1)
            else:
                still.append((proc, recv, idx, limit, t0))
        running = still
    return [g for g in out if g is not None]


def _split(todo: deque[tuple[list[int], float]], idx: list[int], limit: float,
           rows: Sequence[tuple[str, str | None]], out: list[Graded | None]) -> None:
    if len(idx) > 1:
        todo.extend(([i], min(limit, 20.0)) for i in idx)
        return
    from workbench.grading import extract_answer

    out[idx[0]] = Graded(extract_answer(rows[idx[0]][0]), None, False, "timeout")
