"""A collection session: endpoint clients, journals, progress, and the generic stage runner.

A stage runs one async unit of work per key its journal lacks and records each result as it
finishes; the first failure cancels the rest (finished units stay recorded, so a rerun resumes).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from workbench.collect.client import EndpointClient
from workbench.collect.config import CollectConfig
from workbench.collect.journal import Journal, Key, journal_path
from workbench.errors import CollectError

ProgressHook = Callable[[str, int, int], None]
"""progress(stage, done, total): called when a stage starts and after every finished unit."""


class Session:
    """One run of the pipeline: clients, journals, counters."""

    def __init__(self, cfg: CollectConfig, progress: ProgressHook | None) -> None:
        self.cfg = cfg
        self.progress = progress or (lambda stage, done, total: None)
        self.workdir = cfg.workdir_path()
        self.journals: dict[str, Journal] = {}
        self.clients: dict[str, EndpointClient] = {}
        self.new_units = 0
        self.stage_seconds: dict[str, float] = {}

    # -- resources -------------------------------------------------------------------------
    def journal(self, name: str) -> Journal:
        if name not in self.journals:
            self.journals[name] = Journal(journal_path(self.workdir, name))
        return self.journals[name]

    def client(self, base_url: str) -> EndpointClient:
        if base_url not in self.clients:
            e = self.cfg.endpoint
            key = os.environ.get(e.api_key_env) if e.api_key_env else None
            if e.api_key_env and not key:
                raise CollectError(f"environment variable {e.api_key_env} (endpoint.api_key_env) "
                                   "is not set")
            self.clients[base_url] = EndpointClient(
                base_url, api_key=key, concurrency=e.concurrency, rate_limit=e.rate_limit,
                burst=e.burst, max_retries=e.max_retries, backoff=e.backoff,
                max_backoff=e.max_backoff, timeout=e.timeout, seed=self.cfg.seed,
            )
        return self.clients[base_url]

    async def close(self) -> None:
        for c in self.clients.values():
            await c.aclose()
        for j in self.journals.values():
            j.close()

    # -- the generic stage runner ----------------------------------------------------------
    async def stage(
        self,
        name: str,
        journal: Journal,
        keys: Iterable[Key],
        work: Callable[[Key], Awaitable[Any]],
    ) -> None:
        """Run `work` for every key not in `journal`, recording each result as it finishes."""
        keys = list(dict.fromkeys(tuple(k) for k in keys))
        todo = [k for k in keys if k not in journal]
        done = len(keys) - len(todo)
        self.progress(name, done, len(keys))
        if not todo:
            return
        t0 = time.monotonic()

        async def one(k: Key) -> None:
            nonlocal done
            value = await work(k)
            journal.put(k, value)
            self.new_units += 1
            done += 1
            self.progress(name, done, len(keys))

        try:
            async with asyncio.TaskGroup() as tg:  # the first failure cancels the rest
                for k in todo:
                    tg.create_task(one(k))
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        finally:
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + time.monotonic() - t0

    async def run_all(self, name: str, coros: Iterable[Coroutine[Any, Any, None]]) -> None:
        """Run coroutines that record their own units (e.g. sequential chains) as one stage."""
        t0 = time.monotonic()
        try:
            async with asyncio.TaskGroup() as tg:
                for c in coros:
                    tg.create_task(c)
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        finally:
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + time.monotonic() - t0


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The first real error of a task group (so users see one clear error, not a group)."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


