"""Start the examples' services for tests: the shop OpenAPI service and the MCP stdio server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
MCP_CONFIG = {"mcpServers": {"calc": {"command": sys.executable,
                                      "args": [str(EXAMPLES / "mcp_server.py")]}}}


def load_shop_server():
    """The examples/openapi_service/server.py module."""
    path = EXAMPLES / "openapi_service" / "server.py"
    spec = importlib.util.spec_from_file_location("shop_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_shop():
    """Start the shop service on a free loopback port; returns (server, base URL, tools)."""
    from toolnav.catalog.sources.openapi import tools_from_openapi

    module = load_shop_server()
    server, url = module.start(0)
    return server, url, tools_from_openapi(module.spec_for(url), source="shop")


def start_mcp_http():
    """Run examples/mcp_server.py over streamable HTTP on a free port; returns (process, URL)."""
    import socket
    import subprocess
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, str(EXAMPLES / "mcp_server.py"), "--http",
                                str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the example MCP server did not start listening within 20 s")
