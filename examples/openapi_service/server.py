"""A tiny shop API (standard library only) described by the openapi.json next to this file.

``GET /openapi.json`` serves that document with ``servers`` pointing at the running address, so
``toolnav add http://...`` style setups and the tests get the right base URL.

Example:
    python examples/openapi_service/server.py --port 8808
    curl 'http://127.0.0.1:8808/items?q=lamp'
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

SPEC_PATH = Path(__file__).with_name("openapi.json")
ITEMS = {1: {"id": 1, "name": "desk lamp", "price": 25.0},
         2: {"id": 2, "name": "reading lamp", "price": 32.5},
         3: {"id": 3, "name": "oak desk", "price": 240.0}}


def spec_for(base_url: str) -> dict:
    """The OpenAPI document with its server URL set to *base_url*."""
    spec = json.loads(SPEC_PATH.read_text())
    spec["servers"] = [{"url": base_url}]
    return spec


class ShopHandler(BaseHTTPRequestHandler):
    """Routes the three operations of openapi.json."""

    orders: ClassVar[list[dict]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/openapi.json":
            host, port = self.server.server_address[:2]
            self._send(200, spec_for(f"http://{host}:{port}"))
        elif url.path == "/items":
            query = parse_qs(url.query)
            words = query.get("q", [""])[0].lower().split()
            limit = int(query.get("limit", ["10"])[0])
            found = [item for item in ITEMS.values() if all(w in item["name"] for w in words)]
            self._send(200, found[:limit])
        elif url.path.startswith("/items/"):
            item_id = url.path[len("/items/"):]
            item = ITEMS.get(int(item_id)) if item_id.isdigit() else None
            if item is None:
                self._send(404, {"error": f"no item {item_id}"})
            else:
                self._send(200, item)
        else:
            self._send(404, {"error": f"no route {url.path}"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/orders":
            self._send(404, {"error": "no route"})
            return
        customer = self.headers.get("X-Customer")
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if not customer or body.get("item_id") not in ITEMS:
            self._send(400, {"error": "need an X-Customer header and a known item_id"})
            return
        order = {"order_id": len(self.orders) + 1, "customer": customer, **body}
        self.orders.append(order)
        self._send(201, order)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, data: object) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def start(port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Serve on 127.0.0.1:*port* (0 = a free port) in a daemon thread; returns server and URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), ShopHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8808)
    server = ThreadingHTTPServer(("127.0.0.1", parser.parse_args().port), ShopHandler)
    print(f"shop API on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
