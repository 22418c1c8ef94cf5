"""Collect against broken inputs and broken servers: a config that is not UTF-8, a server that
answers `"text": null`, and servers that hang. Each fails with one clear line, no traceback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from workbench.collect import EndpointClient, load_config
from workbench.collect.client import parse_completion
from workbench.errors import CollectError, ConfigError


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from workbench.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_config_that_is_not_utf8_names_file_line_and_byte(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(b'run_id = "a"\nout = "o\xff"\n')
    with pytest.raises(ConfigError, match=r"c.toml:2: not UTF-8 text \(byte 0xff at offset 21\)"):
        load_config(cfg)
    line = _one_error_line(_cli("collect", str(cfg)))
    assert line.startswith("error: ") and "c.toml:2: not UTF-8" in line


def test_a_config_path_that_is_a_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path)


@pytest.mark.parametrize(("reply", "chat", "match"), [
    ({"choices": [{"text": None}]}, False, r"choices\[0\].text is null, expected a string"),
    ({"choices": [{"text": 4}]}, False, r"choices\[0\].text is a number"),
    ({"choices": [{"message": {"content": ["x"]}}]}, True,
     r"choices\[0\].message.content is an array"),
])
def test_a_reply_whose_text_is_not_a_string_is_a_collect_error(
    reply: dict[str, Any], chat: bool, match: str
) -> None:
    with pytest.raises(CollectError, match=match):
        parse_completion(reply, chat=chat)


class _Server:
    """A tiny HTTP server in a thread answering every POST with `reply` (or hanging)."""

    def __init__(self, reply: dict[str, Any] | None, hang: float = 0.0) -> None:
        outer = self
        self.hang = hang
        self.release = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length", 0)))
                if outer.hang:
                    outer.release.wait(outer.hang)  # never answers before the client gives up
                    return
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_collect_against_a_server_answering_text_null_exits_2_with_one_line(
    tmp_path: Path,
) -> None:
    with _Server({"choices": [{"text": None, "finish_reason": "stop"}]}) as url:
        cfg = tmp_path / "c.toml"
        cfg.write_text(f'run_id = "r"\nout = "{tmp_path / "out"}"\n[endpoint]\n'
                       f'base_url = "{url}"\nmodel = "m"\n[problems]\nn = 2\n'
                       '[sampling]\nn = 2\nstep_tokens = false\n')
        line = _one_error_line(_cli("collect", "--quiet", str(cfg)))
    assert "choices[0].text is null" in line
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_ten_hanging_requests_fail_after_about_one_timeout() -> None:
    """Regression: ten hanging requests with a 3 s timeout took 35 s to fail, because each of
    6 attempts got its own 3 s plus back-off. Now the timeout covers a request's attempts."""
    timeout = 0.5

    async def go(url: str) -> tuple[float, BaseException]:
        async with EndpointClient(url, concurrency=2, max_retries=5, backoff=0.5,
                                  timeout=timeout) as c:
            t0 = time.monotonic()
            try:
                async with asyncio.TaskGroup() as tg:  # as collect runs a stage
                    for i in range(10):
                        tg.create_task(c.completion(f"q{i}", model="m"))
            except BaseExceptionGroup as group:
                return time.monotonic() - t0, group.exceptions[0]
        raise AssertionError("no error")

    with _Server(None, hang=30.0) as url:
        elapsed, first = asyncio.run(go(url))
    assert isinstance(first, CollectError) and "0.5 s timeout" in str(first)
    assert elapsed < 4 * timeout  # six attempts with back-off would take > 3 s


def test_a_hanging_request_fails_after_its_timeout_not_after_every_retry() -> None:
    timeout = 0.4

    async def go(url: str) -> tuple[float, int, str]:
        async with EndpointClient(url, max_retries=5, backoff=0.2, timeout=timeout) as c:
            t0 = time.monotonic()
            try:
                await c.completion("q", model="m")
            except CollectError as exc:
                return time.monotonic() - t0, c.stats.requests, str(exc)
        raise AssertionError("no error")

    with _Server(None, hang=30.0) as url:
        elapsed, requests, message = asyncio.run(go(url))
    # six attempts of 0.4 s each plus back-off would take > 2.4 s; one deadline ends it at 0.4 s
    assert timeout <= elapsed < 4 * timeout
    assert requests <= 2
    assert "timeout (endpoint.timeout; it covers all 6 attempts)" in message
