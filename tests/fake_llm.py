"""A scripted OpenAI-compatible chat server on a real loopback socket, for agent and LLM tests.

It serves ``POST /v1/chat/completions``: each request gets the next scripted entry — an
assistant message (with or without ``tool_calls``) or an ``(http_status, body)`` pair — and is
recorded, so tests can check what the client actually sent.

Example:
    with FakeLLM([tool_call("add_numbers", {"a": 1, "b": 2}), text("3")]) as llm:
        settings = LLMSettings(base_url=llm.base_url, model="fake")
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def text(content: str) -> dict[str, Any]:
    """A scripted plain-text assistant reply."""
    return {"role": "assistant", "content": content}


def tool_call(name: str, arguments: Any, call_id: str = "call_1") -> dict[str, Any]:
    """A scripted assistant reply calling *name*; dict arguments are JSON-encoded."""
    encoded = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": encoded}}]}


class FakeLLM:
    """Replays *script* over HTTP; ``requests`` holds every JSON body received."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                elif not fake.script:
                    self._send(500, {"error": {"message": "fake LLM script exhausted"}})
                else:
                    entry = fake.script.pop(0)
                    if isinstance(entry, tuple):
                        self._send(*entry)
                    else:
                        self._send(200, {"id": "chatcmpl-fake", "object": "chat.completion",
                                         "model": body.get("model"),
                                         "choices": [{"index": 0, "message": entry,
                                                      "finish_reason": "tool_calls"
                                                      if entry.get("tool_calls") else "stop"}]})

            def _send(self, status: int, data: Any) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
