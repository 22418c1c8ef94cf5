"""Append-only JSONL journals: what makes a collection resumable and idempotent.

Each stage (samples, judge scores, tree nodes, revisions...) appends one line per finished unit
of work, keyed by e.g. (problem_id, sample_idx) or (problem_id, node_id). A rerun loads the
journal and skips every key it holds, so an interrupted collection resumes where it stopped:
no duplicate (a key is written once) and no lost sample (a line is flushed and fsync'ed before
the unit counts as done). A line cut short by a crash is the only damage a kill can do; it is
dropped on load (the unit is redone). Any other malformed line is an error naming file and line.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> j = Journal(d / "samples.jsonl")
>>> j.put(("p1", 0), {"text": "4"})
>>> ("p1", 0) in j, len(Journal(d / "samples.jsonl"))
(True, 1)
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from workbench.errors import CollectError

Key = tuple[Any, ...]


def journal_path(workdir: str | Path, stage: str) -> Path:
    """Where the journal of a stage ("samples", "judge:<name>", ...) lives in a work directory.

    >>> journal_path("w", "judge:j").as_posix()
    'w/journal/judge--j.jsonl'
    """
    safe = stage.replace(":", "--").replace("/", "_")
    return Path(workdir) / "journal" / f"{safe}.jsonl"


class Journal:
    """A dict-like, append-only record of finished work, persisted as JSONL."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._data: dict[Key, Any] = {}
        self.dropped_partial = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        self._fh: TextIO | None = None

    def _load(self) -> None:
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        good_end = 0
        lines = raw.split(b"\n")
        for i, line in enumerate(lines, start=1):
            last = i == len(lines)
            if not line.strip():
                if not last:
                    good_end += len(line) + 1
                continue
            try:
                rec = json.loads(line)
                key = tuple(rec["k"])
                value = rec["v"]
            except (ValueError, KeyError, TypeError) as exc:
                if last:  # a write cut short by a kill: redo that unit
                    self.dropped_partial = True
                    break
                raise CollectError(
                    f"{self.path}:{i}: corrupt journal line ({exc}); delete the line or the "
                    "journal to redo that work"
                ) from None
            if last:
                # complete JSON but no newline: keep it, and terminate it before appending
                self._data.setdefault(key, value)
                good_end += len(line)
                with self.path.open("ab") as fh:
                    fh.write(b"\n")
                good_end += 1
                break
            self._data.setdefault(key, value)  # first write wins (there is only one writer)
            good_end += len(line) + 1
        if self.dropped_partial:
            with self.path.open("r+b") as fh:
                fh.truncate(good_end)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, key: Key) -> Any:
        return self._data[key]

    def get(self, key: Key, default: Any = None) -> Any:
        return self._data.get(key, default)

    def items(self) -> Iterator[tuple[Key, Any]]:
        return iter(self._data.items())

    def put(self, key: Key, value: Any) -> None:
        """Record a finished unit; writing an existing key is refused (it would be a duplicate)."""
        key = tuple(key)
        if key in self._data:
            raise CollectError(f"{self.path}: key {key!r} written twice")
        line = json.dumps({"k": list(key), "v": value}, separators=(",", ":")) + "\n"
        if self._fh is None:
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(line)
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self._data[key] = value

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class WorkdirLock:
    """An exclusive lock on a collection's work directory (one writer per journal).

    >>> import tempfile
    >>> with WorkdirLock(tempfile.mkdtemp()):
    ...     pass
    """

    def __init__(self, workdir: str | Path) -> None:
        self.path = Path(workdir) / ".lock"
        self._fh: TextIO | None = None

    def __enter__(self) -> WorkdirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w")
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            raise CollectError(
                f"{self.path.parent}: another collection is running in this work directory"
            ) from None
        self._fh.write(str(os.getpid()))
        self._fh.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
