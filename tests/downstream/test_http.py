"""The HTTP downstream's own guarantees: one total deadline, the byte limit, error bodies."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from toolnav.downstream.http import call_http
from toolnav.errors import ToolExecutionError

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


class Dripping(BaseHTTPRequestHandler):
    """Answers /drip one byte every 0.1 s for 10 s (each read is quick, the whole is not);
    /fail with a 503 and a long body."""

    def do_GET(self):
        if self.path.startswith("/fail"):
            body = b"overloaded " * 200
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def base_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Dripping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


async def test_the_deadline_covers_the_whole_response(base_url):
    binding = {"method": "GET", "base_url": base_url, "path": "/drip"}
    started = time.monotonic()
    async with httpx.AsyncClient() as client:
        with pytest.raises(ToolExecutionError, match=r"GET .*/drip timed out after 1 s"):
            await call_http(client, binding, {}, timeout=1.0, byte_limit=10_000)
    assert time.monotonic() - started < 2.5


async def test_error_status_carries_the_head_of_the_body(base_url):
    binding = {"method": "GET", "base_url": base_url, "path": "/fail/{what}",
               "locations": {"what": "path", "why": "query"}}
    async with httpx.AsyncClient() as client:
        with pytest.raises(ToolExecutionError) as caught:
            await call_http(client, binding, {"what": "a b", "why": "x"}, timeout=5,
                            byte_limit=10_000)
    message = str(caught.value)
    assert message.startswith(f"HTTP 503 from GET {base_url}/fail/a%20b: overloaded")
    assert len(message) < 600
