"""An in-process fake OpenAI-compatible server on 127.0.0.1, for tests and dry runs.

It speaks the same wire format as vLLM / llama.cpp (`/v1/completions`, `/v1/chat/completions`,
`/pooling`) and is deterministic: a reply depends only on the prompt and the request's seed, so
a collection against it can be interrupted, resumed and compared with an uninterrupted one.
It can inject transient failures (HTTP 503, optionally with Retry-After) and logs every
request with its arrival time (for rate-limit checks).

The fake "model" writes 1-3 lines "Step: <word>" and a last line "Answer: <0..4>"; with the
step separator as a stop string it returns only the next line. A judge request (max_tokens 1
with logprobs) gets a yes/no distribution over the first token whose P(yes) depends on the
prompt. Nothing here is a real model: use it to test plumbing, never to measure anything.

>>> import httpx
>>> with FakeOpenAIServer() as srv:
...     r = httpx.post(srv.base_url + "/completions", json={"prompt": "2+2?", "seed": 1})
>>> r.json()["choices"][0]["text"].splitlines()[-1].startswith("Answer: ")
True
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_WORDS = ("add", "subtract", "carry", "count", "check", "total", "group", "split")


def _h(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def fake_text(prompt: str, seed: Any) -> str:
    """The fake model's full completion for a prompt and seed (deterministic)."""
    h = _h(prompt, seed)
    lines = [f"Step: {_WORDS[(h >> (4 * k)) % len(_WORDS)]} {k}" for k in range(1 + h % 3)]
    return "\n".join(lines + [f"Answer: {(h >> 20) % 5}"])


def _tokens(text: str) -> list[str]:
    return re.findall(r"\s*\S+|\s+", text)


@dataclass
class FakeLog:
    """Every request the fake received: (monotonic time, path, JSON body)."""

    requests: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        with self.lock:
            return [p for _, p, _ in self.requests]


class FakeOpenAIServer:
    """Context manager running the fake server in a thread; `base_url` ends in "/v1".

    `transient_failures=k` makes each distinct request fail k times with `error_status` before
    it succeeds; `retry_after` adds that header (seconds). `delay` sleeps before each reply.
    `fail_after=k` answers the first k requests, then fails every later one with HTTP 500 (an
    endpoint that dies mid-collection).
    """

    def __init__(
        self,
        *,
        transient_failures: int = 0,
        error_status: int = 503,
        retry_after: float | None = None,
        delay: float = 0.0,
        fail_after: int | None = None,
    ) -> None:
        self.fail_after = fail_after
        self._served = 0
        self.transient_failures = transient_failures
        self.error_status = error_status
        self.retry_after = retry_after
        self.delay = delay
        self.log = FakeLog()
        self._failures: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def __enter__(self) -> FakeOpenAIServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(400, {"error": "invalid JSON"})
                    return
                with fake.log.lock:
                    fake.log.requests.append((time.monotonic(), self.path, body))
                if fake.delay:
                    time.sleep(fake.delay)
                key = self.path + raw.decode()
                with fake.log.lock:
                    n_failed = fake._failures.get(key, 0)
                    if n_failed < fake.transient_failures:
                        fake._failures[key] = n_failed + 1
                        fail = True
                    else:
                        fail = False
                with fake.log.lock:
                    if fake.fail_after is not None and fake._served >= fake.fail_after:
                        dead = True
                    else:
                        dead = False
                        fake._served += 0 if fail else 1
                if dead:
                    self._send(500, {"error": "the server died"})
                    return
                if fail:
                    headers = {}
                    if fake.retry_after is not None:
                        headers["Retry-After"] = str(fake.retry_after)
                    self._send(fake.error_status, {"error": "overloaded"}, headers)
                    return
                try:
                    reply = fake.reply(self.path, body)
                except (KeyError, TypeError, ValueError) as exc:
                    self._send(400, {"error": f"bad request: {exc}"})
                    return
                if reply is None:
                    self._send(404, {"error": f"no route {self.path}"})
                else:
                    self._send(200, reply)

            def _send(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (e.g. a killed collection): nothing to do

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- the fake model ------------------------------------------------------------------------
    def reply(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if path.endswith("/completions") and not path.endswith("/chat/completions"):
            return self._completion(str(body["prompt"]), body, chat=False)
        if path.endswith("/chat/completions"):
            prompt = "\n".join(str(m["content"]) for m in body["messages"])
            return self._completion(prompt, body, chat=True)
        if path.endswith("/pooling"):
            return self._pooling(body)
        return None

    def _completion(self, prompt: str, body: dict[str, Any], *, chat: bool) -> dict[str, Any]:
        max_tokens = int(body.get("max_tokens") or 16)
        wants_lp = body.get("logprobs")
        if max_tokens == 1 and wants_lp:
            return self._judge(prompt, body, chat=chat)
        # `n` choices, as vLLM and the OpenAI API return them; choice 0 is the reply an `n`-less
        # request gets, so existing collections see the same text.
        n = int(body.get("n") or 1)
        seed = body.get("seed")
        made = [self._choice(prompt, body, chat=chat, seed=seed if i == 0 else f"{seed}/{i}",
                             index=i) for i in range(n)]
        n_prompt = len(_tokens(prompt))
        n_out = sum(k for _, k in made)
        return {
            "id": f"fake-{_h(prompt, seed) % 10**12:012d}",
            "object": "chat.completion" if chat else "text_completion",
            "model": body.get("model", "fake"),
            "choices": [c for c, _ in made],
            "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_out,
                      "total_tokens": n_prompt + n_out},
        }

    def _choice(self, prompt: str, body: dict[str, Any], *, chat: bool, seed: Any,
                index: int) -> tuple[dict[str, Any], int]:
        """One choice of a completion and its token count."""
        max_tokens = int(body.get("max_tokens") or 16)
        wants_lp = body.get("logprobs")
        text = fake_text(prompt, seed)
        finish = "stop"
        for s in body.get("stop") or []:
            if s and s in text:
                text = text[: text.index(s)]
        toks = _tokens(text)
        if len(toks) > max_tokens:
            toks, finish = toks[:max_tokens], "length"
            text = "".join(toks)
        choice: dict[str, Any] = {"index": index, "finish_reason": finish}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        if wants_lp:
            offsets = [sum(len(t) for t in toks[:i]) for i in range(len(toks))]
            if chat:
                choice["logprobs"] = {"content": [
                    {"token": t, "logprob": -0.5, "top_logprobs": []} for t in toks]}
            else:
                choice["logprobs"] = {"tokens": toks, "text_offset": [len(prompt) + o
                                                                      for o in offsets],
                                      "token_logprobs": [-0.5] * len(toks), "top_logprobs": None}
        return choice, len(toks)

    def _judge(self, prompt: str, body: dict[str, Any], *, chat: bool) -> dict[str, Any]:
        p_yes = 0.05 + 0.9 * (_h("judge", prompt) % 1000) / 1000.0
        top = {"Yes": math.log(p_yes * 0.9), "No": math.log((1 - p_yes) * 0.9),
               "Maybe": math.log(0.1)}
        first = max(top, key=lambda t: top[t])
        choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
        if chat:
            choice["message"] = {"role": "assistant", "content": first}
            choice["logprobs"] = {"content": [{
                "token": first, "logprob": top[first],
                "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top.items()]}]}
        else:
            choice["text"] = first
            choice["logprobs"] = {"tokens": [first], "text_offset": [len(prompt)],
                                  "token_logprobs": [top[first]], "top_logprobs": [top]}
        return {"id": "fake", "choices": [choice],
                "usage": {"prompt_tokens": len(_tokens(prompt)), "completion_tokens": 1}}

    def _pooling(self, body: dict[str, Any]) -> dict[str, Any]:
        text = str(body["input"])
        # "question\n\n" + "step\n\n" per step (the default step tag): one row per step
        n_steps = len(text.split("\n\n")) - 2
        rows = []
        for k in range(max(0, n_steps)):
            p = (_h("prm", text, k) % 1000) / 1000.0
            rows.append([1 - p, p])
        return {"id": "fake", "object": "list",
                "data": [{"index": 0, "object": "pooling", "data": rows}],
                "usage": {"prompt_tokens": len(_tokens(text))}}
