"""The endpoint client against an in-process fake OpenAI-compatible server on 127.0.0.1:
retries with back-off, Retry-After, fatal errors, concurrency and rate limits."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from workbench.collect import EndpointClient, FakeOpenAIServer, TokenBucket, backoff_delay
from workbench.collect.fake_server import fake_text
from workbench.errors import CollectError


async def _many(client: EndpointClient, n: int) -> list:
    return await asyncio.gather(
        *(client.completion(f"q{i}", model="m", max_tokens=64, seed=i) for i in range(n))
    )


def test_transient_failures_are_retried_until_success() -> None:
    with FakeOpenAIServer(transient_failures=2) as srv:

        async def go() -> tuple[list, EndpointClient]:
            async with EndpointClient(srv.base_url, backoff=0.001, max_retries=3) as c:
                return await _many(c, 5), c

        comps, client = asyncio.run(go())
        assert len(srv.log.paths()) == 15  # 2 failures + 1 success per request
    assert [c.text for c in comps] == [fake_text(f"q{i}", i) for i in range(5)]
    assert client.stats.retries == 10 and client.stats.failures == 0
    assert client.stats.by_status == {"503": 10, "200": 5}


def test_retries_exhausted_raise_collect_error_naming_the_cause() -> None:
    with FakeOpenAIServer(transient_failures=3) as srv:

        async def go() -> None:
            async with EndpointClient(srv.base_url, backoff=0.001, max_retries=1) as c:
                await c.completion("q", model="m")

        with pytest.raises(CollectError, match=r"failed after 2 attempt\(s\): HTTP 503"):
            asyncio.run(go())
        assert len(srv.log.paths()) == 2


def test_retry_after_header_is_honoured() -> None:
    with FakeOpenAIServer(transient_failures=1, retry_after=0.4) as srv:

        async def go() -> float:
            async with EndpointClient(srv.base_url, backoff=0.0, max_retries=2) as c:
                t0 = time.monotonic()
                await c.completion("q", model="m")
                return time.monotonic() - t0

        assert asyncio.run(go()) >= 0.4


def test_client_errors_fail_at_once_and_connection_errors_are_retried() -> None:
    with FakeOpenAIServer() as srv:

        async def bad_route() -> None:
            async with EndpointClient(srv.root_url, backoff=0.001, max_retries=5) as c:
                await c.post_json("/nope", {})

        with pytest.raises(CollectError, match="returned HTTP 404"):
            asyncio.run(bad_route())
        assert len(srv.log.paths()) == 1  # not retried
        port = srv.port

    async def refused() -> EndpointClient:  # the server is gone: connection refused
        c = EndpointClient(f"http://127.0.0.1:{port}/v1", backoff=0.001, max_retries=2)
        try:
            await c.completion("q", model="m")
        finally:
            await c.aclose()
        return c

    with pytest.raises(CollectError, match=r"failed after 3 attempt\(s\): Connect"):
        asyncio.run(refused())


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    rng = random.Random(1)
    for attempt in range(8):
        delays = [backoff_delay(attempt, 0.5, 10.0, rng) for _ in range(400)]
        bound = min(10.0, 0.5 * 2**attempt)
        assert max(delays) <= bound and min(delays) >= 0.0
        assert max(delays) > 0.9 * bound  # the whole range is used (full jitter)


def test_token_bucket_spaces_requests_with_a_fake_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(dt: float) -> None:
        slept.append(dt)
        now[0] += dt

    bucket = TokenBucket(rate=4.0, capacity=2, clock=lambda: now[0], sleep=sleep)

    async def go() -> list[float]:
        times = []
        for _ in range(6):
            await bucket.acquire()
            times.append(now[0])
        return times

    times = asyncio.run(go())
    # a burst of 2 at t=0, then one every 1/4 s
    assert times == pytest.approx([0.0, 0.0, 0.25, 0.5, 0.75, 1.0])


def test_rate_limit_holds_against_a_live_server() -> None:
    with FakeOpenAIServer() as srv:

        async def go() -> None:
            async with EndpointClient(srv.base_url, concurrency=4, rate_limit=20.0) as c:
                await _many(c, 11)

        asyncio.run(go())
        times = sorted(t for t, _, _ in srv.log.requests)
    assert len(times) == 11
    assert times[-1] - times[0] >= 10 / 20.0 - 0.02  # 11 requests at 20/s take >= 0.5 s


def test_concurrency_limit_bounds_requests_in_flight() -> None:
    with FakeOpenAIServer(delay=0.05) as srv:

        async def go() -> int:
            async with EndpointClient(srv.base_url, concurrency=3) as c:
                peak = 0
                task = asyncio.ensure_future(_many(c, 12))
                while not task.done():
                    peak = max(peak, 3 - c._sem._value)
                    await asyncio.sleep(0.005)
                await task
                return peak

        assert asyncio.run(go()) == 3
