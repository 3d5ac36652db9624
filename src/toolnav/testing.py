"""A scripted OpenAI-compatible chat server on a real loopback socket, for tests of agents.

`FakeLLM` serves ``POST /v1/chat/completions``. Each request gets the next scripted entry (an
assistant message, with or without ``tool_calls``, or an ``(http_status, body)`` pair), or the
answer of a *respond* function given the request body; an optional delay per answer imitates a
slow model. Every body received is kept in ``requests`` so a test can check what was sent. It
runs in a thread of the test process or, with ``python -m toolnav.testing``, as its own process.

Example:
    with FakeLLM([tool_call("add_numbers", {"a": 1, "b": 2}), text("3")]) as llm:
        settings = LLMSettings(base_url=llm.base_url, model="fake")
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeLLM", "text", "tool_call"]

Entry = dict[str, Any] | tuple[int, Any]


def text(content: str) -> dict[str, Any]:
    """A scripted plain-text assistant reply."""
    return {"role": "assistant", "content": content}


def tool_call(name: str, arguments: Any, call_id: str = "call_1") -> dict[str, Any]:
    """A scripted assistant reply calling *name*; dict arguments are JSON-encoded."""
    encoded = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": encoded}}]}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (killed, timed out) is expected in tests: stay quiet."""


class FakeLLM:
    """Answers chat requests from *script* (in order) or from *respond* (per request body).

    Args:
        script: entries served in order; an exhausted script answers HTTP 500.
        respond: called with each request body when given; returns an entry.
        delay_seconds: sleep before each answer.
        port: 0 for any free port.
    """

    def __init__(self, script: Sequence[Entry] = (), *,
                 respond: Callable[[dict[str, Any]], Entry] | None = None,
                 delay_seconds: float = 0.0, port: int = 0) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connection

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in two writes: without this, Nagle's algorithm and
                # the client's delayed ACK hold the body back ~40 ms on every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if delay_seconds:
                    time.sleep(delay_seconds)
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                self._answer(body, fake.next_entry(body))

            def _answer(self, body: dict[str, Any], entry: Entry) -> None:
                if isinstance(entry, tuple):
                    self._send(*entry)
                    return
                finish = "tool_calls" if entry.get("tool_calls") else "stop"
                self._send(200, {"id": "chatcmpl-fake", "object": "chat.completion",
                                 "model": body.get("model"), "choices": [
                                     {"index": 0, "message": entry, "finish_reason": finish}]})

            def _send(self, status: int, data: Any) -> None:
                payload = data if isinstance(data, bytes) else json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._respond = respond
        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def next_entry(self, body: dict[str, Any]) -> Entry:
        """Record *body* and pick its answer."""
        with self._lock:
            self.requests.append(body)
            if self._respond is not None:
                return self._respond(body)
            if not self.script:
                return 500, {"error": {"message": "fake LLM script exhausted"}}
            return self.script.pop(0)

    def serve_forever(self) -> None:
        """Serve in the calling thread until `shutdown`."""
        self._server.serve_forever()

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLM:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
