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
