"""Run a gateway on a transport until stopped: stdio, or Streamable HTTP under uvicorn; the
catalog sync runs beside it. Building the gateway and reading settings is the caller's job.

Example:
    await serve_stdio(gateway, sync)
    await serve_http(gateway, HTTPOptions(port=8080), verifier, sync)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import uvicorn
from mcp.server.stdio import stdio_server

from toolnav.server.auth import StaticTokenVerifier
from toolnav.server.gateway import Gateway
from toolnav.server.http import HTTPOptions, build_http_app
from toolnav.server.sync import CatalogSync

__all__ = ["serve_http", "serve_stdio"]


async def serve_stdio(gateway: Gateway, sync: CatalogSync | None = None) -> None:
    """Serve MCP on this process's stdin/stdout until the client closes stdin."""
    server = gateway.mcp_server()
    async with stdio_server() as (read_stream, write_stream):
        await _beside(sync, lambda: server.run(read_stream, write_stream,
                                               server.create_initialization_options()))


async def serve_http(gateway: Gateway, options: HTTPOptions,
                     verifier: StaticTokenVerifier | None = None,
                     sync: CatalogSync | None = None) -> None:
    """Serve Streamable HTTP at ``options.endpoint`` until SIGINT/SIGTERM.

    Raises:
        OSError: the address cannot be bound.
    """
    app = build_http_app(gateway, options, verifier)
    config = uvicorn.Config(app, host=options.host, port=options.port, log_config=None,
                            access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    await _beside(sync, server.serve)


async def _beside(sync: CatalogSync | None, main: Callable[[], Awaitable[None]]) -> None:
    """Run *main*; run the sync loop next to it and stop it when *main* returns."""
    async with anyio.create_task_group() as group:
        if sync is not None:
            group.start_soon(sync.run)
        await main()
        group.cancel_scope.cancel()
