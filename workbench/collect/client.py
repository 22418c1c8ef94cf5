"""An async client for OpenAI-compatible servers: concurrency limit, retries, rate limit.

Works with vLLM, SGLang, the llama.cpp server (and llama-cpp-python's), and hosted APIs: it only
uses `POST /completions`, `POST /chat/completions` and arbitrary JSON POSTs (reward models).

- Concurrency: at most `concurrency` requests in flight (an `asyncio.Semaphore`).
- Rate limit: a token bucket of `rate_limit` requests per second with capacity `burst`.
- Retries: connection errors, timeouts, 408/409/429 and 5xx are retried up to `max_retries`
  times with exponential back-off and full jitter (AWS architecture blog, "Exponential Backoff
  And Jitter"), honouring a `Retry-After` header; other 4xx fail at once with the body quoted.
- Timeout: `timeout` bounds a request's whole life from its first attempt, retries and
  back-off included (httpx's own timeouts are per read, so a server that hangs or trickles
  bytes, retried `max_retries` times, would otherwise take many times longer to fail).

httpx is used (not urllib in threads) because it is async-native, so a few hundred pending
requests cost coroutines, not threads.

>>> import asyncio
>>> async def demo():
...     async with EndpointClient("http://127.0.0.1:9/v1", max_retries=0, timeout=0.5) as c:
...         return await c.completion("hi", max_tokens=1)
>>> asyncio.run(demo())
Traceback (most recent call last):
...
workbench.errors.CollectError: POST http://127.0.0.1:9/v1/completions failed after 1 attempt(s): ...
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from workbench.errors import CollectError

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Completion:
    """One generated completion, normalised across the completions and chat APIs.

    `tokens` / `token_offsets` are present when logprobs were requested; `top_logprobs` holds,
    per generated token, {token text: logprob} of the most likely alternatives.
    """

    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    tokens: list[str] | None = None
    token_offsets: list[int] | None = None
    top_logprobs: list[dict[str, float]] | None = None


@dataclass(slots=True)
class ClientStats:
    """Counters of what the client did (for the run's log)."""

    requests: int = 0
    retries: int = 0
    failures: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class TokenBucket:
    """Token-bucket rate limiter: `rate` tokens per second, at most `capacity` stored.

    `rate <= 0` disables limiting. `clock` and `sleep` are injectable for tests.

    >>> import asyncio
    >>> bucket = TokenBucket(rate=1000.0, capacity=1)
    >>> asyncio.run(bucket.acquire())
    """

    def __init__(
        self,
        rate: float,
        capacity: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = max(1, capacity)
        self._tokens = float(self.capacity)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self.rate <= 0:
            return
        async with self._lock:  # waiters are served in arrival order
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential back-off: uniform in [0, min(cap, base * 2**attempt)].

    >>> backoff_delay(3, 0.5, 30.0, random.Random(0)) <= 4.0
    True
    """
    return rng.uniform(0.0, min(cap, base * (2.0**attempt)))


class EndpointClient:
    """Async JSON client of one OpenAI-compatible base URL (e.g. "http://127.0.0.1:8080/v1").

    Use as an async context manager. `seed` makes the jitter reproducible.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        concurrency: int = 2,
        rate_limit: float = 0.0,
        burst: int = 1,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 300.0,
        seed: int | None = 0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self._sem = asyncio.Semaphore(concurrency)
        self._bucket = TokenBucket(rate_limit, burst)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._rng = random.Random(seed)
        self._sleep = sleep
        self.timeout = timeout
        self.stats = ClientStats()

    async def __aenter__(self) -> EndpointClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/")

    async def post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST JSON with rate limit, concurrency limit and retries; the decoded JSON reply.

        Fails with `CollectError` once `timeout` seconds have passed since the first attempt got
        its connection slot, whatever it is doing then (sending, reading, backing off, waiting).
        """
        url = self.url(path)
        last = ""
        attempts = 0
        try:
            # one deadline for all attempts, set when the first one starts (queueing behind
            # other requests before that is not this request's fault)
            async with asyncio.timeout(None) as deadline:
                for attempt in range(self.max_retries + 1):
                    await self._bucket.acquire()
                    retry_after: float | None = None
                    async with self._sem:
                        if deadline.when() is None:
                            deadline.reschedule(asyncio.get_running_loop().time() + self.timeout)
                        self.stats.requests += 1
                        attempts += 1
                        try:
                            resp = await self._http.post(url, json=payload)
                        except httpx.TransportError as exc:  # connect errors, resets
                            last = f"{type(exc).__name__}: {exc}"
                            resp = None
                    if resp is not None:
                        key = str(resp.status_code)
                        self.stats.by_status[key] = self.stats.by_status.get(key, 0) + 1
                        if resp.status_code < 300:
                            try:
                                data = resp.json()
                            except ValueError:
                                last = (f"HTTP {resp.status_code} with a non-JSON body: "
                                        f"{resp.text[:200]!r}")
                            else:
                                if isinstance(data, dict):
                                    return data
                                last = f"HTTP {resp.status_code}: expected a JSON object"
                        elif resp.status_code not in RETRY_STATUS:
                            self.stats.failures += 1
                            raise CollectError(
                                f"POST {url} returned HTTP {resp.status_code}: {resp.text[:500]}"
                            )
                        else:
                            last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                            retry_after = _retry_after(resp.headers.get("retry-after"))
                    if attempt == self.max_retries:
                        break
                    self.stats.retries += 1
                    delay = backoff_delay(attempt, self.backoff, self.max_backoff, self._rng)
                    await self._sleep(max(delay, min(retry_after or 0.0, self.max_backoff)))
        except TimeoutError:
            self.stats.failures += 1
            why = f"; before that: {last}" if last else ""
            raise CollectError(
                f"POST {url}: no answer within the {self.timeout:g} s timeout "
                f"(endpoint.timeout; it covers all {self.max_retries + 1} attempts), "
                f"gave up during attempt {attempts}{why}"
            ) from None
        self.stats.failures += 1
        raise CollectError(
            f"POST {url} failed after {self.max_retries + 1} attempt(s): {last}"
        )

    async def completion(self, prompt: str, **params: Any) -> Completion:
        """`POST /completions`; `params` are passed through (model, max_tokens, logprobs...)."""
        data = await self.post_json("completions", {"prompt": prompt, **params})
        return parse_completion(data, chat=False)

    async def chat(self, messages: list[dict[str, str]], **params: Any) -> Completion:
        """`POST /chat/completions`; `params` are passed through."""
        data = await self.post_json("chat/completions", {"messages": messages, **params})
        return parse_completion(data, chat=True)


class Replicas:
    """Several servers of the same model; each unit goes to one chosen by its route key.

    Routing by problem id (a stable hash, not round-robin) keeps all requests of a problem on
    one server, so servers that reuse a cached prompt prefix (llama.cpp) reuse it.

    >>> r = Replicas(["a", "b"])  # any objects stand in for clients here
    >>> r.pick("arith-0001") == r.pick("arith-0001"), len({r.pick(str(i)) for i in range(50)})
    (True, 2)
    """

    def __init__(self, clients: list[Any]) -> None:
        if not clients:
            raise ValueError("`clients` must not be empty")
        self.clients = clients

    def pick(self, route: str) -> Any:
        if len(self.clients) == 1:
            return self.clients[0]
        h = int.from_bytes(hashlib.sha256(route.encode()).digest()[:4], "big")
        return self.clients[h % len(self.clients)]


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own back-off


def parse_completion(data: dict[str, Any], *, chat: bool) -> Completion:
    """Normalise an OpenAI-shaped completions / chat reply; `CollectError` when malformed.

    >>> parse_completion({"choices": [{"text": "4", "finish_reason": "stop"}],
    ...                   "usage": {"prompt_tokens": 5, "completion_tokens": 1}}, chat=False).text
    '4'
    """
    try:
        choice = data["choices"][0]
        if chat:
            text = choice["message"].get("content") or ""  # null content: nothing generated
        else:
            text = choice["text"]
        if not isinstance(text, str):
            field = "message.content" if chat else "text"
            raise CollectError(
                f"malformed completion reply: choices[0].{field} is {json_type(text)}, "
                f"expected a string: {str(data)[:300]}"
            )
        usage = data.get("usage") or {}
        lp = choice.get("logprobs")
        tokens = offsets = top = None
        if lp:
            if chat:
                content = lp.get("content") or []
                tokens = [c["token"] for c in content]
                top = [
                    {t["token"]: float(t["logprob"]) for t in (c.get("top_logprobs") or [])}
                    for c in content
                ]
                offsets = list(_offsets(tokens))
            else:
                tokens = list(lp.get("tokens") or [])
                raw_top = lp.get("top_logprobs")
                if raw_top is not None:
                    top = [{k: float(v) for k, v in (t or {}).items()} for t in raw_top]
                offsets = lp.get("text_offset")
                if offsets is not None:
                    # absolute offsets (some servers count the prompt): make them relative
                    base = offsets[0] if offsets else 0
                    offsets = [int(o) - base for o in offsets]
                else:
                    offsets = list(_offsets(tokens))
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise CollectError(f"malformed completion reply ({exc!r}): {str(data)[:300]}") from exc
    for v in (usage.get("prompt_tokens"), usage.get("completion_tokens")):
        if v is not None and (not isinstance(v, int) or v < 0):
            raise CollectError(f"malformed usage in completion reply: {usage!r}")
    if top is not None:
        top = [{k: v for k, v in t.items() if math.isfinite(v)} for t in top]
    return Completion(
        text=text,
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        tokens=tokens,
        token_offsets=offsets,
        top_logprobs=top,
    )


def json_type(value: Any) -> str:
    """How JSON would name a decoded value's type (for error messages)."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def _offsets(tokens: list[str]) -> list[int]:
    out, pos = [], 0
    for t in tokens:
        out.append(pos)
        pos += len(t)
    return out
