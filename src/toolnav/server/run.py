"""Run a gateway on a transport until stopped: stdio, or Streamable HTTP under uvicorn; the
catalog sync runs beside it. Building the gateway and reading settings is the caller's job;
an entry point that serves calls `configure_server_process` first.

Example:
    configure_server_process(logging.INFO)
    await serve_stdio(gateway, sync)
    await serve_http(gateway, HTTPOptions(port=8080), verifier, sync)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable

import anyio
import uvicorn
from mcp.server.stdio import stdio_server
from threadpoolctl import threadpool_limits

from toolnav.server.auth import StaticTokenVerifier
from toolnav.server.gateway import Gateway
from toolnav.server.http import HTTPOptions, build_http_app
from toolnav.server.logs import JSONLinesFormatter
from toolnav.server.sync import CatalogSync

__all__ = ["configure_server_process", "serve_http", "serve_stdio"]


def configure_server_process(level: int) -> None:
    """For entry points that serve: toolnav logs at *level* (others at WARNING) as JSON lines
    on stderr (stdout may be the MCP stdio channel), and BLAS on one thread.

    Searches run side by side on worker threads, each a few small matrix products; a BLAS
    thread pool per product only makes them wait for each other (bench/server.py at 10,000
    tools: 14 -> 23 requests/s on the loaded 2-core VM). This overrides the ``settings.threads``
    that `toolnav.runtime.configure_process` gave BLAS.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONLinesFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("toolnav").setLevel(level)
    threadpool_limits(1, user_api="blas")


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
